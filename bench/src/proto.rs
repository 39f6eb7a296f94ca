//! PROTOTYPE, for the report only: the legacy reader as issue 6 proposes it, built from the
//! agent's public pure parts (`parse_line`, `walk`, `judge`), to measure what streaming buys
//! before anyone changes `agent/src/kubeproxy/read.rs`. Differences from that reader:
//! - `iptables-legacy-save -t nat` is read in chunks and its lines are indexed while the child is
//!   still printing (the index overlaps the dump on the second core);
//! - the buffer is not copied (`from_utf8_lossy(..).into_owned()` copies 25 MB);
//! - the index is chain -> byte ranges (a chain's rules are contiguous), not one Vec per chain;
//! - KUBE-SERVICES lines without the VIP's text are skipped before `parse_line` (the walker only
//!   follows rules with `-d VIP`).

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::ops::Range;
use std::process::{Command, Stdio};

use netdiag_agent::kubeproxy::iptables::{Backend, parse_save};
use netdiag_agent::kubeproxy::rule::{Rule, parse_line};
use netdiag_agent::kubeproxy::walk::{ChainSource, Entry, walk};
use netdiag_crds::{Endpoint, Hop, PlanTarget};

struct Streamed {
    buf: Vec<u8>,
    declared: HashSet<String>,
    ranges: HashMap<String, Vec<Range<usize>>>,
    vip: String,
    filter: String,
}

impl Streamed {
    /// Index the complete lines in `buf[from..]`; returns where the unfinished line starts.
    fn index(&mut self, mut from: usize) -> usize {
        while let Some(nl) = self.buf[from..].iter().position(|&b| b == b'\n') {
            let line = &self.buf[from..from + nl];
            if let Some(rest) = line.strip_prefix(b"-A ") {
                let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
                let chain = String::from_utf8_lossy(&rest[..end]);
                let r = self.ranges.entry(chain.into_owned()).or_default();
                match r.last_mut() {
                    Some(last) if last.end + 1 == from => last.end = from + nl,
                    _ => r.push(from..from + nl),
                }
            } else if let Some(decl) = line.strip_prefix(b":") {
                let end = decl.iter().position(|&b| b == b' ').unwrap_or(decl.len());
                self.declared
                    .insert(String::from_utf8_lossy(&decl[..end]).into_owned());
            }
            from += nl + 1;
        }
        from
    }
}

impl ChainSource for Streamed {
    type Error = std::convert::Infallible;
    fn chain(&mut self, table: &str, name: &str) -> Result<Option<Vec<Rule>>, Self::Error> {
        if table != "nat" {
            let mut dump = parse_save(&self.filter);
            let Ok(rules) = dump.chain(table, name);
            return Ok(rules);
        }
        if !self.declared.contains(name) && !self.ranges.contains_key(name) {
            return Ok(None);
        }
        let mut out = Vec::new();
        for r in self.ranges.get(name).into_iter().flatten() {
            let text = String::from_utf8_lossy(&self.buf[r.clone()]);
            for line in text.lines() {
                if name == "KUBE-SERVICES" && !line.contains(self.vip.as_str()) {
                    continue;
                }
                out.extend(parse_line(line));
            }
        }
        Ok(Some(out))
    }
}

fn save(table: &str) -> std::io::Result<std::process::Child> {
    Command::new("iptables-legacy-save")
        .args(["-t", table])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
}

/// The ServiceRules hop on the legacy backend, streamed.
pub fn service_rules(
    node: &str,
    target: &PlanTarget,
    expected: &[Endpoint],
) -> std::io::Result<Hop> {
    let mut child = save("nat")?;
    let mut s = Streamed {
        buf: Vec::with_capacity(1 << 20),
        declared: HashSet::new(),
        ranges: HashMap::new(),
        vip: format!("{}/32", target.ip),
        filter: String::new(),
    };
    let mut stdout = child.stdout.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
    let mut pending = 0;
    loop {
        let len = s.buf.len();
        s.buf.resize(len + (256 << 10), 0);
        let n = stdout.read(&mut s.buf[len..])?;
        s.buf.truncate(len + n);
        if n == 0 {
            break;
        }
        pending = s.index(pending);
    }
    child.wait()?;
    let out = save("filter")?.wait_with_output()?;
    s.filter = String::from_utf8_lossy(&out.stdout).into_owned();
    let Ok(mut w) = walk(&mut s, target, Entry::ServiceIp);
    w.backend = Some(Backend::Legacy);
    Ok(netdiag_agent::kubeproxy::verdict::judge(node, &w, expected))
}
