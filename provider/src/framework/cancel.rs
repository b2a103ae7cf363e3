//! The stop signal raised by `StopProvider` (Ctrl-C in Terraform): long waits
//! in resources check it and give up promptly, returning what exists so far.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// Cheap to clone; every clone observes the same stop.
#[derive(Clone, Default, Debug)]
pub struct StopSignal {
    inner: Arc<Inner>,
}

#[derive(Default, Debug)]
struct Inner {
    stopped: AtomicBool,
    notify: Notify,
}

impl StopSignal {
    /// Raises the signal; wakes every waiter.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether `stop` was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Completes when the signal is raised.
    pub async fn stopped(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

/// A [`StopSignal`] for one operation: raised when its parent is (StopProvider), or
/// when `limit` has passed (the resource's `timeouts`). Dropping it ends the timer.
#[derive(Debug)]
pub struct Deadline {
    signal: StopSignal,
    limit: Duration,
    expired: Arc<AtomicBool>,
    timer: tokio::task::JoinHandle<()>,
}

impl Deadline {
    /// The signal to hand to the operation.
    pub fn signal(&self) -> StopSignal {
        self.signal.clone()
    }

    /// How long the operation may take.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Whether the operation was stopped by its time limit (not by StopProvider).
    pub fn expired(&self) -> bool {
        self.expired.load(Ordering::SeqCst)
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.timer.abort();
    }
}

impl StopSignal {
    /// A signal raised by this one, or after `limit`, whichever comes first.
    pub fn until(&self, limit: Duration) -> Deadline {
        let signal = StopSignal::default();
        let expired = Arc::new(AtomicBool::new(false));
        let (parent, child, flag) = (self.clone(), signal.clone(), expired.clone());
        let timer = tokio::spawn(async move {
            tokio::select! {
                () = parent.stopped() => {}
                () = tokio::time::sleep(limit) => flag.store(true, Ordering::SeqCst),
            }
            child.stop();
        });
        Deadline {
            signal,
            limit,
            expired,
            timer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deadline_stops_its_operation_after_its_limit_or_with_its_parent() {
        let provider = StopSignal::default();
        let d = provider.until(Duration::from_millis(20));
        assert!(!d.signal().is_stopped());
        d.signal().stopped().await;
        assert!(d.expired(), "stopped by the limit");
        assert!(!provider.is_stopped(), "the provider goes on");

        let d = provider.until(Duration::from_secs(3600));
        provider.stop();
        d.signal().stopped().await;
        assert!(!d.expired(), "stopped by StopProvider, not by the limit");
    }

    #[tokio::test]
    async fn stopped_completes_after_stop() {
        let s = StopSignal::default();
        let s2 = s.clone();
        let waiter = tokio::spawn(async move { s2.stopped().await });
        tokio::task::yield_now().await;
        assert!(!s.is_stopped());
        s.stop();
        waiter.await.unwrap();
        assert!(s.is_stopped());
    }
}
