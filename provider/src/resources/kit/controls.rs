//! The control table: each compliance control a composite promises, written once,
//! from which the `compliance` map, the reference page's "Controls" table and the
//! evidence later reports need all come.

use std::collections::BTreeMap;
use std::fmt::Write;

/// One control, judged over a composite's observed model.
pub(crate) struct Control<O> {
    /// The control's id as auditors know it (`S3.5`, `CIS 3.1.1`, `EC2.21`).
    pub(crate) id: &'static str,
    /// What holds when the control passes, in one line.
    pub(crate) title: &'static str,
    /// What it is judged from: the AWS reads behind the observed model.
    pub(crate) evidence: &'static str,
    /// Whether it holds; `None` when it does not apply to this configuration
    /// (e.g. key rotation for a bucket encrypted with S3-managed keys).
    pub(crate) judge: fn(&O) -> Option<bool>,
}

/// The `compliance` map: control id → whether it holds, for every control that applies.
pub(crate) fn evaluate<O>(table: &[Control<O>], o: &O) -> BTreeMap<String, bool> {
    table
        .iter()
        .filter_map(|c| (c.judge)(o).map(|ok| (c.id.to_string(), ok)))
        .collect()
}

/// The `compliance` attribute: [`evaluate`] as a map value.
pub(crate) fn value<O>(table: &[Control<O>], o: &O) -> crate::value::Value {
    crate::value::Value::Map(
        evaluate(table, o)
            .into_iter()
            .map(|(k, v)| (k, crate::value::Value::Bool(v)))
            .collect(),
    )
}

/// The table as Markdown, for the resource's reference page.
pub(crate) fn markdown<O>(table: &[Control<O>]) -> String {
    let mut out = String::from("| Control | Holds when | Read back from |\n|---|---|---|\n");
    for c in table {
        let _ = writeln!(out, "| `{}` | {} | {} |", c.id, c.title, c.evidence);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Control<(bool, Option<bool>)>] = &[
        Control {
            id: "A.1",
            title: "a holds",
            evidence: "GetA",
            judge: |o| Some(o.0),
        },
        Control {
            id: "B.1",
            title: "b holds when it applies",
            evidence: "GetB",
            judge: |o| o.1,
        },
    ];

    #[test]
    fn controls_that_do_not_apply_are_left_out() {
        assert_eq!(
            evaluate(TABLE, &(true, None)),
            [("A.1".to_string(), true)].into()
        );
        assert_eq!(evaluate(TABLE, &(false, Some(true))).len(), 2);
        assert!(markdown(TABLE).contains("| `B.1` | b holds when it applies | GetB |"));
    }
}
