//! Hand the seccomp notification listener to the agent at `linux.seccomp.listenerPath`, as
//! runc does: one connection to the agent's unix socket carrying the container process state
//! (the OCI spec's "containerProcessState") with the listener fd in SCM_RIGHTS.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use nix::sys::socket::{
    connect, send, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
    UnixAddr,
};

use super::SecurityError;

/// The name of the listener in `fds`, per the runtime spec.
pub const SECCOMP_FD_NAME: &str = "seccompFd";

/// Sends the container process state and the listener `fd` to the agent listening at
/// `listener_path`. `state_json` is the container's state (as `state` prints it);
/// `metadata` is `linux.seccomp.listenerMetadata` (empty when unset).
pub fn send_seccomp_listener(
    listener_path: &Path,
    fd: BorrowedFd<'_>,
    state_json: &str,
    metadata: &str,
) -> Result<(), SecurityError> {
    let message = process_state(state_json, metadata)?;
    let path = || listener_path.to_path_buf();
    let socket = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|source| SecurityError::ListenerConnect {
        path: path(),
        source,
    })?;
    let address =
        UnixAddr::new(listener_path).map_err(|source| SecurityError::ListenerConnect {
            path: path(),
            source,
        })?;
    connect(socket.as_raw_fd(), &address).map_err(|source| SecurityError::ListenerConnect {
        path: path(),
        source,
    })?;

    let fds = [fd.as_raw_fd()];
    let rights = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(message.as_bytes())];
    let mut sent = sendmsg::<()>(
        socket.as_raw_fd(),
        &iov,
        &rights,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|source| SecurityError::ListenerSend {
        path: path(),
        source,
    })?;
    // A stream socket may take the message in pieces; the fd went with the first one.
    while sent < message.len() {
        sent += send(
            socket.as_raw_fd(),
            &message.as_bytes()[sent..],
            MsgFlags::MSG_NOSIGNAL,
        )
        .map_err(|source| SecurityError::ListenerSend {
            path: path(),
            source,
        })?;
    }
    Ok(())
}

/// The "containerProcessState" document: the state, wrapped with the fd names, pid and
/// metadata.
fn process_state(state_json: &str, metadata: &str) -> Result<String, SecurityError> {
    let state: serde_json::Value = serde_json::from_str(state_json)
        .map_err(|source| SecurityError::ListenerState { source })?;
    let oci_version = state
        .get("ociVersion")
        .cloned()
        .unwrap_or_else(|| serde_json::Value::String("1.0.2".into()));
    let pid = state
        .get("pid")
        .cloned()
        .unwrap_or(serde_json::Value::from(0));
    let document = serde_json::json!({
        "ociVersion": oci_version,
        "fds": [SECCOMP_FD_NAME],
        "pid": pid,
        "metadata": metadata,
        "state": state,
    });
    Ok(document.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_state_wraps_the_container_state() {
        let state =
            r#"{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42,"bundle":"/b"}"#;
        let doc: serde_json::Value =
            serde_json::from_str(&process_state(state, "meta").unwrap()).unwrap();
        assert_eq!(doc["ociVersion"], "1.2.0");
        assert_eq!(doc["fds"], serde_json::json!(["seccompFd"]));
        assert_eq!(doc["pid"], 42);
        assert_eq!(doc["metadata"], "meta");
        assert_eq!(doc["state"]["id"], "c1");
        // It parses as the spec's ContainerProcessState.
        serde_json::from_value::<oci_spec::runtime::ContainerProcessState>(doc).unwrap();
    }

    #[test]
    fn invalid_state_json_is_an_error() {
        let err = process_state("{not json", "").unwrap_err();
        assert!(matches!(err, SecurityError::ListenerState { .. }));
    }
}
