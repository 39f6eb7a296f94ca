//! `kubectl-netdiag`: see the library's `app` module.

fn main() -> std::process::ExitCode {
    kubectl_netdiag::app::main()
}
