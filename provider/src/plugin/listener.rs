//! The plugin's listening socket and the stream of accepted connections
//! handed to tonic: a unix socket in a fresh private directory, and, when
//! AutoMTLS is on, a TLS handshake per connection done off the accept loop so
//! a slow or failing client never blocks the others.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use super::ShutdownSignal;

/// Environment variable naming the directory for the socket's temp dir.
pub const SOCKET_DIR_KEY: &str = "PLUGIN_UNIX_SOCKET_DIR";

/// A TLS handshake that has not finished after this long is abandoned.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A private temporary directory holding the plugin socket; removed (with the
/// socket) when dropped.
#[derive(Debug)]
pub struct SocketDir {
    dir: PathBuf,
    socket: PathBuf,
}

impl SocketDir {
    /// Creates `<base>/plugin<random>/` with mode 0700, where `base` is
    /// `PLUGIN_UNIX_SOCKET_DIR` when set and the system temp dir otherwise
    /// (go-plugin's `os.MkdirTemp(PLUGIN_UNIX_SOCKET_DIR, "plugin")`).
    pub fn create(base: Option<PathBuf>) -> io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt as _;
        let base = base.unwrap_or_else(std::env::temp_dir);
        let mut last_err = None;
        for _ in 0..16 {
            let dir = base.join(format!("plugin{:010}", rand::random::<u32>()));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    let socket = dir.join("plugin.sock");
                    return Ok(Self { dir, socket });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("creating socket directory in {}: {e}", base.display()),
                    ))
                }
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no unique socket directory name")))
    }

    /// Path of the socket inside the directory.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove the plugin socket directory");
            }
        }
    }
}

/// One accepted connection, plaintext (h2c) or TLS.
#[derive(Debug)]
pub enum Conn {
    /// Plaintext: `TF_DISABLE_PLUGIN_TLS`, reattach/debug mode.
    Plain(UnixStream),
    /// AutoMTLS, with a verified client certificate.
    Tls(Box<tokio_rustls::server::TlsStream<UnixStream>>),
}

/// What tonic records about a connection (request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    /// Whether the connection is TLS with a verified client certificate.
    pub tls: bool,
}

impl Connected for Conn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        ConnInfo {
            tls: matches!(self, Conn::Tls(_)),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Stream of ready connections for `serve_with_incoming_shutdown`.
pub type Incoming = ReceiverStream<io::Result<Conn>>;

/// Spawns the accept loop and returns the stream of established connections.
/// With `tls`, every connection first completes a TLS handshake (with the
/// mandatory client certificate) in its own task; a failed handshake is
/// logged and only that connection is dropped. The loop ends on shutdown.
pub fn incoming(
    listener: UnixListener,
    tls: Option<TlsAcceptor>,
    shutdown: ShutdownSignal,
) -> Incoming {
    let (tx, rx) = mpsc::channel::<io::Result<Conn>>(16);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = shutdown.wait() => break,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _addr)) => stream,
                Err(e) => {
                    // EMFILE and friends: keep serving existing connections.
                    tracing::warn!(error = %e, "accepting a plugin connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match &tls {
                None => {
                    if tx.send(Ok(Conn::Plain(stream))).await.is_err() {
                        break;
                    }
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                            .await
                        {
                            Ok(Ok(tls)) => {
                                let _ = tx.send(Ok(Conn::Tls(Box::new(tls)))).await;
                            }
                            Ok(Err(e)) => tracing::warn!(
                                error = %e,
                                "TLS handshake with a plugin client failed; connection dropped"
                            ),
                            Err(_) => tracing::warn!(
                                timeout_s = TLS_HANDSHAKE_TIMEOUT.as_secs(),
                                "TLS handshake with a plugin client timed out; connection dropped"
                            ),
                        }
                    });
                }
            }
        }
        tracing::debug!("plugin accept loop stopped");
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_dir_is_private_and_removed_on_drop() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = SocketDir::create(None).unwrap();
        let parent = dir.socket_path().parent().unwrap().to_path_buf();
        let mode = std::fs::metadata(&parent).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(dir.socket_path(), b"x").unwrap();
        drop(dir);
        assert!(!parent.exists());
    }
}
