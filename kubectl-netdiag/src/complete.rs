//! Shell completion from the clap command tree, answering cobra's `__complete` protocol: the
//! words typed so far in, one candidate per line and a `:DIRECTIVE` line out. kubectl's plugin
//! completion (`kubectl_complete-netdiag`, kubectl 1.26+) and the script of `completion bash`
//! both call it, so every shell completes the same nested subcommands, flag values and (from the
//! API, when one is reachable) resource names.
//!
//! [`complete`] is pure: it names what the current word needs; [`crate::app`] fetches resource
//! names for it.

use clap::Command;

/// cobra's ShellCompDirective bits.
pub const NO_SPACE: u32 = 2;
pub const NO_FILE_COMP: u32 = 4;

/// Which objects' names complete the current word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Pods,
    Deployments,
    StatefulSets,
    DaemonSets,
    ReplicaSets,
    Services,
    NetProbes,
    Namespaces,
    Nodes,
}

/// What the current word can become.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// Candidates known without the API, already filtered by the typed prefix.
    pub words: Vec<String>,
    /// Names to fetch: `(resource, text to put before each name)`.
    pub fetch: Option<(Resource, String)>,
    pub directive: u32,
    /// The typed prefix, to filter fetched names.
    pub prefix: String,
}

impl Completion {
    fn of(words: Vec<String>, prefix: &str, directive: u32) -> Self {
        Completion {
            words: words
                .into_iter()
                .filter(|w| w.starts_with(prefix))
                .collect(),
            fetch: None,
            directive,
            prefix: prefix.to_string(),
        }
    }

