//! A fault-injecting HTTP proxy between the provider and moto.
//!
//! The provider's `endpoint_url` points at the proxy; every AWS request passes through
//! it and, by the proxy's [`FaultPlan`], is answered with a throttling error, a 5xx, a
//! reset connection (before forwarding, or after: a lost response), a well-formed but
//! empty 200, extra latency, a permanent failure of the Nth mutating call, or held
//! after the Kth mutating call so that a test can kill the provider at that exact point.
//! Errors are written in each service's own protocol (EC2 query, AWS query, JSON, S3
//! REST-XML), so the SDK classifies them as AWS's would be.
//!
//! Checks never go through the proxy: they read moto directly (see [`crate::aws`]).
//!
//! HTTP/1.1 is handled by hand (the SDK sends `Content-Length` bodies, `chunked` is
//! decoded too): keep-alive towards the provider, one `Connection: close` request per
//! call towards moto.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rand::Rng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to requests. Probabilities are per request, from 0.0 to 1.0,
/// drawn in this order: throttle, server error, reset before, reset after, empty answer.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    /// Answer with the service's throttling error.
    pub throttle: f64,
    /// Answer with a 500/503 server error.
    pub server_error: f64,
    /// Close the connection (RST) without forwarding.
    pub reset_before: f64,
    /// Forward, then close the connection without answering: the call happened, its
    /// response is lost.
    pub reset_after: f64,
    /// Answer a read 200 with a well-formed but empty body, without forwarding (an
    /// eventually consistent read that does not see the object yet).
    pub empty: f64,
    /// Answer a create (Create*, Allocate*, Run*, Request*) 200 without the new
    /// object's id, without forwarding (what AWS does under partial outages; other
    /// mutating calls are never answered empty: AWS does not say "done" for a
    /// delete it did not do).
    pub empty_creates: f64,
    /// The first N such creates are answered empty whatever the share (so a test
    /// knows the fault happened).
    pub empty_first_creates: usize,
    /// Added to every forwarded call.
    pub latency: Duration,
    /// The Nth mutating call (from 1) fails with a non-retryable access error.
    pub fail_mutating_call: Option<usize>,
    /// Every call after the Kth mutating call waits until [`FaultProxy::release`].
    pub hold_after_mutating: Option<usize>,
    /// Faults apply only to calls whose action contains this (e.g. `"Vpc"`).
    pub only_actions: Option<String>,
}

impl FaultPlan {
    /// The same probability of every retryable fault of one kind.
    pub fn throttling(p: f64) -> Self {
        FaultPlan {
            throttle: p,
            ..Default::default()
        }
    }
    /// 5xx answers with probability `p`.
    pub fn server_errors(p: f64) -> Self {
        FaultPlan {
            server_error: p,
            ..Default::default()
        }
    }
    /// Resets with probability `p`, half before forwarding and half after (lost responses).
    pub fn resets(p: f64) -> Self {
        FaultPlan {
            reset_before: p / 2.0,
            reset_after: p / 2.0,
            ..Default::default()
        }
    }
}

/// What the proxy saw, for a test's report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Requests received.
    pub requests: usize,
    /// Mutating requests received (faulted ones included).
    pub mutating: usize,
    /// Requests answered with a fault instead of moto's answer.
    pub faults: usize,
    /// Requests currently held.
    pub held: usize,
}

