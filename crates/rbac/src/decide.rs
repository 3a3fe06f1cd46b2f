//! The decision: Gloo Fed's algorithm over the scopes of a request, with its explanation.

use gatefed_model::common::Placement;
use gatefed_model::rbac::{MultiClusterRoleSpec, MultiClusterRule, RuleAction};
use gatefed_model::{MultiClusterRole, MultiClusterRoleBinding};
use serde::Serialize;

use crate::messages::denied;
use crate::request::{Operation, Request, Scope, scopes};

/// What allowed a write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The binding (`namespace/name`).
    pub binding: String,
    /// Its role (`namespace/name`).
    pub role: String,
    /// Index of the rule in the role.
    pub rule: usize,
}

/// A binding naming the user whose role did not allow the write, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Candidate {
    /// The binding (`namespace/name`).
    pub binding: String,
    /// Its role (`namespace/name`).
    pub role: String,
    /// Why not, rule by rule.
    pub why: String,
}

/// Allowed or denied, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Decision {
    /// The write may proceed.
    pub allowed: bool,
    /// Gloo Fed's message when denied; empty when allowed.
    pub message: String,
    /// The binding and rule that allowed.
    pub allowed_by: Option<Grant>,
    /// Every binding naming the user that did not allow, with why.
    pub candidates: Vec<Candidate>,
    /// Where the write reaches, as checked.
    pub scopes: Vec<Scope>,
    /// Why the request could not be evaluated at all, when it could not.
    pub error: Option<String>,
}

impl Decision {
    /// The explanation in one paragraph: what allowed, or why each candidate did not.
    pub fn explanation(&self) -> String {
        if let Some(g) = &self.allowed_by {
            return format!(
                "allowed by rule {} of MultiClusterRole {} (binding {})",
                g.rule, g.role, g.binding
            );
        }
        if self.allowed {
            return "allowed: the spec is unchanged, so nothing is written to any member".into();
        }
        if let Some(e) = &self.error {
            return e.clone();
        }
        if self.candidates.is_empty() {
            return "no MultiClusterRoleBinding names this user or any of their groups".into();
        }
        self.candidates
            .iter()
            .map(|c| format!("binding {} (role {}): {}", c.binding, c.role, c.why))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The role named `namespace/name` among `roles`: the lookup [`decide`] takes, for a plain list.
pub fn find_role<'a>(roles: &'a [MultiClusterRole], namespace: &str, name: &str) -> Option<&'a MultiClusterRole> {
    roles
        .iter()
        .find(|r| r.metadata.namespace.as_deref() == Some(namespace) && r.metadata.name.as_deref() == Some(name))
}

fn id(namespace: Option<&str>, name: Option<&str>) -> String {
    format!("{}/{}", namespace.unwrap_or_default(), name.unwrap_or_default())
}

fn names_user(binding: &MultiClusterRoleBinding, req: &Request) -> bool {
    binding.spec.subjects.iter().any(|s| match s.kind.as_deref() {
        Some("User") => s.name == req.user.name,
        Some("Group") => req.user.groups.contains(&s.name),
        _ => false,
    })
}

