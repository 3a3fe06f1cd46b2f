//! Reading a Gloo object's own status: `status.statuses.<ns>.{state,reason}` (Gloo 1.17), or the
//! older/rate-limit form `status.{state,reason|message}`.

use gatefed_model::placement_status::ChildGlooStatus;
use serde_json::Value;

/// The child's Gloo status, if it has one.
pub fn gloo_status(status: Option<&Value>) -> Option<ChildGlooStatus> {
    let status = status?;
    let entry = status
        .get("statuses")
        .and_then(Value::as_object)
        .and_then(|m| m.values().next())
        .unwrap_or(status);
    let state = normalize(entry.get("state")?)?;
    let reason = entry
        .get("reason")
        .or_else(|| entry.get("message"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    Some(ChildGlooStatus {
        state,
        reason: reason.map(str::to_owned),
        reported_by: entry.get("reportedBy").and_then(Value::as_str).map(str::to_owned),
    })
}

fn normalize(state: &Value) -> Option<String> {
    let s = match state {
        Value::Number(n) => match n.as_u64()? {
            0 => "Pending",
            1 => "Accepted",
            2 => "Rejected",
            3 => "Warning",
            _ => return None,
        },
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "pending" => "Pending",
            "accepted" => "Accepted",
            "rejected" => "Rejected",
            "warning" => "Warning",
            _ => return Some(s.clone()),
        },
        _ => return None,
    };
    Some(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_status_shape() {
        let s = gloo_status(Some(
            &json!({"statuses": {"gloo-system": {"state": "Rejected", "reason": "bad port", "reportedBy": "gloo"}}}),
        ))
        .unwrap();
        assert_eq!(
            (s.state.as_str(), s.reason.as_deref(), s.reported_by.as_deref()),
            ("Rejected", Some("bad port"), Some("gloo"))
        );
        assert_eq!(gloo_status(Some(&json!({"state": 1}))).unwrap().state, "Accepted");
        let rl = gloo_status(Some(&json!({"state": "REJECTED", "message": "no descriptors"}))).unwrap();
        assert_eq!(
            (rl.state.as_str(), rl.reason.as_deref()),
            ("Rejected", Some("no descriptors"))
        );
        assert_eq!(gloo_status(Some(&json!({"statuses": {}}))), None);
        assert_eq!(gloo_status(None), None);
    }
}
