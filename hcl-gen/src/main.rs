//! The `bankplatform-gen` command line: `init`, `generate`, `check` and `graph`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bankplatform_gen::render::Paths;
use bankplatform_gen::write::{self, Action};
use bankplatform_gen::{graph, init, layout, spec};
use clap::{Parser, Subcommand};

/// Generates the multi-account Terraform tree of a bank's AWS platform from one spec.
#[derive(Parser)]
#[command(name = "bankplatform-gen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a starter spec describing the seven-account platform.
    Init {
        /// Where to write it.
        #[arg(default_value = "platform.hcl")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Writes the tree the spec describes (only files that changed).
    Generate {
        #[command(flatten)]
        target: Target,
        /// Write even when a network would move to another CIDR (replacing its VPC):
        /// only for networks that were never applied.
        #[arg(long)]
        allow_renumber: bool,
    },
    /// Exits 1 and prints a diff when the tree on disk is not what the spec generates.
    Check {
        #[command(flatten)]
        target: Target,
    },
    /// Draws accounts, regions, networks and stack dependencies.
    Graph {
        /// The spec.
        #[arg(long)]
        spec: PathBuf,
        /// Mermaid or Graphviz DOT.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: graph::Format,
    },
}

#[derive(clap::Args)]
struct Target {
    /// The spec.
    #[arg(long)]
    spec: PathBuf,
    /// The output root: `live/`, `README.md` (and `modules/` unless --modules-dir).
    #[arg(long)]
    out: PathBuf,
    /// Where the modules go, when not `<out>/modules`.
    #[arg(long)]
    modules_dir: Option<PathBuf>,
}

impl Target {
    fn paths(&self) -> Paths {
        let mut p = Paths::new(&self.out);
        if let Some(m) = &self.modules_dir {
            p.modules = m.clone();
        }
        p
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Init { path, force } => {
            if path.exists() && !force {
                bail!("{} exists; pass --force to overwrite it", path.display());
            }
            std::fs::write(&path, init::spec_text(&init::SpecParams::example()))
                .with_context(|| format!("writing {}", path.display()))?;
            writeln!(stdout, "wrote {}", path.display())?;
        }
        Command::Generate {
            target,
            allow_renumber,
        } => {
            let files = bankplatform_gen::generate(&target.spec, &target.paths())?;
            let plan = write::plan(&files, &target.paths())?;
            let moved = plan.renumbered();
            if !moved.is_empty() && !allow_renumber {
                let mut lines = String::new();
                for m in &moved {
                    lines.push_str(&format!("\n  - {m}"));
                }
                bail!(
                    "refusing to renumber {} network(s); nothing was written:{lines}",
                    moved.len()
                );
            }
            write::apply(&plan)?;
            for c in plan.pending() {
                let what = match c.action {
                    Action::Create => "created",
                    Action::Change => "changed",
                    Action::Delete => "deleted",
                    Action::Unchanged => continue,
                };
                writeln!(stdout, "{what:>8} {}", c.path.display())?;
            }
            let [created, changed, deleted, unchanged] = plan.counts();
            writeln!(
                stdout,
                "{created} created, {changed} changed, {deleted} deleted, {unchanged} unchanged"
            )?;
        }
        Command::Check { target } => {
            let files = bankplatform_gen::generate(&target.spec, &target.paths())?;
            let plan = write::plan(&files, &target.paths())?;
            if plan.is_clean() {
                writeln!(stdout, "up to date: {} files", plan.changes.len())?;
                return Ok(ExitCode::SUCCESS);
            }
            for m in plan.renumbered() {
                writeln!(stdout, "renumber {m}")?;
            }
            for c in plan.pending() {
                match c.action {
                    Action::Create => writeln!(stdout, "missing  {}", c.path.display())?,
                    Action::Delete => writeln!(
                        stdout,
                        "extra    {} (generated, no longer produced)",
                        c.path.display()
                    )?,
                    Action::Change => {
                        writeln!(stdout, "stale    {}", c.path.display())?;
                        write!(
                            stdout,
                            "{}",
                            write::diff(&c.path, c.old.as_deref().unwrap_or(""), &c.new)
                        )?;
                    }
                    Action::Unchanged => {}
                }
            }
            let [created, changed, deleted, _] = plan.counts();
            writeln!(
                stdout,
                "out of date: {created} missing, {changed} stale, {deleted} extra; run `bankplatform-gen generate` with the same arguments"
            )?;
            return Ok(ExitCode::from(1));
        }
        Command::Graph { spec, format } => {
            let spec = spec::load(&spec)?;
            let layout = layout::resolve(&spec);
            write!(stdout, "{}", graph::render(&layout, format))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
