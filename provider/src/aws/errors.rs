//! Reading AWS SDK errors: the service error code, a readable message, and
//! whether an error means "not found" (which finders turn into `Ok(None)`).

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Codes AWS services use for a missing object.
const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchBucket",
    "NotFound",
    "NoSuchEntity",
    "NotFoundException",
    "NoSuchBucketPolicy",
    "NoSuchLifecycleConfiguration",
    "ReplicationConfigurationNotFoundError",
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchPublicAccessBlockConfiguration",
    "OwnershipControlsNotFoundError",
    "ObjectLockConfigurationNotFoundError",
    "NoSuchTagSet",
    "TrailNotFoundException",
    "NoSuchTagSetError",
    // DynamoDB, CloudWatch Logs, Security Hub, Access Analyzer, ...
    "ResourceNotFoundException",
    "TableNotFoundException",
];

/// The service error code, if the error came from the service.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// A one-line description: "Code: message" for service errors, the error
/// chain otherwise (timeouts, connection failures).
pub fn error_message<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let SdkError::ServiceError(e) = err {
        let msg = e.err().message().unwrap_or("");
        // AWS support asks for the request id; it is in every service error.
        let request = e
            .err()
            .meta()
            .extra("aws_request_id")
            .map(|id| format!(" (request id {id})"))
            .unwrap_or_default();
        return match e.err().code() {
            Some(code) => format!("{code}: {msg}{request}"),
            // No error code: the body was not a service error document (an
            // emulator crash, a proxy page). Show the status and the start of it.
            None => {
                let body = e
                    .raw()
                    .body()
                    .bytes()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                let snippet: String = body.chars().take(200).collect();
                format!("HTTP {} {msg}{snippet}", e.raw().status().as_u16())
            }
        };
    }
    aws_smithy_types::error::display::DisplayErrorContext(err).to_string()
}

/// Whether the error means the object does not exist (including a bare HTTP 404).
pub fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(e) => {
            e.err().code().is_some_and(|c| {
                NOT_FOUND_CODES.contains(&c)
                    // EC2: InvalidSubnetID.NotFound, InvalidAssociationID.NotFound, ...
                    || c.ends_with(".NotFound")
                    // Config: NoSuchConfigRuleException, NoSuchDeliveryChannelException, ...
                    || (c.starts_with("NoSuch") && c.ends_with("Exception"))
            }) || e.raw().status().as_u16() == 404
        }
        _ => false,
    }
}

/// Whether the "error" is an HTTP 200 whose body is one empty XML element named one of
/// `roots`: the local emulator's answer for "nothing configured" on some S3 reads (an
/// empty `<GetBucketNotificationResponse/>` where AWS sends an empty
/// `<NotificationConfiguration/>`), which the SDK refuses for its root element's name.
pub fn empty_document<E: ProvideErrorMetadata>(
    err: &SdkError<E, HttpResponse>,
    roots: &[&str],
) -> bool {
    let raw = match err {
        SdkError::ServiceError(e) if e.err().code().is_none() => e.raw(),
        SdkError::ResponseError(e) => e.raw(),
        _ => return false,
    };
    raw.status().as_u16() == 200
        && raw
            .body()
            .bytes()
            .and_then(one_empty_element)
            .is_some_and(|name| roots.contains(&name.as_str()))
}

/// The name of the one empty element `body` holds (after an XML declaration).
fn one_empty_element(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let text = match text.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, r)| r.trim()),
        None => text,
    };
    let inner = text.strip_prefix('<')?.strip_suffix("/>")?;
    if inner.contains('<') || inner.contains('>') {
        return None;
    }
    inner.split_whitespace().next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::one_empty_element;

    #[test]
    fn only_a_single_empty_element_is_an_empty_document() {
        assert_eq!(
            one_empty_element(
                b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<GetBucketNotificationResponse\nxmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
            )
            .as_deref(),
            Some("GetBucketNotificationResponse")
        );
        assert_eq!(
            one_empty_element(b"<NotificationConfiguration/>").as_deref(),
            Some("NotificationConfiguration")
        );
        assert_eq!(one_empty_element(b"<A><B/></A>"), None);
        assert_eq!(one_empty_element(b"<html>oops</html>"), None);
        assert_eq!(one_empty_element(b""), None);
    }
}
