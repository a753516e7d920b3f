//! The container's terminal, the way runc does it: init opens a pty from the container's own
//! devpts, sends the master over the `--console-socket` (SCM_RIGHTS, with the master's name
//! as the message), makes the slave its stdio and controlling terminal, and binds it at
//! /dev/console.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::stat::Mode;

use crate::init::InitError;
use crate::rootfs::setup_console_device;
use crate::sys;

/// Opens a pty in the container (after the root switch), hands the master to the listener
/// on `socket` and makes the slave our terminal; the container's init (`bind_console`) also
/// shows it at /dev/console.
pub fn setup(
    socket: &OwnedFd,
    size: Option<&oci_spec::runtime::Box>,
    owner: u32,
    bind_console: bool,
) -> Result<(), InitError> {
    let err = |step| move |source| InitError::Console { step, source };
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(err("open /dev/ptmx"))?;
    grantpt(&master).map_err(err("grantpt"))?;
    unlockpt(&master).map_err(err("unlockpt"))?;
    let slave_name = ptsname_r(&master).map_err(err("ptsname"))?;
    let slave = nix::fcntl::open(
        Path::new(&slave_name),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(err("open the pty slave"))?;
    // The terminal belongs to the process's user (its group stays devpts' tty group).
    nix::unistd::fchown(&slave, Some(nix::unistd::Uid::from_raw(owner)), None)
        .map_err(err("give the pty to the process's user"))?;
    if let Some(size) = size {
        sys::set_window_size(slave.as_fd(), size.height() as u16, size.width() as u16)
            .map_err(err("set the window size"))?;
    }
    send_fd(socket, b"/dev/ptmx", master.as_raw_fd())
        .map_err(err("send the pty master to the console socket"))?;
    drop(master);
    if bind_console {
        setup_console_device(Path::new(&slave_name))?;
    }
    nix::unistd::dup2_stdin(&slave).map_err(err("make the pty slave stdin"))?;
    nix::unistd::dup2_stdout(&slave).map_err(err("make the pty slave stdout"))?;
    nix::unistd::dup2_stderr(&slave).map_err(err("make the pty slave stderr"))?;
    sys::set_controlling_terminal(slave.as_fd())
        .map_err(err("make the pty the controlling terminal"))?;
    Ok(())
}

/// Sends `fd` with `name` as payload over the unix socket `socket`.
pub fn send_fd(socket: &OwnedFd, name: &[u8], fd: i32) -> Result<(), nix::errno::Errno> {
    let iov = [IoSlice::new(name)];
    let fds = [fd];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )?;
    Ok(())
}
