//! One `moto_server` per test process, started on first use and shared by every test.
//!
//! The server is never reset: tests run in parallel, so each test isolates itself with
//! unique names (`bp-acc-<test>-<random>`) and, where it needs a whole account, a random
//! moto account reached through STS AssumeRole (see [`crate::aws`]).
//!
//! Set `BP_MOTO_ENDPOINT` (for example `http://127.0.0.1:5000`) to use a server that is
//! already running instead. moto's own output goes to `<target>/bp-acc/moto-<pid>-<port>.log`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::daemon::{self, free_port};
use crate::tools;

/// How long moto may take to answer after it was started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The moto endpoint (`http://127.0.0.1:<port>`), starting the server on first use.
pub async fn endpoint() -> Result<String> {
    tokio::task::spawn_blocking(endpoint_blocking)
        .await
        .context("the moto start-up task panicked")?
}

/// [`endpoint`] for synchronous callers; it blocks while moto starts.
pub fn endpoint_blocking() -> Result<String> {
    static ENDPOINT: OnceLock<Result<String, String>> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| start().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn start() -> Result<String> {
    if let Some(url) = std::env::var("BP_MOTO_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
    {
        let url = url.trim_end_matches('/').to_string();
        let addr = url
            .trim_start_matches("http://")
            .parse::<SocketAddr>()
            .with_context(|| format!("BP_MOTO_ENDPOINT={url} is not http://HOST:PORT"))?;
        wait_ready(addr, None).with_context(|| format!("BP_MOTO_ENDPOINT={url}"))?;
        return Ok(url);
    }
    let bin = tools::moto_server()?;
    if let Ok(dir) = tools::harness_dir() {
        tools::remove_entries_of_exited_processes(&dir, &["moto-"]);
    }
    let mut last_error = anyhow!("moto_server was not started");
    // The free port is found by binding and releasing it, so another process can take it
    // in between; a few attempts cover that race.
    for _ in 0..3 {
        match spawn_on_keeper_thread(&bin) {
            Ok(url) => return Ok(url),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// Starts moto on a free port, alive for as long as the test process (see [`daemon`]).
fn spawn_on_keeper_thread(bin: &Path) -> Result<String> {
    let port = free_port()?;
    let log_path = tools::harness_dir()?.join(format!("moto-{}-{port}.log", std::process::id()));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut cmd = Command::new(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        // A server-wide account id would override the per-account isolation tests rely on.
        .env_remove("MOTO_ACCOUNT_ID")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    daemon::start_kept("moto", cmd, move |child| wait_ready(addr, Some(child))).map_err(|e| {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        e.context(format!(
            "moto_server on port {port} did not start; its log ({}):\n{log}",
            log_path.display()
        ))
    })?;
    Ok(format!("http://127.0.0.1:{port}"))
}

/// Polls until `GET /moto-api/` answers 200, or the child exits, or the timeout passes.
fn wait_ready(addr: SocketAddr, mut child: Option<&mut Child>) -> Result<()> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Some(child) = child.as_deref_mut() {
            if let Some(status) = child.try_wait()? {
                bail!("moto_server exited with {status}");
            }
        }
        let last = match probe(addr) {
            Ok(200) => return Ok(()),
            Ok(code) => format!("GET /moto-api/ answered {code}"),
            Err(e) => e.to_string(),
        };
        if Instant::now() > deadline {
            bail!(
                "moto at {addr} not ready after {}s: {last}",
                STARTUP_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One HTTP/1.0 request by hand, so the harness needs no HTTP client crate.
fn probe(addr: SocketAddr) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(format!("GET /moto-api/ HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut head = [0u8; 32];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {line:?}")))
}
