//! The plugin's entry: parse arguments first, and build the async runtime and API client only
//! for commands that talk to a cluster, so `--help` starts instantly.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};
use kube::api::{Api, ListParams};
use netdiag_crds::NetProbe;

use crate::cli::{self, Cli, Command, ListOutput};
use crate::client::Ctx;
use crate::error::{self, Error};
use crate::{complete_api, inspect, install, list, output, progress, trace, version, wait};

/// Run the plugin with the process's arguments.
pub fn main() -> ExitCode {
    // `--version` anywhere prints what `version` prints (clap's own would print only the plugin).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        return print_version(&args);
    }
    let cli = Cli::parse();
    if cli.global.all_namespaces && !matches!(cli.command, Command::Get(_)) {
        // kubectl refuses flags a command does not take; accepting and ignoring -A would let
        // `trace -A` look like it searched every namespace.
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "-A/--all-namespaces applies only to `get`; use -n NAMESPACE to choose a namespace",
            )
            .exit();
    }
    match cli.command {
        Command::Version => print_version(&std::env::args().skip(1).collect::<Vec<_>>()),
        Command::Completion { shell } => {
            if shell == clap_complete::Shell::Bash {
                let _ = print(complete_api::BASH_SCRIPT);
            } else {
                let mut cmd = Cli::command();
                clap_complete::generate(shell, &mut cmd, "kubectl-netdiag", &mut std::io::stdout());
            }
            ExitCode::SUCCESS
        }
        Command::Complete { ref words } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let answer = match rt {
                Ok(rt) => rt.block_on(complete_api::answer(&Cli::command(), words)),
                Err(_) => crate::complete::complete(&Cli::command(), words).render(&[]),
            };
            let _ = print(&answer);
            ExitCode::SUCCESS
        }
        #[cfg(target_os = "linux")]
        Command::Lab(cmd) => crate::agent::run_lab(cmd),
        #[cfg(target_os = "linux")]
        Command::Agent(cmd) => crate::agent::run(cmd),
        Command::Install(ref a) if a.output.is_some() => finish(print_manifests(&cli)),
        _ => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(Error::Runtime);
            match rt {
                Ok(rt) => finish(rt.block_on(run(cli))),
                Err(e) => finish(Err(e)),
            }
        }
    }
}

/// The plugin's version, then the cluster's when it answers; never fails for an absent cluster.
fn print_version(args: &[String]) -> ExitCode {
    let global = crate::complete::global_flags(args);
    let installed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
        .map(|rt| {
            rt.block_on(async {
                match Ctx::from_args(&global).await {
                    Ok(ctx) => version::installed(&ctx).await,
                    Err(e) => version::Installed {
                        unreachable: Some(e.to_string()),
                        ..Default::default()
                    },
                }
            })
        })
        .unwrap_or_default();
    let (out, warnings) = version::report(version::PLUGIN, &installed);
    let _ = print(&out);
    for w in warnings {
        eprintln!("warning: {w}");
    }
    ExitCode::SUCCESS
}

