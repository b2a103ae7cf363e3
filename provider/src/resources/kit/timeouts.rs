//! The `timeouts` block every composite has, as in the AWS provider: how long a
//! create, an update or a delete may take before the provider stops it.
//!
//! A create that runs out of time stops like one interrupted by Ctrl-C: what
//! exists is kept and recorded as tainted (the next apply replaces it, `terraform
//! destroy` removes it), never rolled back half-way and never lost. An update
//! keeps the prior values, refreshed; a delete leaves the resource in the state.

use std::time::Duration;

use crate::framework::schema::{Attribute, Block, NestedBlock};
use crate::framework::validators::Validator;
use crate::framework::Diagnostics;
use crate::value::{AttrPath, Value};

/// The operations a time limit applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    fn attribute(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// Every operation's limit unless the configuration says otherwise: longer than
/// any composite's slowest wait (NAT gateways, a Config recorder's first
/// delivery), short enough that a stuck apply ends within a working hour.
pub(crate) const DEFAULT_LIMIT: Duration = Duration::from_secs(60 * 60);

/// The block's name in every composite's schema.
pub(crate) const BLOCK: &str = "timeouts";

/// The `timeouts` block.
pub(crate) fn block() -> NestedBlock {
    let limit = |op: Operation, what: &'static str| {
        Attribute::string(op.attribute())
            .optional()
            .validate(GoDuration)
            .describe(what)
    };
    NestedBlock::single(
        BLOCK,
        Block {
            description: "How long each operation may take (a Go duration such as `30m` or `1h30m`; default `60m`). A create that runs out of time keeps what it built, recorded as tainted: the next apply replaces it and `terraform destroy` removes it.".into(),
            attributes: vec![
                limit(Operation::Create, "Time limit of a create (default `60m`)."),
                limit(Operation::Update, "Time limit of an update (default `60m`)."),
                limit(Operation::Delete, "Time limit of a delete (default `60m`)."),
            ],
            blocks: vec![],
        },
    )
}

/// The limit of `op` in a configuration, plan or state (the default when unset or
/// unreadable: validation has reported a bad value already).
pub(crate) fn limit(v: &Value, op: Operation) -> Duration {
    v.get(BLOCK)
        .get(op.attribute())
        .as_str()
        .and_then(|s| parse(s).ok())
        .unwrap_or(DEFAULT_LIMIT)
}

/// `d` as a person writes it: `1h30m`, `45s`.
pub(crate) fn display(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// Parses a Go duration (`300ms`, `90s`, `30m`, `1h30m`, `1.5h`): a sequence of
/// decimal numbers, each with a unit (`ms`, `s`, `m`, `h`). Negative and zero
/// durations are refused: a limit must leave time to do something.
pub(crate) fn parse(s: &str) -> Result<Duration, String> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err("is empty".into());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("\"{s}\" has a number without a unit (ms, s, m or h)"))?;
        if digits == 0 {
            return Err(format!("\"{s}\" is not a duration"));
        }
        let n: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("\"{s}\" has a malformed number"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            u => return Err(format!("\"{s}\" has the unit \"{u}\"; use ms, s, m or h")),
        };
        total += n * seconds;
        rest = &rest[unit_len..];
    }
    if total <= 0.0 {
        return Err(format!("\"{s}\" is no time at all"));
    }
    // A week bounds every sane apply, and keeps the sum far from overflow.
    if total > 7.0 * 24.0 * 3600.0 {
        return Err(format!("\"{s}\" is longer than a week"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// A Go duration string.
struct GoDuration;

impl Validator for GoDuration {
    fn description(&self) -> String {
        "must be a duration such as `30m` or `1h30m`".into()
    }
    fn validate(&self, path: &AttrPath, value: &Value, diags: &mut Diagnostics) {
        let Some(s) = value.as_str() else { return };
        if let Err(e) = parse(s) {
            diags.attr_error(
                path.clone(),
                "Invalid time limit",
                format!("{path}: {e}. Write a duration such as 30m, 90s or 1h30m."),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_and_the_rest_is_refused_with_a_reason() {
        for (s, secs) in [
            ("30m", 1800.0),
            ("1h30m", 5400.0),
            ("90s", 90.0),
            ("1.5h", 5400.0),
            ("2h45m10s", 9910.0),
            ("500ms", 0.5),
        ] {
            assert_eq!(parse(s).unwrap().as_secs_f64(), secs, "{s}");
        }
        for (s, why) in [
            ("", "empty"),
            ("30", "without a unit"),
            ("m", "not a duration"),
            ("10d", "unit \"d\""),
            ("-5m", "not a duration"),
            ("0s", "no time"),
            ("200h", "longer than a week"),
            ("1..5m", "malformed"),
        ] {
            let e = parse(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn a_limit_comes_from_the_block_or_is_the_default() {
        let v = Value::object([(
            BLOCK,
            Value::object([
                ("create", Value::string("10m")),
                ("update", Value::Null),
                ("delete", Value::string("oops")),
            ]),
        )]);
        assert_eq!(limit(&v, Operation::Create), Duration::from_secs(600));
        assert_eq!(limit(&v, Operation::Update), DEFAULT_LIMIT);
        assert_eq!(limit(&v, Operation::Delete), DEFAULT_LIMIT);
        assert_eq!(limit(&Value::Null, Operation::Create), DEFAULT_LIMIT);
        assert_eq!(display(Duration::from_secs(5400)), "1h30m");
        assert_eq!(display(Duration::from_secs(45)), "45s");
        assert_eq!(display(Duration::from_millis(300)), "0s");
    }

    #[test]
    fn a_bad_limit_names_its_path() {
        let mut d = Diagnostics::new();
        GoDuration.validate(
            &AttrPath::root(BLOCK).attr("create"),
            &Value::string("ten minutes"),
            &mut d,
        );
        let all: Vec<_> = d.iter().collect();
        assert_eq!(all.len(), 1);
        assert!(
            all[0].detail.contains("timeouts.create"),
            "{}",
            all[0].detail
        );
    }
}
