//! iptables-nft's rules as `iptables -S` prints them: the entry's `-s -d -i -o -p` first, then
//! the matches in rule order (a port after `-p tcp` is `-m tcp --dport`, x_tables' comment
//! match `-m comment --comment`), then `-j`/`-g`. None when a statement has no iptables
//! spelling here: the caller shows the nft text, which is never wrong, rather than a guess.
//! Pure.

use super::values::{proto_name, value};
use super::{Field, Key, NftVerdict, Op, Right, Rule, Stmt};

/// No interface names are needed: `-i` and `-o` take names, iptables has no `iif`.
fn no_names(_: u32) -> Option<String> {
    None
}

fn plain(key: &Key) -> Option<&Field> {
    match key.fields.as_slice() {
        [f] if key.mask.is_none() => Some(f),
        _ => None,
    }
}

fn not(op: Op) -> Option<&'static str> {
    match op {
        Op::Eq => Some(""),
        Op::Ne => Some("! "),
        _ => None,
    }
}

/// `-s 10.0.0.1/32`, `-d 10.244.2.0/24`.
fn address(key: &Key, right: &Right) -> Option<String> {
    let Right::Value(v) = right else { return None };
    let len = match &key.mask {
        None => 32,
        Some(m) => {
            let ones: u32 = m.iter().map(|b| b.count_ones()).sum();
            let bits = m.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            (m.len() == 4 && bits.leading_ones() == ones).then_some(ones)?
        }
    };
    Some(format!(
        "{}/{len}",
        value(key.fields.first()?, v, &no_names)?
    ))
}

/// A string as iptables 1.8 saves it (`xtables_save_string`): quoted, `"` and `\` escaped.
fn saved(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// x_tables' `comment` match: `struct xt_comment_info { char comment[256]; }`.
fn comment(info: &[u8]) -> String {
    let end = info.iter().position(|b| *b == 0).unwrap_or(info.len());
    String::from_utf8_lossy(&info[..end]).into_owned()
}

/// x_tables' `REJECT` target: `enum ipt_reject_with` as iptables names it.
fn reject_with(info: &[u8]) -> Option<&'static str> {
    let with = u32::from_ne_bytes(info.get(..4)?.try_into().ok()?);
    Some(match with {
        0 => "icmp-net-unreachable",
        1 => "icmp-host-unreachable",
        2 => "icmp-proto-unreachable",
        3 => "icmp-port-unreachable",
        5 => "icmp-net-prohibited",
        6 => "icmp-host-prohibited",
        7 => "tcp-reset",
        8 => "icmp-admin-prohibited",
        _ => return None,
    })
}

fn verdict(v: &NftVerdict) -> Option<String> {
    Some(match v {
        NftVerdict::Accept => "-j ACCEPT".into(),
        NftVerdict::Drop => "-j DROP".into(),
        NftVerdict::Return => "-j RETURN".into(),
        NftVerdict::Jump(c) => format!("-j {c}"),
        NftVerdict::Goto(c) => format!("-g {c}"),
        _ => return None,
    })
}

/// The `iptables -S` line of `rule` in `chain`, when every statement has a spelling.
pub fn print(chain: &str, rule: &Rule) -> Option<String> {
    let (mut source, mut dest, mut iif, mut oif, mut proto) = (None, None, None, None, None);
    let mut matches: Vec<String> = Vec::new();
    let mut target = None;
    for (_, stmt) in &rule.stmts {
        match stmt {
            Stmt::Match { key, op, right } => {
                let bang = not(*op)?;
                let field = key.fields.first()?;
                match (field, key.fields.len()) {
                    (Field::Ip("saddr"), 1) => {
                        source = Some(format!("{bang}-s {}", address(key, right)?))
                    }
                    (Field::Ip("daddr"), 1) => {
                        dest = Some(format!("{bang}-d {}", address(key, right)?))
                    }
                    (Field::Meta(6 | 7), 1) if key.mask.is_none() => {
                        let Right::Value(v) = right else { return None };
                        let end = v.iter().position(|b| *b == 0);
                        let name = String::from_utf8_lossy(&v[..end.unwrap_or(v.len())]);
                        let name = if end.is_some() {
                            name.into_owned()
                        } else {
                            format!("{name}+")
                        };
                        let flag = if *field == Field::Meta(6) { "-i" } else { "-o" };
                        let text = Some(format!("{bang}{flag} {name}"));
                        if *field == Field::Meta(6) {
                            iif = text
                        } else {
                            oif = text
                        }
                    }
                    (Field::Meta(16) | Field::Ip("protocol"), 1) => {
                        let Right::Value(v) = right else { return None };
                        plain(key)?;
                        proto = Some((bang, proto_name(*v.first()?)));
                    }
                    (Field::Transport(port), 1) => {
                        plain(key)?;
                        let (_, p) = proto.as_ref()?;
                        let text = match right {
                            Right::Value(v) => value(field, v, &no_names)?,
                            Right::Range(a, b) => format!(
                                "{}:{}",
                                value(field, a, &no_names)?,
                                value(field, b, &no_names)?
                            ),
                            _ => return None,
                        };
                        let opt = format!("{bang}--{port} {text}");
                        // `--sport` and `--dport` share one `-m tcp`.
                        let head = format!("-m {p}");
                        match matches.last_mut() {
                            Some(last)
                                if last.starts_with(&head)
                                    && !last.contains(&format!("--{port} ")) =>
                            {
                                last.push(' ');
                                last.push_str(&opt);
                            }
                            _ => matches.push(format!("{head} {opt}")),
                        }
                    }
                    (Field::Meta(3), 1) if *op == Op::Eq => {
                        let Right::Value(v) = right else { return None };
                        let mark = u32::from_ne_bytes(v.get(..4)?.try_into().ok()?);
                        let mask = match &key.mask {
                            None => u32::MAX,
                            Some(m) => u32::from_ne_bytes(m.get(..4)?.try_into().ok()?),
                        };
                        matches.push(match mask {
                            u32::MAX => format!("-m mark --mark {mark:#x}"),
                            m => format!("-m mark --mark {mark:#x}/{m:#x}"),
                        });
                    }
                    _ => return None,
                }
            }
            Stmt::Counter { .. } => {}
            Stmt::XtMatch { name, info } if name == "comment" => {
                matches.push(format!("-m comment --comment {}", saved(&comment(info))));
            }
            Stmt::Verdict(v) if target.is_none() => target = Some(verdict(v)?),
            Stmt::XtTarget { name, info } if name == "REJECT" && target.is_none() => {
                target = Some(format!("-j REJECT --reject-with {}", reject_with(info)?));
            }
            _ => return None,
        }
    }
    let mut words = vec![format!("-A {chain}")];
    words.extend([source, dest, iif, oif].into_iter().flatten());
    if let Some((bang, p)) = proto {
        words.push(format!("{bang}-p {p}"));
    }
    words.extend(matches);
    words.extend(target);
    Some(words.join(" "))
}
