//! `netdiag-bench`: the benchmarks of issue 6 (and issue 10's IPVS row, issue 14's B5), and the
//! table B1-B5 that `scripts/bench` prints.
//!
//! Each step writes its results as JSON into `--out`; `table` reads them back (with criterion's
//! estimates for B2), so steps can be re-run one at a time. Everything created outside the process
//! (namespaces `ndbench-<pid>-*`, a lab) is removed on exit, on error and on Ctrl-C.

mod b1;
mod b1_nft;
mod b3;
mod b4;
mod b5;
mod cleanup;
mod cmd;
mod error;
mod ipvs;
mod memory;
mod nft_batches;
mod probe;
mod stats;
mod table;
mod workload;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use netdiag_lab::spec::Cni;
use netdiag_model::{Endpoint, PlanTarget, Protocol};

use crate::b1::Backend;
use crate::error::BenchError;

#[derive(Parser, Debug)]
#[command(about = "netdiag benchmarks (issue 6); run them all with scripts/bench")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print the iptables-restore input (filter + nat) for N Services x M endpoints, e.g. to load
    /// into a lab node: `ip netns exec nd-netdiag-node-a iptables-restore < rules`; with --nft,
    /// the `nft -f` script of kube-proxy's nftables mode (`table ip kube-proxy`) instead.
    Gen {
        #[arg(long, default_value_t = 10_000)]
        services: usize,
        #[arg(long, default_value_t = 5)]
        endpoints: usize,
        #[arg(long)]
        nft: bool,
    },
    /// B1: ServiceRules lookup against `iptables-save -t nat`, nft and legacy backends.
    B1 {
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        sizes: Vec<usize>,
        #[arg(long, default_value_t = 5)]
        endpoints: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long, value_delimiter = ',', default_value = "nft,legacy")]
        backends: Vec<Backend>,
        /// Seconds of full dumps per row after which the dump is not repeated (at least one).
        #[arg(long, default_value_t = 20.0)]
        dump_budget: f64,
        #[arg(long)]
        out: PathBuf,
    },
    /// B1's nftables row: ServiceRules lookup against `nft list table ip kube-proxy`.
    Nftables {
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        sizes: Vec<usize>,
        #[arg(long, default_value_t = 5)]
        endpoints: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// `nft -f` transactions for the rules and elements, after one for the declarations.
        #[arg(long, default_value_t = 20)]
        batches: usize,
        /// Leave out `nft -j list table`.
        #[arg(long)]
        no_json: bool,
        /// Seconds per side (each listing, the lookup) after which it is not repeated (at least one).
        #[arg(long, default_value_t = 20.0)]
        dump_budget: f64,
        #[arg(long)]
        out: PathBuf,
    },
    /// B1's IPVS row: decode a constructed IPVS dump of N Services x M real servers.
    Ipvs {
        #[arg(long, default_value_t = 10_000)]
        services: usize,
        #[arg(long, default_value_t = 5)]
        endpoints: usize,
        #[arg(long, default_value_t = 15)]
        runs: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// B3: agent time of a healthy lab trace, in a lab of each CNI shape given; in the vxlan
    /// lab also without the path MTU probe, side by side.
    B3 {
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "bridge,vxlan"
        )]
        cni: Vec<Cni>,
        #[arg(long)]
        out: PathBuf,
    },
    /// B4: `kubectl-netdiag --help` start-up and binary sizes.
    B4 {
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// B5: inspect a node of N pod namespaces (built in throwaway namespaces), whole.
    Inspect {
        #[arg(long, default_value_t = 250)]
        pods: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the table from the results in --out and criterion's estimates.
    Table {
        #[arg(long)]
        out: PathBuf,
        /// CRITERION_HOME of the B2 run.
        #[arg(long)]
        criterion: PathBuf,
    },
    /// One measured step in a fresh process (used by b1).
    #[command(hide = true)]
    Probe {
        #[arg(long)]
        netns: PathBuf,
        #[command(subcommand)]
        step: Step,
    },
}

#[derive(Subcommand, Debug)]
enum Step {
    Lookup {
        #[arg(long)]
        ip: std::net::Ipv4Addr,
        #[arg(long)]
        port: u16,
        #[arg(long)]
        protocol: Protocol,
        /// ip:port,... the endpoints kube-proxy should have.
        #[arg(long, value_delimiter = ',')]
        expect: Vec<String>,
        /// Also sample the resident memory of the step and its children (slows it slightly).
        #[arg(long)]
        sample_memory: bool,
        /// The mode detection must find (e.g. nftables) for the answer to count as right.
        #[arg(long)]
        want_mode: Option<String>,
    },
    Dump {
        #[arg(long)]
        backend: Backend,
    },
    /// `nft [-j] list table ip kube-proxy`.
    NftList {
        #[arg(long)]
        json: bool,
    },
}

fn write_json<T: serde::Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), BenchError> {
    let path = dir.join(name);
    let text = serde_json::to_vec_pretty(value).map_err(|source| BenchError::Json {
        what: name.into(),
        source,
    })?;
    std::fs::write(&path, text).map_err(BenchError::io("write", &path))
}

