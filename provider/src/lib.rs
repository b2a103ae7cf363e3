//! `terraform-provider-bankplatform`: a Terraform provider speaking plugin
//! protocol 6, whose resources are compliant-by-default composites of AWS
//! resources for regulated banking platforms.
//!
//! Layers, from the wire inwards (see ARCHITECTURE.md):
//! - [`plugin`]: go-plugin process layer (cookie, handshake, AutoMTLS, controller).
//! - [`tfplugin6`]: the tonic `tfplugin6.Provider` service: decode, dispatch, encode.
//! - [`framework`]: protocol-free schema, diagnostics, planning rules, resource trait.
//! - [`value`]: Terraform's value model and its msgpack/JSON codecs.
//! - [`aws`]: provider configuration and SDK clients per account and region.
//! - [`resources`]: one file per resource type.
//! - [`functions`]: provider functions (`provider::bankplatform::...`).

pub mod aws;
pub mod framework;
pub mod functions;
pub mod logging;
pub mod pb;
pub mod plugin;
pub mod resources;
pub mod tfplugin6;
pub mod value;
