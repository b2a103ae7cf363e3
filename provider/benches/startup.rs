//! Provider-level start-up benchmark (`cargo bench --bench startup`; a table,
//! not a test: nothing here asserts on timings).
//!
//! Starts a provider binary the way Terraform does (magic cookie, `PLUGIN_PROTOCOL_VERSIONS=5,6`,
//! go-plugin AutoMTLS with a P-521 client certificate, as in
//! `tests/plugin_handshake.rs`), N times as fresh processes with a warm page
//! cache and N times with the binary evicted from the page cache, and for each
//! process measures: spawn → handshake line, the mTLS connect, the schema RPC
//! (1st and 2nd call; `/tfplugin6.Provider/GetProviderSchema` or
//! `/tfplugin5.Provider/GetSchema`, chosen from the handshake's protocol
//! field, sent as raw bytes so one code path serves both providers), the
//! response size, VmRSS/VmHWM from `/proc/<pid>/status`, and the time from the
//! `plugin.GRPCController/Shutdown` call to process exit.
//!
//! It probes our binary and, when `BP_BENCH_PEER_BIN` names one, HashiCorp's
//! `terraform-provider-aws` 3.39.0 (see `scripts/bench.sh`), and prints one
//! markdown table with medians, ranges and ours/peer ratios, beside the
//! figures published in `../shared/peer/RESULTS.md`.
//!
//! Environment: `BP_BENCH_N` (processes per probe, default 10), `BP_BENCH_BIN`
//! (our binary; default the one cargo built for this bench, whose profile is
//! the bench's own), `BP_BENCH_PEER_BIN`, `BP_BENCH_OUT` (also write the
//! table to this file).

#![allow(clippy::print_stdout)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use prost::bytes::{Buf as _, BufMut as _};
use rustls::ClientConfig;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const OURS_BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-bankplatform");
const STEP: Duration = Duration::from_secs(20);
const MIB: f64 = 1024.0 * 1024.0;

// ---------------------------------------------------------------------------
// go-plugin AutoMTLS client side (same construction as tests/plugin_handshake.rs)
#[path = "../tests/support/goplugin_client.rs"]
mod goplugin_client;
use goplugin_client::{client_config, go_plugin_client_identity, ClientIdentity};

/// Connects over the unix socket, with mTLS when the handshake carried a
/// server certificate, and waits until the HTTP/2 connection is up.
async fn connect(socket: &Path, tls: Option<Arc<ClientConfig>>) -> Result<Channel, String> {
    goplugin_client::channel(socket, tls)
        .await
        .map_err(|e| format!("connect: {e:?}"))
}

// ---------------------------------------------------------------------------
// Raw-bytes gRPC: the request is an empty protobuf message for every call
// made here, and the response is kept as bytes (its size is what we report).

#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

async fn raw_call(ch: &Channel, path: &'static str) -> Result<Vec<u8>, String> {
    let mut grpc = tonic::client::Grpc::new(ch.clone()).max_decoding_message_size(usize::MAX);
    grpc.ready().await.map_err(|e| format!("{path}: {e}"))?;
    let call = grpc.unary(
        tonic::Request::new(Vec::new()),
        PathAndQuery::from_static(path),
        RawCodec,
    );
    match tokio::time::timeout(STEP, call).await {
        Err(_) => Err(format!("{path}: timed out")),
        Ok(Err(status)) => Err(format!("{path}: {status}")),
        Ok(Ok(resp)) => Ok(resp.into_inner()),
    }
}

/// Counts the entries of fields 2 (resource_schemas) and 3
/// (data_source_schemas) of a `GetProviderSchema.Response`; tfplugin5 and
/// tfplugin6 number them the same.
fn count_schemas(mut msg: &[u8]) -> Option<(usize, usize)> {
    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let (mut resources, mut data_sources) = (0, 0);
    while !msg.is_empty() {
        let key = varint(&mut msg)?;
        match key & 7 {
            0 => {
                varint(&mut msg)?;
            }
            1 => msg = msg.get(8..)?,
            5 => msg = msg.get(4..)?,
            2 => {
                let len = usize::try_from(varint(&mut msg)?).ok()?;
                msg = msg.get(len..)?;
                match key >> 3 {
                    2 => resources += 1,
                    3 => data_sources += 1,
                    _ => {}
                }
            }
            _ => return None,
        }
    }
    Some((resources, data_sources))
}

