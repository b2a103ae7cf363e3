//! A small YAML writer for the pipeline files: block mappings and sequences, strings
//! quoted as JSON (a JSON string is a YAML double-quoted scalar), multi-line strings as
//! literal blocks (`|`). Keys are written plain when they are simple words, else quoted.
//! Everything it writes reads back as the `serde_json::Value` it was given.

use serde_json::Value;

/// `value` (a mapping) as a YAML document.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_block(&mut out, value, 0);
    out
}

fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !k.starts_with(['-', '.'])
        && !matches!(
            k,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
        )
        && k.parse::<f64>().is_err();
    if plain {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

/// A scalar on one line, or `None` for a multi-line string or a collection.
fn inline(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.contains('\n') => Some(Value::String(s.clone()).to_string()),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(o) if o.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn literal(out: &mut String, s: &str, indent: usize) {
    // `|` keeps one final newline (`|-` none); lines are indented under the key.
    out.push_str(if s.ends_with('\n') { "|\n" } else { "|-\n" });
    for line in s.trim_end_matches('\n').split('\n') {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// What follows `key:` or `-`: a scalar on the same line, a literal block, or a
/// collection on the lines below (a mapping in a sequence starts on the dash's line).
fn write_after_marker(out: &mut String, v: &Value, indent: usize, in_sequence: bool) {
    match (inline(v), v) {
        (Some(s), _) => {
            out.push(' ');
            out.push_str(&s);
            out.push('\n');
        }
        (None, Value::String(s)) => {
            out.push(' ');
            literal(out, s, indent + 2);
        }
        (None, Value::Object(_)) if in_sequence => {
            let mut inner = String::new();
            write_block(&mut inner, v, indent + 2);
            out.push(' ');
            out.push_str(inner.trim_start());
        }
        (None, _) => {
            out.push('\n');
            write_block(out, v, indent + 2);
        }
    }
}

fn write_block(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.push_str(&pad);
                out.push_str(&key(k));
                out.push(':');
                write_after_marker(out, v, indent, false);
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                write_after_marker(out, item, indent, true);
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&inline(other).unwrap_or_default());
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_block_yaml() {
        let v = json!({
            "name": "x",
            "on": {"push": {"branches": ["main"]}},
            "jobs": {"a b": {"steps": [{"run": "echo 1\necho 2\n", "name": "two lines"}, {"uses": "x@v1"}], "needs": []}},
            "n": 3,
            "yes": true
        });
        let text = to_string(&v);
        assert_eq!(
            text,
            "name: \"x\"\n\"on\":\n  push:\n    branches:\n      - \"main\"\njobs:\n  \"a b\":\n    steps:\n      - run: |\n          echo 1\n          echo 2\n        name: \"two lines\"\n      - uses: \"x@v1\"\n    needs: []\n\"n\": 3\n\"yes\": true\n"
        );
    }
}
