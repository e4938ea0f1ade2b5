//! `LoopCore`: the native base class of `ferroloop.Loop`.
//!
//! It owns the core scheduler and exposes the per-callback API (`call_soon`, `call_later`,
//! `call_at`, `call_soon_threadsafe`, `time`) and the fd watchers (`add_reader`, ...). The
//! Python subclass adds everything that runs once per loop. This module parses arguments and
//! builds handles; the order of work is the core's.

use std::sync::Arc;

use ferroloop_core::{clock, Inbox, Outcome, Scheduler};
use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::errors::os_error;
use crate::handles::{cancel_handle, Handle};

pub(crate) type Work = Py<Handle>;

/// The native state of an event loop.
#[pyclass(subclass, weakref, module = "ferroloop._ferroloop", name = "LoopCore")]
pub struct LoopCore {
    pub(crate) sched: Scheduler<Work>,
    pub(crate) inbox: Arc<Inbox<Work>>,
    pub(crate) closed: bool,
    pub(crate) debug: bool,
    pub(crate) thread_id: Option<u64>,
    pub(crate) current_handle: Option<PyObject>,
    pub(crate) resolution: f64,
}

/// `threading.get_ident()` of the calling thread.
pub(crate) fn current_thread_id() -> u64 {
    // SAFETY: pthread_self has no preconditions; CPython's thread ident is this value.
    unsafe { libc::pthread_self() as u64 }
}

/// Counts a cancelled timer that is still in the heap (asyncio's `_timer_handle_cancelled`).
pub(crate) fn timer_cancelled(loop_: &Bound<'_, PyAny>) {
    if let Ok(core) = loop_.downcast::<LoopCore>() {
        if let Ok(mut core) = core.try_borrow_mut() {
            core.sched.timers.note_cancelled();
        }
    }
}

/// The loop's debug flag, for any loop object.
pub(crate) fn loop_debug(loop_: &Bound<'_, PyAny>) -> PyResult<bool> {
    match loop_.downcast::<LoopCore>() {
        Ok(core) => Ok(core.borrow().debug),
        Err(_) => loop_.call_method0("get_debug")?.is_truthy(),
    }
}

fn check_closed(core: &LoopCore) -> PyResult<()> {
    if core.closed {
        return Err(PyRuntimeError::new_err("Event loop is closed"));
    }
    Ok(())
}

/// Converts an fd argument as `selectors._fileobj_to_fd` does.
pub(crate) fn fileobj_to_fd(obj: &Bound<'_, PyAny>) -> PyResult<i32> {
    let fd: i64 = if obj.is_instance_of::<PyInt>() {
        obj.extract()?
    } else {
        let invalid = || PyValueError::new_err(format!("Invalid file object: {}", repr_of(obj)));
        let fileno = obj.call_method0("fileno").map_err(|e| {
            let py = obj.py();
            if e.is_instance_of::<pyo3::exceptions::PyAttributeError>(py)
                || e.is_instance_of::<PyTypeError>(py)
                || e.is_instance_of::<PyValueError>(py)
            {
                invalid()
            } else {
                e
            }
        })?;
        let as_int = obj.py().get_type::<PyInt>().call1((fileno,)).map_err(|e| {
            let py = obj.py();
            if e.is_instance_of::<PyTypeError>(py) || e.is_instance_of::<PyValueError>(py) {
                invalid()
            } else {
                e
            }
        })?;
        as_int.extract()?
    };
    if fd < 0 {
        return Err(PyValueError::new_err(format!("Invalid file descriptor: {fd}")));
    }
    i32::try_from(fd).map_err(|_| PyOverflowError::new_err("file descriptor is greater than maximum"))
}

fn repr_of(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<object>".to_owned())
}

