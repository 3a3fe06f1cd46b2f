//! The `gatefedctl` commands as a library: `main.rs` parses flags and calls them; tests call them too.

pub mod check;
pub mod cluster;
pub mod deploy;
pub mod duration;
pub mod get;
pub mod install;
pub mod lint;
pub mod manifests;
pub mod output;
pub mod rbac;
pub mod render;
pub mod schemes;
pub mod uninstall;

use std::path::PathBuf;

/// The admin cluster's connection flags.
pub struct AdminFlags {
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub context: Option<String>,
}
