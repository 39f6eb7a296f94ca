//! One iptables rule (`-A CHAIN ...`), with the matches and targets kube-proxy uses typed and
//! everything else kept raw. Reading one line of `iptables-save` or `iptables -S` by eye.

use super::tokenize::split;

/// A match that may be negated with `!` (`! -s 10.244.0.0/16`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neg {
    pub negated: bool,
    pub value: String,
}

impl Neg {
    /// The value when the match is not negated.
    pub fn positive(&self) -> Option<&str> {
        (!self.negated).then_some(self.value.as_str())
    }
}

/// What `-m recent` does on this rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recent {
    /// `--rcheck`, `--set`, `--update` or `--remove`, without the dashes.
    pub action: Option<String>,
    pub seconds: Option<u32>,
    pub name: Option<String>,
    pub reap: bool,
}

/// `-m addrtype`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrType {
    pub src_type: Option<Neg>,
    pub dst_type: Option<Neg>,
}

/// Where a rule sends a packet (`-j` / `-g` and the target's own options).
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// `-j CHAIN` into a user chain (KUBE-SVC-..., KUBE-SEP-..., KUBE-MARK-MASQ...).
    Jump(String),
    /// `-g CHAIN`.
    Goto(String),
    /// `-j DNAT --to-destination IP:PORT`.
    Dnat {
        to: Option<String>,
        args: Vec<String>,
    },
    Reject {
        with: Option<String>,
    },
    Drop,
    Accept,
    Return,
    /// `-j MARK --set-xmark 0x4000/0x4000` and friends.
    Mark {
        args: Vec<String>,
    },
    Masquerade {
        args: Vec<String>,
    },
    /// Any other built-in target (SNAT, LOG, CT...), kept raw.
    Other {
        name: String,
        args: Vec<String>,
    },
}

impl Target {
    /// The user chain this target continues in, if any.
    pub fn chain(&self) -> Option<&str> {
        match self {
            Target::Jump(c) | Target::Goto(c) => Some(c),
            _ => None,
        }
    }
}

/// One rule, as `-A CHAIN ...` spells it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rule {
    pub chain: String,
    pub src: Option<Neg>,
    pub dst: Option<Neg>,
    pub protocol: Option<Neg>,
    /// `-m comment --comment`, unquoted.
    pub comment: Option<String>,
    /// `--dport` of `-m tcp` / `-m udp` / `-m sctp` (a number or a range `a:b`).
    pub dport: Option<Neg>,
    /// `-m statistic --mode random --probability P`.
    pub probability: Option<f64>,
    pub recent: Option<Recent>,
    pub addrtype: Option<AddrType>,
    /// `-m mark --mark VALUE[/MASK]`.
    pub mark: Option<Neg>,
    pub target: Option<Target>,
    /// Options this parser does not know, in order, with their values (`-m conntrack
    /// --ctstate NEW`...). Never an error: a newer kube-proxy must not break the walker.
    pub other: Vec<String>,
}

impl Rule {
    /// The user chain the rule jumps to, if any.
    pub fn jump(&self) -> Option<&str> {
        self.target.as_ref().and_then(Target::chain)
    }

    /// The DNAT destination `(ip, port)`, if this rule is a DNAT with a parsable IPv4 `IP:PORT`
    /// (the IPv4 tables are the ones read).
    pub fn dnat_endpoint(&self) -> Option<(std::net::Ipv4Addr, u16)> {
        let Some(Target::Dnat { to: Some(to), .. }) = &self.target else {
            return None;
        };
        let (ip, port) = to.rsplit_once(':')?;
        // A port range (`8080-8081`) is not one endpoint; take its first port.
        let port = port.split('-').next()?.parse().ok()?;
        Some((ip.parse().ok()?, port))
    }

    /// Whether `-d` matches `ip` exactly (`10.96.45.10` or `10.96.45.10/32`), not negated.
    pub fn dst_is(&self, ip: &str) -> bool {
        self.dst
            .as_ref()
            .and_then(Neg::positive)
            .is_some_and(|d| d == ip || d.strip_suffix("/32") == Some(ip))
    }

    /// Whether `-p` is `proto` (case-insensitive), not negated.
    pub fn proto_is(&self, proto: &str) -> bool {
        self.protocol
            .as_ref()
            .and_then(Neg::positive)
            .is_some_and(|p| p.eq_ignore_ascii_case(proto))
    }

    /// Whether `--dport` is exactly `port`, not negated.
    pub fn dport_is(&self, port: u16) -> bool {
        self.dport
            .as_ref()
            .and_then(Neg::positive)
            .is_some_and(|p| p.parse::<u16>().ok() == Some(port))
    }

    /// The service port name kube-proxy put first in the comment (`default/echo:http` of
    /// `"default/echo:http cluster IP"`, `"... -> 10.244.1.5:8080"`, `"... has no endpoints"`).
    pub fn service_name(&self) -> Option<&str> {
        let first = self.comment.as_deref()?.split_whitespace().next()?;
        first.contains('/').then_some(first)
    }
}

