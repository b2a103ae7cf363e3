//! Diagnostics: what a person sees when something is wrong. They accumulate
//! (validation reports every problem, not the first), and each may carry the
//! attribute path Terraform uses to point at the offending configuration.
//!
//! Style: `summary` is a short title ("Invalid bucket name"); `detail` says
//! what was wrong and how to fix it, with the numbers involved.

use crate::value::AttrPath;

/// Error or warning; only errors fail an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Fails the operation.
    Error,
    /// Shown, but the operation goes on.
    Warning,
}

/// One diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One short sentence or title.
    pub summary: String,
    /// What went wrong and what to do about it.
    pub detail: String,
    /// The attribute the diagnostic is about, if any.
    pub path: Option<AttrPath>,
}

/// An ordered collection of diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

/// Appended to diagnostics that can only come from a defect in this provider.
pub const PROVIDER_BUG: &str =
    "This is always a bug in the provider; please report it to the bankplatform maintainers.";

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an error that applies to the whole resource or provider.
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Error, summary, detail, None);
    }

    /// Adds an error about one attribute.
    pub fn attr_error(
        &mut self,
        path: AttrPath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Severity::Error, summary, detail, Some(path));
    }

    /// Adds a warning.
    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Warning, summary, detail, None);
    }

    /// Adds a warning about one attribute.
    pub fn attr_warning(
        &mut self,
        path: AttrPath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Severity::Warning, summary, detail, Some(path));
    }

    /// Adds an error that means the provider itself is wrong.
    pub fn provider_bug(&mut self, summary: impl Into<String>, detail: impl std::fmt::Display) {
        self.error(summary, format!("{detail}\n\n{PROVIDER_BUG}"));
    }

    fn push(
        &mut self,
        severity: Severity,
        summary: impl Into<String>,
        detail: impl Into<String>,
        path: Option<AttrPath>,
    ) {
        self.0.push(Diagnostic {
            severity,
            summary: summary.into(),
            detail: detail.into(),
            path,
        });
    }

    /// Moves every diagnostic of `other` into `self`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Whether there are no diagnostics at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The diagnostics, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Consumes the collection.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}: {} ({})", p, self.summary, self.detail),
            None => write!(f, "{} ({})", self.summary, self.detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accumulates_and_reports_errors() {
        let mut d = Diagnostics::new();
        assert!(!d.has_errors());
        d.attr_warning(AttrPath::root("a"), "W", "w");
        assert!(!d.has_errors());
        d.attr_error(
            AttrPath::root("object_lock").attr("retention_days"),
            "Invalid object lock retention",
            "got 0",
        );
        assert!(d.has_errors());
        assert_eq!(d.iter().count(), 2);
        let text = d.iter().nth(1).unwrap().to_string();
        assert!(text.starts_with("object_lock.retention_days: Invalid object lock retention"));
    }
}