// ---------------------------------------------------------------------------
// The plugin process

struct Plugin {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr_tail: Arc<Mutex<Vec<u8>>>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Plugin {
    fn spawn(bin: &Path, client_pem: &str, socket_dir: &Path) -> Self {
        let mut cmd = Command::new(bin);
        for var in [
            "TF_LOG",
            "TF_LOG_PROVIDER",
            "TF_REATTACH_PROVIDERS",
            "PLUGIN_MIN_PORT",
            "PLUGIN_MAX_PORT",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_CLIENT_CERT", client_pem)
            .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir)
            .env("TMPDIR", socket_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Drain stderr (Go providers log there), keeping the last few KiB for errors.
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr_tail.clone();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut tail = sink.lock().unwrap();
                tail.extend_from_slice(&buf[..n]);
                let excess = tail.len().saturating_sub(4096);
                tail.drain(..excess);
            }
        });
        Plugin {
            child,
            lines,
            stderr_tail,
        }
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr_tail.lock().unwrap()).into_owned()
    }

    /// (VmRSS, VmHWM) in bytes.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .map_or(0, |kib| kib * 1024)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Waits for exit, polling every 0.2 ms; the instant it saw it exited.
    fn wait_exit(&mut self, limit: Duration) -> Option<Instant> {
        let t = Instant::now();
        while t.elapsed() < limit {
            if self.child.try_wait().ok().flatten().is_some() {
                return Some(Instant::now());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        None
    }
}

/// Everything one fresh process gave.
#[derive(Default, Clone)]
struct Sample {
    handshake_ms: f64,
    protocol: String,
    connect_ms: f64,
    schema1_ms: f64,
    schema2_ms: f64,
    schema_bytes: usize,
    schemas: Option<(usize, usize)>,
    rss_handshake: u64,
    rss_schema: u64,
    hwm_schema: u64,
    shutdown_exit_ms: Option<f64>,
    shutdown_reply: bool,
    /// Bytes of the binary still in the page cache just before the start.
    resident_before: Option<u64>,
}

/// Starts one provider process and runs the whole probe on it.
async fn probe(bin: &Path, id: &ClientIdentity, socket_dir: &Path) -> Result<Sample, String> {
    let mut s = Sample::default();
    let started = Instant::now();
    let mut plugin = Plugin::spawn(bin, &id.pem, socket_dir);
    let line = tokio::task::block_in_place(|| plugin.lines.recv_timeout(STEP))
        .map_err(|e| format!("no handshake line ({e}); stderr: {}", plugin.stderr()))?;
    s.handshake_ms = ms(started.elapsed());
    (s.rss_handshake, _) = plugin.memory();

    // CORE|APP|NETWORK|ADDR|PROTOCOL|CERT
    let fields: Vec<&str> = line.trim().split('|').collect();
    if fields.len() < 5 || fields[2] != "unix" || fields[4] != "grpc" {
        return Err(format!("unexpected handshake line {line:?}"));
    }
    s.protocol = fields[1].to_string();
    let schema_path = match fields[1] {
        "5" => "/tfplugin5.Provider/GetSchema",
        "6" => "/tfplugin6.Provider/GetProviderSchema",
        other => return Err(format!("unexpected protocol {other}")),
    };
    let tls = match fields.get(5).copied().filter(|c| !c.is_empty()) {
        Some(cert) => {
            let der = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(cert.trim_end_matches('='))
                .map_err(|e| format!("certificate field: {e}"))?;
            Some(client_config(&der, Some(id), rustls::DEFAULT_VERSIONS))
        }
        None => None,
    };

    let t = Instant::now();
    let ch = connect(Path::new(fields[3]), tls).await?;
    s.connect_ms = ms(t.elapsed());

    let t = Instant::now();
    let schema = raw_call(&ch, schema_path).await?;
    s.schema1_ms = ms(t.elapsed());
    s.schema_bytes = schema.len();
    s.schemas = count_schemas(&schema);
    (s.rss_schema, s.hwm_schema) = plugin.memory();

    let t = Instant::now();
    raw_call(&ch, schema_path).await?;
    s.schema2_ms = ms(t.elapsed());

    // go-plugin's Go controller stops the server inside the call, so the
    // reply may never come: time from the call to process exit either way.
    let t = Instant::now();
    s.shutdown_reply = raw_call(&ch, "/plugin.GRPCController/Shutdown")
        .await
        .is_ok();
    drop(ch);
    let exited = tokio::task::block_in_place(|| plugin.wait_exit(Duration::from_secs(10)));
    s.shutdown_exit_ms = exited.map(|at| ms(at - t));
    Ok(s)
}

/// Just spawn → handshake line, then kill (used to warm the page cache).
fn start_and_kill(bin: &Path, id: &ClientIdentity, socket_dir: &Path) {
    let plugin = Plugin::spawn(bin, &id.pem, socket_dir);
    let _ = plugin.lines.recv_timeout(STEP);
}

// ---------------------------------------------------------------------------
// Page cache

/// Drops the binary's pages from the page cache: GNU dd's `iflag=nocache
/// count=0` is `posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)` on the whole
/// file. Pages that a running process maps stay resident.
fn evict(bin: &Path) -> Result<(), String> {
    let out = Command::new("dd")
        .arg(format!("if={}", bin.display()))
        .args(["iflag=nocache", "count=0", "status=none"])
        .output()
        .map_err(|e| format!("dd: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("dd: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Bytes of `bin` in the page cache, from util-linux `fincore`; None without it.
fn resident(bin: &Path) -> Option<u64> {
    let out = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .arg(bin)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

// ---------------------------------------------------------------------------
// Statistics and the table

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(Clone, Copy)]
struct Stat {
    median: f64,
    min: f64,
    max: f64,
}

fn stat(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
    let mut v: Vec<f64> = values.into_iter().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Stat {
        median,
        min: v[0],
        max: v[n - 1],
    })
}

/// Results of all probes of one binary.
struct Report {
    bin: PathBuf,
    size: u64,
    warm: Vec<Sample>,
    cold: Vec<Sample>,
    evict_error: Option<String>,
    failures: Vec<String>,
}

fn run_binary(rt: &tokio::runtime::Runtime, bin: &Path, n: usize, id: &ClientIdentity) -> Report {
    let socket_dir = tempdir();
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    let mut report = Report {
        bin: bin.to_path_buf(),
        size,
        warm: Vec::new(),
        cold: Vec::new(),
        evict_error: None,
        failures: Vec::new(),
    };
    eprintln!("startup bench: {} ({n} warm, {n} cold)", bin.display());
    // Two unmeasured starts fill the page cache.
    start_and_kill(bin, id, &socket_dir);
    start_and_kill(bin, id, &socket_dir);
    for _ in 0..n {
        match rt.block_on(probe(bin, id, &socket_dir)) {
            Ok(s) => report.warm.push(s),
            Err(e) => report.failures.push(format!("warm: {e}")),
        }
    }
    for _ in 0..n {
        // DONTNEED can leave pages behind (still on another CPU's LRU list,
        // or mapped by a process that is just exiting): retry a few times.
        let mut before = None;
        for attempt in 0..5 {
            if let Err(e) = evict(bin) {
                report.evict_error = Some(e);
                break;
            }
            before = resident(bin);
            if before.is_none_or(|b| b < 1 << 20) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20 << attempt));
        }
        if report.evict_error.is_some() {
            break;
        }
        match rt.block_on(probe(bin, id, &socket_dir)) {
            Ok(mut s) => {
                s.resident_before = before;
                report.cold.push(s);
            }
            Err(e) => report.failures.push(format!("cold: {e}")),
        }
    }
    let _ = std::fs::remove_dir_all(&socket_dir);
    report
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bp-startup-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// "12.3 (11.0–14.2)" with the given decimals.
fn fmt_stat(s: Option<Stat>, decimals: usize) -> String {
    match s {
        None => "n/a".into(),
        Some(s) if decimals == 0 && s.max == s.min => thousands(s.median.round() as u64),
        Some(s) if (s.max - s.min).abs() < f64::EPSILON => format!("{:.*}", decimals, s.median),
        Some(s) => format!(
            "{:.*} ({:.*}–{:.*})",
            decimals, s.median, decimals, s.min, decimals, s.max
        ),
    }
}

fn ratio(a: Option<Stat>, b: Option<Stat>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b.median > 0.0 => format!("{:.2}", a.median / b.median),
        _ => String::new(),
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One table row: metric, how to read it from a report, decimals, published peer value.
struct Row {
    metric: &'static str,
    get: fn(&Report) -> Option<Stat>,
    decimals: usize,
    published: &'static str,
    with_ratio: bool,
}

fn over(samples: &[Sample], f: impl Fn(&Sample) -> Option<f64>) -> Option<Stat> {
    stat(samples.iter().filter_map(f))
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            metric: "binary size (MiB)",
            get: |r| stat([r.size as f64 / MIB]),
            decimals: 1,
            published: "169.2",
            with_ratio: true,
        },
        Row {
            metric: "start → handshake line, warm page cache (ms)",
            get: |r| over(&r.warm, |s| Some(s.handshake_ms)),
            decimals: 1,
            published: "50.6 (44–58)",
            with_ratio: true,
        },
        Row {
            metric: "start → handshake line, binary evicted from page cache (ms)",
            get: |r| over(&r.cold, |s| Some(s.handshake_ms)),
            decimals: 1,
            published: "225.7 (212–331)",
            with_ratio: true,
        },
        Row {
            metric: "binary still in page cache after eviction (MiB)",
            get: |r| over(&r.cold, |s| s.resident_before.map(|b| b as f64 / MIB)),
            decimals: 1,
            published: "",
            with_ratio: false,
        },
        Row {
            metric: "mTLS connect to the plugin socket, warm (ms)",
            get: |r| over(&r.warm, |s| Some(s.connect_ms)),
            decimals: 1,
            published: "",
            with_ratio: true,
        },
        Row {
            metric: "schema RPC, 1st call on a fresh process, warm (ms)",
            get: |r| over(&r.warm, |s| Some(s.schema1_ms)),
            decimals: 1,
            published: "50.1 ¹",
            with_ratio: true,
        },
        Row {
            metric: "schema RPC, 1st call on a fresh process, evicted (ms)",
            get: |r| over(&r.cold, |s| Some(s.schema1_ms)),
            decimals: 1,
            published: "",
            with_ratio: true,
        },
        Row {
            metric: "schema RPC, 2nd call, same process (ms)",
            get: |r| over(&r.warm, |s| Some(s.schema2_ms)),
            decimals: 1,
            published: "47.4",
            with_ratio: true,
        },
        Row {
            metric: "schema response, protobuf (bytes)",
            get: |r| over(&r.warm, |s| Some(s.schema_bytes as f64)),
            decimals: 0,
            published: "615,411",
            with_ratio: true,
        },
        Row {
            metric: "VmRSS right after handshake (MiB)",
            get: |r| over(&r.warm, |s| Some(s.rss_handshake as f64 / MIB)),
            decimals: 1,
            published: "73.6",
            with_ratio: true,
        },
        Row {
            metric: "VmRSS after the schema RPC (MiB)",
            get: |r| over(&r.warm, |s| Some(s.rss_schema as f64 / MIB)),
            decimals: 1,
            published: "98.8",
            with_ratio: true,
        },
        Row {
            metric: "VmHWM after the schema RPC (MiB)",
            get: |r| over(&r.warm, |s| Some(s.hwm_schema as f64 / MIB)),
            decimals: 1,
            published: "",
            with_ratio: true,
        },
        Row {
            metric: "Shutdown call → process exit (ms)",
            get: |r| over(&r.warm, |s| s.shutdown_exit_ms),
            decimals: 1,
            published: "",
            with_ratio: true,
        },
    ]
}

fn describe(r: &Report) -> String {
    let protocol = r
        .warm
        .first()
        .or(r.cold.first())
        .map_or("?".to_string(), |s| s.protocol.clone());
    let schemas = r
        .warm
        .first()
        .and_then(|s| s.schemas)
        .map_or("?".to_string(), |(a, b)| {
            format!("schema: {a} resource types, {b} data sources")
        });
    let replies = r.warm.iter().filter(|s| s.shutdown_reply).count();
    format!(
        "`{}` ({} bytes), protocol {protocol}, {schemas}; Shutdown replied {replies}/{} times{}",
        r.bin.display(),
        thousands(r.size),
        r.warm.len(),
        if r.failures.is_empty() {
            String::new()
        } else {
            format!(
                "; **{} failed probes**: {}",
                r.failures.len(),
                r.failures.join("; ")
            )
        }
    )
}

fn table(ours: &Report, peer: Option<&Report>, n: usize, profile: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "### Provider level (fresh processes: {n} warm + {n} evicted each; median (min–max))\n\n"
    ));
    out.push_str(&format!(
        "- ours: **{profile} build**, {}\n",
        describe(ours)
    ));
    match peer {
        Some(p) => out.push_str(&format!("- peer: {}\n", describe(p))),
        None => out.push_str(
            "- peer: **not measured here** (no `BP_BENCH_PEER_BIN`); the last column is \
             the published figure from ../shared/peer/RESULTS.md\n",
        ),
    }
    for r in std::iter::once(ours).chain(peer) {
        if let Some(e) = &r.evict_error {
            out.push_str(&format!(
                "- **could not evict** `{}` from the page cache ({e}): the evicted rows are missing\n",
                r.bin.display()
            ));
        }
    }
    out.push('\n');
    out.push_str("| metric | ours | peer (measured here) | ours/peer | peer (published) |\n");
    out.push_str("|---|---|---|---|---|\n");
    for row in rows() {
        let a = (row.get)(ours);
        let b = peer.and_then(|p| (row.get)(p));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            row.metric,
            fmt_stat(a, row.decimals),
            if peer.is_some() {
                fmt_stat(b, row.decimals)
            } else {
                "not measured".into()
            },
            if row.with_ratio {
                ratio(a, b)
            } else {
                String::new()
            },
            row.published,
        ));
    }
    out.push_str(
        "\n¹ published: Python grpcio, whose channel connects lazily, so that figure \
         probably includes the mTLS connect. Here connect and RPC are timed separately, \
         with the same client for both providers. \"Evicted\" means `posix_fadvise(DONTNEED)` \
         on the provider binary only (shared libraries such as libc stay cached; the Go \
         binary is static).\n",
    );
    out
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and a
    // test run must not start 40 provider processes. Filters are ignored.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("startup: a benchmark; run it with `cargo bench --bench startup`");
        return;
    }
    let n: usize = std::env::var("BP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let ours_bin = std::env::var_os("BP_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(OURS_BIN));
    let profile = std::env::var("BP_BENCH_PROFILE").unwrap_or_else(|_| {
        if cfg!(debug_assertions) {
            "debug".into()
        } else {
            "release".into()
        }
    });
    let peer_bin = std::env::var_os("BP_BENCH_PEER_BIN")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let id = go_plugin_client_identity();
    let ours = run_binary(&rt, &ours_bin, n, &id);
    let peer = peer_bin.map(|p| run_binary(&rt, &p, n, &id));
    let md = table(&ours, peer.as_ref(), n, &profile);
    println!("{md}");
    if let Some(path) = std::env::var_os("BP_BENCH_OUT") {
        std::fs::write(&path, &md).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
    }
}
