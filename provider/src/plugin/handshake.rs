//! The go-plugin startup contract, as pure functions: the magic-cookie check,
//! protocol-version negotiation, the one-line handshake printed on stdout and
//! the `TF_REATTACH_PROVIDERS` JSON printed in debug mode
//! (research/protocol.md §2.1, §2.2, §2.5).

use std::fmt;

/// Environment variable Terraform sets to prove it launched the plugin.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Fixed value of [`MAGIC_COOKIE_KEY`] for every Terraform and OpenTofu release.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// Comma-separated list of plugin protocol versions the client accepts.
pub const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";
/// The only plugin protocol this provider speaks.
pub const PROTOCOL_VERSION: u32 = 6;
/// go-plugin's core protocol version (first handshake field).
pub const CORE_PROTOCOL_VERSION: u32 = 1;

/// Why the process refuses to start as a plugin. The `Display` text is what
/// the user (or Terraform's log) sees on stderr.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StartupError {
    /// The magic cookie is missing or wrong: someone ran the binary by hand.
    #[error(
        "This binary is a plugin. These are not meant to be executed directly.\n\
         Please execute the program that consumes these plugins, which will\n\
         load any plugins automatically.\n\
         \n\
         To run this provider by hand for debugging, start it with --debug and\n\
         export the TF_REATTACH_PROVIDERS value it prints before running terraform."
    )]
    NotLaunchedByTerraform,
    /// The client offered protocol versions, none of which is 6.
    #[error(
        "Incompatible plugin protocol: Terraform offered protocol version(s) {offered:?} \
         (PLUGIN_PROTOCOL_VERSIONS), but this provider only speaks protocol version 6. \
         Use Terraform 1.0 or later, or OpenTofu."
    )]
    UnsupportedProtocol {
        /// The raw value of `PLUGIN_PROTOCOL_VERSIONS`.
        offered: String,
    },
}

/// Checks the magic cookie Terraform passes in the environment.
pub fn check_cookie(value: Option<&str>) -> Result<(), StartupError> {
    match value {
        Some(v) if v == MAGIC_COOKIE_VALUE => Ok(()),
        _ => Err(StartupError::NotLaunchedByTerraform),
    }
}

/// Picks the protocol version from `PLUGIN_PROTOCOL_VERSIONS`: 6 when listed
/// (in any position: Terraform builds the list from a Go map, so the order
/// varies) or when the variable is absent or empty; an error otherwise.
/// Entries that are not numbers are ignored, as go-plugin does.
pub fn negotiate_protocol(offered: Option<&str>) -> Result<u32, StartupError> {
    let Some(raw) = offered.filter(|s| !s.trim().is_empty()) else {
        return Ok(PROTOCOL_VERSION);
    };
    let listed = raw
        .split(',')
        .filter_map(|s| s.trim().parse::<u32>().ok())
        .any(|v| v == PROTOCOL_VERSION);
    if listed {
        Ok(PROTOCOL_VERSION)
    } else {
        Err(StartupError::UnsupportedProtocol {
            offered: raw.to_string(),
        })
    }
}

/// The handshake line go-plugin clients read from the plugin's stdout:
/// `CORE|APP|NETWORK|ADDRESS|PROTOCOL|SERVERCERT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeLine<'a> {
    /// Path of the unix socket the server listens on.
    pub socket_path: &'a str,
    /// DER of the server certificate when serving TLS.
    pub server_cert_der: Option<&'a [u8]>,
}

impl fmt::Display for HandshakeLine<'_> {
    /// Formats the line without the trailing newline. The certificate is
    /// base64 with the standard alphabet and no padding (Go's
    /// `base64.RawStdEncoding`); the field is empty without TLS.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64::Engine as _;
        let cert = self
            .server_cert_der
            .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
            .unwrap_or_default();
        write!(
            f,
            "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|unix|{}|grpc|{cert}",
            self.socket_path
        )
    }
}

