//! S3 Control addresses the account in the host name (`{AccountId}.s3-control...`),
//! built by the SDK's endpoint rules. Behind an endpoint override (a local emulator
//! such as moto at `127.0.0.1:5000`), `123456789012.127.0.0.1` resolves nowhere; the
//! emulator routes on the `/v20180820/` path and reads the account from the
//! `x-amz-account-id` header the SDK sends anyway. This interceptor, installed only
//! when an S3 Control endpoint is overridden, strips the account prefix from the host
//! before the request is signed. Against AWS nothing changes.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Removes a leading `<12 digits>.` from the request host.
#[derive(Debug)]
pub(crate) struct StripAccountHost;

/// `uri` without the account label in front of its host, when it has one.
fn stripped(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let (label, host) = rest.split_once('.')?;
    (label.len() == 12 && label.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("{scheme}://{host}"))
}

impl Intercept for StripAccountHost {
    fn name(&self) -> &'static str {
        "StripAccountHost"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if let Some(uri) = stripped(request.uri()) {
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::stripped;

    #[test]
    fn only_an_account_label_is_removed() {
        assert_eq!(
            stripped(
                "http://123456789012.127.0.0.1:5000/v20180820/configuration/publicAccessBlock"
            )
            .as_deref(),
            Some("http://127.0.0.1:5000/v20180820/configuration/publicAccessBlock")
        );
        assert_eq!(stripped("http://127.0.0.1:5000/v20180820/x"), None);
        assert_eq!(
            stripped("https://s3-control.eu-west-1.amazonaws.com/x"),
            None
        );
    }
}