fn endpoints(list: &[String]) -> Result<Vec<Endpoint>, BenchError> {
    list.iter()
        .map(|s| {
            netdiag_model::addr::parse_socket(s)
                .map(Endpoint::from)
                .map_err(|e| BenchError::Unexpected {
                    what: "--expect",
                    detail: format!("{s:?}: {e}"),
                })
        })
        .collect()
}

fn run(cli: Cli) -> Result<(), BenchError> {
    let mkdir = |d: &Path| std::fs::create_dir_all(d).map_err(BenchError::io("create", d));
    match cli.cmd {
        Cmd::Gen {
            services,
            endpoints,
            nft,
        } => {
            let w = workload::Workload {
                services,
                endpoints,
            };
            let s = w.services()?;
            let text = if nft {
                netdiag_lab::generate::render_nft(&s, &w.config(&s))
            } else {
                netdiag_lab::generate::render_restore(&s, &w.config(&s))
            };
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(BenchError::io("write", "stdout"))
        }
        Cmd::B1 {
            sizes,
            endpoints,
            runs,
            backends,
            dump_budget,
            out,
        } => {
            mkdir(&out)?;
            cleanup::reap_stale();
            let cfg = b1::B1Config {
                sizes,
                endpoints,
                runs,
                backends,
                dump_budget_ms: dump_budget * 1e3,
                out: out.clone(),
            };
            write_json(&out, "b1.json", &b1::run(&cfg)?)
        }
        Cmd::Nftables {
            sizes,
            endpoints,
            runs,
            batches,
            no_json,
            dump_budget,
            out,
        } => {
            mkdir(&out)?;
            cleanup::reap_stale();
            let cfg = b1_nft::NftConfig {
                sizes,
                endpoints,
                runs,
                batches,
                json: !no_json,
                dump_budget_ms: dump_budget * 1e3,
                out: out.clone(),
            };
            write_json(&out, "nftables.json", &b1_nft::run(&cfg)?)
        }
        Cmd::Ipvs {
            services,
            endpoints,
            runs,
            out,
        } => {
            mkdir(&out)?;
            write_json(&out, "ipvs.json", &ipvs::run(services, endpoints, runs)?)
        }
        Cmd::B3 { runs, cni, out } => {
            mkdir(&out)?;
            for cni in cni {
                write_json(&out, &b3::file_name(cni), &b3::run(runs, cni)?)?;
            }
            Ok(())
        }
        Cmd::B4 { runs, out } => {
            mkdir(&out)?;
            write_json(&out, "b4.json", &b4::run(runs)?)
        }
        Cmd::Inspect { pods, runs, out } => {
            mkdir(&out)?;
            cleanup::reap_stale();
            write_json(&out, "b5.json", &b5::run(pods, runs, &out)?)
        }
        Cmd::Table { out, criterion } => {
            let results = table::Results {
                b1: table::load(&out.join("b1.json"))?,
                ipvs: table::load(&out.join("ipvs.json"))?,
                nftables: table::load(&out.join("nftables.json"))?,
                b2: table::read_criterion(&criterion, "parse_walk"),
                b3: table::load(&out.join(b3::file_name(Cni::Bridge)))?,
                b3_vxlan: table::load(&out.join(b3::file_name(Cni::Vxlan)))?,
                b4: table::load(&out.join("b4.json"))?,
                b5: table::load(&out.join("b5.json"))?,
                b5_join_ns: table::criterion_median_ns(&criterion, "inspect", "join_250"),
            };
            print!("{}", table::render(&results));
            Ok(())
        }
        Cmd::Probe { netns, step } => {
            let sample = match step {
                Step::Lookup {
                    ip,
                    port,
                    protocol,
                    expect,
                    sample_memory,
                    want_mode,
                } => probe::lookup(
                    &netns,
                    PlanTarget { ip, port, protocol },
                    endpoints(&expect)?,
                    sample_memory,
                    want_mode.as_deref(),
                )?,
                Step::Dump { backend } => probe::dump(&netns, backend.save())?,
                Step::NftList { json } => probe::nft_list(&netns, json)?,
            };
            let line = serde_json::to_string(&sample).map_err(|source| BenchError::Json {
                what: "sample".into(),
                source,
            })?;
            println!("{line}");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Only the parent creates things to clean up; a probe child is stopped with its parent.
    if !matches!(cli.cmd, Cmd::Probe { .. })
        && let Err(e) = cleanup::install_signal_handler()
    {
        eprintln!("netdiag-bench: {e}");
        return ExitCode::from(2);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netdiag-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
