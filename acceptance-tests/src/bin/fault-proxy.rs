//! The fault proxy as a process, for scripts (scripts/fault_peer.sh): forwards to an
//! AWS endpoint (moto) and injects faults into a share of the calls.
//!
//! `fault-proxy UPSTREAM [--throttle P] [--server-errors P] [--resets P]` prints its own
//! endpoint (`http://127.0.0.1:PORT`) on the first line of stdout and serves until
//! killed. P is a share of calls from 0 to 1.

use acceptance_tests::fault_proxy::{FaultPlan, FaultProxy};
use anyhow::{bail, Context, Result};
use std::io::Write;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let upstream = args
        .next()
        .context("usage: fault-proxy UPSTREAM [--throttle P] [--server-errors P] [--resets P]")?;
    let mut plan = FaultPlan::default();
    while let Some(flag) = args.next() {
        let p: f64 = args
            .next()
            .with_context(|| format!("{flag} needs a share from 0 to 1"))?
            .parse()
            .with_context(|| format!("{flag} needs a share from 0 to 1"))?;
        match flag.as_str() {
            "--throttle" => plan.throttle = p,
            "--server-errors" => plan.server_error = p,
            "--resets" => {
                plan.reset_before = p / 2.0;
                plan.reset_after = p / 2.0;
            }
            other => bail!("unknown flag {other}"),
        }
    }
    let proxy = FaultProxy::start(&upstream, plan).await?;
    let mut out = std::io::stdout();
    #[allow(clippy::print_stdout)]
    {
        writeln!(out, "{}", proxy.endpoint())?;
    }
    out.flush()?;
    // Serve until killed; print what was done when asked to stop.
    tokio::signal::ctrl_c().await.ok();
    eprintln!("{:?}", proxy.stats());
    Ok(())
}
