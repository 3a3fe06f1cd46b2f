//! `gatefed-controller`: argument parsing and wiring; the work is in the `gatefed_controller` library.

use clap::Parser;
use gatefed_controller::{Args, logging, run};

#[tokio::main]
async fn main() {
    let args = Args::parse();
    logging::init(args.log_format);
    let grace = std::time::Duration::from_secs(args.shutdown_grace_seconds);
    let shutdown = gatefed_controller::shutdown_signal_with_deadline(grace);
    let config = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(config, shutdown).await {
        tracing::error!(error = %format!("{e:#}"), "gatefed-controller failed");
        std::process::exit(1);
    }
}
