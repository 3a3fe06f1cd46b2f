//! The multi-cluster RBAC evaluator (pure).
//!
//! It will decide, from `MultiClusterRole`s, `MultiClusterRoleBinding`s, the requesting user and an
//! admission request on a federated object or `FailoverScheme`, whether the write is allowed, following
//! Gloo Fed's algorithm (every placement covered by one rule of one bound role), plus the glue that turns
//! an AdmissionReview into that request and the decision back into a response.
