//! How backend failures and refused requests appear on the bus: standard `org.freedesktop.DBus.Error.*`
//! names, so every D-Bus library understands them.

use fandex_query::QueryError;
use zbus::fdo;

use crate::backend::BackendError;

/// The D-Bus error for a backend failure.
pub fn to_dbus(error: BackendError) -> fdo::Error {
    match error {
        BackendError::Query(QueryError::Index(e)) => {
            fdo::Error::Failed(format!("index error: {e}"))
        }
        BackendError::Query(e) => fdo::Error::InvalidArgs(e.to_string()),
        e @ BackendError::NotSupported { .. } => fdo::Error::NotSupported(e.to_string()),
        BackendError::BadRequest(m) => fdo::Error::InvalidArgs(m),
        BackendError::Denied(m) => fdo::Error::AccessDenied(m),
        BackendError::Timeout(m) => fdo::Error::TimedOut(m),
        BackendError::Unavailable(m) => fdo::Error::LimitsExceeded(m),
        BackendError::Internal(m) => fdo::Error::Failed(m),
    }
}

/// The error for a call that did not answer before its deadline.
pub fn deadline_passed(what: &str) -> fdo::Error {
    fdo::Error::TimedOut(format!("{what} did not finish in time"))
}
