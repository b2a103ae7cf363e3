//! Directories served over HTTPS on 127.0.0.1 by a real web server: Debian's nginx.
//!
//! The release tests install the provider through a network mirror and a private
//! provider registry, which Terraform only reaches over HTTPS with a certificate it
//! trusts. [`HttpsServer::start`] makes a throwaway certificate authority and a server
//! certificate for `localhost` and `127.0.0.1` (rcgen), writes an nginx configuration
//! with one `server` per directory, each on its own port, and starts nginx in the
//! foreground for the life of the test process ([`crate::daemon`]). Terraform is told to
//! trust the CA through `SSL_CERT_FILE` ([`HttpsServer::trust_env`]), which Go's TLS
//! stack reads on Linux instead of the system bundle.
//!
//! nginx runs with `master_process off`: a single process, so the parent-death signal
//! stops all of it, and no worker switches to another user who could not read the
//! test's files. Its configuration, certificates, logs and temporary files live in the
//! directory given to `start`. Set `BP_NGINX` to use another nginx binary.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::daemon::{self, free_port};

/// How long nginx may take to listen on every port.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running nginx serving directories over HTTPS.
#[derive(Debug, Clone)]
pub struct HttpsServer {
    ca_file: PathBuf,
    ports: Vec<u16>,
    dir: PathBuf,
}

impl HttpsServer {
    /// Serves each of `roots` at `https://localhost:<port>/` (one port per root), keeping
    /// the server's own files under `dir`.
    pub fn start(dir: &Path, roots: &[&Path]) -> Result<Self> {
        std::fs::create_dir_all(dir.join("tmp"))
            .with_context(|| format!("creating {}", dir.display()))?;
        let (ca_pem, cert_pem, key_pem) = certificates()?;
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca_pem)?;
        std::fs::write(dir.join("server.pem"), cert_pem)?;
        write_private(&dir.join("server.key"), &key_pem)?;
        let nginx = nginx_binary()?;
        let mut last_error = anyhow!("nginx was not started");
        // Free ports are found by binding and releasing them, so another process can take
        // one in between; a few attempts cover that race.
        for _ in 0..3 {
            let ports = roots
                .iter()
                .map(|_| free_port())
                .collect::<Result<Vec<_>>>()?;
            let conf = dir.join("nginx.conf");
            std::fs::write(&conf, config(dir, roots, &ports)?)?;
            let mut cmd = Command::new(&nginx);
            cmd.arg("-p")
                .arg(dir)
                .arg("-e")
                .arg(dir.join("error.log"))
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("stderr.log"))?);
            let wait_ports = ports.clone();
            match daemon::start_kept("nginx", cmd, move |child| {
                wait_listening(child, &wait_ports)
            }) {
                Ok(()) => {
                    return Ok(Self {
                        ca_file,
                        ports,
                        dir: dir.to_path_buf(),
                    })
                }
                Err(e) => {
                    let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                    last_error = e.context(format!("nginx's error log:\n{log}"));
                }
            }
        }
        Err(last_error)
    }

    /// `localhost:<port>` of the `i`-th root: a registry host name for provider sources.
    pub fn host(&self, i: usize) -> String {
        format!("localhost:{}", self.ports[i])
    }

    /// `https://localhost:<port>` of the `i`-th root, without a trailing slash.
    pub fn url(&self, i: usize) -> String {
        format!("https://{}", self.host(i))
    }

    /// The CA certificate (PEM) that signed the server's certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The environment variable that makes Go programs (Terraform) trust this server.
    pub fn trust_env(&self) -> (&'static str, PathBuf) {
        ("SSL_CERT_FILE", self.ca_file.clone())
    }

    /// The port of the `i`-th root.
    pub fn port(&self, i: usize) -> u16 {
        self.ports[i]
    }

    /// nginx's access log: a line `<port> <status> "<request line>"` per request.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }
}

/// A CA, and a server certificate it signed for `localhost` and `127.0.0.1`, as PEM; the
/// server's private key last.
fn certificates() -> Result<(String, String, String)> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose, SanType,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "bankplatform acceptance-test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    let mut server = CertificateParams::new(vec!["localhost".to_string()])?;
    server
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = server.signed_by(&key, &ca)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}

fn write_private(path: &Path, pem: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(pem.as_bytes())?;
    Ok(())
}

/// nginx.conf: one TLS server per root; JSON for the extension-less registry documents.
fn config(dir: &Path, roots: &[&Path], ports: &[u16]) -> Result<String> {
    let d = |p: &Path| -> Result<String> {
        let s = p
            .to_str()
            .with_context(|| format!("{} is not UTF-8", p.display()))?;
        if s.contains(['"', ';', '{', '}', '\n']) {
            bail!("{s}: nginx paths here may not contain quotes, semicolons or braces");
        }
        Ok(format!("\"{s}\""))
    };
    let tmp = d(&dir.join("tmp"))?;
    let mut c = String::new();
    writeln!(c, "# Written by the bankplatform acceptance-test harness.")?;
    writeln!(c, "daemon off;\nmaster_process off;")?;
    writeln!(c, "pid {};", d(&dir.join("nginx.pid"))?)?;
    writeln!(c, "error_log {} info;", d(&dir.join("error.log"))?)?;
    writeln!(c, "events {{ worker_connections 256; }}")?;
    writeln!(c, "http {{")?;
    // "<port> <status> <request line>": which server answered what, with what status.
    writeln!(c, "  log_format bp '$server_port $status \"$request\"';")?;
    writeln!(c, "  access_log {} bp;", d(&dir.join("access.log"))?)?;
    for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        writeln!(c, "  {kind}_temp_path {tmp};")?;
    }
    writeln!(
        c,
        "  types {{ application/zip zip; application/json json; application/pgp-keys asc; application/pgp-signature sig; }}"
    )?;
    writeln!(c, "  default_type application/json;")?;
    writeln!(c, "  sendfile on;")?;
    writeln!(c, "  ssl_protocols TLSv1.2 TLSv1.3;")?;
    writeln!(c, "  ssl_certificate {};", d(&dir.join("server.pem"))?)?;
    writeln!(c, "  ssl_certificate_key {};", d(&dir.join("server.key"))?)?;
    for (root, port) in roots.iter().zip(ports) {
        writeln!(c, "  server {{")?;
        writeln!(c, "    listen 127.0.0.1:{port} ssl;")?;
        writeln!(c, "    server_name localhost;")?;
        writeln!(c, "    root {};", d(root)?)?;
        writeln!(
            c,
            "    location ~ _SHA256SUMS$ {{ default_type text/plain; }}"
        )?;
        writeln!(c, "  }}")?;
    }
    writeln!(c, "}}")?;
    Ok(c)
}

fn nginx_binary() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("BP_NGINX").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(bin));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
        .context("nginx not found (set BP_NGINX, or run scripts/setup.sh, which installs Debian's nginx)")
}

/// Waits until nginx accepts connections on every port, or exits.
fn wait_listening(child: &mut Child, ports: &[u16]) -> Result<()> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("nginx exited with {status}");
        }
        let open = ports.iter().all(|&port| {
            TcpStream::connect_timeout(
                &SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_millis(200),
            )
            .is_ok()
        });
        if open {
            // Another process may hold a port nginx failed to bind: then nginx exits.
            std::thread::sleep(Duration::from_millis(100));
            if let Some(status) = child.try_wait()? {
                bail!("nginx exited with {status}");
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "nginx did not listen on {ports:?} within {}s",
                STARTUP_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
