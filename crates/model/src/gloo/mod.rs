//! Gloo's own resources on member clusters: the one table of their kinds ([`GlooKind`]) and the one
//! reader of their statuses ([`read_status`]). Federation, discovery, the CLI and the dashboard all go
//! through these, so they agree on names, plurals and what "Rejected" means.

mod kind;
mod status;

pub use kind::GlooKind;
pub use status::{GlooState, GlooStatus, MAX_REASON_CHARS, read_status, truncate_text};
