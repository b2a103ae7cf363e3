//! Runs the Terraform CLI in one working directory.
//!
//! Every command gets `-no-color`, a fixed environment (the mirror's CLI config,
//! checkpoint off, no input, moto's dummy credentials, region us-east-1, no AWS profile)
//! and a timeout. `TF_LOG` and `TF_LOG_PATH` pass through. Output is captured; a failed
//! command becomes a [`TfError`] whose message holds the command line and all its output.
//!
//! Working directories are temporary (under `TF_ACC_TEMP_DIR` if set) and deleted when the
//! [`Terraform`] is dropped, unless `TF_ACC_PERSIST_WORKING_DIR` is set, in which case
//! they are kept and their paths printed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::tools::TfVersion;

/// How long one Terraform command may run: `TF_ACC_COMMAND_TIMEOUT` seconds, default 900.
fn command_timeout() -> Duration {
    let secs = std::env::var("TF_ACC_COMMAND_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(900);
    Duration::from_secs(secs)
}

/// Environment variables removed from every Terraform run, because they would change
/// what Terraform does or which AWS identity the provider picks up.
const REMOVED_ENV: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "TF_CLI_ARGS",
    "TF_DATA_DIR",
    "TF_WORKSPACE",
    "TF_PLUGIN_CACHE_DIR",
    "TF_REATTACH_PROVIDERS",
];

/// A failed Terraform command: what ran, where, and everything it printed.
#[derive(Debug, Clone)]
pub struct TfError {
    /// The command line, such as `terraform plan -no-color -out=tfplan`.
    pub command: String,
    /// The working directory.
    pub dir: PathBuf,
    /// The exit code, or `None` when the command was killed or timed out.
    pub exit_code: Option<i32>,
    /// stdout followed by stderr.
    pub output: String,
}

impl fmt::Display for TfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self
            .exit_code
            .map_or_else(|| "no exit code".to_string(), |c| format!("exit code {c}"));
        write!(
            f,
            "`{}` failed ({code}) in {}:\n{}",
            self.command,
            self.dir.display(),
            self.output.trim_end()
        )
    }
}

impl std::error::Error for TfError {}

/// A finished command's output.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// The command line.
    pub command: String,
    /// The exit code.
    pub exit_code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CmdOutput {
    /// stdout followed by stderr.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Options for [`Terraform::plan`]. The default is a refreshing plan with no plan file.
#[derive(Debug, Clone)]
pub struct PlanOpts {
    /// Refresh before planning (`-refresh=false` when off).
    pub refresh: bool,
    /// Save the plan to this file (`-out=`), relative to the working directory.
    pub out: Option<String>,
}

impl Default for PlanOpts {
    fn default() -> Self {
        Self {
            refresh: true,
            out: None,
        }
    }
}

/// What `plan -detailed-exitcode` reported. A failed plan is an `Err(TfError)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanOutcome {
    /// Exit code 0.
    NoChanges,
    /// Exit code 2.
    Changes,
}

/// A successful plan: its outcome and its text.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Whether there are changes.
    pub outcome: PlanOutcome,
    /// The command's output.
    pub output: CmdOutput,
}

/// One working directory and the Terraform that runs in it.
#[derive(Debug)]
pub struct Terraform {
    bin: PathBuf,
    version: TfVersion,
    cli_config: PathBuf,
    dir: PathBuf,
    // Extra environment for every command (e.g. SSL_CERT_FILE for a private registry).
    env: Vec<(String, std::ffi::OsString)>,
    // Deletes the directory on drop; `None` once it is persisted.
    _temp: Option<tempfile::TempDir>,
}

impl Terraform {
    /// A new, empty working directory named after `label`.
    pub fn new(bin: &Path, version: TfVersion, cli_config: &Path, label: &str) -> Result<Self> {
        let label: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let prefix = format!("bp-acc-{label}-");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        let temp = match std::env::var_os("TF_ACC_TEMP_DIR").filter(|v| !v.is_empty()) {
            Some(base) => {
                std::fs::create_dir_all(&base)?;
                builder.tempdir_in(base)
            }
            None => builder.tempdir(),
        }
        .context("creating a Terraform working directory")?;
        let dir = temp.path().to_path_buf();
        let temp = if persist_working_dirs() {
            eprintln!("[bp-acc] keeping working directory {}", dir.display());
            let _ = temp.keep();
            None
        } else {
            Some(temp)
        };
        Ok(Self {
            bin: bin.to_path_buf(),
            version,
            cli_config: cli_config.to_path_buf(),
            dir,
            env: Vec::new(),
            _temp: temp,
        })
    }