/// The JSON value of `TF_REATTACH_PROVIDERS` for one provider listening on a
/// unix socket. `Test` must be true: go-plugin only copies `ProtocolVersion`
/// into the negotiated version when it is, and would otherwise fall back to
/// protocol 5 (research/protocol.md §2.5).
pub fn reattach_json(provider_address: &str, pid: u32, socket_path: &str) -> String {
    let mut providers = serde_json::Map::new();
    providers.insert(
        provider_address.to_string(),
        serde_json::json!({
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": "unix", "String": socket_path },
        }),
    );
    serde_json::Value::Object(providers).to_string()
}

/// The message printed on stdout in debug mode, telling the user how to
/// point Terraform at this process.
pub fn debug_message(provider_address: &str, pid: u32, socket_path: &str) -> String {
    let json = reattach_json(provider_address, pid, socket_path);
    let quoted = json.replace('\'', r"'\''");
    format!(
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS \
         environment variable with the following:\n\n\
         \tTF_REATTACH_PROVIDERS='{quoted}'\n\n\
         The provider keeps serving until you press Ctrl-C.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_must_match_exactly() {
        assert_eq!(check_cookie(Some(MAGIC_COOKIE_VALUE)), Ok(()));
        assert_eq!(
            check_cookie(None),
            Err(StartupError::NotLaunchedByTerraform)
        );
        assert_eq!(
            check_cookie(Some("d602bf8f")),
            Err(StartupError::NotLaunchedByTerraform)
        );
        let msg = StartupError::NotLaunchedByTerraform.to_string();
        assert!(msg.starts_with("This binary is a plugin."));
        assert!(msg.contains("--debug"));
    }

    #[test]
    fn negotiation_picks_6_in_any_order() {
        assert_eq!(negotiate_protocol(None), Ok(6));
        assert_eq!(negotiate_protocol(Some("")), Ok(6));
        assert_eq!(negotiate_protocol(Some("5,6")), Ok(6));
        assert_eq!(negotiate_protocol(Some("6,5")), Ok(6));
        assert_eq!(negotiate_protocol(Some(" 6 ")), Ok(6));
        assert_eq!(negotiate_protocol(Some("x,6")), Ok(6));
        assert!(matches!(
            negotiate_protocol(Some("5")),
            Err(StartupError::UnsupportedProtocol { .. })
        ));
        assert!(matches!(
            negotiate_protocol(Some("4,5,7,16")),
            Err(StartupError::UnsupportedProtocol { .. })
        ));
    }

    #[test]
    fn handshake_line_format() {
        let plain = HandshakeLine {
            socket_path: "/tmp/plugin123/plugin",
            server_cert_der: None,
        };
        assert_eq!(plain.to_string(), "1|6|unix|/tmp/plugin123/plugin|grpc|");
        let tls = HandshakeLine {
            socket_path: "/s",
            server_cert_der: Some(&[0xff, 0xfe, 0xfd, 0x01]),
        };
        // RawStdEncoding: standard alphabet ('/' and '+'), no '=' padding.
        assert_eq!(tls.to_string(), "1|6|unix|/s|grpc|//79AQ");
    }

    #[test]
    fn reattach_json_has_test_true_and_protocol_6() {
        let json = reattach_json(
            "registry.terraform.io/bankplatform/bankplatform",
            42,
            "/t/p",
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let p = &v["registry.terraform.io/bankplatform/bankplatform"];
        assert_eq!(p["Protocol"], "grpc");
        assert_eq!(p["ProtocolVersion"], 6);
        assert_eq!(p["Pid"], 42);
        assert_eq!(p["Test"], true);
        assert_eq!(p["Addr"]["Network"], "unix");
        assert_eq!(p["Addr"]["String"], "/t/p");
        let msg = debug_message("a/b/c", 1, "/x");
        assert!(msg.contains("TF_REATTACH_PROVIDERS='{"));
    }
}
