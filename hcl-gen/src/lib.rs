//! `bankplatform-gen`: generates the multi-account Terraform tree of a bank's AWS platform
//! from one HCL spec.
//!
//! The pipeline has two phases, as in `hcl-gen/README.md`:
//! [`spec`] reads and checks the spec (errors carry file, line and column), [`layout`]
//! resolves it into roots with stable ids and dependencies, [`render`] builds every file
//! (HCL as `hcl::Body` trees), and [`write`] puts them on disk without touching files it
//! did not generate. [`graph`] draws the layout, [`init`] writes a starter spec.

pub mod diag;
pub mod graph;
pub mod init;
pub mod layout;
pub mod render;
pub mod spec;
pub mod write;
pub mod yaml;

use std::path::Path;

/// Reads the spec at `spec_path` and renders the whole tree for `paths`.
pub fn generate(spec_path: &Path, paths: &render::Paths) -> anyhow::Result<Vec<render::File>> {
    let spec = spec::load(spec_path)?;
    Ok(render::render(&layout::resolve(&spec), paths))
}
