//! IAM-style policy documents (bucket, key, topic and role policies): statements
//! a user adds (`policy_statements`), parsed and checked once; canonical JSON, so
//! that two equal policies print the same; and the judgements controls make over a
//! policy (a public principal without a condition).

use std::collections::BTreeMap;

/// Sorts object keys recursively, so that two equal policies print the same.
pub(crate) fn canonical_json(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let sorted: BTreeMap<&String, serde_json::Value> =
                m.iter().map(|(k, v)| (k, canonical_json(v))).collect();
            serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.iter().map(canonical_json).collect())
        }
        other => other.clone(),
    }
}

/// Parses `policy_statements`: a JSON array of statement objects.
pub(crate) fn parse_statements(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("it is not valid JSON ({e})"))?;
    let arr = match v {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(_) => vec![v],
        _ => {
            return Err(
                "it must be a JSON array of policy statements (use jsonencode([...]))".into(),
            )
        }
    };
    for (i, s) in arr.iter().enumerate() {
        let Some(obj) = s.as_object() else {
            return Err(format!("statement {i} is not a JSON object"));
        };
        match obj.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow") | Some("Deny") => {}
            _ => {
                return Err(format!(
                    "statement {i} needs \"Effect\": \"Allow\" or \"Deny\""
                ))
            }
        }
        if let Some(sid) = obj.get("Sid").and_then(|s| s.as_str()) {
            if sid.starts_with("Bankplatform") {
                return Err(format!(
                    "statement {i} uses the reserved Sid prefix \"Bankplatform\""
                ));
            }
        }
        let public = is_public(s);
        if obj.get("Effect").and_then(|e| e.as_str()) == Some("Allow")
            && public
            && obj.get("Condition").is_none()
        {
            return Err(format!(
                "statement {i} allows Principal \"*\" without a Condition, which makes the bucket public (Security Hub S3.6, CIS 2.21); restrict it with aws:PrincipalOrgID, aws:SourceVpce or aws:SourceArn"
            ));
        }
    }
    Ok(arr)
}

/// Whether an `Allow` statement names any principal (`"*"`, `{"AWS": "*"}`).
pub(crate) fn is_public(statement: &serde_json::Value) -> bool {
    statement.get("Principal").is_some_and(|p| {
        p == "*"
            || p.get("AWS").is_some_and(|a| {
                a == "*" || a.as_array().is_some_and(|l| l.iter().any(|x| x == "*"))
            })
    })
}

/// The statements of a policy document.
pub(crate) fn statements(policy: &serde_json::Value) -> Vec<&serde_json::Value> {
    match policy.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(s @ serde_json::Value::Object(_)) => vec![s],
        _ => vec![],
    }
}

/// A statement's `Action` (or `NotAction`) as a list of strings.
pub(crate) fn actions(statement: &serde_json::Value) -> Vec<&str> {
    match statement.get("Action") {
        Some(serde_json::Value::String(s)) => vec![s.as_str()],
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str()).collect(),
        _ => vec![],
    }
}