    /// The cobra answer: candidates, then `:directive`.
    pub fn render(&self, fetched: &[String]) -> String {
        let mut out = String::new();
        for w in self.words.iter().chain(fetched) {
            out.push_str(w);
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

/// Complete the last of `words` (the words after the program name; the last may be empty).
pub fn complete(root: &Command, words: &[String]) -> Completion {
    let mut root = root.clone();
    // Propagates global flags into every subcommand.
    root.build();
    let (current, done) = match words.split_last() {
        Some((c, d)) => (c.as_str(), d),
        None => ("", &[][..]),
    };
    let mut cmd = &root;
    let mut path: Vec<String> = Vec::new();
    let mut positional = 0usize;
    let mut pending_value: Option<&clap::Arg> = None;
    let mut only_positionals = false;
    for w in done {
        if let Some(arg) = pending_value.take() {
            let _ = arg;
            continue;
        }
        if !only_positionals && w == "--" {
            only_positionals = true;
        } else if !only_positionals && w.starts_with('-') && w.len() > 1 {
            if let Some(arg) = flag(cmd, w)
                && takes_value(arg)
                && !w.contains('=')
                && !(is_short_cluster(w) && w.len() > 2)
            {
                pending_value = Some(arg);
            }
        } else if let Some(sub) = cmd
            .get_subcommands()
            .find(|s| s.get_name() == w || s.get_all_aliases().any(|a| a == w))
            .filter(|_| positional == 0)
        {
            path.push(sub.get_name().to_string());
            cmd = sub;
        } else {
            positional += 1;
        }
    }
    if let Some(arg) = pending_value {
        return value_of(arg, current);
    }
    if !only_positionals && current.starts_with('-') {
        if let Some((name, value)) = current.split_once('=')
            && let Some(arg) = flag(cmd, name)
        {
            let mut c = value_of(arg, value);
            c.words = c.words.into_iter().map(|v| format!("{name}={v}")).collect();
            c.prefix = current.to_string();
            return c;
        }
        return Completion::of(flags(cmd), current, NO_FILE_COMP);
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    if positional == 0 && !subs.is_empty() {
        return Completion::of(subs, current, NO_FILE_COMP);
    }
    positional_value(&path, positional, current)
}

/// Values of a flag: its possible values, or namespaces for `-n`.
fn value_of(arg: &clap::Arg, current: &str) -> Completion {
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() {
        return Completion::of(values, current, NO_FILE_COMP);
    }
    match arg.get_id().as_str() {
        "namespace" => fetch(Resource::Namespaces, "", current, NO_FILE_COMP),
        // Paths (kubeconfig, spec files): let the shell complete files.
        "kubeconfig" | "spec" => Completion::of(Vec::new(), current, 0),
        _ => Completion::of(Vec::new(), current, NO_FILE_COMP),
    }
}

/// SOURCE and TARGET of `trace`, the NetProbe of `get` and `describe`.
fn positional_value(path: &[String], index: usize, current: &str) -> Completion {
    let sub: Vec<&str> = path.iter().map(String::as_str).collect();
    match (sub.as_slice(), index) {
        (["trace"], 0) => kind_or_name(
            current,
            &[
                ("pod/", Resource::Pods),
                ("deploy/", Resource::Deployments),
                ("sts/", Resource::StatefulSets),
                ("ds/", Resource::DaemonSets),
                ("rs/", Resource::ReplicaSets),
                // A node source: its host network (allowed only where the controller says).
                ("node/", Resource::Nodes),
            ],
        ),
        (["trace"], 1) => {
            let mut c = kind_or_name(
                current,
                &[
                    ("svc/", Resource::Services),
                    ("pod/", Resource::Pods),
                    ("node/", Resource::Nodes),
                ],
            );
            if !current.contains('/') && "dns/".starts_with(current) {
                c.words.push("dns/".into());
            }
            c
        }
        (["get"] | ["describe"], 0) => fetch(Resource::NetProbes, "", current, NO_FILE_COMP),
        _ => Completion::of(Vec::new(), current, NO_FILE_COMP),
    }
}

/// `pod/` and friends until a kind is typed, then that kind's names.
fn kind_or_name(current: &str, kinds: &[(&str, Resource)]) -> Completion {
    for (prefix, resource) in kinds {
        if current.starts_with(prefix) {
            return fetch(*resource, prefix, current, NO_FILE_COMP);
        }
    }
    Completion::of(
        kinds.iter().map(|(p, _)| (*p).to_string()).collect(),
        current,
        NO_FILE_COMP | NO_SPACE,
    )
}

fn fetch(resource: Resource, put_before: &str, current: &str, directive: u32) -> Completion {
    Completion {
        words: Vec::new(),
        fetch: Some((resource, put_before.to_string())),
        directive,
        prefix: current.to_string(),
    }
}

fn flags(cmd: &Command) -> Vec<String> {
    let mut out = Vec::new();
    for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        if let Some(l) = a.get_long() {
            out.push(format!("--{l}"));
        }
        if let Some(s) = a.get_short() {
            out.push(format!("-{s}"));
        }
    }
    out
}

fn flag<'a>(cmd: &'a Command, word: &str) -> Option<&'a clap::Arg> {
    let name = word.split_once('=').map_or(word, |(n, _)| n);
    if let Some(long) = name.strip_prefix("--") {
        cmd.get_arguments().find(|a| a.get_long() == Some(long))
    } else {
        // `-n`, or the last letter of a cluster like `-An`.
        let c = name.chars().last()?;
        cmd.get_arguments().find(|a| a.get_short() == Some(c))
    }
}

fn is_short_cluster(w: &str) -> bool {
    !w.starts_with("--")
}

fn takes_value(arg: &clap::Arg) -> bool {
    arg.get_num_args().is_none_or(|n| n.takes_values())
        && !matches!(
            arg.get_action(),
            clap::ArgAction::SetTrue
                | clap::ArgAction::SetFalse
                | clap::ArgAction::Count
                | clap::ArgAction::Help
                | clap::ArgAction::HelpShort
                | clap::ArgAction::HelpLong
                | clap::ArgAction::Version
        )
}

/// The namespace, context and kubeconfig flags among the typed words, to fetch names with.
pub fn global_flags(words: &[String]) -> crate::cli::GlobalArgs {
    let mut g = crate::cli::GlobalArgs::default();
    let mut it = words.iter().peekable();
    while let Some(w) = it.next() {
        let (name, inline) = match w.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (w.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned());
        match name {
            "-n" | "--namespace" => g.namespace = value(),
            "--context" => g.context = value(),
            "--kubeconfig" => g.kubeconfig = value().map(Into::into),
            "--cluster" => g.cluster = value(),
            "--user" => g.user = value(),
            _ => {}
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| (*w).to_string()).collect()
    }

    fn done(s: &[&str]) -> Completion {
        complete(&crate::cli::Cli::command(), &words(s))
    }

    #[test]
    fn top_level_offers_visible_subcommands_only() {
        let c = done(&[""]);
        assert!(c.words.contains(&"trace".to_string()), "{:?}", c.words);
        assert!(c.words.contains(&"get".to_string()));
        assert!(
            !c.words.iter().any(|w| w == "agent" || w.starts_with("__")),
            "{:?}",
            c.words
        );
        assert_eq!(done(&["tr"]).words, vec!["trace".to_string()]);
    }

    #[test]
    fn flag_values_complete_after_the_flag_and_after_global_flags() {
        let c = done(&["trace", "-o", ""]);
        assert_eq!(
            c.words,
            words(&["table", "wide", "json", "yaml", "dot", "pcap"])
        );
        let c = done(&["-n", "shop", "get", "-o", "y"]);
        assert_eq!(c.words, words(&["yaml"]));
        let c = done(&["get", "--output=j"]);
        assert_eq!(c.words, words(&["--output=json"]));
    }

    #[test]
    fn trace_positionals_offer_kinds_then_fetch_names() {
        let c = done(&["trace", ""]);
        assert!(c.words.contains(&"deploy/".to_string()), "{:?}", c.words);
        assert_eq!(c.directive & NO_SPACE, NO_SPACE);
        let c = done(&["trace", "pod/cu"]);
        assert_eq!(c.fetch, Some((Resource::Pods, "pod/".into())));
        assert_eq!(done(&["trace", "n"]).words, words(&["node/"]));
        let c = done(&["trace", "node/"]);
        assert_eq!(c.fetch, Some((Resource::Nodes, "node/".into())));
        let c = done(&["trace", "pod/curl", "s"]);
        assert_eq!(c.words, words(&["svc/"]));
        let c = done(&["trace", "pod/curl", ""]);
        assert_eq!(c.words, words(&["svc/", "pod/", "node/", "dns/"]));
        let c = done(&["trace", "pod/curl", "node/n"]);
        assert_eq!(c.fetch, Some((Resource::Nodes, "node/".into())));
        let c = done(&["get", ""]);
        assert_eq!(c.fetch, Some((Resource::NetProbes, String::new())));
    }

    #[test]
    fn flags_of_the_subcommand_include_globals_but_not_hidden_ones() {
        let c = done(&["trace", "--ti"]);
        assert_eq!(c.words, words(&["--timeout"]));
        let c = done(&["trace", "--name"]);
        assert_eq!(c.words, words(&["--namespace"]));
    }

    #[test]
    fn global_flags_are_read_from_the_words() {
        let g = global_flags(&words(&["-n", "shop", "--context=prod", "trace"]));
        assert_eq!(g.namespace.as_deref(), Some("shop"));
        assert_eq!(g.context.as_deref(), Some("prod"));
    }
}
