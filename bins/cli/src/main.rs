//! `gatefedctl`: will register clusters, check instances and show federated objects.

fn main() {
    eprintln!("gatefedctl: not built yet (see the open issues)");
    std::process::exit(2);
}
