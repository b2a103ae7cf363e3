//! The stop signal raised by `StopProvider` (Ctrl-C in Terraform): long waits
//! in resources check it and give up promptly, returning what exists so far.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

#[cfg(test)]
mod tests {
    use super::*;

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
