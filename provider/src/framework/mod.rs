//! The protocol-free framework that resources are written against: schemas,
//! diagnostics, validators, plan modifiers, the planning rules Terraform
//! enforces (implemented once, in [`plan`]), and the [`Resource`] trait.
//!
//! Nothing in here names a protobuf type: `tfplugin6/` converts to and from
//! these types, and resources only ever see [`crate::value::Value`]s.

pub mod cancel;
pub mod diag;
pub mod docs;
pub mod function;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod validators;

pub use cancel::{Deadline, StopSignal};
pub use diag::{Diagnostic, Diagnostics, Severity};
pub use resource::{ApplyResult, PlanRequest, Resource, ResourceRegistry};
pub use schema::{Attribute, AttributeKind, Block, Nesting, PlanModifier, Schema};
