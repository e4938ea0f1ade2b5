//! Driving the core scheduler from Python: one iteration (`_run_once`) and the run loop (`_run`).
//!
//! The order of work is the core's (`Scheduler::prepare`, the wait, `Scheduler::dispatch`, the
//! batch); this module only keeps the boundary rules: every borrow of the core ends before a
//! callback runs or a Python object is dropped, and the GIL is released only for a wait that may
//! block.

use std::io;
use std::time::Duration;

use ferroloop_core::{clock, Event, WorkOps};
use pyo3::prelude::*;

use crate::errors::os_error;
use crate::handles::{run_handle, Handle};
use crate::loop_core::{LoopCore, Work};

/// The core's view of Python handles.
struct PyOps<'py> {
    py: Python<'py>,
}

impl WorkOps<Work> for PyOps<'_> {
    fn is_cancelled(&mut self, w: &Work) -> bool {
        w.bind(self.py).try_borrow().map(|h| h.cancelled).unwrap_or(false)
    }

    fn clone_work(&mut self, w: &Work) -> Work {
        w.clone_ref(self.py)
    }

    fn timer_popped(&mut self, w: &Work) {
        if let Ok(mut h) = w.bind(self.py).try_borrow_mut() {
            h.scheduled = false;
        }
    }
}

/// One iteration of the loop, as asyncio's `BaseEventLoop._run_once`.
pub(crate) fn run_once(slf: &Bound<'_, LoopCore>) -> PyResult<()> {
    let py = slf.py();
    let mut ops = PyOps { py };
    let mut graveyard: Vec<Work> = Vec::new();
    let (timeout, poller, mut events) = {
        let mut core = slf.borrow_mut();
        let timeout = core.sched.prepare(clock::monotonic, &mut ops, &mut graveyard);
        (timeout, core.sched.reactor.poller(), core.sched.take_events())
    };
    drop(std::mem::take(&mut graveyard));

    let waited = if timeout == Some(Duration::ZERO) {
        poller.wait(&mut events, timeout)
    } else {
        py.allow_threads(|| poller.wait(&mut events, timeout))
    };
    let mut failure = None;
    if let Err(err) = waited {
        events.clear();
        if err.kind() == io::ErrorKind::Interrupted {
            // A signal arrived: run the interpreter's handlers now, as the selector's poll does.
            failure = py.check_signals().err();
        } else {
            failure = Some(os_error(&err));
        }
    }

    let mut io_events: Vec<Event> = Vec::new();
    {
        let mut core = slf.borrow_mut();
        let end_time = clock::monotonic() + core.resolution;
        core.sched
            .dispatch(events, end_time, &mut ops, &mut graveyard, &mut io_events);
    }
    drop(graveyard);
    if let Some(err) = failure {
        return Err(err);
    }
    run_batch(slf)
}

/// Runs exactly the callbacks of the current batch.
fn run_batch(slf: &Bound<'_, LoopCore>) -> PyResult<()> {
    let py = slf.py();
    loop {
        let (next, debug) = {
            let mut core = slf.borrow_mut();
            (core.sched.ready.next_in_batch(), core.debug)
        };
        let Some(handle) = next else {
            return Ok(());
        };
        let handle = handle.into_bound(py);
        if debug {
            run_timed(slf, &handle)?;
        } else {
            run_handle(py, &handle)?;
        }
    }
}

/// Debug mode: time the callback and log it when it took `slow_callback_duration` or more.
fn run_timed(slf: &Bound<'_, LoopCore>, handle: &Bound<'_, Handle>) -> PyResult<()> {
    let py = slf.py();
    if handle.borrow().cancelled {
        return Ok(());
    }
    slf.borrow_mut().current_handle = Some(handle.clone().into_any().unbind());
    let t0 = clock::monotonic();
    let result = run_handle(py, handle);
    let dt = clock::monotonic() - t0;
    let previous = slf.borrow_mut().current_handle.take();
    drop(previous);
    result?;
    let threshold: f64 = slf.getattr("slow_callback_duration")?.extract()?;
    if dt >= threshold {
        crate::interned::format_fn(py, "log_slow_callback")?.call1((handle, dt))?;
    }
    Ok(())
}

/// Runs iterations until `stop()` is called; the stopping flag is reset on the way out.
pub(crate) fn run_until_stopped(slf: &Bound<'_, LoopCore>) -> PyResult<()> {
    let result = loop {
        if let Err(err) = run_once(slf) {
            break Err(err);
        }
        if slf.borrow().sched.stopping {
            break Ok(());
        }
    };
    slf.borrow_mut().sched.stopping = false;
    result
}
