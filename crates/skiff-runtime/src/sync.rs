//! The parent <-> init handshake: a SOCK_SEQPACKET socketpair (message boundaries for free,
//! EOF when the other side dies) carrying one-byte tags with small payloads, and an fd via
//! SCM_RIGHTS where needed.
//!
//! Init -> parent: `Setup` (write my id maps and put me in the cgroup), `Hooks` (run prestart
//! and createRuntime hooks now), `Pid(n)` (the real init is my child n), `Ready` (optionally
//! with a seccomp listener fd), `Error(text)`. Parent -> init: `Continue`.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};

#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    Setup,
    Hooks,
    Pid(i32),
    Ready,
    Error(String),
    Continue,
}

const SETUP: u8 = 1;
const HOOKS: u8 = 2;
const PID: u8 = 3;
const READY: u8 = 4;
const ERROR: u8 = 5;
const CONTINUE: u8 = 6;

/// One end of the handshake.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// A connected pair: (parent's end, init's end). Both are close-on-exec.
pub fn pair() -> Result<(Channel, Channel), Errno> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    pub fn send(&self, msg: &Message) -> Result<(), Errno> {
        self.send_with_fd(msg, None)
    }

    pub fn send_with_fd(&self, msg: &Message, fd: Option<RawFd>) -> Result<(), Errno> {
        let mut buf = Vec::with_capacity(8);
        match msg {
            Message::Setup => buf.push(SETUP),
            Message::Hooks => buf.push(HOOKS),
            Message::Pid(pid) => {
                buf.push(PID);
                buf.extend_from_slice(&pid.to_le_bytes());
            }
            Message::Ready => buf.push(READY),
            Message::Error(text) => {
                buf.push(ERROR);
                // Keep within one datagram's comfortable size.
                buf.extend_from_slice(&text.as_bytes()[..text.len().min(60_000)]);
            }
            Message::Continue => buf.push(CONTINUE),
        }
        let iov = [IoSlice::new(&buf)];
        let fds = fd.map(|f| [f]);
        let cmsgs: Vec<ControlMessage> = fds
            .as_ref()
            .map(|f| ControlMessage::ScmRights(f))
            .into_iter()
            .collect();
        sendmsg::<()>(
            self.fd.as_raw_fd(),
            &iov,
            &cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )?;
        Ok(())
    }

    /// Receives one message; `Ok(None)` means the other side closed (it exited).
    pub fn recv(&self) -> Result<Option<(Message, Option<OwnedFd>)>, Errno> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        let (len, fd) = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = loop {
                match recvmsg::<()>(
                    self.fd.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::MSG_CMSG_CLOEXEC,
                ) {
                    Err(Errno::EINTR) => continue,
                    other => break other?,
                }
            };
            let mut fd = None;
            for c in msg.cmsgs()? {
                if let ControlMessageOwned::ScmRights(fds) = c {
                    fd = fds.first().copied();
                }
            }
            (msg.bytes, fd)
        };
        let fd = fd.map(crate::sys::own_received_fd);
        if len == 0 {
            return Ok(None);
        }
        let payload = &buf[1..len];
        let msg = match buf[0] {
            SETUP => Message::Setup,
            HOOKS => Message::Hooks,
            PID if payload.len() == 4 => {
                Message::Pid(i32::from_le_bytes(payload.try_into().expect("4 bytes")))
            }
            READY => Message::Ready,
            ERROR => Message::Error(String::from_utf8_lossy(payload).into_owned()),
            CONTINUE => Message::Continue,
            _ => return Err(Errno::EBADMSG),
        };
        Ok(Some((msg, fd)))
    }

    /// Sends `Error(text)` and ignores failure: used on the way out of a failed init.
    pub fn report_error(&self, text: &str) {
        let _ = self.send(&Message::Error(text.to_string()));
    }
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
