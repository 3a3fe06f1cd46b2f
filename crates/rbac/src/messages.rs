//! The words of decisions: Gloo Fed's deny message, and gatefed's explanations.

/// Gloo Fed's message when nothing allows a write.
pub fn denied(user: &str) -> String {
    format!("User {user} does not have the permissions necessary to perform this action.")
}

/// Gloo Fed's message when a role cannot be read.
pub const ERROR_COMPUTING: &str = "Error computing cluster permissions";

/// Longest explanation put into an admission response (the rest is counted, not shown).
pub const MAX_EXPLANATION: usize = 2048;
