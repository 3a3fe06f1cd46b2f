//! Reading the status Gloo writes on its own resources.
//!
//! Gloo 1.17 writes `status.statuses.<namespace>.{state, reason, reportedBy}`, one entry per Gloo
//! installation (keyed by its namespace) that processed the resource; older Gloo and the rate-limit
//! server write a flat `status.{state, reason | message}`. States are strings (`Accepted`, any case) or
//! the proto numbers (0 Pending, 1 Accepted, 2 Rejected, 3 Warning).
//!
//! **The rule for several entries**: the entry of the `prefer`red namespace when there is one (the
//! installation asking about its own resources); otherwise the most severe entry — Rejected, then
//! Warning, then Pending, then Accepted, then unrecognised states — ties going to the first namespace in
//! alphabetical order. A rejection by one installation is never hidden behind another's acceptance.

use serde_json::Value;

use crate::placement_status::ChildGlooStatus;

/// Longest reason kept from a member: a status is copied into parents and printed, so a member
/// cannot make them grow without bound.
pub const MAX_REASON_CHARS: usize = 1024;

/// A Gloo resource's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlooState {
    /// Not processed yet.
    Pending,
    /// Accepted.
    Accepted,
    /// Rejected, with a reason.
    Rejected,
    /// Accepted with a warning.
    Warning,
    /// A state this version does not know, as written.
    Other(String),
}

impl GlooState {
    /// How bad the state is (higher is worse), for picking among several reports.
    fn severity(&self) -> u8 {
        match self {
            GlooState::Rejected => 4,
            GlooState::Warning => 3,
            GlooState::Pending => 2,
            GlooState::Accepted => 1,
            GlooState::Other(_) => 0,
        }
    }

    /// The state as Gloo spells it (`Accepted`).
    pub fn as_str(&self) -> &str {
        match self {
            GlooState::Pending => "Pending",
            GlooState::Accepted => "Accepted",
            GlooState::Rejected => "Rejected",
            GlooState::Warning => "Warning",
            GlooState::Other(s) => s,
        }
    }

    fn parse(value: &Value) -> Option<GlooState> {
        Some(match value {
            Value::Number(n) => match n.as_u64()? {
                0 => GlooState::Pending,
                1 => GlooState::Accepted,
                2 => GlooState::Rejected,
                3 => GlooState::Warning,
                _ => return None,
            },
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "pending" => GlooState::Pending,
                "accepted" => GlooState::Accepted,
                "rejected" => GlooState::Rejected,
                "warning" => GlooState::Warning,
                _ => GlooState::Other(truncate_text(s, 64)),
            },
            _ => return None,
        })
    }
}

/// A Gloo resource's status, read with the rule of this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlooStatus {
    /// The state.
    pub state: GlooState,
    /// Why, when Gloo said (at most [`MAX_REASON_CHARS`]).
    pub reason: Option<String>,
    /// The Gloo component that reported it.
    pub reported_by: Option<String>,
}

impl GlooStatus {
    /// The form a federated object's destination status carries.
    pub fn to_child_status(&self) -> ChildGlooStatus {
        ChildGlooStatus {
            state: self.state.as_str().to_owned(),
            reason: self.reason.clone(),
            reported_by: self.reported_by.clone(),
        }
    }
}

/// The status of a Gloo resource from its `status` field, if it has one.
pub fn read_status(status: Option<&Value>, prefer: Option<&str>) -> Option<GlooStatus> {
    let status = status?;
    match status.get("statuses").and_then(Value::as_object) {
        Some(entries) => match prefer.and_then(|ns| entries.get(ns)) {
            Some(e) => read_entry(e),
            None => entries
                .values()
                .filter_map(read_entry)
                // max_by_key keeps the last of equals; reverse so the first namespace wins ties.
                .rev()
                .max_by_key(|s| s.state.severity()),
        },
        None => read_entry(status),
    }
}

fn read_entry(entry: &Value) -> Option<GlooStatus> {
    let state = GlooState::parse(entry.get("state")?)?;
    let text = |key: &str, max: usize| {
        entry
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| truncate_text(s, max))
    };
    Some(GlooStatus {
        state,
        reason: text("reason", MAX_REASON_CHARS).or_else(|| text("message", MAX_REASON_CHARS)),
        reported_by: text("reportedBy", 128),
    })
}

/// `s` cut to `max` characters, marked when cut.
pub fn truncate_text(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push_str("… (truncated)");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_shape() {
        let s = read_status(
            Some(&json!({"statuses": {"gloo-system": {"state": "Rejected", "reason": "bad port", "reportedBy": "gloo"}}})),
            None,
        )
        .unwrap();
        assert_eq!(s.state, GlooState::Rejected);
        assert_eq!(
            (s.reason.as_deref(), s.reported_by.as_deref()),
            (Some("bad port"), Some("gloo"))
        );
        assert_eq!(
            read_status(Some(&json!({"state": 1})), None).unwrap().state,
            GlooState::Accepted
        );
        let rl = read_status(Some(&json!({"state": "REJECTED", "message": "no descriptors"})), None).unwrap();
        assert_eq!(
            (rl.state, rl.reason.as_deref()),
            (GlooState::Rejected, Some("no descriptors"))
        );
        assert_eq!(read_status(Some(&json!({"statuses": {}})), None), None);
        assert_eq!(read_status(None, None), None);
        assert_eq!(read_status(Some(&json!({"state": {}})), None), None);
    }

    #[test]
    fn several_entries_follow_the_rule() {
        let status = json!({"statuses": {
            "a": {"state": "Accepted"},
            "b": {"state": "Warning", "reason": "w"},
            "c": {"state": "Rejected", "reason": "r1"},
            "d": {"state": "Rejected", "reason": "r2"},
        }});
        assert_eq!(
            read_status(Some(&status), None).unwrap().reason.as_deref(),
            Some("r1"),
            "the worst, first namespace on ties"
        );
        assert_eq!(
            read_status(Some(&status), Some("a")).unwrap().state,
            GlooState::Accepted
        );
        assert_eq!(
            read_status(Some(&status), Some("missing")).unwrap().reason.as_deref(),
            Some("r1")
        );
    }

    #[test]
    fn long_reasons_are_cut() {
        let long = "x".repeat(10 * MAX_REASON_CHARS);
        let s = read_status(Some(&json!({"state": "Rejected", "reason": long})), None).unwrap();
        let reason = s.reason.unwrap();
        assert!(reason.chars().count() < MAX_REASON_CHARS + 20);
        assert!(reason.ends_with("(truncated)"));
    }
}
