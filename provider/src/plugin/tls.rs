//! go-plugin AutoMTLS on the server side (research/protocol.md §2.3).
//!
//! Terraform passes its client certificate in `PLUGIN_CLIENT_CERT` (a
//! self-signed ECDSA P-521 certificate with IsCA=true) and trusts exactly the
//! server certificate printed in the handshake line. This module generates
//! that server certificate and builds a rustls `ServerConfig` that
//! *requires* the client to present the very certificate from the
//! environment.
//!
//! Why a custom verifier: webpki's `WebPkiClientVerifier` refuses a CA
//! certificate used as an end entity (`CaUsedAsEndEntity`), which is exactly
//! what go-plugin sends. Trust here is by pinning: the client's end-entity
//! certificate must be byte-identical to the one Terraform put in the
//! environment, and the handshake signature is checked against its key with
//! the aws-lc-rs algorithms (the only rustls backend that verifies
//! ECDSA P-521/SHA-512).

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

/// Environment variable holding the PEM client certificate (AutoMTLS).
pub const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";

/// Errors setting up TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `PLUGIN_CLIENT_CERT` is set but holds no parseable PEM certificate.
    #[error("PLUGIN_CLIENT_CERT does not contain a PEM certificate: {0}")]
    BadClientCert(String),
    /// Generating the server certificate failed.
    #[error("generating the plugin server certificate: {0}")]
    CertGen(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("building the TLS server configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The aws-lc-rs crypto provider, used for everything TLS in this process.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A freshly generated self-signed server certificate and its key.
pub struct ServerIdentity {
    /// DER of the certificate (advertised base64-encoded in the handshake).
    pub cert_der: CertificateDer<'static>,
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("cert_der_len", &self.cert_der.len())
            .finish_non_exhaustive()
    }
}

/// Generates the server certificate the way go-plugin does (but with a P-256
/// key, which every client verifies and which is cheap to generate):
/// CN and DNS SAN `localhost`, self-signed and its own root (IsCA), EKUs
/// serverAuth + clientAuth, valid from 30 s ago for about 30 years.
pub fn generate_server_identity() -> Result<ServerIdentity, TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "HashiCorp");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::seconds(30);
    params.not_after = now + time::Duration::days(30 * 365);
    let cert = params.self_signed(&key)?;
    Ok(ServerIdentity {
        cert_der: cert.der().clone(),
        key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
    })
}

/// Parses every certificate in a PEM string.
pub fn parse_pem_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadClientCert(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::BadClientCert("no CERTIFICATE block".into()));
    }
    Ok(certs)
}

/// Builds the server config: TLS 1.2 and 1.3 over aws-lc-rs, ALPN `h2`
/// (grpc-go ≥ 1.67 rejects peers without it), and mandatory client
/// authentication against the pinned `client_certs`.
pub fn server_config(
    identity: &ServerIdentity,
    client_certs: Vec<CertificateDer<'static>>,
) -> Result<ServerConfig, TlsError> {
    let provider = crypto_provider();
    let verifier = PinnedClientCertVerifier::new(client_certs, &provider);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![identity.cert_der.clone()],
            PrivateKeyDer::Pkcs8(identity.key_der.clone_key()),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Accepts exactly the client certificates it was given (byte-for-byte) and
/// verifies the client's handshake signature with that certificate's key.
#[derive(Debug)]
pub struct PinnedClientCertVerifier {
    pinned: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCertVerifier {
    /// A verifier pinning `pinned`, using `provider`'s signature algorithms.
    pub fn new(pinned: Vec<CertificateDer<'static>>, provider: &CryptoProvider) -> Self {
        Self {
            pinned,
            algorithms: provider.signature_verification_algorithms,
        }
    }

    fn is_pinned(&self, cert: &CertificateDer<'_>) -> bool {
        self.pinned.iter().any(|p| p.as_ref() == cert.as_ref())
    }
}

impl ClientCertVerifier for PinnedClientCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    /// Empty: a client then always presents its certificate (RFC 8446
    /// §4.2.4; Go's `getClientCertificate` sends it when no CA is hinted).
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Trust is the exact certificate Terraform handed us out of band in
        // the environment, so neither chain nor validity dates matter (the
        // same certificate is trusted for the whole life of the process).
        if self.is_pinned(end_entity) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go_plugin_client_cert() -> (rcgen::Certificate, rcgen::KeyPair) {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "HashiCorp");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        (params.self_signed(&key).unwrap(), key)
    }

    #[test]
    fn server_identity_is_a_localhost_cert() {
        let id = generate_server_identity().unwrap();
        let der = id.cert_der.as_ref();
        assert!(der.len() > 200);
        // The DNS SAN "localhost" appears verbatim in the DER.
        assert!(der.windows(9).any(|w| w == b"localhost"));
        let cfg = server_config(&id, vec![id.cert_der.clone()]).unwrap();
        assert_eq!(cfg.alpn_protocols, vec![b"h2".to_vec()]);
    }

    #[test]
    fn verifier_pins_exact_der_and_supports_p521() {
        let (cert, _key) = go_plugin_client_cert();
        let (other, _) = go_plugin_client_cert();
        let pem = cert.pem();
        let parsed = parse_pem_certs(&pem).unwrap();
        assert_eq!(parsed[0].as_ref(), cert.der().as_ref());
        let v = PinnedClientCertVerifier::new(parsed, &crypto_provider());
        assert!(v.client_auth_mandatory() && v.offer_client_auth());
        assert!(v
            .supported_verify_schemes()
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        let now = UnixTime::now();
        assert!(v.verify_client_cert(cert.der(), &[], now).is_ok());
        assert!(v.verify_client_cert(other.der(), &[], now).is_err());
    }

    #[test]
    fn bad_pem_is_an_error() {
        assert!(parse_pem_certs("not a pem").is_err());
        assert!(parse_pem_certs("").is_err());
    }
}
