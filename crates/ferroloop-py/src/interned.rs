//! Python objects the bindings look up once: the package's formatting helpers.

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyModule;

static FORMAT: GILOnceCell<Py<PyModule>> = GILOnceCell::new();

/// A function of `ferroloop._format`, the Python module that formats handles and reports
/// callback errors (both rare paths, kept in Python next to asyncio's own helpers).
pub(crate) fn format_fn<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let module = FORMAT.get_or_try_init(py, || PyModule::import(py, "ferroloop._format").map(Bound::unbind))?;
    module.bind(py).getattr(name)
}
