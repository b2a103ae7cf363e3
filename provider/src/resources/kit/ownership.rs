//! Ownership of a composite's objects across a crash.
//!
//! A composite's first object carries its identity (e.g. `bankplatform:vpc = <name>`)
//! and the lifecycle marker `bankplatform:lifecycle = creating`, written in the same
//! call that creates it (tag specifications) or in the call right after. When the
//! create finishes, the marker becomes `created`. The rules:
//!
//! - a create first looks for an object with its identity still marked `creating`:
//!   that is what an earlier, interrupted create of the same composite left (the
//!   provider was killed, the machine lost power), and the create continues from it;
//! - an object marked `created` belongs to a composite recorded in some state and is
//!   never taken: the create fails with the way out (import it, or choose another
//!   name);
//! - identities differ in name (and, where the composite has one, in CIDR or other
//!   identifying arguments), so two composites never adopt each other's objects.

/// The tag holding the lifecycle marker.
pub(crate) const LIFECYCLE_TAG: &str = "bankplatform:lifecycle";
/// The marker while a create is under way.
pub(crate) const CREATING: &str = "creating";
/// The marker once a create finished.
pub(crate) const CREATED: &str = "created";

/// What a create does with an object that already carries its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Left by an interrupted create of this composite: continue from it.
    Adopt,
    /// A finished composite's object: never take it.
    Refuse,
}

/// Decides from an object's lifecycle marker (`None` when it has none).
pub(crate) fn claim(marker: Option<&str>) -> Claim {
    match marker {
        Some(CREATING) => Claim::Adopt,
        _ => Claim::Refuse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unfinished_create_is_adopted() {
        assert_eq!(claim(Some(CREATING)), Claim::Adopt);
        assert_eq!(claim(Some(CREATED)), Claim::Refuse);
        assert_eq!(claim(None), Claim::Refuse);
        assert_eq!(claim(Some("anything")), Claim::Refuse);
    }
}
