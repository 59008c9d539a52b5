//! tolk's errors as the exception classes of `tolk.errors` (defined in Python so that each can
//! also subclass the built-in it refines: `InputError` is a `ValueError`, `IOError` an
//! `OSError`), raised with the library's message, which names the file and line as the CLI's
//! does.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;
use tolk::error::{kind_of, Error, ErrorKind};

/// The name of the `tolk.errors` class for `kind`.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Input => "InputError",
        ErrorKind::Model => "ModelError",
        ErrorKind::Io => "IOError",
        ErrorKind::Diverged => "DivergedError",
        ErrorKind::Distributed => "DistributedError",
        ErrorKind::Internal => "InternalError",
    }
}

/// A Python exception of the class for `kind` carrying `message`.
pub fn exception(kind: ErrorKind, message: String) -> PyErr {
    Python::attach(|py| {
        let class = py
            .import("tolk.errors")
            .and_then(|m| m.getattr(class_name(kind)))
            .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
        match class {
            Ok(class) => PyErr::from_type(class, message),
            // tolk.errors cannot be imported: still raise, with the message.
            Err(_) => PyRuntimeError::new_err(message),
        }
    })
}

/// A library [`Error`] as its exception.
pub fn from_error(err: Error) -> PyErr {
    exception(err.kind(), err.to_string())
}

/// An error of the library's `anyhow` functions (training, averaging) as the exception of
/// its kind ([`kind_of`]), with its causes joined as `outer: inner` as the CLI prints them.
pub fn from_anyhow(err: anyhow::Error) -> PyErr {
    exception(kind_of(&err), format!("{err:#}"))
}

/// A caller's mistake found by the binding itself (the same class as the library's).
pub fn input(message: impl Into<String>) -> PyErr {
    exception(ErrorKind::Input, message.into())
}
