//! systemd readiness notification (`Type=notify`): a datagram to `$NOTIFY_SOCKET`, when set.

use std::os::unix::net::UnixDatagram;

/// Sends `state` (e.g. `READY=1\nSTATUS=...`) to the service manager; does nothing outside systemd.
pub fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(datagram) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(socket.as_os_str());
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|addr| datagram.send_to_addr(state.as_bytes(), &addr))
    } else {
        datagram.send_to(state.as_bytes(), &socket)
    };
    if let Err(err) = sent {
        tracing::warn!("cannot notify the service manager: {err}");
    }
}
