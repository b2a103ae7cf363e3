//! Generation, check and graph times and peak memory for the example spec and for
//! synthetic specs with 10, 100, 1,000 and 5,000 workload accounts spread over three
//! primary regions (three zones each, `/20` networks up to 1,000 accounts, `/22` at
//! 5,000: two networks per environment must fit 10.0.0.0/8), with the shape of the
//! apply graph (waves, the widest wave, and the GitHub apply jobs it takes at 256
//! roots per matrix).
//!
//! Run with `cargo bench -p bankplatform-gen`. `generate` parses the spec, resolves the
//! layout, renders every file to text and writes the tree into a temporary directory;
//! `check` does the same against the written tree without writing; `graph` parses,
//! resolves and renders the Mermaid graph. Times are the best of several runs; the
//! memory is the process's peak RSS (`VmHWM`) after the case, so cases run from
//! smallest to largest.

#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use bankplatform_gen::init::{spec_text, EnvParams, SpecParams};
use bankplatform_gen::render::{self, Paths};
use bankplatform_gen::{graph, layout, spec, write};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn synthetic(n: usize, prefix: u8) -> SpecParams {
    let regions = ["eu-west-1", "us-east-1", "ap-southeast-2"];
    let dr = [
        "backup_restore",
        "pilot_light",
        "warm_standby",
        "multi_region",
    ];
    SpecParams {
        organization: "bench".into(),
        primary: "eu-west-1".into(),
        secondary: Some("eu-central-1".into()),
        environments: (0..n)
            .map(|i| EnvParams {
                name: format!("env{i:04}"),
                account: format!("workload-{i:04}"),
                account_id: Some(format!("{:012}", 400_000_000_000u64 + i as u64)),
                dr_strategy: dr[i % dr.len()].into(),
                region: Some(regions[i % regions.len()].into()),
                secondary_region: None,
                cidr: None,
            })
            .collect(),
        with_ids: true,
        // Two slots per environment (primary and DR): 4,096 /20s hold 2,048 environments
        // in 10.0.0.0/8, 16,384 /22s hold 8,192. The tiers are sized to the VPC.
        prefix,
        az_count: 3,
    }
}

fn case(name: &str, text: &str, runs: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec_path = dir.path().join("platform.hcl");
    std::fs::write(&spec_path, text).expect("writing the spec");
    let mut best = Duration::MAX;
    let mut best_check = Duration::MAX;
    let mut best_graph = Duration::MAX;
    let mut stats = (0, 0, 0usize);
    let mut shape = (0usize, 0usize, 0usize);
    for i in 0..runs {
        let out = dir.path().join(format!("out{i}"));
        let start = Instant::now();
        let spec = spec::load(&spec_path).expect("valid spec");
        let layout = layout::resolve(&spec);
        let paths = Paths::new(&out);
        let files = render::render(&layout, &paths);
        let plan = write::plan(&files, &paths).expect("plan");
        write::apply(&plan).expect("write");
        best = best.min(start.elapsed());
        // `bankplatform-gen check`: the same, compared with the tree on disk.
        let start = Instant::now();
        let spec = spec::load(&spec_path).expect("valid spec");
        let layout = layout::resolve(&spec);
        let files = render::render(&layout, &paths);
        let clean = write::plan(&files, &paths).expect("plan").is_clean();
        best_check = best_check.min(start.elapsed());
        assert!(clean, "the tree just written is up to date");
        // `bankplatform-gen graph --format mermaid`.
        let start = Instant::now();
        let spec = spec::load(&spec_path).expect("valid spec");
        let graph = graph::render(&layout::resolve(&spec), graph::Format::Mermaid);
        best_graph = best_graph.min(start.elapsed());
        assert!(!graph.is_empty());
        let bytes: usize = plan.changes.iter().map(|c| c.new.len()).sum();
        stats = (layout.units.len(), files.len(), bytes);
        let waves = layout.waves();
        let apply_jobs: usize = waves
            .iter()
            .map(|w| w.len().div_ceil(render::pipelines::MAX_MATRIX))
            .sum();
        shape = (
            waves.len(),
            waves.iter().map(Vec::len).max().unwrap_or(0),
            apply_jobs,
        );
        std::fs::remove_dir_all(&out).ok();
        let _ = Path::new(&out);
    }
    let (roots, files, bytes) = stats;
    let (waves, widest, jobs) = shape;
    println!(
        "| {name} | {roots} | {waves} | {widest} | {jobs} | {files} | {:.1} MiB | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB |",
        bytes as f64 / 1024.0 / 1024.0,
        best.as_secs_f64() * 1e3,
        best_check.as_secs_f64() * 1e3,
        best_graph.as_secs_f64() * 1e3,
        peak_rss_kib() as f64 / 1024.0
    );
}

fn main() {
    println!("| spec | roots | waves | widest wave | GitHub apply jobs | files | bytes | generate+write | check | graph | peak RSS |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    case(
        "example (7 accounts, 2 regions)",
        &spec_text(&SpecParams::example()),
        10,
    );
    for (n, prefix, runs) in [(10, 20, 5), (100, 20, 3), (1000, 20, 3), (5000, 22, 1)] {
        case(
            &format!("{n} workload accounts, /{prefix} networks"),
            &spec_text(&synthetic(n, prefix)),
            runs,
        );
    }
}