    /// Sets an environment variable for every command this runner starts.
    pub fn with_env(mut self, var: &str, value: impl Into<std::ffi::OsString>) -> Self {
        self.env.push((var.to_string(), value.into()));
        self
    }

    /// The working directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Terraform release this runner uses.
    pub fn version(&self) -> TfVersion {
        self.version
    }

    /// Replaces the configuration with `hcl`, written to `main.tf`.
    pub fn write_config(&self, hcl: &str) -> Result<()> {
        let path = self.dir.join("main.tf");
        std::fs::write(&path, hcl).with_context(|| format!("writing {}", path.display()))
    }

    /// The configuration last written, if any.
    pub fn config(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("main.tf")).ok()
    }

    /// `terraform init`.
    pub async fn init(&self) -> Result<CmdOutput> {
        self.run(&["init", "-no-color", "-input=false"]).await
    }

    /// `terraform validate`.
    pub async fn validate(&self) -> Result<CmdOutput> {
        self.run(&["validate", "-no-color"]).await
    }

    /// `terraform plan -detailed-exitcode`, with or without refresh and a plan file.
    pub async fn plan(&self, opts: &PlanOpts) -> Result<Planned> {
        let mut args = vec![
            "plan".to_string(),
            "-no-color".into(),
            "-input=false".into(),
            "-detailed-exitcode".into(),
        ];
        if !opts.refresh {
            args.push("-refresh=false".into());
        }
        if let Some(out) = &opts.out {
            args.push(format!("-out={out}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = self.run_with_ok_codes(&args, &[0, 2]).await?;
        let outcome = if output.exit_code == 2 {
            PlanOutcome::Changes
        } else {
            PlanOutcome::NoChanges
        };
        Ok(Planned { outcome, output })
    }

    /// `terraform apply -auto-approve` of the current configuration.
    pub async fn apply(&self) -> Result<CmdOutput> {
        self.run(&["apply", "-no-color", "-input=false", "-auto-approve"])
            .await
    }

    /// `terraform apply -refresh-only -auto-approve`: the state takes what AWS reports.
    pub async fn apply_refresh_only(&self) -> Result<CmdOutput> {
        self.run(&[
            "apply",
            "-refresh-only",
            "-no-color",
            "-input=false",
            "-auto-approve",
        ])
        .await
    }

    /// `terraform apply` of a saved plan file (which needs no approval).
    pub async fn apply_plan(&self, plan_file: &str) -> Result<CmdOutput> {
        self.run(&[
            "apply",
            "-no-color",
            "-input=false",
            "-auto-approve",
            plan_file,
        ])
        .await
    }

    /// `terraform show -json` of the state.
    pub async fn show_state(&self) -> Result<Value> {
        let out = self.run(&["show", "-json", "-no-color"]).await?;
        parse_json(&out)
    }

    /// `terraform show -json <plan file>`.
    pub async fn show_plan(&self, plan_file: &str) -> Result<Value> {
        let out = self.run(&["show", "-json", "-no-color", plan_file]).await?;
        parse_json(&out)
    }

    /// `terraform import ADDR ID`.
    pub async fn import(&self, address: &str, id: &str) -> Result<CmdOutput> {
        self.run(&["import", "-no-color", "-input=false", address, id])
            .await
    }

    /// `terraform destroy -auto-approve`.
    pub async fn destroy(&self) -> Result<CmdOutput> {
        self.run(&["destroy", "-no-color", "-input=false", "-auto-approve"])
            .await
    }

    /// `terraform state pull`: the raw state document.
    pub async fn state_pull(&self) -> Result<Value> {
        let out = self.run(&["state", "pull"]).await?;
        parse_json(&out)
    }

    /// Runs `terraform <args>`; any exit code but 0 is an error.
    pub async fn run(&self, args: &[&str]) -> Result<CmdOutput> {
        self.run_with_ok_codes(args, &[0]).await
    }

    /// The command `terraform <args>` in this directory, with the harness's environment.
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for var in REMOVED_ENV {
            cmd.env_remove(var);
        }
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("TF_CLI_ARGS_")
                || var.to_string_lossy().starts_with("AWS_ENDPOINT_URL_")
            {
                cmd.env_remove(var);
            }
        }
        cmd.env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (var, value) in &self.env {
            cmd.env(var, value);
        }
        cmd
    }

    /// Runs `terraform <args>` and interrupts it (SIGINT, as Ctrl-C does) as soon as its
    /// output shows a line containing `trigger`. Returns the output whatever the exit
    /// code; fails if the trigger never appeared.
    pub async fn run_interrupting(&self, args: &[&str], trigger: &str) -> Result<CmdOutput> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
        let command = format!("terraform {} (interrupted at {trigger:?})", args.join(" "));
        let started = std::time::Instant::now();
        // Its own process group, as a terminal's foreground job: Ctrl-C reaches Terraform
        // and the providers it started alike, and the provider must ignore it.
        let mut child = self
            .command(args)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {} ({command})", self.bin.display()))?;
        let pid = child.id().context("the child has no pid")?;
        let mut stdout = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let mut stderr = child.stderr.take().context("no stderr")?;
        let err_task = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        let mut out = String::new();
        let mut sent = false;
        let read = async {
            while let Some(line) = stdout.next_line().await? {
                if !sent && line.contains(trigger) {
                    crate::daemon::interrupt_group(pid)?;
                    sent = true;
                }
                out.push_str(&line);
                out.push('\n');
            }
            anyhow::Ok(())
        };
        match tokio::time::timeout(command_timeout(), read).await {
            Ok(read) => read.with_context(|| format!("reading the output of {command}"))?,
            Err(_) => {
                // Terraform and the providers it started: the whole group goes.
                let _ = crate::daemon::kill_group(pid);
                anyhow::bail!("{command} timed out after {}s", command_timeout().as_secs());
            }
        }
        let status = child.wait().await?;
        let stderr = err_task.await.unwrap_or_default();
        eprintln!(
            "[bp-acc] {command} -> {status} ({:.1}s) in {}",
            started.elapsed().as_secs_f64(),
            self.dir.display()
        );
        let output = CmdOutput {
            command,
            exit_code: status.code().unwrap_or(-1),
            stdout: out,
            stderr,
        };
        anyhow::ensure!(
            sent,
            "{trigger:?} never appeared, so nothing was interrupted:\n{}",
            output.combined()
        );
        Ok(output)
    }

    /// Runs `terraform <args>`; exit codes outside `ok` are a [`TfError`].
    pub async fn run_with_ok_codes(&self, args: &[&str], ok: &[i32]) -> Result<CmdOutput> {
        let command = format!("terraform {}", args.join(" "));
        let mut cmd = self.command(args);
        let started = std::time::Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {} ({command})", self.bin.display()))?;
        let timeout = command_timeout();
        let waited = tokio::time::timeout(timeout, child.wait_with_output()).await;
        let fail = |exit_code, output| TfError {
            command: command.clone(),
            dir: self.dir.clone(),
            exit_code,
            output,
        };
        let out = match waited {
            Ok(out) => out.with_context(|| format!("waiting for {command}"))?,
            // The child is killed when the timed-out future drops it (kill_on_drop).
            Err(_) => {
                return Err(fail(
                    None,
                    format!(
                        "timed out after {}s (TF_ACC_COMMAND_TIMEOUT)",
                        timeout.as_secs()
                    ),
                )
                .into())
            }
        };
        let output = CmdOutput {
            command: command.clone(),
            exit_code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        eprintln!(
            "[bp-acc] {command} -> {} ({:.1}s) in {}",
            out.status,
            started.elapsed().as_secs_f64(),
            self.dir.display()
        );
        if out.status.code().is_some_and(|c| ok.contains(&c)) {
            Ok(output)
        } else {
            Err(fail(out.status.code(), output.combined()).into())
        }
    }
}

/// Whether `TF_ACC_PERSIST_WORKING_DIR` asks to keep working directories.
pub fn persist_working_dirs() -> bool {
    std::env::var_os("TF_ACC_PERSIST_WORKING_DIR").is_some_and(|v| !v.is_empty())
}

fn parse_json(out: &CmdOutput) -> Result<Value> {
    serde_json::from_str(&out.stdout).with_context(|| {
        format!(
            "`{}` did not print JSON:\n{}",
            out.command,
            out.combined().trim_end()
        )
    })
}

/// The output of a failed command with Terraform's diagnostic frame removed and all
/// whitespace collapsed to single spaces, so that a pattern can match a message that
/// Terraform wrapped over several lines.
pub fn unwrap_diagnostics(output: &str) -> String {
    let mut text = String::with_capacity(output.len());
    for line in output.lines() {
        let line = line.trim_start_matches(['│', '╷', '╵', ' ']).trim_end();
        if !line.is_empty() {
            text.push_str(line);
            text.push(' ');
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
