//! Conversion of OS errors into Python's `OSError` subclasses, with errno and strerror as
//! `OSError(errno, strerror)` gives them (so `ENOENT` becomes `FileNotFoundError`, and so on).

use std::ffi::CStr;
use std::io;

use pyo3::exceptions::PyOSError;
use pyo3::PyErr;

/// The `OSError` subclass Python raises for `err`.
pub(crate) fn os_error(err: &io::Error) -> PyErr {
    match err.raw_os_error() {
        Some(errno) => PyOSError::new_err((errno, strerror(errno))),
        None => PyOSError::new_err(err.to_string()),
    }
}

/// The C library's message for `errno`, as `os.strerror` returns it.
fn strerror(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: `buf` is a valid writable buffer of the given length; the XSI strerror_r that the
    // libc crate binds writes a NUL-terminated message into it and returns 0 on success.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errno}");
    }
    // SAFETY: on success strerror_r left a NUL-terminated string in `buf`.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}
