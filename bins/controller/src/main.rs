//! `gatefed-controller`: argument parsing and wiring; the work is in the `gatefed_controller` library.

use clap::Parser;
use gatefed_controller::{Args, logging, run};

#[tokio::main]
async fn main() {
    let args = Args::parse();
    logging::init(args.log_format);
    if let Err(e) = run(args.into_config(), gatefed_controller::shutdown_signal()).await {
        tracing::error!(error = %format!("{e:#}"), "gatefed-controller failed");
        std::process::exit(1);
    }
}
