//! Generation time and peak memory for the example spec and for synthetic specs with
//! 10, 100 and 1,000 workload accounts spread over three primary regions, with the
//! shape of the apply graph (waves, the widest wave, and the GitHub apply jobs it takes
//! at 256 roots per matrix).
//!
//! Run with `cargo bench -p bankplatform-gen`. Each case parses the spec, resolves the
//! layout, renders every file to text and writes the tree into a temporary directory;
//! the time is the best of several runs, the memory is the process's peak RSS (`VmHWM`)
//! after the case, so cases run from smallest to largest.

#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use bankplatform_gen::init::{spec_text, EnvParams, SpecParams};
use bankplatform_gen::render::{self, Paths};
use bankplatform_gen::{layout, spec, write};

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

fn synthetic(n: usize) -> SpecParams {
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
        // Two /19 slots per environment (primary and DR) fit 1,000 environments in 10.0.0.0/8;
        // a /19 holds the default tiers for one availability zone.
        prefix: 19,
        az_count: 1,
    }
}

fn case(name: &str, text: &str, runs: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec_path = dir.path().join("platform.hcl");
    std::fs::write(&spec_path, text).expect("writing the spec");
    let mut best = Duration::MAX;
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
        "{name:<40} {roots:>5} roots {waves:>2} waves (widest {widest:>5}, {jobs:>3} GitHub apply jobs) {files:>6} files {:>8.1} KiB  generate+write {:>9.2} ms  peak RSS {:>7.1} MiB",
        bytes as f64 / 1024.0,
        best.as_secs_f64() * 1e3,
        peak_rss_kib() as f64 / 1024.0
    );
}

fn main() {
    case(
        "example (7 accounts, 2 regions)",
        &spec_text(&SpecParams::example()),
        10,
    );
    for n in [10, 100, 1000] {
        case(
            &format!("synthetic ({n} workload accounts, 3 regions)"),
            &spec_text(&synthetic(n)),
            3,
        );
    }
}
