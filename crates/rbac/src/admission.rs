//! AdmissionReview v1 glue: the request in, the response out (plain JSON, no Kubernetes client).

use serde_json::{Value, json};

use crate::decide::Decision;
use crate::messages::MAX_EXPLANATION;
use crate::request::{Operation, Request, User};

/// The parts of an AdmissionReview request that a decision needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    /// `request.uid`, echoed in the response.
    pub uid: String,
    /// `request.kind.group`.
    pub group: String,
    /// `request.kind.kind`.
    pub kind: String,
    /// `request.operation`.
    pub operation: Operation,
    /// `request.userInfo.username`.
    pub username: String,
    /// `request.userInfo.groups`.
    pub groups: Vec<String>,
    /// `request.object`.
    pub object: Option<Value>,
    /// `request.oldObject`.
    pub old_object: Option<Value>,
}

impl Review {
    /// Reads an AdmissionReview (v1); the error says which field is missing or wrong.
    pub fn parse(review: &Value) -> Result<Self, String> {
        let request = review.get("request").ok_or("AdmissionReview has no request")?;
        let text = |p: &str| -> Result<String, String> {
            request
                .pointer(p)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("AdmissionReview request{} is missing", p.replace('/', ".")))
        };
        let operation = match text("/operation")?.as_str() {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            "CONNECT" => Operation::Connect,
            other => return Err(format!("unknown operation {other:?}")),
        };
        let groups = request
            .pointer("/userInfo/groups")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let object = |k: &str| request.get(k).filter(|v| !v.is_null()).cloned();
        Ok(Self {
            uid: text("/uid")?,
            group: request
                .pointer("/kind/group")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            kind: text("/kind/kind")?,
            operation,
            username: text("/userInfo/username")?,
            groups,
            object: object("object"),
            old_object: object("oldObject"),
        })
    }

    /// The request to decide.
    pub fn request(&self) -> Request<'_> {
        Request {
            group: &self.group,
            kind: &self.kind,
            operation: self.operation,
            user: User {
                name: &self.username,
                groups: &self.groups,
            },
            object: self.object.as_ref(),
            old_object: self.old_object.as_ref(),
        }
    }
}

fn bounded(mut s: String) -> String {
    if s.len() > MAX_EXPLANATION {
        let mut cut = MAX_EXPLANATION;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let more = s.len() - cut;
        s.truncate(cut);
        s.push_str(&format!("... ({more} more bytes)"));
    }
    s
}

/// The AdmissionReview response for a decision: denied with Gloo Fed's message and the explanation.
pub fn respond(uid: &str, decision: &Decision) -> Value {
    let response = if decision.allowed {
        json!({"uid": uid, "allowed": true})
    } else {
        let message = bounded(format!("{} {}", decision.message, decision.explanation()));
        json!({"uid": uid, "allowed": false, "status": {"code": 403, "reason": "Forbidden", "message": message}})
    };
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
}

/// A denial for a review that could not be read.
pub fn reject(uid: &str, why: &str) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": uid, "allowed": false, "status": {"code": 400, "reason": "BadRequest", "message": bounded(why.to_owned())}}})
}
