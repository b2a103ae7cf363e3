//! Attribute validators: small named values that check one known, non-null
//! configuration value and report problems with the attribute's path.

use crate::framework::Diagnostics;
use crate::value::{AttrPath, Value};

/// Checks one configuration value. Only called for known, non-null values.
pub trait Validator: Send + Sync {
    /// One line for documentation ("must be one of ...").
    fn description(&self) -> String;
    /// Adds diagnostics for a bad value.
    fn validate(&self, path: &AttrPath, value: &Value, diags: &mut Diagnostics);
}

/// The string must be one of the given values.
pub struct OneOf {
    summary: &'static str,
    allowed: &'static [&'static str],
}

/// Builds a [`OneOf`] validator; `summary` is the diagnostic's title.
pub fn one_of(summary: &'static str, allowed: &'static [&'static str]) -> OneOf {
    OneOf { summary, allowed }
}

impl Validator for OneOf {
    fn description(&self) -> String {
        format!("must be one of: {}", self.allowed.join(", "))
    }
    fn validate(&self, path: &AttrPath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if !self.allowed.contains(&s) {
                let hint = closest(s, self.allowed)
                    .map(|c| format!(" Did you mean \"{c}\"?"))
                    .unwrap_or_default();
                diags.attr_error(
                    path.clone(),
                    self.summary,
                    format!(
                        "{path} is \"{s}\", which is not one of: {}.{hint}",
                        self.allowed
                            .iter()
                            .map(|a| format!("\"{a}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }
}

/// The string must be an ARN of `service` whose resource part starts with
/// `resource` (`""` for any): `arn:<partition>:<service>:<region>:<account>:<resource>`.
pub struct Arn {
    service: &'static str,
    resource: &'static str,
    example: &'static str,
}

/// Builds an [`Arn`] validator; `example` is shown in the error.
pub fn arn(service: &'static str, resource: &'static str, example: &'static str) -> Arn {
    Arn {
        service,
        resource,
        example,
    }
}

impl Validator for Arn {
    fn description(&self) -> String {
        format!("must be an ARN like {}", self.example)
    }
    fn validate(&self, path: &AttrPath, value: &Value, diags: &mut Diagnostics) {
        let Some(s) = value.as_str() else { return };
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == self.service
            && parts[5].starts_with(self.resource)
            && parts[5].len() > self.resource.len();
        if !ok {
            diags.attr_error(
                path.clone(),
                "Invalid ARN",
                format!(
                    "{path} is \"{s}\", which is not an ARN like {}.",
                    self.example
                ),
            );
        }
    }
}

/// The string must not be empty.
pub struct NotEmpty;

impl Validator for NotEmpty {
    fn description(&self) -> String {
        "must not be empty".into()
    }
    fn validate(&self, path: &AttrPath, value: &Value, diags: &mut Diagnostics) {
        if value.as_str().is_some_and(|s| s.trim().is_empty()) {
            diags.attr_error(
                path.clone(),
                "Empty value",
                format!("{path} must not be empty: it names what is created."),
            );
        }
    }
}

/// The number must be an integer within `min..=max`.
pub struct IntBetween {
    summary: &'static str,
    min: i64,
    max: i64,
}

/// Builds an [`IntBetween`] validator; `summary` is the diagnostic's title.
pub fn int_between(summary: &'static str, min: i64, max: i64) -> IntBetween {
    IntBetween { summary, min, max }
}

impl Validator for IntBetween {
    fn description(&self) -> String {
        format!("must be a whole number from {} to {}", self.min, self.max)
    }
    fn validate(&self, path: &AttrPath, value: &Value, diags: &mut Diagnostics) {
        let Some(n) = value.as_number() else { return };
        match value.as_i64() {
            Some(i) if (self.min..=self.max).contains(&i) => {}
            _ => diags.attr_error(
                path.clone(),
                self.summary,
                format!(
                    "{path} must be a whole number from {} to {}; got {n}.",
                    self.min, self.max
                ),
            ),
        }
    }
}

/// Reports a known number at `path` that is not a whole number within `range`
/// (a port of 22.5, a negative day count), with a sentence naming the range.
pub fn whole_number_in(
    path: AttrPath,
    value: &Value,
    range: std::ops::RangeInclusive<i64>,
    summary: &str,
    diags: &mut Diagnostics,
) {
    let Some(n) = value.as_number() else { return };
    if !value.as_i64().is_some_and(|i| range.contains(&i)) {
        diags.attr_error(
            path.clone(),
            summary.to_string(),
            format!(
                "{path} must be a whole number from {} to {}; got {n}.",
                range.start(),
                range.end()
            ),
        );
    }
}

/// AWS's tag limits, the same for every service: keys of 1 to 128 characters,
/// values of at most 256. Reported at plan time, not half-way through an apply.
pub fn aws_tags(path: AttrPath, tags: &Value, diags: &mut Diagnostics) {
    for (k, v) in tags.as_map().into_iter().flatten() {
        let at = path.clone().key(k);
        let chars = k.chars().count();
        if chars == 0 || chars > 128 {
            diags.attr_error(
                at.clone(),
                "Invalid tag key",
                format!("Tag keys must be 1 to 128 characters; this one has {chars}."),
            );
        }
        if let Some(v) = v.as_str() {
            let chars = v.chars().count();
            if chars > 256 {
                diags.attr_error(
                    at,
                    "Invalid tag value",
                    format!("Tag values must be at most 256 characters; the value of \"{k}\" has {chars}."),
                );
            }
        }
    }
}

/// A custom check written as a function.
pub struct Func<F> {
    description: &'static str,
    f: F,
}

/// Wraps a function as a validator.
pub fn func<F>(description: &'static str, f: F) -> Func<F>
where
    F: Fn(&AttrPath, &Value, &mut Diagnostics) + Send + Sync,
{
    Func { description, f }
}

impl<F> Validator for Func<F>
where
    F: Fn(&AttrPath, &Value, &mut Diagnostics) + Send + Sync,
{
    fn description(&self) -> String {
        self.description.to_string()
    }
    fn validate(&self, path: &AttrPath, value: &Value, diags: &mut Diagnostics) {
        (self.f)(path, value, diags)
    }
}

/// The allowed value closest to `s` by edit distance, when it is close enough
/// to be a likely typo.
pub fn closest<'a>(s: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (strsim::levenshtein(&s.to_lowercase(), a), *a))
        .filter(|(d, a)| *d <= (a.len() / 3).max(2))
        .min()
        .map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_and_tag_limits_are_checked_with_paths() {
        let mut d = Diagnostics::new();
        let port = AttrPath::root("restricted_ports").index(0);
        whole_number_in(
            port.clone(),
            &Value::Number("22.5".parse().unwrap()),
            1..=65535,
            "Invalid port",
            &mut d,
        );
        whole_number_in(
            port.clone(),
            &Value::number(-3),
            1..=65535,
            "Invalid port",
            &mut d,
        );
        whole_number_in(
            port.clone(),
            &Value::number(443),
            1..=65535,
            "Invalid port",
            &mut d,
        );
        whole_number_in(
            port,
            &Value::Unknown(Default::default()),
            1..=65535,
            "Invalid port",
            &mut d,
        );
        assert_eq!(d.iter().count(), 2, "{d:?}");
        assert!(d
            .iter()
            .all(|x| x.path.as_ref().unwrap().to_string() == "restricted_ports[0]"));
        let mut d = Diagnostics::new();
        let tags = Value::string_map([
            ("k".repeat(129), "v".to_string()),
            ("ok".to_string(), "v".repeat(257)),
            ("fine".to_string(), "v".repeat(256)),
        ]);
        aws_tags(AttrPath::root("tags"), &tags, &mut d);
        let paths: Vec<String> = d
            .iter()
            .map(|x| x.path.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert!(paths.iter().any(|p| p.contains("ok")), "{paths:?}");
    }

    #[test]
    fn one_of_suggests_the_closest_value() {
        let v = one_of(
            "Invalid purpose",
            &["transaction", "archive", "audit", "logs"],
        );
        let mut d = Diagnostics::new();
        v.validate(&AttrPath::root("purpose"), &Value::string("archiv"), &mut d);
        let diag = d.iter().next().expect("an error");
        assert_eq!(diag.summary, "Invalid purpose");
        assert!(
            diag.detail.contains("Did you mean \"archive\""),
            "{}",
            diag.detail
        );
        let mut ok = Diagnostics::new();
        v.validate(&AttrPath::root("purpose"), &Value::string("logs"), &mut ok);
        assert!(ok.is_empty());
    }

    #[test]
    fn int_between_reports_the_number() {
        let v = int_between("Invalid object lock retention", 1, 36500);
        let mut d = Diagnostics::new();
        v.validate(&AttrPath::root("x"), &Value::number(0), &mut d);
        assert!(d.iter().next().unwrap().detail.contains("got 0"));
        let mut ok = Diagnostics::new();
        v.validate(&AttrPath::root("x"), &Value::number(36500), &mut ok);
        assert!(ok.is_empty());
    }
}
