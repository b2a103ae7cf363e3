//! The go-plugin process layer: everything between "Terraform starts the
//! binary" and "tonic serves `tfplugin6.Provider`" (research/protocol.md §2).
//!
//! [`serve`] checks the magic cookie, negotiates protocol 6, binds a unix
//! socket in a private temp dir, sets up AutoMTLS when Terraform asks for it
//! (`PLUGIN_CLIENT_CERT`), registers the provider next to go-plugin's health,
//! controller and stdio services, prints the handshake line on stdout and
//! serves until `GRPCController.Shutdown` or SIGTERM.
//!
//! Submodules: [`handshake`] (pure startup contract), [`tls`] (certificate
//! and pinned client-certificate verification), [`listener`] (socket and
//! connection stream), [`controller`] (Shutdown and stdio services).

pub mod controller;
pub mod handshake;
pub mod listener;
pub mod tls;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::UnixListener;
use tokio::sync::watch;

use crate::pb::plugin::grpc_controller_server::GrpcControllerServer;
use crate::pb::plugin::grpc_stdio_server::GrpcStdioServer;
use crate::pb::tfplugin6::provider_server::{Provider, ProviderServer};

pub use handshake::StartupError;

/// Largest gRPC message accepted or sent by `tfplugin6.Provider`. Terraform's
/// client allows messages up to MaxInt32 bytes and terraform-plugin-go
/// servers allow 256 MiB each way; tonic's default decode limit of 4 MiB
/// would make large plans and states fail (research/protocol.md §2.4).
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// Once shutdown has been requested, in-flight calls (including the reply to
/// `Shutdown` itself) get this long to finish before `serve` returns anyway.
/// Terraform kills the process 2 s after calling Shutdown, and each instance
/// that lingers costs the user that time.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(50);

/// Health-check service name go-plugin reports as SERVING.
pub const HEALTH_SERVICE_NAME: &str = "plugin";

/// How to run the plugin server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Debug (reattach) mode: no cookie check, plaintext, and a
    /// `TF_REATTACH_PROVIDERS` hint on stdout instead of the handshake line.
    pub debug: bool,
    /// Provider source address used as the reattach key, e.g.
    /// `registry.terraform.io/bankplatform/bankplatform`.
    pub provider_address: String,
}

/// A one-shot, cloneable "shut down now" flag that tasks can wait on.
#[derive(Debug, Clone)]
pub struct ShutdownSignal {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for ShutdownSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl ShutdownSignal {
    /// A signal that has not fired yet.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::channel(false).0),
        }
    }

    /// Fires the signal (idempotent).
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Completes once the signal has fired (at once if it already has).
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        // Cannot fail: `self` keeps the sender alive.
        let _ = rx.wait_for(|fired| *fired).await;
    }
}

