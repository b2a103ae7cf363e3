//! AWS calls that stay correct under faults: creates that happen once even when a
//! response is lost, and removals for which "already gone" is success.
//!
//! Every SDK client retries throttling, 5xx, timeouts and resets (`aws::retry`). That
//! is right for reads, puts and deletes, which can run twice; it is wrong for a create
//! whose response was lost: the retry makes a second object (AWS honours `ClientToken`
//! where an API takes one, the emulator ignores it). [`create_once`] therefore sends a
//! create without the SDK's retries and, when the outcome is unknown (5xx, reset,
//! timeout, garbled answer), looks the object up before sending it again.

use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use rand::Rng;

use crate::aws::{error_code, error_message, is_not_found, Clients};

/// Error codes AWS services use for "slow down": the request was refused, nothing
/// happened, sending it again later is safe.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "BandwidthLimitExceeded",
];

/// What a failed call means for "did it happen?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Refused before doing anything (throttled): send again.
    Refused,
    /// May or may not have happened (5xx, reset, timeout, lost or garbled answer):
    /// look before sending again.
    Unknown,
    /// Failed for a reason sending again will not fix (validation, access, conflict).
    Failed,
}

/// Classifies an SDK error.
pub(crate) fn outcome<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Outcome {
    match err {
        SdkError::ConstructionFailure(_) => Outcome::Failed,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Outcome::Unknown
        }
        SdkError::ServiceError(e) => {
            if e.err()
                .code()
                .is_some_and(|c| THROTTLING_CODES.contains(&c))
            {
                Outcome::Refused
            } else if e.raw().status().is_server_error() {
                Outcome::Unknown
            } else {
                Outcome::Failed
            }
        }
        _ => Outcome::Unknown,
    }
}

/// The delay before attempt `n` (from 1): full jitter over 100 ms × 2ⁿ, at most 15 s.
pub(crate) fn backoff(n: u32) -> Duration {
    let cap = Duration::from_millis(100)
        .saturating_mul(1u32 << n.min(8))
        .min(Duration::from_secs(15));
    cap.mul_f64(rand::rng().random_range(0.5..1.0))
}

/// Sleeps `delay`, or returns `Err` at once when StopProvider arrives.
pub(crate) async fn pause(c: &Clients, delay: Duration, what: &str) -> Result<(), String> {
    tokio::select! {
        () = tokio::time::sleep(delay) => Ok(()),
        () = c.stop.stopped() => Err(format!("{}: {what}", super::INTERRUPTED)),
    }
}

/// Runs a create exactly once.
///
/// `send` makes one attempt with the SDK's retries off (see [`no_retries`]) and returns
/// the new object's id, or `None` when AWS answered without one. `find` looks the
/// object up by what identifies it (tags, CIDR, name) and returns its id if it exists.
/// Refused attempts are sent again after a backoff; unknown outcomes are looked up
/// first; an answer without an id three times in a row fails with a clear message
/// instead of waiting on an empty id.
pub(crate) async fn create_once<E, S, SF, F, FF>(
    c: &Clients,
    what: &str,
    mut send: S,
    mut find: F,
) -> Result<String, String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    S: FnMut() -> SF,
    SF: Future<Output = Result<Option<String>, SdkError<E, HttpResponse>>>,
    F: FnMut() -> FF,
    FF: Future<Output = Result<Option<String>, String>>,
{
    let mut attempt = 0;
    let mut empty_answers = 0;
    loop {
        attempt += 1;
        let last = attempt >= c.max_attempts;
        let look_first = match send().await {
            Ok(Some(id)) if !id.is_empty() => return Ok(id),
            Ok(_) => {
                empty_answers += 1;
                if empty_answers >= 3 {
                    return Err(format!(
                        "{what}: AWS answered {empty_answers} times without the new object's id; nothing can be waited on or managed without it. Check the endpoint (an emulator or proxy answering for AWS?) and apply again."
                    ));
                }
                true
            }
            Err(e) => match outcome(&e) {
                Outcome::Failed => return Err(format!("{what}: {}", error_message(&e))),
                Outcome::Refused if last => {
                    return Err(format!(
                        "{what}: still refused after {attempt} attempts: {}",
                        error_message(&e)
                    ))
                }
                Outcome::Refused => false,
                Outcome::Unknown if last => {
                    return match find().await {
                        Ok(Some(id)) => Ok(id),
                        _ => Err(format!(
                            "{what}: no answer after {attempt} attempts: {}",
                            error_message(&e)
                        )),
                    }
                }
                Outcome::Unknown => true,
            },
        };
        if look_first {
            // The create may have happened: its object would carry our identity.
            if let Ok(Some(id)) = find().await {
                tracing::info!(what, id = %id, "found the object an unanswered create made");
                return Ok(id);
            }
        }
        pause(c, backoff(attempt), what).await?;
    }
}

/// One create attempt for [`create_once`]: the sent request (with [`no_retries`]),
/// and where the new object's id is in the answer.
pub(crate) async fn made<O, E, F>(
    sent: F,
    id: impl FnOnce(&O) -> Option<&str>,
) -> Result<Option<String>, SdkError<E, HttpResponse>>
where
    F: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
{
    let out = sent.await?;
    Ok(id(&out).map(str::to_string))
}

