//! `Handle` and `TimerHandle`: the native counterparts of `asyncio.Handle` and `asyncio.TimerHandle`.
//!
//! They keep asyncio's attributes (`_callback`, `_args`, `_context`, `_loop`, `_cancelled`,
//! `_source_traceback`, `_when`, `_scheduled`) and methods, so code written against asyncio's
//! handles works unchanged. Running a handle enters its `contextvars.Context` through the C API
//! and calls the callback directly; an exception other than `SystemExit`/`KeyboardInterrupt` is
//! reported to the loop's exception handler exactly as `Handle._run` does.

use std::cmp::Ordering;

use pyo3::exceptions::{PyKeyboardInterrupt, PySystemExit};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::types::PyTuple;
use pyo3::{PyTraverseError, PyVisit};

use crate::interned;

/// A callback scheduled on the loop, with its arguments and context.
#[pyclass(subclass, weakref, module = "ferroloop._ferroloop", name = "Handle")]
pub struct Handle {
    pub(crate) callback: Option<PyObject>,
    pub(crate) args: Option<Py<PyTuple>>,
    pub(crate) context: Option<PyObject>,
    pub(crate) loop_: Option<PyObject>,
    pub(crate) cancelled: bool,
    pub(crate) source_traceback: Option<PyObject>,
    pub(crate) repr: Option<PyObject>,
    /// Timer state (meaningful for `TimerHandle` only): the float used for ordering, the object
    /// `when()` returns, and whether the timer still sits in the loop's heap.
    pub(crate) when: f64,
    pub(crate) when_obj: Option<PyObject>,
    pub(crate) scheduled: bool,
}

/// A callback scheduled for a given loop time.
#[pyclass(extends = Handle, module = "ferroloop._ferroloop", name = "TimerHandle")]
pub struct TimerHandle;

impl Handle {
    pub(crate) fn new(
        callback: PyObject,
        args: Py<PyTuple>,
        context: PyObject,
        loop_: PyObject,
        source_traceback: Option<PyObject>,
    ) -> Self {
        Handle {
            callback: Some(callback),
            args: Some(args),
            context: Some(context),
            loop_: Some(loop_),
            cancelled: false,
            source_traceback,
            repr: None,
            when: 0.0,
            when_obj: None,
            scheduled: false,
        }
    }

    /// Creates a `TimerHandle` object for `when`.
    pub(crate) fn new_timer(py: Python<'_>, mut base: Handle, when: f64, when_obj: PyObject) -> PyResult<Py<Handle>> {
        base.when = when;
        base.when_obj = Some(when_obj);
        base.scheduled = true;
        let timer = Bound::new(py, PyClassInitializer::from(base).add_subclass(TimerHandle))?;
        Ok(timer.into_super().unbind())
    }
}

/// Cancels a handle: asyncio's `Handle.cancel`, plus the timer bookkeeping of
/// `TimerHandle.cancel` (the loop counts cancelled timers that are still in its heap).
pub(crate) fn cancel_handle(slf: &Bound<'_, Handle>) -> PyResult<()> {
    let py = slf.py();
    let (loop_, was_scheduled_timer) = {
        let h = slf.borrow();
        if h.cancelled {
            return Ok(());
        }
        (
            h.loop_.as_ref().map(|l| l.clone_ref(py)),
            h.when_obj.is_some() && h.scheduled,
        )
    };
    if let Some(loop_) = &loop_ {
        let loop_ = loop_.bind(py);
        if was_scheduled_timer {
            crate::loop_core::timer_cancelled(loop_);
        }
        if crate::loop_core::loop_debug(loop_)? {
            // Keep a representation so that "Executing <Handle ...> took" logs stay useful.
            let text = handle_repr(slf)?;
            slf.borrow_mut().repr = Some(text);
        }
    }
    // Release the callback and its arguments outside the borrow: dropping them may run Python code.
    let (callback, args) = {
        let mut h = slf.borrow_mut();
        h.cancelled = true;
        (h.callback.take(), h.args.take())
    };
    drop((callback, args));
    Ok(())
}

fn handle_repr(slf: &Bound<'_, Handle>) -> PyResult<PyObject> {
    let py = slf.py();
    Ok(interned::format_fn(py, "handle_repr")?.call1((slf,))?.unbind())
}

/// Runs the handle's callback in its context. Returns an error only for `SystemExit` and
/// `KeyboardInterrupt`, which propagate out of the loop; any other exception goes to the loop's
/// exception handler.
pub(crate) fn run_handle(py: Python<'_>, slf: &Bound<'_, Handle>) -> PyResult<()> {
    // New references as `Bound`s: the callback may cancel (and so clear) its own handle.
    let (callback, args, context) = {
        let h = slf.borrow();
        if h.cancelled {
            return Ok(());
        }
        match (&h.callback, &h.args, &h.context) {
            (Some(cb), Some(args), Some(ctx)) => (cb.bind(py).clone(), args.bind(py).clone(), ctx.bind(py).clone()),
            _ => return Ok(()),
        }
    };
    if let Err(err) = call_in_context(py, &callback, &args, &context) {
        if err.is_instance_of::<PySystemExit>(py) || err.is_instance_of::<PyKeyboardInterrupt>(py) {
            return Err(err);
        }
        interned::format_fn(py, "report_callback_error")?.call1((slf, err.into_value(py)))?;
    }
    Ok(())
}

