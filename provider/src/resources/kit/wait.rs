//! Waiting for AWS to finish something (a NAT gateway becoming available, an
//! attachment being deleted): poll at once, then back off from 200 ms to 10 s; stop
//! at once on StopProvider; give up after the timeout with a sentence naming what
//! was awaited; fail fast when the object reaches a state the wait can never leave.

use std::future::Future;
use std::time::Duration;

use crate::aws::Clients;

/// What one poll saw.
pub(crate) enum Poll {
    /// The awaited state is reached.
    Done,
    /// Not yet.
    Pending,
    /// A state the wait can never leave (failed, rejected, vanished): this message.
    Never(String),
}

/// Polls `poll` until it reports [`Poll::Done`]. `what` completes sentences such as
/// "NAT gateway (nat-1) did not become available within 600s".
pub(crate) async fn until<F, Fut>(
    c: &Clients,
    what: &str,
    goal: &str,
    timeout: Duration,
    mut poll: F,
) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll, String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = Duration::from_millis(200);
    loop {
        match poll().await? {
            Poll::Done => return Ok(()),
            Poll::Never(why) => return Err(format!("{what} {why}")),
            Poll::Pending => {}
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("{what} did not become {goal} within {timeout:?}"));
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = c.stop.stopped() => {
                return Err(format!("{}: {what} was not yet {goal}", super::INTERRUPTED));
            }
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}
