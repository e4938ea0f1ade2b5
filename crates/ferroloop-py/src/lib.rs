//! `ferroloop._ferroloop`: the PyO3 bindings of ferroloop's core.
//!
//! This crate parses arguments, builds and runs handles and converts errors; it makes no
//! scheduling decision (those live in `ferroloop-core`). See `docs/architecture.md`.

use pyo3::prelude::*;

mod errors;
mod handles;
mod interned;
mod loop_core;
mod run;

/// The profile the extension was built with ("release" or "debug").
const BUILD_PROFILE: &str = if cfg!(debug_assertions) { "debug" } else { "release" };

#[pymodule]
fn _ferroloop(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<loop_core::LoopCore>()?;
    m.add_class::<handles::Handle>()?;
    m.add_class::<handles::TimerHandle>()?;
    m.add("build_profile", BUILD_PROFILE)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