fn call_in_context(
    py: Python<'_>,
    callback: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
    context: &Bound<'_, PyAny>,
) -> PyResult<()> {
    // SAFETY: `context` is a live object (we hold a reference); PyContext_Enter checks its type and
    // sets an exception on failure, which we fetch.
    if unsafe { ffi::PyContext_Enter(context.as_ptr()) } != 0 {
        return Err(PyErr::fetch(py));
    }
    let result = if args.is_empty() {
        callback.call0()
    } else {
        callback.call1(args)
    };
    // SAFETY: the context was entered above by this thread and is still alive.
    let exited = unsafe { ffi::PyContext_Exit(context.as_ptr()) };
    drop(result?);
    if exited != 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(())
}

#[pymethods]
impl Handle {
    /// Cancels the callback; a cancelled callback never runs.
    fn cancel(slf: &Bound<'_, Self>) -> PyResult<()> {
        cancel_handle(slf)
    }

    fn cancelled(&self) -> bool {
        self.cancelled
    }

    fn get_context(&self, py: Python<'_>) -> PyObject {
        opt(py, &self.context)
    }

    /// Runs the callback now, as the loop does.
    fn _run(slf: &Bound<'_, Self>) -> PyResult<()> {
        run_handle(slf.py(), slf)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        if let Some(text) = &slf.borrow().repr {
            return Ok(text.clone_ref(slf.py()));
        }
        handle_repr(slf)
    }

    #[getter]
    fn _callback(&self, py: Python<'_>) -> PyObject {
        opt(py, &self.callback)
    }

    #[getter]
    fn _args(&self, py: Python<'_>) -> PyObject {
        match &self.args {
            Some(args) => args.clone_ref(py).into_any(),
            None => py.None(),
        }
    }

    #[getter]
    fn _context(&self, py: Python<'_>) -> PyObject {
        opt(py, &self.context)
    }

    #[getter]
    fn _loop(&self, py: Python<'_>) -> PyObject {
        opt(py, &self.loop_)
    }

    #[getter]
    fn _cancelled(&self) -> bool {
        self.cancelled
    }

    #[getter]
    fn _source_traceback(&self, py: Python<'_>) -> PyObject {
        opt(py, &self.source_traceback)
    }

    #[getter]
    fn _repr(&self, py: Python<'_>) -> PyObject {
        opt(py, &self.repr)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for obj in [
            &self.callback,
            &self.context,
            &self.loop_,
            &self.source_traceback,
            &self.repr,
            &self.when_obj,
        ]
        .into_iter()
        .flatten()
        {
            visit.call(obj)?;
        }
        if let Some(args) = &self.args {
            visit.call(args)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.callback = None;
        self.args = None;
        self.context = None;
        self.loop_ = None;
        self.source_traceback = None;
        self.repr = None;
        self.when_obj = None;
    }
}

fn opt(py: Python<'_>, value: &Option<PyObject>) -> PyObject {
    match value {
        Some(v) => v.clone_ref(py),
        None => py.None(),
    }
}

#[pymethods]
impl TimerHandle {
    /// The absolute loop time given to `call_at` (or `loop.time() + delay` for `call_later`).
    fn when(slf: PyRef<'_, Self>) -> PyObject {
        let base = slf.as_super();
        opt(slf.py(), &base.when_obj)
    }

    #[getter]
    fn _when(slf: PyRef<'_, Self>) -> PyObject {
        let base = slf.as_super();
        opt(slf.py(), &base.when_obj)
    }

    #[getter]
    fn _scheduled(slf: PyRef<'_, Self>) -> bool {
        slf.as_super().scheduled
    }

    fn __hash__(slf: &Bound<'_, Self>) -> PyResult<isize> {
        let when = slf.borrow().as_super().when_obj.as_ref().map(|w| w.clone_ref(slf.py()));
        match when {
            Some(w) => w.bind(slf.py()).hash(),
            None => Ok(0),
        }
    }

    /// asyncio orders timers by `when`, and calls two timers equal when their `when`, callback,
    /// arguments and cancelled state are equal.
    fn __richcmp__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<PyObject> {
        let py = slf.py();
        let Ok(other) = other.downcast::<TimerHandle>() else {
            return Ok(py.NotImplemented());
        };
        let (a, b) = (slf.borrow().as_super().when, other.borrow().as_super().when);
        let ordering = a.partial_cmp(&b);
        let equal = || timers_equal(slf, other);
        let result = match op {
            CompareOp::Lt => ordering == Some(Ordering::Less),
            CompareOp::Gt => ordering == Some(Ordering::Greater),
            CompareOp::Le => ordering == Some(Ordering::Less) || equal()?,
            CompareOp::Ge => ordering == Some(Ordering::Greater) || equal()?,
            CompareOp::Eq => equal()?,
            CompareOp::Ne => !equal()?,
        };
        Ok(result.into_pyobject(py)?.to_owned().into_any().unbind())
    }
}

fn timers_equal(a: &Bound<'_, TimerHandle>, b: &Bound<'_, TimerHandle>) -> PyResult<bool> {
    let py = a.py();
    let fields = |t: &Bound<'_, TimerHandle>| {
        let h = t.borrow();
        let base = h.as_super();
        (
            base.when,
            opt(py, &base.callback),
            base.args
                .as_ref()
                .map_or_else(|| py.None(), |a| a.clone_ref(py).into_any()),
            base.cancelled,
        )
    };
    let (wa, ca, aa, xa) = fields(a);
    let (wb, cb, ab, xb) = fields(b);
    Ok(wa == wb && xa == xb && ca.bind(py).eq(cb.bind(py))? && aa.bind(py).eq(ab.bind(py))?)
}