/// A lookup for [`create_once`]: the id of the first item a Describe/List call
/// returned that `id` accepts.
pub(crate) async fn found<O, E, T, F>(
    sent: F,
    items: impl FnOnce(&O) -> &[T],
    id: impl Fn(&T) -> Option<&str>,
) -> Result<Option<String>, String>
where
    F: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let out = sent.await.map_err(|e| error_message(&e))?;
    Ok(items(&out).iter().find_map(|x| id(x).map(str::to_string)))
}

/// A removal's result, with "already gone" (any not-found code, a detached or
/// disassociated object) counted as done: after a lost response the retry finds
/// nothing to remove.
pub(crate) fn removed<T, E>(
    r: Result<T, SdkError<E, HttpResponse>>,
    what: &str,
) -> Result<(), String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e)
            if error_code(&e).is_some_and(|c| {
                matches!(
                    c,
                    "Gateway.NotAttached"
                        | "InvalidPermission.NotFound"
                        | "KMSInvalidStateException"
                )
            }) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("{what}: {}", error_message(&e))),
    }
}

/// `removal.gone_is_done("deleting X")`: [`removed`] as a method, for call chains.
pub(crate) trait GoneIsDone {
    /// `Ok` when the call succeeded or found nothing to remove.
    fn gone_is_done(self, what: &str) -> Result<(), String>;
}

impl<T, E> GoneIsDone for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn gone_is_done(self, what: &str) -> Result<(), String> {
        removed(self, what)
    }
}

/// Whether the endpoint does not implement the API at all (an emulator): 404, an
/// unknown-operation code, or a 5xx web page without an error code (an AWS service
/// answers in its protocol, with a code). What such an endpoint cannot do is
/// requested where possible and left out of `compliance`, never claimed.
pub(crate) fn unsupported<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, HttpResponse>,
) -> bool {
    if let SdkError::ConstructionFailure(_) = err {
        // A probe not sent again: the endpoint already said it lacks the API.
        return std::error::Error::source(err).is_some_and(|s| s.is::<Lacking>());
    }
    let SdkError::ServiceError(e) = err else {
        return false;
    };
    let status = e.raw().status();
    let page = e.err().code().is_none()
        && e.raw().body().bytes().is_some_and(|b| {
            b.trim_ascii_start()
                .to_ascii_lowercase()
                .starts_with(b"<!doctype html")
        });
    status.as_u16() == 404
        || (status.is_server_error() && page)
        || matches!(
            e.err().code(),
            Some("UnknownOperationException" | "InvalidAction" | "NotImplemented")
        )
}

/// How long AWS may take to make a just-made IAM role, or a just-written key or
/// bucket policy, visible to the service that uses it (the AWS provider's IAM
/// propagation timeout).
pub(crate) const PROPAGATION: Duration = Duration::from_secs(120);

/// Whether an error is a service not yet seeing a role or policy that was just
/// written (AWS is eventually consistent there; the same call succeeds seconds later).
pub(crate) fn propagating<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    let SdkError::ServiceError(e) = err else {
        return false;
    };
    let message = e.err().message().unwrap_or_default().to_ascii_lowercase();
    match e.err().code() {
        // CloudTrail: the log-delivery role, the bucket policy, the key policy.
        Some(
            "InvalidCloudWatchLogsRoleArnException"
            | "InvalidCloudWatchLogsLogGroupArnException"
            | "InsufficientS3BucketPolicyException"
            | "InsufficientEncryptionPolicyException"
            // Config: the delivery bucket's policy, the aggregator's role.
            | "InsufficientDeliveryPolicyException"
            | "InvalidRoleException",
        ) => true,
        // KMS: a key policy naming a role IAM has not yet published.
        Some("MalformedPolicyDocumentException") => message.contains("invalid principal"),
        // EC2 and others: "unable to assume the role", "role ... does not exist".
        Some("InvalidParameterValueException" | "InvalidParameter") => {
            message.contains("assume") && message.contains("role")
        }
        _ => false,
    }
}

/// `send`, sent again with backoff while AWS has not yet propagated a role or
/// policy it depends on ([`propagating`]), for at most [`PROPAGATION`]. Any other
/// answer (or StopProvider) ends it.
pub(crate) async fn settled<T, E, S, SF>(
    c: &Clients,
    what: &str,
    mut send: S,
) -> Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    S: FnMut() -> SF,
    SF: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let started = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match send().await {
            Err(e) if propagating(&e) && started.elapsed() < PROPAGATION => {
                tracing::info!(what, attempt, error = %error_message(&e), "not yet visible to the service (IAM propagation); trying again");
                if pause(c, backoff(attempt + 2), what).await.is_err() {
                    return Err(e);
                }
            }
            r => return r,
        }
    }
}

/// Whether a request got no answer at all (a connection reset or closed, a
/// timeout, a garbled response), as opposed to an answer refusing it.
pub(crate) fn unanswered<E>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(
        err,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    )
}

