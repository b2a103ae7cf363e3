//! Server processes (moto_server, nginx) that live exactly as long as the test process,
//! and [`interrupt_group`] (Ctrl-C for a child's process group, as the interrupted-apply
//! tests need).
//!
//! A test process may end in many ways (a failed assertion, a panic, a timeout in the
//! runner), and statics are never dropped, so the harness cannot rely on cleanup code to
//! stop the servers it started. Instead each server is spawned with
//! `PR_SET_PDEATHSIG = SIGKILL` from a *keeper thread* that parks for the rest of the
//! process: the kernel kills the server when that thread, and so the process, goes.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the
//! process. libtest runs each test on its own short-lived thread, and each
//! `#[tokio::test]` has its own runtime threads, so spawning from either would kill the
//! server as soon as the first test finished.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::sync::mpsc;

use anyhow::{Context, Result};

/// Spawns `cmd` from a keeper thread named `name`, then runs `ready` on the child until it
/// says the server answers. On success the child is kept (for the life of the process)
/// and `ready`'s value returned; on failure the child is killed and the error returned.
pub fn start_kept<T, F>(name: &str, mut cmd: Command, ready: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Child) -> Result<T> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Result<T>>();
    let program = cmd.get_program().to_string_lossy().into_owned();
    std::thread::Builder::new()
        .name(format!("bp-acc-{name}"))
        .spawn(move || {
            let started = spawn_dying_with_thread(&mut cmd)
                .with_context(|| format!("starting {program}"))
                .and_then(|mut child| match ready(&mut child) {
                    Ok(value) => Ok((child, value)),
                    Err(e) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        Err(e)
                    }
                });
            match started {
                Ok((child, value)) => {
                    let _ = tx.send(Ok(value));
                    // Holding `child` is not what keeps the server running (dropping a
                    // Child does not kill it); this thread's life is, through PDEATHSIG.
                    let _child = child;
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })
        .with_context(|| format!("spawning the {name} keeper thread"))?;
    rx.recv()
        .with_context(|| format!("the {name} keeper thread died"))?
}

/// Spawns `cmd` so that the kernel kills it when the calling thread exits.
///
/// The workspace forbids unsafe code; this crate lowers that to `deny` in its Cargo.toml
/// and allows it here only. `pre_exec` is unsafe because the closure runs in the forked
/// child before `exec`, where only async-signal-safe calls are allowed; `prctl` is one.
#[allow(unsafe_code)]
fn spawn_dying_with_thread(cmd: &mut Command) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure only calls prctl(2), which is async-signal-safe, and allocates
    // nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(cmd.spawn()?)
}

/// Sends SIGINT to the process group `pgid` (every process in it), as Ctrl-C in a
/// terminal does to its foreground job.
pub fn interrupt_group(pgid: u32) -> std::io::Result<()> {
    signal_group(pgid, libc::SIGINT)
}

/// Kills every process in the group `pgid` (a timed-out command and its providers).
pub fn kill_group(pgid: u32) -> std::io::Result<()> {
    signal_group(pgid, libc::SIGKILL)
}

#[allow(unsafe_code)]
fn signal_group(pgid: u32, signal: libc::c_int) -> std::io::Result<()> {
    let pgid = libc::pid_t::try_from(pgid).map_err(std::io::Error::other)?;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    if unsafe { libc::kill(-pgid, signal) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A port on 127.0.0.1 that was free a moment ago. Another process can take it before
/// the server binds it, so callers retry a start that fails.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