impl LoopCore {
    /// Builds a plain handle for `callback(*args)` (context defaults to a copy of the current one).
    fn make_handle(
        slf: &Bound<'_, Self>,
        callback: &Bound<'_, PyAny>,
        args: Py<PyTuple>,
        context: Option<&Bound<'_, PyAny>>,
        debug: bool,
    ) -> PyResult<Handle> {
        let py = slf.py();
        let context = match context {
            Some(ctx) if !ctx.is_none() => ctx.clone().unbind(),
            _ => {
                // SAFETY: the GIL is held; PyContext_CopyCurrent returns a new reference or NULL
                // with an exception set.
                let ptr = unsafe { ffi::PyContext_CopyCurrent() };
                // SAFETY: `ptr` is an owned reference (or NULL, handled by from_owned_ptr_or_err).
                unsafe { Bound::from_owned_ptr_or_err(py, ptr) }?.unbind()
            }
        };
        let source_traceback = if debug {
            Some(crate::interned::format_fn(py, "extract_stack")?.call0()?.unbind())
        } else {
            None
        };
        Ok(Handle::new(
            callback.clone().unbind(),
            args,
            context,
            slf.clone().into_any().unbind(),
            source_traceback,
        ))
    }

    /// The debug-mode checks of asyncio's `call_soon`/`call_at`: the thread, then the callback.
    fn debug_checks(slf: &Bound<'_, Self>, callback: &Bound<'_, PyAny>, method: &str, thread: bool) -> PyResult<()> {
        if thread {
            slf.call_method0("_check_thread")?;
        }
        slf.call_method1("_check_callback", (callback, method))?;
        Ok(())
    }

    fn schedule_timer(
        slf: &Bound<'_, Self>,
        when: f64,
        when_obj: PyObject,
        callback: &Bound<'_, PyAny>,
        args: Py<PyTuple>,
        context: Option<&Bound<'_, PyAny>>,
        method: &str,
    ) -> PyResult<Py<Handle>> {
        let py = slf.py();
        let debug = {
            let core = slf.borrow();
            check_closed(&core)?;
            core.debug
        };
        if debug {
            Self::debug_checks(slf, callback, method, true)?;
        }
        let base = Self::make_handle(slf, callback, args, context, debug)?;
        let timer = Handle::new_timer(py, base, when, when_obj)?;
        slf.borrow_mut().sched.timers.push(when, timer.clone_ref(py));
        Ok(timer)
    }

    /// Applies a watcher change: cancels the handler asyncio cancels, drops the rest after the
    /// core's borrow has ended, and turns a refused change into `OSError`.
    fn finish_watch(py: Python<'_>, outcome: Outcome<Work>) -> PyResult<bool> {
        let Outcome {
            error,
            previous,
            dropped,
        } = outcome;
        drop(dropped);
        let had_previous = previous.is_some();
        if let Some(previous) = previous {
            cancel_handle(previous.bind(py))?;
        }
        match error {
            Some(err) => Err(os_error(&err)),
            None => Ok(had_previous),
        }
    }

    fn add_watcher(
        slf: &Bound<'_, Self>,
        fd: &Bound<'_, PyAny>,
        callback: &Bound<'_, PyAny>,
        args: Py<PyTuple>,
        writer: bool,
    ) -> PyResult<()> {
        let py = slf.py();
        let fd = fileobj_to_fd(fd)?;
        let debug = {
            let core = slf.borrow();
            check_closed(&core)?;
            core.debug
        };
        let handle = Py::new(py, Self::make_handle(slf, callback, args, None, debug)?)?;
        let outcome = {
            let mut core = slf.borrow_mut();
            let core = &mut *core;
            if writer {
                core.sched.watchers.set_writer(&core.sched.reactor, fd, handle)
            } else {
                core.sched.watchers.set_reader(&core.sched.reactor, fd, handle)
            }
        };
        Self::finish_watch(py, outcome).map(|_| ())
    }

    fn remove_watcher(slf: &Bound<'_, Self>, fd: &Bound<'_, PyAny>, writer: bool) -> PyResult<bool> {
        let py = slf.py();
        let fd = fileobj_to_fd(fd)?;
        let outcome = {
            let mut core = slf.borrow_mut();
            if core.closed {
                return Ok(false);
            }
            let core = &mut *core;
            if writer {
                core.sched.watchers.remove_writer(&core.sched.reactor, fd)
            } else {
                core.sched.watchers.remove_reader(&core.sched.reactor, fd)
            }
        };
        Self::finish_watch(py, outcome)
    }
}

/// `when` as a float for ordering, and the object `TimerHandle.when()` returns.
fn when_value(when: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(f) = when.downcast::<PyFloat>() {
        return Ok(f.value());
    }
    when.extract::<f64>()
}