/// Runs the plugin server for `provider` until it is told to stop.
///
/// Errors: a [`StartupError`] (wrapped in the `anyhow::Error`) when the
/// process was not launched by Terraform or no common protocol exists; the
/// caller prints it to stderr and exits with status 1. Other errors are
/// setup or I/O failures.
pub async fn serve<P: Provider>(provider: P, opts: ServeOptions) -> anyhow::Result<()> {
    let env_var = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());

    // 1. Startup contract (managed mode only).
    if !opts.debug {
        handshake::check_cookie(env_var(handshake::MAGIC_COOKIE_KEY).as_deref())?;
        handshake::negotiate_protocol(env_var(handshake::PROTOCOL_VERSIONS_KEY).as_deref())?;
    }

    // 2. AutoMTLS when Terraform passes its client certificate. Never fall
    // back to plaintext if that setup fails: the client would not connect.
    let tls = match env_var(tls::CLIENT_CERT_KEY) {
        Some(pem) if !opts.debug => {
            let client_certs = tls::parse_pem_certs(&pem)?;
            let identity = tls::generate_server_identity()?;
            let config = tls::server_config(&identity, client_certs)?;
            Some((identity, tokio_rustls::TlsAcceptor::from(Arc::new(config))))
        }
        _ => None,
    };

    // 3. Signals: installed before the handshake so an early Ctrl-C is
    // already handled.
    let shutdown = ShutdownSignal::new();
    install_signal_handlers(shutdown.clone(), opts.debug)?;
    if !opts.debug {
        watch_parent(shutdown.clone());
    }

    // 4. Listener, bound before anything is printed: the client connects as
    // soon as it reads the handshake line.
    let socket_dir =
        listener::SocketDir::create(env_var(listener::SOCKET_DIR_KEY).map(PathBuf::from))
            .context("creating the plugin socket directory")?;
    let socket_path = socket_dir
        .socket_path()
        .to_str()
        .context("the plugin socket path is not valid UTF-8")?
        .to_string();
    let unix_listener = UnixListener::bind(&socket_path)
        .with_context(|| format!("binding the plugin socket {socket_path}"))?;

    // 5. Services.
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status(HEALTH_SERVICE_NAME, tonic_health::ServingStatus::Serving)
        .await;
    let provider_service = ProviderServer::new(provider)
        // Terraform sends and accepts messages far larger than tonic's 4 MiB
        // default; match terraform-plugin-go's 256 MiB (see MAX_MESSAGE_SIZE).
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let router = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(GrpcControllerServer::new(controller::Controller::new(
            shutdown.clone(),
        )))
        .add_service(GrpcStdioServer::new(controller::Stdio::new(
            shutdown.clone(),
        )))
        .add_service(provider_service);

    let acceptor = tls.as_ref().map(|(_, acceptor)| acceptor.clone());
    let incoming = listener::incoming(unix_listener, acceptor, shutdown.clone());
    let server_shutdown = shutdown.clone();
    let server = router.serve_with_incoming_shutdown(incoming, async move {
        server_shutdown.wait().await;
    });

    // 6. Tell the client where to connect.
    if opts.debug {
        let message =
            handshake::debug_message(&opts.provider_address, std::process::id(), &socket_path);
        write_stdout(&message).context("printing the reattach configuration")?;
        tracing::info!(address = %socket_path, "provider started in debug mode");
    } else {
        let line = handshake::HandshakeLine {
            socket_path: &socket_path,
            server_cert_der: tls.as_ref().map(|(id, _)| id.cert_der.as_ref()),
        };
        write_stdout(&format!("{line}\n")).context("printing the plugin handshake")?;
        tracing::debug!(
            address = %socket_path,
            tls = tls.is_some(),
            "plugin server listening"
        );
    }

    // 7. Serve until shutdown, then give in-flight calls SHUTDOWN_GRACE.
    let grace_elapsed = async {
        shutdown.wait().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result.context("plugin gRPC server failed")?,
        () = grace_elapsed => tracing::debug!(
            grace_ms = SHUTDOWN_GRACE.as_millis() as u64,
            "connections still open after shutdown grace period; exiting anyway"
        ),
    }
    drop(socket_dir);
    tracing::debug!("plugin server stopped");
    Ok(())
}

/// Writes `text` to stdout and flushes it. This is the only place that
/// writes to stdout in managed mode: go-plugin reads the first stdout line as
/// the handshake, so anything else there would break the plugin start.
fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// How often the process checks that Terraform is still its parent.
const PARENT_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Shuts down when the parent (Terraform) is gone and the process was
/// re-parented: a Terraform that crashed or was killed can no longer call
/// Shutdown, and an orphaned provider would otherwise live forever, holding
/// the pipes of whoever started Terraform.
fn watch_parent(shutdown: ShutdownSignal) {
    let parent = std::os::unix::process::parent_id();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(PARENT_POLL).await;
            if std::os::unix::process::parent_id() != parent {
                tracing::warn!(parent, "the parent process is gone; shutting down");
                shutdown.trigger();
                return;
            }
        }
    });
}

/// SIGTERM shuts down. SIGINT is ignored in managed mode: Terraform forwards
/// Ctrl-C to the whole process group and then sends StopProvider, and the
/// provider must keep serving so in-flight applies can finish and return
/// their state. In debug mode (run by hand) Ctrl-C stops the server.
fn install_signal_handlers(shutdown: ShutdownSignal, debug: bool) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(()) = term.recv() => {
                    tracing::info!("received SIGTERM; shutting down");
                    shutdown.trigger();
                }
                Some(()) = int.recv() => {
                    if debug {
                        tracing::info!("received SIGINT; shutting down");
                        shutdown.trigger();
                    } else {
                        tracing::info!(
                            "received SIGINT; ignoring it (Terraform stops operations with StopProvider)"
                        );
                    }
                }
                else => break,
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_signal_wakes_waiters_before_and_after_trigger() {
        let s = ShutdownSignal::new();
        assert!(!s.is_triggered());
        let waiter = tokio::spawn({
            let s = s.clone();
            async move { s.wait().await }
        });
        tokio::task::yield_now().await;
        s.trigger();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(s.is_triggered());
        // A waiter arriving after the trigger completes at once.
        tokio::time::timeout(Duration::from_millis(100), s.wait())
            .await
            .unwrap();
    }
}