/// Print the result of a command; errors go to stderr.
fn finish(r: Result<u8, Error>) -> ExitCode {
    match r {
        Ok(code) => ExitCode::from(code),
        // The user stopped it: say what was cleaned up, not that something went wrong.
        Err(e @ Error::Interrupted(_)) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code())
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn print(text: &str) -> Result<u8, Error> {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(0)
}

/// `install -o yaml|json` (with or without --dry-run): print, touch no cluster.
fn print_manifests(cli: &Cli) -> Result<u8, Error> {
    let Command::Install(a) = &cli.command else {
        return Ok(0);
    };
    let objects = install::objects(a.image.as_deref())?;
    match a.output {
        Some(cli::ManifestOutput::Json) => print(&output::json(&serde_json::json!({
            "apiVersion": "v1", "kind": "List", "items": objects
        }))?),
        _ => print(&install::to_yaml(&objects)?),
    }
}

async fn run(cli: Cli) -> Result<u8, Error> {
    let ctx = Ctx::from_args(&cli.global).await?;
    let server = ctx.server.clone();
    dispatch(cli, ctx).await.map_err(|e| e.with_server(&server))
}

async fn dispatch(cli: Cli, ctx: Ctx) -> Result<u8, Error> {
    match cli.command {
        Command::Trace(args) => {
            output::pcap_refused(args.output, std::io::stdout().is_terminal())?;
            let mut progress: Box<dyn progress::Progress> = if std::io::stderr().is_terminal() {
                Box::new(progress::Terminal::default())
            } else {
                Box::new(progress::Quiet)
            };
            let cfg = wait::WaitConfig::for_timeout(args.timeout);
            let run = trace::run(&ctx, &args, cfg, progress.as_mut()).await?;
            output::write_stdout(&output::trace_output(
                &run.probe,
                args.output,
                output::stdout_color(),
                output::stdout_width(),
            )?)?;
            let stdout_is_terminal = std::io::stdout().is_terminal();
            if let Some(note) =
                output::probe_failed_note(&run.outcome, args.output, stdout_is_terminal)
            {
                eprintln!("error: {note}");
            }
            Ok(run.outcome.exit_code())
        }
        Command::Inspect(args) => {
            let poll = std::time::Duration::from_secs(1);
            let i = inspect::run(&ctx, &args.target, args.timeout, poll, args.keep).await?;
            let width = netdiag_render::stdout_width();
            print(&inspect::render(
                &i,
                args.output,
                output::stdout_color(),
                width,
            )?)?;
            Ok(inspect::exit_code(&i))
        }
        Command::Get(args) => {
            let api: Api<NetProbe> = if cli.global.all_namespaces {
                Api::all(ctx.client.clone())
            } else {
                Api::namespaced(ctx.client.clone(), &ctx.namespace)
            };
            let scope = (!cli.global.all_namespaces).then_some(ctx.namespace.as_str());
            let probes = match &args.name {
                Some(name) => vec![get_one(&api, name, &ctx.namespace).await?],
                None => {
                    api.list(&ListParams::default())
                        .await
                        .map_err(|e| error::api("list", "netprobes", scope, e))?
                        .items
                }
            };
            match args.output {
                ListOutput::Json | ListOutput::Yaml if args.name.is_some() => {
                    let p = &probes[0];
                    print(&if args.output == ListOutput::Json {
                        output::json(p)?
                    } else {
                        output::yaml(p)?
                    })
                }
                ListOutput::Json => print(&output::json(&serde_json::json!({
                    "apiVersion": "v1", "kind": "List", "items": probes
                }))?),
                ListOutput::Yaml => print(&output::yaml(&serde_json::json!({
                    "apiVersion": "v1", "kind": "List", "items": probes
                }))?),
                ListOutput::Name => print(&list::names(&probes)),
                ListOutput::Table | ListOutput::Wide => {
                    if probes.is_empty() {
                        match scope {
                            Some(ns) => eprintln!("No NetProbes found in {ns} namespace."),
                            None => eprintln!("No NetProbes found."),
                        }
                        return Ok(0);
                    }
                    print(&list::get_table(
                        &probes,
                        cli.global.all_namespaces,
                        args.output == ListOutput::Wide,
                        k8s_openapi::jiff::Timestamp::now(),
                    ))
                }
            }
        }
        Command::Describe(args) => {
            let api: Api<NetProbe> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
            let p = get_one(&api, &args.name, &ctx.namespace).await?;
            print(&list::describe(
                &p,
                k8s_openapi::jiff::Timestamp::now(),
                args.is_wide(),
                output::stdout_width(),
            ))
        }
        Command::Install(args) => {
            let objects = install::objects(args.image.as_deref())?;
            for line in install::apply(&ctx, &objects, args.dry_run).await? {
                println!("{line}");
            }
            Ok(0)
        }
        Command::Uninstall(args) => {
            let objects = install::objects(None)?;
            let opts = install::UninstallOptions {
                dry_run: args.dry_run,
                keep_crd: args.keep_crd,
            };
            let mut ask = ask_on_terminal;
            let consent = if args.yes {
                install::Consent::Given
            } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
                install::Consent::Ask(&mut ask)
            } else {
                install::Consent::Unavailable
            };
            for line in install::uninstall(&ctx, &objects, opts, consent).await? {
                println!("{line}");
            }
            Ok(0)
        }
        // Handled before the runtime is built.
        Command::Version | Command::Completion { .. } | Command::Complete { .. } => Ok(0),
        #[cfg(target_os = "linux")]
        Command::Lab(_) | Command::Agent(_) => Ok(0),
    }
}

/// Show `prompt` on stderr and read one line from the terminal.
fn ask_on_terminal(prompt: &str) -> std::io::Result<String> {
    let mut err = std::io::stderr().lock();
    err.write_all(prompt.as_bytes())?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line)
}

async fn get_one(api: &Api<NetProbe>, name: &str, ns: &str) -> Result<NetProbe, Error> {
    // Not `get_opt`: it turns every 404 into None, and a 404 without a name in it means the
    // CRD is missing, which deserves its own advice.
    api.get(name)
        .await
        .map_err(|e| match error::api("get", "netprobes", Some(ns), e) {
            Error::Api { source, .. } if error::is_not_found(&source) => Error::NotFound {
                kind: "NetProbe",
                name: name.into(),
                namespace: ns.into(),
                hint: format!("; list them with `kubectl netdiag get -n {ns}`"),
            },
            other => other,
        })
}