#[pymethods]
impl LoopCore {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>) -> PyResult<Self> {
        let sched = Scheduler::new().map_err(|e| os_error(&e))?;
        let inbox = Arc::clone(&sched.inbox);
        Ok(LoopCore {
            sched,
            inbox,
            closed: false,
            debug: false,
            thread_id: None,
            current_handle: None,
            resolution: clock::resolution(),
        })
    }

    /// The loop's clock: `time.monotonic()`.
    fn time(&self) -> f64 {
        clock::monotonic()
    }

    #[pyo3(signature = (callback, *args, context=None))]
    fn call_soon(
        slf: &Bound<'_, Self>,
        callback: &Bound<'_, PyAny>,
        args: Py<PyTuple>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Handle>> {
        let py = slf.py();
        let debug = {
            let core = slf.borrow();
            check_closed(&core)?;
            core.debug
        };
        if debug {
            Self::debug_checks(slf, callback, "call_soon", true)?;
        }
        let handle = Py::new(py, Self::make_handle(slf, callback, args, context, debug)?)?;
        slf.borrow_mut().sched.ready.push(handle.clone_ref(py));
        Ok(handle)
    }

    #[pyo3(signature = (callback, *args, context=None))]
    fn call_soon_threadsafe(
        slf: &Bound<'_, Self>,
        callback: &Bound<'_, PyAny>,
        args: Py<PyTuple>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Handle>> {
        let py = slf.py();
        let (debug, same_thread, inbox) = {
            let core = slf.borrow();
            check_closed(&core)?;
            (
                core.debug,
                core.thread_id == Some(current_thread_id()),
                Arc::clone(&core.inbox),
            )
        };
        if debug {
            Self::debug_checks(slf, callback, "call_soon_threadsafe", false)?;
        }
        let handle = Py::new(py, Self::make_handle(slf, callback, args, context, debug)?)?;
        if same_thread {
            // From the loop's own thread the handle joins the ready queue in call order, as asyncio's does.
            slf.borrow_mut().sched.ready.push(handle.clone_ref(py));
        } else {
            inbox.push(handle.clone_ref(py)).map_err(|e| os_error(&e))?;
        }
        Ok(handle)
    }

    #[pyo3(signature = (delay, callback, *args, context=None))]
    fn call_later(
        slf: &Bound<'_, Self>,
        delay: &Bound<'_, PyAny>,
        callback: &Bound<'_, PyAny>,
        args: Py<PyTuple>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Handle>> {
        let py = slf.py();
        if delay.is_none() {
            return Err(PyTypeError::new_err("delay must not be None"));
        }
        let now = clock::monotonic();
        let when = if let Ok(f) = delay.downcast::<PyFloat>() {
            now + f.value()
        } else if delay.is_exact_instance_of::<PyInt>() {
            // float + int, as Python computes `self.time() + delay`.
            PyFloat::new(py, now).add(delay)?.extract::<f64>()?
        } else {
            when_value(&PyFloat::new(py, now).add(delay)?)?
        };
        let when_obj = PyFloat::new(py, when).into_any().unbind();
        Self::schedule_timer(slf, when, when_obj, callback, args, context, "call_at")
    }

    #[pyo3(signature = (when, callback, *args, context=None))]
    fn call_at(
        slf: &Bound<'_, Self>,
        when: &Bound<'_, PyAny>,
        callback: &Bound<'_, PyAny>,
        args: Py<PyTuple>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Handle>> {
        if when.is_none() {
            return Err(PyTypeError::new_err("when cannot be None"));
        }
        let value = when_value(when)?;
        Self::schedule_timer(slf, value, when.clone().unbind(), callback, args, context, "call_at")
    }

    #[pyo3(signature = (fd, callback, *args))]
    fn add_reader(
        slf: &Bound<'_, Self>,
        fd: &Bound<'_, PyAny>,
        callback: &Bound<'_, PyAny>,
        args: Py<PyTuple>,
    ) -> PyResult<()> {
        Self::add_watcher(slf, fd, callback, args, false)
    }

    #[pyo3(signature = (fd, callback, *args))]
    fn add_writer(
        slf: &Bound<'_, Self>,
        fd: &Bound<'_, PyAny>,
        callback: &Bound<'_, PyAny>,
        args: Py<PyTuple>,
    ) -> PyResult<()> {
        Self::add_watcher(slf, fd, callback, args, true)
    }

    fn remove_reader(slf: &Bound<'_, Self>, fd: &Bound<'_, PyAny>) -> PyResult<bool> {
        Self::remove_watcher(slf, fd, false)
    }

    fn remove_writer(slf: &Bound<'_, Self>, fd: &Bound<'_, PyAny>) -> PyResult<bool> {
        Self::remove_watcher(slf, fd, true)
    }

    /// Stops the loop after the current iteration.
    fn stop(&mut self) {
        self.sched.stopping = true;
    }

    fn is_closed(&self) -> bool {
        self.closed
    }

    fn get_debug(&self) -> bool {
        self.debug
    }

    fn set_debug(slf: &Bound<'_, Self>, enabled: &Bound<'_, PyAny>) -> PyResult<()> {
        let enabled = enabled.is_truthy()?;
        slf.borrow_mut().debug = enabled;
        if slf.call_method0("is_running")?.is_truthy()? {
            slf.call_method1("_set_coroutine_origin_tracking", (enabled,))?;
        }
        Ok(())
    }

    #[getter(_debug)]
    fn get_debug_attr(&self) -> bool {
        self.debug
    }

    #[setter(_debug)]
    fn set_debug_attr(&mut self, value: bool) {
        self.debug = value;
    }

    #[getter(_closed)]
    fn get_closed(&self) -> bool {
        self.closed
    }

    #[getter(_stopping)]
    fn get_stopping(&self) -> bool {
        self.sched.stopping
    }

    #[setter(_stopping)]
    fn set_stopping(&mut self, value: bool) {
        self.sched.stopping = value;
    }

    #[getter(_thread_id)]
    fn get_thread_id(&self) -> Option<u64> {
        self.thread_id
    }

    #[setter(_thread_id)]
    fn set_thread_id(&mut self, value: Option<u64>) {
        self.thread_id = value;
    }

    #[getter(_current_handle)]
    fn get_current_handle(&self, py: Python<'_>) -> PyObject {
        match &self.current_handle {
            Some(h) => h.clone_ref(py),
            None => py.None(),
        }
    }

    #[getter(_clock_resolution)]
    fn get_clock_resolution(&self) -> f64 {
        self.resolution
    }

    /// Number of timers in the heap (cancelled ones included until they are purged).
    #[getter(_timer_count)]
    fn get_timer_count(&self) -> usize {
        self.sched.timers.len()
    }

    /// Number of callbacks waiting in the ready queue.
    #[getter(_ready_count)]
    fn get_ready_count(&self) -> usize {
        self.sched.ready.len()
    }

    /// One iteration of the loop.
    fn _run_once(slf: &Bound<'_, Self>) -> PyResult<()> {
        crate::run::run_once(slf)
    }

    /// Runs iterations until `stop()` is called.
    fn _run(slf: &Bound<'_, Self>) -> PyResult<()> {
        crate::run::run_until_stopped(slf)
    }

    /// Marks the loop closed and releases every queued callback, timer and fd watcher.
    fn _close_core(slf: &Bound<'_, Self>) {
        let dropped: Vec<Work> = {
            let mut core = slf.borrow_mut();
            let core = &mut *core;
            core.closed = true;
            let mut all = core.sched.ready.drain_all();
            all.extend(core.sched.timers.drain_all());
            all.extend(core.sched.watchers.drain_all(&core.sched.reactor));
            all.extend(core.inbox.take());
            all
        };
        drop(dropped);
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(h) = &self.current_handle {
            visit.call(h)?;
        }
        for w in self.sched.ready.iter() {
            visit.call(w)?;
        }
        for w in self.sched.timers.iter() {
            visit.call(w)?;
        }
        for w in self.sched.watchers.iter() {
            visit.call(w)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.current_handle = None;
        // Dropping here is what the GC asks for: it holds the GIL and no borrow of the core is live.
        drop(self.sched.ready.drain_all());
        drop(self.sched.timers.drain_all());
        drop(self.sched.watchers.drain_all(&self.sched.reactor));
    }
}
