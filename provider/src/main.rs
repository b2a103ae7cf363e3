//! `terraform-provider-bankplatform`: the executable Terraform launches.
//!
//! With no arguments it runs as a go-plugin (magic cookie, handshake on
//! stdout, gRPC on a unix socket). `--debug` starts it by hand for
//! `TF_REATTACH_PROVIDERS`; `--version` and `--help` are for humans.

use std::process::ExitCode;
use std::time::Duration;

use bankplatform_provider::plugin::{self, ServeOptions, StartupError};
use bankplatform_provider::{logging, tfplugin6};

/// Registry address used as the reattach key in debug mode.
const PROVIDER_ADDRESS: &str = "registry.terraform.io/bankplatform/bankplatform";

/// Tokio worker threads. Terraform starts one provider process per provider
/// configuration (multi-account layouts start many), so per-process memory
/// matters more than parallelism; AWS calls are I/O-bound anyway.
const WORKER_THREADS: usize = 2;

/// How long the runtime waits for blocking tasks once `serve` has returned.
const RUNTIME_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(50);

const HELP: &str = "\
terraform-provider-bankplatform: Terraform provider (plugin protocol 6) with
compliant-by-default AWS composites for regulated banking platforms.

This binary is a plugin: Terraform (or OpenTofu) starts it automatically.

Usage:
  terraform-provider-bankplatform            run as a plugin (Terraform only)
  terraform-provider-bankplatform --debug    serve for TF_REATTACH_PROVIDERS
  terraform-provider-bankplatform --version  print the version
  terraform-provider-bankplatform --help     print this help

Logging: JSON lines on stderr; level from TF_LOG_PROVIDER or TF_LOG.
";

enum Mode {
    Serve { debug: bool },
    Version,
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Mode, String> {
    let mut debug = false;
    for arg in args {
        match arg.as_str() {
            "--version" | "-version" | "version" => return Ok(Mode::Version),
            "--help" | "-help" | "-h" | "help" => return Ok(Mode::Help),
            "--debug" | "-debug" => debug = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Mode::Serve { debug })
}

// Printing to stdout is fine here: --version and --help only run by hand,
// never under Terraform, so they cannot corrupt the plugin handshake.
#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let debug = match parse_args(std::env::args().skip(1)) {
        Ok(Mode::Version) => {
            println!(
                "terraform-provider-bankplatform {}",
                env!("CARGO_PKG_VERSION")
            );
            return ExitCode::SUCCESS;
        }
        Ok(Mode::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Mode::Serve { debug }) => debug,
        Err(e) => {
            eprintln!("terraform-provider-bankplatform: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };

    logging::init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("bankplatform-worker")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-bankplatform: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };

    let opts = ServeOptions {
        debug,
        provider_address: PROVIDER_ADDRESS.to_string(),
    };
    let result = runtime.block_on(plugin::serve(tfplugin6::ProviderService::new(), opts));
    // Do not let lingering tasks (e.g. an abandoned AWS call) delay the exit:
    // Terraform waits only 2 s after Shutdown before killing the process.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(startup) = e.downcast_ref::<StartupError>() {
                // Plain text, like go-plugin: usually read by a human.
                eprintln!("{startup}");
            } else {
                tracing::error!(error = format!("{e:#}"), "provider plugin failed");
            }
            ExitCode::FAILURE
        }
    }
}