struct Shared {
    upstream: String,
    plan: Mutex<FaultPlan>,
    requests: AtomicUsize,
    mutating: AtomicUsize,
    faults: AtomicUsize,
    held: AtomicUsize,
    // `true` once released; held calls wait for it.
    released: watch::Sender<bool>,
    // Mutating calls in order: "ec2:CreateVpc", "s3:PUT /bucket?tagging", ...
    journal: Mutex<Vec<String>>,
    // Creates answered empty so far by `empty_first_creates`.
    empty_creates_done: AtomicUsize,
}

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    endpoint: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.released.send_replace(true);
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream`
    /// (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str, plan: FaultPlan) -> Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let shared = Arc::new(Shared {
            upstream,
            plan: Mutex::new(plan),
            requests: AtomicUsize::new(0),
            mutating: AtomicUsize::new(0),
            faults: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
            released: watch::channel(false).0,
            journal: Mutex::new(Vec::new()),
            empty_creates_done: AtomicUsize::new(0),
        });
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, shared).await;
                });
            }
        });
        Ok(FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            shared,
            task,
        })
    }

    /// The URL to give the provider as `endpoint_url`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Replaces the plan; counters are kept.
    pub fn set_plan(&self, plan: FaultPlan) {
        *self.shared.plan.lock().expect("plan lock") = plan;
    }

    /// The counters so far.
    pub fn stats(&self) -> ProxyStats {
        ProxyStats {
            requests: self.shared.requests.load(Ordering::SeqCst),
            mutating: self.shared.mutating.load(Ordering::SeqCst),
            faults: self.shared.faults.load(Ordering::SeqCst),
            held: self.shared.held.load(Ordering::SeqCst),
        }
    }

    /// The mutating calls so far, in order (`service:Action`).
    pub fn journal(&self) -> Vec<String> {
        self.shared.journal.lock().expect("journal lock").clone()
    }

    /// Waits until at least one call is held (the provider reached the hold point).
    pub async fn wait_until_held(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.shared.held.load(Ordering::SeqCst) == 0 {
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "no call was held within {timeout:?} ({:?}); mutating calls: {:?}",
                    self.stats(),
                    self.journal()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Ends the hold: held calls are dropped (connection reset, never forwarded), later
    /// calls go through.
    pub fn release(&self) {
        self.shared
            .plan
            .lock()
            .expect("plan lock")
            .hold_after_mutating = None;
        self.shared.released.send_replace(true);
    }
}

/// The protocol a request speaks, which decides how an error looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Ec2,
    Query,
    Json,
    /// REST with JSON bodies (IAM Access Analyzer, GuardDuty, Security Hub): errors
    /// as JSON with `x-amzn-ErrorType`, the operation in the method and path.
    RestJson,
    S3,
}

/// Services that speak REST-JSON, by their SigV4 signing name.
const REST_JSON: &[&str] = &["access-analyzer", "guardduty", "securityhub"];

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// (protocol, service label, action).
    fn classify(&self) -> (Protocol, String, String) {
        if let Some(t) = self.header("x-amz-target") {
            let (svc, action) = t.split_once('.').unwrap_or(("json", t));
            return (Protocol::Json, svc.to_string(), action.to_string());
        }
        let body = String::from_utf8_lossy(&self.body);
        let form = |key: &str| {
            body.split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string))
        };
        if let Some(action) = form("Action") {
            let version = form("Version").unwrap_or_default();
            if version == "2016-11-15" {
                return (Protocol::Ec2, "ec2".into(), action);
            }
            return (Protocol::Query, format!("query-{version}"), action);
        }
        // The signing name in the credential scope: Credential=<key>/<date>/<region>/<service>/aws4_request.
        let signing = self
            .header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(3))
            .unwrap_or_default()
            .to_string();
        let call = format!("{} {}", self.method, self.target);
        if REST_JSON.contains(&signing.as_str()) {
            return (Protocol::RestJson, signing, call);
        }
        (Protocol::S3, "s3".into(), call)
    }
}

fn is_mutating(protocol: Protocol, method: &str, action: &str) -> bool {
    if matches!(protocol, Protocol::S3 | Protocol::RestJson) {
        return !matches!(method, "GET" | "HEAD");
    }
    const READS: &[&str] = &["Describe", "Get", "List", "Head", "Lookup"];
    !(READS.iter().any(|p| action.starts_with(p))
        || matches!(action, "AssumeRole" | "AssumeRoleWithWebIdentity"))
}

async fn serve(client: TcpStream, shared: Arc<Shared>) -> Result<()> {
    let (read_half, mut write_half) = client.into_split();
    let mut reader = BufReader::new(read_half);
    loop {
        let Some(req) = read_request(&mut reader, &mut write_half).await? else {
            return Ok(());
        };
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let (protocol, service, action) = req.classify();
        let mutating = is_mutating(protocol, &req.method, &action);
        let plan = shared.plan.lock().expect("plan lock").clone();
        let mut nth_mutating = 0;
        if mutating {
            nth_mutating = shared.mutating.fetch_add(1, Ordering::SeqCst) + 1;
            shared
                .journal
                .lock()
                .expect("journal lock")
                .push(format!("{service}:{action}"));
        }
        // Hold everything after the Kth mutating call (that call itself goes through).
        // A held call never reaches moto: its sender is killed while it waits, and on
        // release its connection is reset, so exactly K mutating calls happened.
        if let Some(k) = plan.hold_after_mutating {
            let passed = shared.mutating.load(Ordering::SeqCst) - usize::from(mutating);
            if passed >= k {
                shared.held.fetch_add(1, Ordering::SeqCst);
                let mut rx = shared.released.subscribe();
                let _ = rx.wait_for(|r| *r).await;
                shared.held.fetch_sub(1, Ordering::SeqCst);
                return reset(reader, write_half);
            }
        }
        let applies = plan
            .only_actions
            .as_deref()
            .is_none_or(|f| action.contains(f));
        if mutating && plan.fail_mutating_call == Some(nth_mutating) {
            shared.faults.fetch_add(1, Ordering::SeqCst);
            write_half
                .write_all(&access_denied(protocol, &action))
                .await?;
            continue;
        }
        let roll: f64 = rand::rng().random();
        let mut edge = 0.0;
        let mut hit = |p: f64| {
            let lo = edge;
            edge += p;
            applies && roll >= lo && roll < edge
        };
        if hit(plan.throttle) {
            shared.faults.fetch_add(1, Ordering::SeqCst);
            write_half.write_all(&throttled(protocol)).await?;
            continue;
        }
        if hit(plan.server_error) {
            shared.faults.fetch_add(1, Ordering::SeqCst);
            write_half.write_all(&server_error(protocol)).await?;
            continue;
        }
        if hit(plan.reset_before) {
            shared.faults.fetch_add(1, Ordering::SeqCst);
            return reset(reader, write_half);
        }
        let lose_response = hit(plan.reset_after);
        // Creates whose answer carries the new object's id (not CreateTags and the
        // like, whose empty 200 would be indistinguishable from success).
        const NO_ID: &[&str] = &[
            "CreateTags",
            "CreateRoute",
            "CreateNetworkAclEntry",
            "CreateAlias",
            "CreateLogGroup",
            "CreateLogStream",
        ];
        let creates = ["Create", "Allocate", "Run", "Request"]
            .iter()
            .any(|p| action.starts_with(p))
            && !NO_ID.contains(&action.as_str());
        let forced = creates
            && applies
            && shared.empty_creates_done.fetch_add(1, Ordering::SeqCst) < plan.empty_first_creates;
        let empty = if mutating {
            creates && (forced || hit(plan.empty_creates))
        } else {
            hit(plan.empty)
        };
        if empty && protocol != Protocol::S3 {
            shared.faults.fetch_add(1, Ordering::SeqCst);
            write_half.write_all(&empty_ok(protocol, &action)).await?;
            continue;
        }
        if !plan.latency.is_zero() {
            tokio::time::sleep(plan.latency).await;
        }
        let answer = forward(&shared.upstream, &req).await?;
        if lose_response {
            shared.faults.fetch_add(1, Ordering::SeqCst);
            return reset(reader, write_half);
        }
        write_half.write_all(&answer).await?;
    }
}

/// Closes the connection with a TCP reset.
fn reset(
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
) -> Result<()> {
    let stream = reader
        .into_inner()
        .reunite(writer)
        .context("reuniting the connection")?;
    // Linger 0 makes the close a reset; it cannot block, the socket has nothing to send.
    #[allow(deprecated)]
    stream.set_linger(Some(Duration::ZERO))?;
    drop(stream);
    Ok(())
}

async fn read_line<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> Result<Option<String>> {
    let mut line = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        if r.read(&mut byte).await? == 0 {
            return Ok(if line.is_empty() {
                None
            } else {
                Some(String::from_utf8_lossy(&line).into())
            });
        }
        line.push(byte[0]);
        if line.ends_with(b"\r\n") {
            line.truncate(line.len() - 2);
            return Ok(Some(String::from_utf8_lossy(&line).into()));
        }
    }
}

/// Reads one request; `None` at a clean end of the connection.
async fn read_request<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    w: &mut tokio::net::tcp::OwnedWriteHalf,
) -> Result<Option<Request>> {
    let Some(start) = read_line(r).await? else {
        return Ok(None);
    };
    let mut parts = start.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    while let Some(line) = read_line(r).await? {
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut req = Request {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    if req
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    if req
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        req.body = read_chunked(r).await?;
        req.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("transfer-encoding"));
    } else if let Some(n) = req.header("content-length") {
        let n: usize = n.parse().context("bad Content-Length")?;
        req.body = vec![0; n];
        r.read_exact(&mut req.body).await?;
    }
    Ok(Some(req))
}

async fn read_chunked<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size_line = read_line(r).await?.context("chunked body ended early")?;
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .context("bad chunk size")?;
        if size == 0 {
            // Trailers, up to the empty line.
            while let Some(line) = read_line(r).await? {
                if line.is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        let mut chunk = vec![0; size + 2];
        r.read_exact(&mut chunk).await?;
        chunk.truncate(size);
        body.extend(chunk);
    }
}

/// Sends the request to moto on a fresh connection and returns the whole answer,
/// re-framed with `Content-Length` for the keep-alive connection to the provider.
/// How long moto may take to answer one forwarded call. Past it the client's connection
/// is dropped unanswered (the provider's SDK retries it on a fresh connection): a moto
/// handler seen stuck reading a complete request body must not hang a whole test.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

async fn forward(upstream: &str, req: &Request) -> Result<Vec<u8>> {
    tokio::time::timeout(UPSTREAM_TIMEOUT, forward_once(upstream, req))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "moto did not answer {} {} within {UPSTREAM_TIMEOUT:?}",
                req.method,
                req.target
            )
        })?
}

async fn forward_once(upstream: &str, req: &Request) -> Result<Vec<u8>> {
    let mut conn = TcpStream::connect(upstream)
        .await
        .with_context(|| format!("connecting to moto at {upstream}"))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if k.eq_ignore_ascii_case("connection")
            || k.eq_ignore_ascii_case("content-length")
            || k.eq_ignore_ascii_case("expect")
        {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(&req.body).await?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("moto's answer has no header end")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("HTTP/1.1 500 Internal Server Error");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut r = BufReader::new(&body[..]);
        body = read_chunked(&mut r).await?;
    }
    let is_head = req.method == "HEAD";
    let mut out = format!("{status}\r\n");
    for (k, v) in &headers {
        if k.eq_ignore_ascii_case("connection")
            || k.eq_ignore_ascii_case("transfer-encoding")
            || (!is_head && k.eq_ignore_ascii_case("content-length"))
        {
            continue;
        }
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !is_head {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend(body);
        return Ok(bytes);
    }
    out.push_str("\r\n");
    Ok(out.into_bytes())
}

fn response(status: &str, content_type: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: fault-proxy\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn error(protocol: Protocol, status: &str, code: &str, message: &str) -> Vec<u8> {
    match protocol {
        Protocol::Ec2 => response(
            status,
            "text/xml",
            "",
            &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>"),
        ),
        Protocol::Query => response(
            status,
            "text/xml",
            "",
            &format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"),
        ),
        Protocol::Json | Protocol::RestJson => response(
            status,
            "application/x-amz-json-1.1",
            &format!("x-amzn-ErrorType: {code}\r\n"),
            &format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
        ),
        Protocol::S3 => response(
            status,
            "application/xml",
            "",
            &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"),
        ),
    }
}

fn throttled(protocol: Protocol) -> Vec<u8> {
    match protocol {
        Protocol::Ec2 => error(
            protocol,
            "503 Service Unavailable",
            "RequestLimitExceeded",
            "Request limit exceeded.",
        ),
        Protocol::Query => error(protocol, "400 Bad Request", "Throttling", "Rate exceeded"),
        Protocol::Json => error(
            protocol,
            "400 Bad Request",
            "ThrottlingException",
            "Rate exceeded",
        ),
        Protocol::RestJson => error(
            protocol,
            "429 Too Many Requests",
            "ThrottlingException",
            "Rate exceeded",
        ),
        Protocol::S3 => error(
            protocol,
            "503 Slow Down",
            "SlowDown",
            "Please reduce your request rate.",
        ),
    }
}

fn server_error(protocol: Protocol) -> Vec<u8> {
    match protocol {
        Protocol::Ec2 => error(
            protocol,
            "500 Internal Server Error",
            "InternalError",
            "An internal error has occurred",
        ),
        Protocol::Query | Protocol::S3 => error(
            protocol,
            "500 Internal Server Error",
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        Protocol::Json | Protocol::RestJson => error(
            protocol,
            "500 Internal Server Error",
            "InternalFailure",
            "An internal error has occurred",
        ),
    }
}

fn access_denied(protocol: Protocol, action: &str) -> Vec<u8> {
    let message = format!("fault proxy: {action} is not allowed");
    match protocol {
        Protocol::Ec2 => error(protocol, "403 Forbidden", "UnauthorizedOperation", &message),
        Protocol::Json => error(
            protocol,
            "400 Bad Request",
            "AccessDeniedException",
            &message,
        ),
        Protocol::RestJson => error(protocol, "403 Forbidden", "AccessDeniedException", &message),
        Protocol::Query | Protocol::S3 => {
            error(protocol, "403 Forbidden", "AccessDenied", &message)
        }
    }
}

fn empty_ok(protocol: Protocol, action: &str) -> Vec<u8> {
    match protocol {
        Protocol::Ec2 => response(
            "200 OK",
            "text/xml",
            "",
            &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>fault-proxy</requestId></{action}Response>"),
        ),
        Protocol::Query => response(
            "200 OK",
            "text/xml",
            "",
            &format!("<{action}Response><{action}Result></{action}Result><ResponseMetadata><RequestId>fault-proxy</RequestId></ResponseMetadata></{action}Response>"),
        ),
        Protocol::Json | Protocol::RestJson | Protocol::S3 => {
            response("200 OK", "application/x-amz-json-1.1", "", "{}")
        }
    }
}

/// The pid of the provider process whose environment holds `BP_FAULT_TOKEN=<token>`
/// (Terraform passes its environment on to plugins).
pub fn provider_pid(token: &str) -> Option<u32> {
    let needle = format!("BP_FAULT_TOKEN={token}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        if !comm.trim().starts_with("terraform-provi") {
            return None;
        }
        let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        env.split(|b| *b == 0)
            .any(|kv| kv == needle.as_bytes())
            .then_some(pid)
    })
}

/// Kills the provider process marked with `token` (SIGKILL, as a crash or OOM kill).
pub fn kill_provider(token: &str) -> Result<u32> {
    let pid = provider_pid(token).context("no provider process carries the fault token")?;
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()?;
    if !status.success() {
        bail!("kill -9 {pid} failed: {status}");
    }
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Request {
        Request {
            method: method.into(),
            target: target.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    const SCOPE: &str = "AWS4-HMAC-SHA256 Credential=test/20261207/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=x";

    #[test]
    fn each_protocol_is_recognised_so_its_errors_look_like_the_service_s() {
        let auth = |svc: &str| SCOPE.replace("{}", svc);
        let analyzer = request(
            "PUT",
            "/analyzer",
            &[("Authorization", &auth("access-analyzer"))],
            "{}",
        );
        assert_eq!(
            analyzer.classify(),
            (
                Protocol::RestJson,
                "access-analyzer".into(),
                "PUT /analyzer".into()
            )
        );
        let bucket = request("PUT", "/b?tagging", &[("Authorization", &auth("s3"))], "");
        assert_eq!(bucket.classify().0, Protocol::S3);
        let kms = request(
            "POST",
            "/",
            &[("X-Amz-Target", "TrentService.CreateKey")],
            "{}",
        );
        assert_eq!(
            kms.classify(),
            (Protocol::Json, "TrentService".into(), "CreateKey".into())
        );
        let ec2 = request("POST", "/", &[], "Action=CreateVpc&Version=2016-11-15");
        assert_eq!(ec2.classify().0, Protocol::Ec2);
        assert!(is_mutating(Protocol::RestJson, "PUT", "PUT /analyzer"));
        assert!(!is_mutating(Protocol::RestJson, "GET", "GET /analyzer"));
        let throttled = String::from_utf8(throttled(Protocol::RestJson)).unwrap();
        assert!(throttled.starts_with("HTTP/1.1 429"), "{throttled}");
        assert!(
            throttled.contains("x-amzn-ErrorType: ThrottlingException"),
            "{throttled}"
        );
    }
}
