//! Attribute paths: the address of a value nested inside another value, as
//! used in diagnostics (`object_lock.retention_days`, `tags["env"]`,
//! `lifecycle_rules[0].id`) and in codec errors.

use std::fmt;

/// One step of an [`AttrPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// An attribute of an object.
    Attr(String),
    /// A key of a map (or, when navigating, an attribute of an object).
    Key(String),
    /// A position in a list or tuple (codec errors also use it for set elements).
    Index(i64),
}

/// A path from the root of a value to one of its nested values.
///
/// The empty path addresses the root value itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrPath(Vec<PathStep>);

impl AttrPath {
    /// Returns the path made of the single attribute step `name`.
    pub fn root(name: &str) -> Self {
        AttrPath(vec![PathStep::Attr(name.to_owned())])
    }

    /// Returns the empty path, which addresses the root value.
    pub fn new() -> Self {
        AttrPath(Vec::new())
    }

    /// Returns this path extended by the attribute step `name`.
    pub fn attr(&self, name: &str) -> Self {
        self.with(PathStep::Attr(name.to_owned()))
    }

    /// Returns this path extended by the map key step `k`.
    pub fn key(&self, k: &str) -> Self {
        self.with(PathStep::Key(k.to_owned()))
    }

    /// Returns this path extended by the index step `i`.
    pub fn index(&self, i: i64) -> Self {
        self.with(PathStep::Index(i))
    }

    /// Returns the steps of this path, outermost first.
    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }

    /// Builds a path from its steps, outermost first.
    pub fn from_steps(v: Vec<PathStep>) -> Self {
        AttrPath(v)
    }

    /// Returns true for the empty path, which addresses the root value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Returns the path without its last step, or `None` for the empty path.
    pub fn parent(&self) -> Option<Self> {
        let (_, rest) = self.0.split_last()?;
        Some(AttrPath(rest.to_vec()))
    }

    /// Appends a step to this path in place.
    pub fn push(&mut self, step: PathStep) {
        self.0.push(step);
    }

    fn with(&self, step: PathStep) -> Self {
        let mut steps = Vec::with_capacity(self.0.len() + 1);
        steps.extend_from_slice(&self.0);
        steps.push(step);
        AttrPath(steps)
    }
}

impl fmt::Display for AttrPath {
    /// Renders the path the way Terraform users write it: attributes joined
    /// by dots, map keys as quoted strings in brackets and indexes in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attr(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(name)?;
                }
                PathStep::Key(key) => {
                    // A JSON string literal is also a valid HCL string literal for
                    // every key, including ones with quotes or control characters.
                    let quoted = serde_json::to_string(key).map_err(|_| fmt::Error)?;
                    write!(f, "[{quoted}]")?;
                }
                PathStep::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn display_forms() {
        assert_eq!(
            AttrPath::root("object_lock")
                .attr("retention_days")
                .to_string(),
            "object_lock.retention_days"
        );
        assert_eq!(
            AttrPath::root("tags").key("env").to_string(),
            r#"tags["env"]"#
        );
        assert_eq!(
            AttrPath::root("lifecycle_rules")
                .index(0)
                .attr("id")
                .to_string(),
            "lifecycle_rules[0].id"
        );
        assert_eq!(AttrPath::new().key("a\"b").to_string(), r#"["a\"b"]"#);
        assert_eq!(AttrPath::new().to_string(), "");
    }

    #[test]
    fn parent_and_steps() {
        let p = AttrPath::root("a").index(3);
        assert_eq!(p.parent(), Some(AttrPath::root("a")));
        assert_eq!(AttrPath::new().parent(), None);
        assert_eq!(
            p.steps(),
            &[PathStep::Attr("a".into()), PathStep::Index(3)][..]
        );
        assert_eq!(AttrPath::from_steps(p.steps().to_vec()), p);
        assert!(AttrPath::new().is_empty());
        assert!(!p.is_empty());
    }
}
