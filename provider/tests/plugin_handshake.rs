//! End-to-end tests of the go-plugin process layer against the built binary:
//! the magic-cookie refusal, protocol negotiation, the handshake line, AutoMTLS
//! with a go-plugin-style ECDSA P-521 client certificate (and the rejection of
//! clients without it), `GRPCController/Shutdown` ending the process quickly,
//! plaintext mode, SIGINT handling and `--debug` reattach output.
//!
//! Needs no network: everything runs over unix sockets.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bankplatform_provider::pb::plugin::grpc_controller_client::GrpcControllerClient;
use bankplatform_provider::pb::plugin::grpc_stdio_client::GrpcStdioClient;
use bankplatform_provider::pb::plugin::Empty;
use base64::Engine as _;
use rustls::ClientConfig;

const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-bankplatform");
const STEP: Duration = Duration::from_secs(10);

/// Variables the tests control; removed from the inherited environment.
const PLUGIN_VARS: [&str; 7] = [
    "TF_PLUGIN_MAGIC_COOKIE",
    "PLUGIN_PROTOCOL_VERSIONS",
    "PLUGIN_CLIENT_CERT",
    "PLUGIN_UNIX_SOCKET_DIR",
    "TF_LOG",
    "TF_LOG_PROVIDER",
    "TF_REATTACH_PROVIDERS",
];

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in PLUGIN_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

// ---------------------------------------------------------------------------
// Certificates
#[path = "support/goplugin_client.rs"]
mod goplugin_client;
use goplugin_client::{channel, client_config, go_plugin_client_identity};

/// Calls `plugin.GRPCController/Shutdown`; `Err` when the connection or the
/// call fails.
async fn call_shutdown(socket: &Path, tls: Option<Arc<ClientConfig>>) -> Result<(), String> {
    let call = async {
        let ch = channel(socket, tls)
            .await
            .map_err(|e| format!("connect: {e:?}"))?;
        GrpcControllerClient::new(ch)
            .shutdown(Empty {})
            .await
            .map(|_| ())
            .map_err(|e| format!("Shutdown: {e}"))
    };
    tokio::time::timeout(STEP, call)
        .await
        .map_err(|_| "timed out".to_string())?
}

async fn health_status(socket: &Path, tls: Option<Arc<ClientConfig>>, service: &str) -> i32 {
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    let ch = channel(socket, tls).await.expect("connect");
    let resp = tokio::time::timeout(
        STEP,
        HealthClient::new(ch).check(HealthCheckRequest {
            service: service.to_string(),
        }),
    )
    .await
    .expect("health check timed out")
    .expect("health check");
    resp.into_inner().status
}

// ---------------------------------------------------------------------------
// The plugin process

