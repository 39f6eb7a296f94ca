//! Running external commands (ip, iptables, the project's binaries) with errors that name them.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::error::BenchError;

/// `cmd` as a human would type it, for error messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Run to completion and insist on exit status 0; returns the output.
pub fn run(cmd: &mut Command) -> Result<Output, BenchError> {
    let text = describe(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| BenchError::Spawn {
            cmd: text.clone(),
            source,
        })?;
    check(text, out)
}

/// Turn a non-zero exit into an error that carries the command's stderr.
pub fn check(cmd: String, out: Output) -> Result<Output, BenchError> {
    if out.status.success() {
        return Ok(out);
    }
    Err(BenchError::Command {
        cmd,
        status: out.status,
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// `iptables-restore` (of `backend`) with `file` as input, inside the namespace at `netns`.
pub fn restore_in(netns: &Path, restore: &'static str, file: &Path) -> Result<(), BenchError> {
    let input = std::fs::File::open(file).map_err(BenchError::io("open", file))?;
    let text = format!("{restore} < {}", file.display());
    let out = netdiag_agent::kernel::netns::run_in(netns, move || {
        Command::new(restore)
            .stdin(input)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
    })?
    .map_err(|source| BenchError::Spawn {
        cmd: text.clone(),
        source,
    })?;
    check(text, out).map(|_| ())
}

/// `nft -f FILE` inside the namespace at `netns`: loads a generated `table ip kube-proxy`.
pub fn nft_load_in(netns: &Path, file: &Path) -> Result<(), BenchError> {
    let text = format!("nft -f {}", file.display());
    let path = file.to_path_buf();
    let out = netdiag_agent::kernel::netns::run_in(netns, move || {
        Command::new("nft")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
    })?
    .map_err(|source| BenchError::Spawn {
        cmd: text.clone(),
        source,
    })?;
    check(text, out).map(|_| ())
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::cleanup::Netns;
    use crate::workload::Workload;

    /// Root and nft, or a skip; under CI (env `CI`) a missing one fails.
    fn root_and_nft(test: &str) -> bool {
        let ok = netdiag_lab::exec::is_root() && netdiag_lab::exec::find_tool("nft").is_some();
        assert!(
            ok || std::env::var_os("CI").is_none(),
            "{test} needs root and nft (apt-get install nftables) and CI is set"
        );
        if !ok {
            eprintln!("skipping {test}: needs root and nft");
        }
        ok
    }

    /// Render `services` x 5 endpoints, load them with `nft -f` into a throwaway namespace,
    /// and find the lookup target's VIP in `service-ips`; returns the load time in seconds.
    fn load(test: &str, services: usize) -> Option<f64> {
        let w = Workload {
            services,
            endpoints: 5,
        };
        let script = w.nft_script().expect("the workload fits");
        let all = w.services().expect("the workload fits");
        let (target, _) = Workload::target(&all).expect("a lookup target");
        let key = format!("{} . tcp . {} : goto service-", target.ip, target.port);
        assert!(script.contains(&key), "no {key:?} in the script");
        if !root_and_nft(test) {
            return None;
        }
        let dir =
            std::env::temp_dir().join(format!("ndbench-nft-{}-{services}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("kube-proxy.nft");
        std::fs::write(&file, &script).expect("write the script");
        let ns = Netns::create("nft").expect("netns");
        let started = Instant::now();
        let loaded = nft_load_in(&ns.path(), &file);
        let seconds = started.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&dir);
        loaded.expect("nft -f the generated table");
        eprintln!(
            "{test}: loaded {} lines ({} bytes) in {seconds:.1} s",
            script.lines().count(),
            script.len()
        );
        let out = netdiag_agent::kernel::netns::run_in(&ns.path(), || {
            Command::new("nft")
                .args(["list", "map", "ip", "kube-proxy", "service-ips"])
                .output()
        })
        .expect("enter the netns")
        .expect("run nft list map");
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(listing.contains(&key), "{key:?} not in service-ips");
        // every Service's ClusterIP is dispatched (some have a second port, some no endpoint
        // chain of their own: internalTrafficPolicy=Local without local endpoints)
        let dispatched = listing.matches(" : goto service-").count();
        assert!(
            dispatched >= services * 9 / 10,
            "{dispatched} of {services}"
        );
        Some(seconds)
    }

    #[test]
    fn a_thousand_services_by_five_endpoints_load_into_table_ip_kube_proxy() {
        load(
            "a_thousand_services_by_five_endpoints_load_into_table_ip_kube_proxy",
            1_000,
        );
    }

    /// The size of B1's nftables row. Measured here (kernel 6.18, nft 1.0.6): about 250 s,
    /// nearly all kernel time naming the 10,000 anonymous `numgen ... vmap` sets (each new one
    /// scans the table's sets), so it is not part of the default run.
    #[test]
    #[ignore = "about 4 minutes of kernel time; run with --ignored"]
    fn ten_thousand_services_by_five_endpoints_load_into_table_ip_kube_proxy() {
        load(
            "ten_thousand_services_by_five_endpoints_load_into_table_ip_kube_proxy",
            10_000,
        );
    }
}
