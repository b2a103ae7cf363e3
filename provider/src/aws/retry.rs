//! One retry policy for every SDK client the provider builds.
//!
//! AWS answers throttling, 5xx, timeouts and reset connections every day;
//! the SDK's default of 3 attempts turns them into failed applies (measured:
//! 2–3 of 5 applies failed under 20% throttling). Like the AWS provider
//! (`max_retries`, default 25), every request is retried with jittered
//! exponential backoff, and the SDK's retry quota (a token bucket that stops
//! retrying after ~100 failures in a process) is lifted: a long apply in a
//! throttled account must keep going, not give up half-way.
//!
//! Retries cover what the SDK classifies as transient: throttling codes,
//! 5xx, timeouts, I/O errors (reset connections, lost responses) and
//! unparseable answers. A create whose response was lost may thus run twice;
//! composites find such duplicates by their ownership tags (see
//! `resources/kit/ownership.rs`) and keep one.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};

/// Retries per request unless the provider block says otherwise.
pub const DEFAULT_MAX_RETRIES: u32 = 25;

/// First backoff (scaled by 2^attempt with full jitter), and the cap.
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// The retry configuration for `max_attempts` attempts (first included).
pub fn retry_config(max_attempts: Option<u32>) -> RetryConfig {
    let attempts = max_attempts.unwrap_or(DEFAULT_MAX_RETRIES + 1).max(1);
    if attempts == 1 {
        return RetryConfig::disabled();
    }
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

/// Attempts per request for a rollback, when an apply makes `apply_attempts`: twice
/// as many, and never fewer than the default (a provider block that turned retries
/// off for a fast-failing apply still wants its leftovers removed).
pub fn rollback_attempts(apply_attempts: u32) -> u32 {
    apply_attempts
        .saturating_mul(2)
        .max(DEFAULT_MAX_RETRIES + 1)
}

/// The retry partition every client shares: its own name, and a token
/// bucket that never runs out (the attempt budget above is the limit).
pub fn retry_partition() -> RetryPartition {
    RetryPartition::custom("bankplatform")
        .token_bucket(TokenBucket::unlimited())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_twenty_five_retries_and_zero_disables() {
        assert_eq!(retry_config(None).max_attempts(), 26);
        assert_eq!(retry_config(Some(6)).max_attempts(), 6);
        assert!(!retry_config(Some(1)).has_retry());
        assert_eq!(retry_config(None).max_backoff(), MAX_BACKOFF);
    }

    #[test]
    fn a_rollback_is_more_patient_than_its_apply() {
        assert_eq!(rollback_attempts(26), 52);
        assert_eq!(rollback_attempts(1), 26);
        assert_eq!(rollback_attempts(u32::MAX), u32::MAX);
    }
}