struct Plugin {
    child: Child,
    stdout_lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    startup: Duration,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Plugin {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let started = Instant::now();
        let mut child = command(args, env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the provider binary");
        let (tx, stdout_lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Plugin {
            child,
            stdout_lines,
            stderr,
            startup: started.elapsed(),
        }
    }

    /// Next stdout line; sets `startup` to the time since spawn.
    fn next_line(&mut self, started: Instant) -> String {
        let line = self
            .stdout_lines
            .recv_timeout(STEP)
            .unwrap_or_else(|e| panic!("no stdout line ({e}); stderr: {}", self.stderr()));
        self.startup = started.elapsed();
        line
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits up to `limit` for the process to exit; returns how long it took.
    fn wait_exit(&mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, t.elapsed());
            }
            assert!(t.elapsed() < limit, "plugin still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([format!("-{sig}"), self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }
}

/// Starts the plugin the way Terraform does and returns it with the parsed
/// handshake fields.
fn start_managed(env: &[(&str, &str)]) -> (Plugin, Vec<String>) {
    let started = Instant::now();
    let mut plugin = Plugin::start(&[], env);
    let line = plugin.next_line(started);
    eprintln!(
        "cold start to handshake line: {:.1} ms",
        plugin.startup.as_secs_f64() * 1000.0
    );
    let fields: Vec<String> = line.split('|').map(str::to_string).collect();
    (plugin, fields)
}

/// Every stderr line is an hclog JSON object.
fn assert_hclog_lines(stderr: &str) {
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line}"));
        for key in ["@level", "@message", "@module", "@timestamp"] {
            assert!(v.get(key).is_some(), "missing {key} in {line}");
        }
    }
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn without_cookie_refuses_to_start() {
    let out = command(&[], &[]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("This binary is a plugin. These are not meant to be executed directly."),
        "{stderr}"
    );
    assert!(
        stderr.contains("load any plugins automatically"),
        "{stderr}"
    );
    assert!(stderr.contains("--debug"), "{stderr}");

    let wrong = command(&[], &[("TF_PLUGIN_MAGIC_COOKIE", "nope")])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(wrong.stdout.is_empty());
}

#[test]
fn refuses_when_protocol_6_is_not_offered() {
    let out = command(
        &[],
        &[
            ("TF_PLUGIN_MAGIC_COOKIE", COOKIE),
            ("PLUGIN_PROTOCOL_VERSIONS", "4,5"),
        ],
    )
    .stdin(Stdio::null())
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("protocol version 6"), "{stderr}");
}

#[test]
fn version_flag() {
    let out = command(&["--version"], &[]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "terraform-provider-bankplatform {}",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automtls_with_p521_client_cert_and_fast_shutdown() {
    let client = go_plugin_client_identity();
    let stranger = go_plugin_client_identity();
    let socket_base = std::env::temp_dir();
    let (mut plugin, fields) = start_managed(&[
        ("TF_PLUGIN_MAGIC_COOKIE", COOKIE),
        ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
        ("PLUGIN_CLIENT_CERT", &client.pem),
        ("PLUGIN_UNIX_SOCKET_DIR", socket_base.to_str().unwrap()),
        ("TF_LOG_PROVIDER", "TRACE"),
    ]);

    // 1|6|unix|<path>|grpc|<cert>
    assert_eq!(fields.len(), 6, "{fields:?}");
    assert_eq!(&fields[..3], ["1", "6", "unix"]);
    assert_eq!(fields[4], "grpc");
    let socket = PathBuf::from(&fields[3]);
    assert!(socket.starts_with(&socket_base), "{socket:?}");
    assert!(socket.exists());
    assert!(
        !fields[5].ends_with('='),
        "certificate must be unpadded base64"
    );
    assert!(
        fields[5].len() > 50,
        "go-plugin ignores certificates of 50 characters or less"
    );
    let server_der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(&fields[5])
        .expect("field 6 is RawStdEncoding base64");

    // No client certificate: rejected, and the server keeps running.
    let anonymous = client_config(&server_der, None, &[&rustls::version::TLS13]);
    let err = call_shutdown(&socket, Some(anonymous)).await;
    assert!(
        err.is_err(),
        "a client without certificate must be rejected"
    );
    let anonymous12 = client_config(&server_der, None, &[&rustls::version::TLS12]);
    assert!(call_shutdown(&socket, Some(anonymous12)).await.is_err());

    // A different (valid-looking) go-plugin certificate: rejected too.
    let other = client_config(&server_der, Some(&stranger), &[&rustls::version::TLS13]);
    assert!(call_shutdown(&socket, Some(other)).await.is_err());

    // Plaintext h2c against the TLS server: rejected.
    assert!(call_shutdown(&socket, None).await.is_err());
    assert!(
        plugin.running(),
        "rejected clients must not stop the server"
    );

    // The pinned P-521 certificate works over TLS 1.2 (health) ...
    let tls12 = client_config(&server_der, Some(&client), &[&rustls::version::TLS12]);
    assert_eq!(
        health_status(&socket, Some(tls12), "plugin").await,
        1 /* SERVING */
    );

    // ... and TLS 1.3. Open the stdio stream like Terraform, then Shutdown.
    let tls13 = client_config(&server_der, Some(&client), &[&rustls::version::TLS13]);
    let ch = channel(&socket, Some(tls13.clone()))
        .await
        .expect("connect with client cert");
    let mut stdio = GrpcStdioClient::new(ch.clone())
        .stream_stdio(Empty {})
        .await
        .expect("StreamStdio")
        .into_inner();
    let replied = tokio::time::timeout(STEP, GrpcControllerClient::new(ch).shutdown(Empty {}))
        .await
        .expect("Shutdown timed out");
    let after_reply = Instant::now();
    replied.expect("Shutdown succeeds with the pinned client certificate");
    let (status, _) = tokio::task::block_in_place(|| plugin.wait_exit(Duration::from_secs(1)));
    let exit_ms = after_reply.elapsed().as_secs_f64() * 1000.0;
    eprintln!("process exit after Shutdown reply: {exit_ms:.1} ms");
    assert!(status.success(), "{status:?}");
    // The stdio stream carried nothing and ended with the server.
    assert!(matches!(stdio.message().await, Ok(None) | Err(_)));
    assert!(!socket.exists(), "socket left behind");
    assert!(
        !socket.parent().unwrap().exists(),
        "socket directory left behind"
    );

    // Nothing but the handshake on stdout; hclog JSON on stderr.
    assert!(
        plugin.stdout_lines.try_recv().is_err(),
        "extra stdout output"
    );
    std::thread::sleep(Duration::from_millis(50));
    let stderr = plugin.stderr();
    assert_hclog_lines(&stderr);
    assert!(
        stderr.contains("TLS handshake with a plugin client failed"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_without_client_cert_and_sigint_is_ignored() {
    let (mut plugin, fields) = start_managed(&[
        ("TF_PLUGIN_MAGIC_COOKIE", COOKIE),
        ("PLUGIN_PROTOCOL_VERSIONS", "6"),
    ]);
    assert_eq!(fields.len(), 6, "{fields:?}");
    assert_eq!(fields[5], "", "no certificate without AutoMTLS");
    let socket = PathBuf::from(&fields[3]);

    // Terraform forwards Ctrl-C to the process group; the provider keeps serving.
    plugin.signal("INT");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(plugin.running(), "SIGINT must not stop a managed provider");
    assert_eq!(health_status(&socket, None, "plugin").await, 1);

    call_shutdown(&socket, None)
        .await
        .expect("Shutdown over h2c");
    let (status, took) = tokio::task::block_in_place(|| plugin.wait_exit(Duration::from_secs(1)));
    eprintln!(
        "plaintext: exit {:.1} ms after Shutdown reply",
        took.as_secs_f64() * 1000.0
    );
    assert!(status.success());
    assert_hclog_lines(&plugin.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_mode_prints_reattach_config_and_stops_on_sigterm() {
    let started = Instant::now();
    // A client certificate in the environment is ignored in debug mode.
    let mut plugin = Plugin::start(&["--debug"], &[("PLUGIN_CLIENT_CERT", "ignored")]);
    let mut json = None;
    for _ in 0..10 {
        let line = plugin.next_line(started);
        if let Some(rest) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
            json = Some(rest.trim_end_matches('\'').to_string());
            break;
        }
    }
    let json = json.expect("TF_REATTACH_PROVIDERS line");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let p = &v["registry.terraform.io/bankplatform/bankplatform"];
    assert_eq!(p["Protocol"], "grpc");
    assert_eq!(p["ProtocolVersion"], 6);
    assert_eq!(p["Test"], true);
    assert_eq!(p["Pid"], plugin.child.id());
    assert_eq!(p["Addr"]["Network"], "unix");
    let socket = PathBuf::from(p["Addr"]["String"].as_str().unwrap());
    assert_eq!(health_status(&socket, None, "plugin").await, 1);

    plugin.signal("TERM");
    let (status, _) = tokio::task::block_in_place(|| plugin.wait_exit(Duration::from_secs(1)));
    assert!(status.success());
    assert!(!socket.exists());
}
