//! `gatefed-controller`: will compose the reconcilers, webhook, dashboard, metrics and leader election.

fn main() {
    eprintln!("gatefed-controller: not built yet (see the open issues)");
    std::process::exit(2);
}