/// Parse the arguments after `-A` (the chain name first). Never fails: what is not understood
/// lands in [`Rule::other`].
pub fn parse_args(args: &[String]) -> Rule {
    let mut rule = Rule::default();
    let mut it = args.iter().peekable();
    if let Some(chain) = it.next() {
        rule.chain = chain.clone();
    }
    let mut negate = false;
    while let Some(tok) = it.next() {
        let tok = tok.as_str();
        if tok == "!" {
            negate = true;
            continue;
        }
        let neg = std::mem::take(&mut negate);
        let value = |it: &mut std::iter::Peekable<std::slice::Iter<'_, String>>| {
            it.next().map(|v| Neg {
                negated: neg,
                value: v.clone(),
            })
        };
        match tok {
            "-s" | "--source" => rule.src = value(&mut it),
            "-d" | "--destination" => rule.dst = value(&mut it),
            "-p" | "--protocol" => rule.protocol = value(&mut it),
            "--dport" | "--destination-port" => rule.dport = value(&mut it),
            "--comment" => rule.comment = it.next().cloned(),
            "--probability" => {
                rule.probability = it.next().and_then(|v| v.parse::<f64>().ok());
            }
            "--mark" => rule.mark = value(&mut it),
            "--src-type" => {
                rule.addrtype.get_or_insert_with(Default::default).src_type = value(&mut it);
            }
            "--dst-type" => {
                rule.addrtype.get_or_insert_with(Default::default).dst_type = value(&mut it);
            }
            "--rcheck" | "--set" | "--update" | "--remove" => {
                rule.recent.get_or_insert_with(Default::default).action =
                    Some(tok.trim_start_matches('-').to_string());
            }
            "--seconds" => {
                rule.recent.get_or_insert_with(Default::default).seconds =
                    it.next().and_then(|v| v.parse().ok());
            }
            "--name" => rule.recent.get_or_insert_with(Default::default).name = it.next().cloned(),
            "--reap" => rule.recent.get_or_insert_with(Default::default).reap = true,
            // Module loads carry no meaning of their own for the walker; the options that
            // follow do. `--mode random` is implied by `--probability`.
            "-m" | "--match" => {
                let module = it.next();
                if !matches!(
                    module.map(String::as_str),
                    Some(
                        "comment"
                            | "tcp"
                            | "udp"
                            | "sctp"
                            | "statistic"
                            | "recent"
                            | "addrtype"
                            | "mark"
                    )
                ) {
                    rule.other.push(tok.to_string());
                    rule.other.extend(module.cloned());
                }
            }
            "--mode" => {
                if it.peek().map(|v| v.as_str()) == Some("random") {
                    it.next();
                } else {
                    rule.other.push(tok.to_string());
                }
            }
            "--mask" | "--rsource" | "--rdest" => {
                // recent's defaults as iptables-save prints them; kept for completeness.
                rule.other.push(tok.to_string());
                if tok == "--mask" {
                    rule.other.extend(it.next().cloned());
                }
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                let name = it.next().cloned().unwrap_or_default();
                let rest: Vec<String> = it.by_ref().cloned().collect();
                rule.target = Some(target(tok, name, rest));
            }
            _ => {
                if neg {
                    rule.other.push("!".to_string());
                }
                rule.other.push(tok.to_string());
                // Unknown option: its values are the following non-option words.
                while let Some(v) = it.peek() {
                    if v.starts_with('-') || v.as_str() == "!" {
                        break;
                    }
                    rule.other.push((*v).clone());
                    it.next();
                }
            }
        }
    }
    rule
}

fn target(flag: &str, name: String, args: Vec<String>) -> Target {
    if matches!(flag, "-g" | "--goto") {
        return Target::Goto(name);
    }
    let opt = |key: &str| {
        args.iter()
            .position(|a| a == key)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    match name.as_str() {
        "DNAT" => Target::Dnat {
            to: opt("--to-destination"),
            args,
        },
        "REJECT" => Target::Reject {
            with: opt("--reject-with"),
        },
        "DROP" => Target::Drop,
        "ACCEPT" => Target::Accept,
        "RETURN" => Target::Return,
        "MARK" => Target::Mark { args },
        "MASQUERADE" => Target::Masquerade { args },
        // iptables' built-in targets are upper case; user chains (KUBE-...) are too, but
        // never carry options. A name with options is a built-in target we do not model.
        _ if args.is_empty() => Target::Jump(name),
        _ => Target::Other { name, args },
    }
}

/// Parse one `-A CHAIN ...` line; `None` when the line is not an append.
pub fn parse_line(line: &str) -> Option<Rule> {
    let toks = split(line);
    match toks.first().map(String::as_str) {
        Some("-A" | "--append") => Some(parse_args(&toks[1..])),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