/// A call to an API the endpoint may lack, sent with [`few_retries`] (an emulator's
/// 500 page must not cost the whole budget) yet as patient as any other call while
/// it is only refused (throttled: up to the clients' attempt budget) or unanswered
/// (a connection closed or timed out: a few rounds). The call must be safe to send
/// again (a read, a put, or a create whose repeat answers "already exists").
///
/// What the endpoint answers it lacks is remembered for the clients' life (one
/// provider process): the same probe is then answered at once, as [`unsupported`],
/// without a request (the emulator's missing APIs cost seconds of retried 500 pages
/// each, read after read).
pub(crate) async fn probing<T, E, S, SF>(
    c: &Clients,
    what: &str,
    mut send: S,
) -> Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    S: FnMut() -> SF,
    SF: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    if c.lacks(what) {
        return Err(SdkError::construction_failure(Lacking(what.to_string())));
    }
    let mut round = 0;
    loop {
        round += 1;
        let r = send().await;
        if let Err(e) = &r {
            if unsupported(e) {
                c.note_lacking(what);
            }
        }
        match r {
            Err(e)
                if round < c.max_attempts
                    && (outcome(&e) == Outcome::Refused || (unanswered(&e) && round < 4)) =>
            {
                tracing::debug!(what, round, error = %error_message(&e), "sending again");
                if pause(c, backoff(round + 2), what).await.is_err() {
                    return Err(e);
                }
            }
            r => return r,
        }
    }
}

/// The endpoint lacks the API of a probe (see [`probing`]).
#[derive(Debug)]
pub(crate) struct Lacking(String);

impl std::fmt::Display for Lacking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: the endpoint does not implement this API", self.0)
    }
}

impl std::error::Error for Lacking {}

/// A few attempts only, for calls to APIs an endpoint may lack ([`unsupported`]):
/// an emulator's 500 page must not cost the full retry budget.
pub(crate) fn few_retries() -> aws_config::retry::RetryConfig {
    // The shared policy's backoff (an override replaces the whole configuration, and
    // the SDK's own first backoff of a second made each emulator 500 page cost ~1.5 s).
    crate::aws::retry::retry_config(Some(3))
}

/// SDK retries off, for the one call [`create_once`] sends at a time.
pub(crate) fn no_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::disabled()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(200));
        assert!(backoff(1) >= Duration::from_millis(100));
        assert!(backoff(30) <= Duration::from_secs(15));
        assert!(backoff(30) >= Duration::from_millis(7500));
    }

    fn answer(
        status: u16,
        code: &str,
        message: &str,
    ) -> SdkError<aws_sdk_kms::operation::put_key_policy::PutKeyPolicyError, HttpResponse> {
        let meta = aws_smithy_types::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .build();
        SdkError::service_error(
            aws_sdk_kms::operation::put_key_policy::PutKeyPolicyError::generic(meta),
            HttpResponse::new(
                status.try_into().unwrap(),
                aws_smithy_types::body::SdkBody::empty(),
            ),
        )
    }

    #[test]
    fn a_probe_the_endpoint_lacks_reads_as_unsupported_without_a_request() {
        type E = SdkError<aws_sdk_kms::operation::put_key_policy::PutKeyPolicyError, HttpResponse>;
        let remembered: E = SdkError::construction_failure(Lacking("reading X".into()));
        assert!(unsupported(&remembered));
        let other: E = SdkError::construction_failure(std::io::Error::other("no region"));
        assert!(!unsupported(&other));
        assert!(unsupported(&answer(404, "", "")));
        assert!(!unsupported(&answer(400, "ValidationException", "bad")));
    }

    #[test]
    fn what_propagation_delays_look_like() {
        for (code, message, waits) in [
            (
                "InvalidCloudWatchLogsRoleArnException",
                "Access denied. Verify in IAM that the role has adequate permissions.",
                true,
            ),
            (
                "InsufficientDeliveryPolicyException",
                "Insufficient delivery policy to s3 bucket",
                true,
            ),
            ("InvalidRoleException", "The role cannot be assumed", true),
            (
                "MalformedPolicyDocumentException",
                "Policy contains a statement with one or more invalid principals.",
                true,
            ),
            (
                "MalformedPolicyDocumentException",
                "The new key policy will not allow you to update the key policy in the future.",
                false,
            ),
            (
                "InvalidParameterValueException",
                "Unable to assume the IAM role arn:aws:iam::1:role/x",
                true,
            ),
            ("InvalidParameterValueException", "Invalid CIDR", false),
            ("AccessDeniedException", "not authorized", false),
        ] {
            assert_eq!(
                propagating(&answer(400, code, message)),
                waits,
                "{code}: {message}"
            );
        }
        assert_eq!(
            outcome(&answer(400, "ThrottlingException", "slow down")),
            Outcome::Refused
        );
        assert_eq!(
            outcome(&answer(503, "ServiceUnavailable", "")),
            Outcome::Unknown
        );
        assert!(!unanswered(&answer(500, "InternalError", "")));
    }
}
