//! Provider-defined functions (Terraform 1.8+), called in configuration as
//! `provider::bankplatform::<name>(...)`. Pure: no AWS calls, no state.

use crate::value::{Type, Value};

/// One positional parameter.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// Name shown in documentation and errors.
    pub name: &'static str,
    /// Type constraint.
    pub ty: Type,
    /// Markdown description.
    pub description: &'static str,
}

/// A function error, optionally blaming one argument (0-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    /// What is wrong and how to fix it.
    pub text: String,
    /// The argument at fault.
    pub argument: Option<i64>,
}

impl FunctionError {
    /// An error about argument `i`.
    pub fn argument(i: i64, text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: Some(i),
        }
    }
}

/// A provider function.
pub trait Function: Send + Sync + 'static {
    /// Name, a valid HCL identifier.
    fn name(&self) -> &'static str;
    /// One line.
    fn summary(&self) -> &'static str;
    /// Markdown description.
    fn description(&self) -> &'static str;
    /// Positional parameters (arguments are never null nor unknown when called).
    fn parameters(&self) -> Vec<Parameter>;
    /// Result type.
    fn return_type(&self) -> Type;
    /// Computes the result.
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError>;
}