/// Decides `req`. `role` finds a MultiClusterRole by namespace and name; `bindings` are every
/// MultiClusterRoleBinding of every namespace.
pub fn decide<'b, R: std::ops::Deref<Target = MultiClusterRole>>(
    req: &Request,
    role: impl Fn(&str, &str) -> Option<R>,
    bindings: impl IntoIterator<Item = &'b MultiClusterRoleBinding>,
) -> Decision {
    let mut decision = Decision {
        allowed: false,
        message: denied(req.user.name),
        allowed_by: None,
        candidates: Vec::new(),
        scopes: Vec::new(),
        error: None,
    };
    // An update that leaves the spec as it was (finalizers, labels, status) writes to no member:
    // nothing to authorize. The controller's own finalizer updates pass this way.
    if req.operation == Operation::Update
        && let (Some(new), Some(old)) = (req.object, req.old_object)
        && new.get("spec") == old.get("spec")
    {
        decision.allowed = true;
        decision.message.clear();
        return decision;
    }
    match scopes(req) {
        Ok(s) => decision.scopes = s,
        Err(e) => {
            decision.error = Some(e.to_string());
            return decision;
        }
    }
    for binding in bindings.into_iter().filter(|b| names_user(b, req)) {
        let binding_id = id(binding.metadata.namespace.as_deref(), binding.metadata.name.as_deref());
        let Some(role_ref) = &binding.spec.role_ref else {
            decision.candidates.push(Candidate {
                binding: binding_id,
                role: String::new(),
                why: "it has no roleRef".into(),
            });
            continue;
        };
        // A roleRef without a namespace means the binding's own.
        let role_ns = if role_ref.namespace.is_empty() {
            binding.metadata.namespace.clone().unwrap_or_default()
        } else {
            role_ref.namespace.clone()
        };
        let role_id = format!("{role_ns}/{}", role_ref.name);
        let Some(found) = role(&role_ns, &role_ref.name) else {
            // Gloo Fed denied the whole request here; skipping is as safe and lets another binding allow.
            decision.candidates.push(Candidate {
                binding: binding_id,
                role: role_id,
                why: format!("{} (the role does not exist)", crate::messages::ERROR_COMPUTING),
            });
            continue;
        };
        match allowing_rule(&found.spec, req, &decision.scopes) {
            Ok(rule) => {
                decision.allowed = true;
                decision.message.clear();
                decision.allowed_by = Some(Grant {
                    binding: binding_id,
                    role: role_id,
                    rule,
                });
                return decision;
            }
            Err(why) => decision.candidates.push(Candidate {
                binding: binding_id,
                role: role_id,
                why,
            }),
        }
    }
    decision
}

fn action_matches(action: Option<RuleAction>, op: Operation) -> bool {
    match action.unwrap_or_default() {
        RuleAction::Any => true,
        RuleAction::Create => op == Operation::Create,
        RuleAction::Update => op == Operation::Update,
        RuleAction::Delete => op == Operation::Delete,
    }
}

/// The first rule of `role` that applies and covers every scope, or why none does.
fn allowing_rule(role: &MultiClusterRoleSpec, req: &Request, scopes: &[Scope]) -> Result<usize, String> {
    let mut why = Vec::new();
    for (i, rule) in role.rules.iter().enumerate() {
        match rule_covers(rule, req, scopes) {
            Ok(()) => return Ok(i),
            Err(w) => why.push(format!("rule {i} {w}")),
        }
    }
    if why.is_empty() {
        why.push("the role has no rules".into());
    }
    Err(why.join(", "))
}

fn rule_covers(rule: &MultiClusterRule, req: &Request, scopes: &[Scope]) -> Result<(), String> {
    if rule.api_group != req.group {
        return Err(format!("is for apiGroup {:?}", rule.api_group));
    }
    if let Some(kind) = rule.kind.as_deref().filter(|k| *k != req.kind) {
        return Err(format!("is for kind {kind}"));
    }
    if !action_matches(rule.action, req.operation) {
        let only = match rule.action.unwrap_or_default() {
            RuleAction::Create => "CREATE",
            RuleAction::Update => "UPDATE",
            RuleAction::Delete => "DELETE",
            RuleAction::Any => "ANY",
        };
        return Err(format!("is for {only} only"));
    }
    // One rule must cover every scope (Gloo Fed: permissions never combine across rules).
    for scope in scopes {
        if !rule.placements.iter().any(|p| covers(p, scope)) {
            let clusters = if scope.any_cluster {
                "every cluster (* or clusterSelector), which needs a rule with clusters [*]".to_owned()
            } else {
                format!("clusters {:?}", scope.clusters)
            };
            return Err(format!(
                "does not cover {} ({clusters}, namespaces {:?})",
                scope.origin, scope.namespaces
            ));
        }
    }
    Ok(())
}

/// Gloo Fed's cover test, with `*` and selectors reaching clusters a rule must allow with `*`.
fn covers(rule: &Placement, scope: &Scope) -> bool {
    if rule.clusters.is_empty() || rule.namespaces.is_empty() {
        return false;
    }
    let star = |v: &[String]| v.iter().any(|x| x == "*");
    let clusters =
        star(&rule.clusters) || (!scope.any_cluster && scope.clusters.iter().all(|c| rule.clusters.contains(c)));
    let namespaces = star(&rule.namespaces)
        || (!star(&scope.namespaces) && scope.namespaces.iter().all(|n| rule.namespaces.contains(n)));
    clusters && namespaces
}
