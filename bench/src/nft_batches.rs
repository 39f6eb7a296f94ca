//! Splitting a generated `table ip kube-proxy` script (`netdiag_lab::generate::render_nft`) into
//! several `nft -f` transactions, which loads 10,000 Services x 5 endpoints in about 95 s here
//! instead of about 250 s as one transaction (kernel 6.18, nft 1.0.6; nearly all of it kernel
//! time).
//!
//! Measured at 5,000 x 5: one transaction 49 s; the declarations apart and the rest in 10 slices
//! 15 s. A transaction's cost grows faster than its size, most likely because the kernel finds
//! an object added in the same transaction by walking the transaction's pending list, and every
//! `numgen ... vmap` is an anonymous set added and then looked up that way. What slicing cannot remove: each new
//! anonymous set is named (`__map%d`) by a scan of every set already in the table, so a slice
//! costs about 1 s at the start and 6 s at the end of 10,000 Services, whatever the slice count
//! (20 slices: 95 s, 40: 99 s).
//!
//! Every slice references only objects the earlier ones committed (chains, named sets and maps
//! are all declared in the first), so any cut between lines works, and the order of lines, so
//! the order of rules in a chain, is kept.

/// Whether `line` declares an object (`add table|set|map|chain`), as `render_nft` writes it.
fn is_declaration(line: &str) -> bool {
    ["add table ", "add set ", "add map ", "add chain "]
        .iter()
        .any(|p| line.starts_with(p))
}

/// `script` as `1 + batches` transactions: every declaration in the first, then the remaining
/// lines (rules and elements) in `batches` slices of about equal line count, each in its
/// original order. Empty slices are left out; `batches` 0 counts as 1.
pub fn transactions(script: &str, batches: usize) -> Vec<String> {
    let (decls, body): (Vec<&str>, Vec<&str>) = script
        .lines()
        .filter(|l| !l.trim().is_empty())
        .partition(|l| is_declaration(l));
    let join = |lines: &[&str]| {
        let mut s = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    };
    let mut out = Vec::new();
    if !decls.is_empty() {
        out.push(join(&decls));
    }
    let per = body.len().div_ceil(batches.max(1)).max(1);
    out.extend(body.chunks(per).map(join));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Workload;

    const SCRIPT: &str = "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }\n\
        add chain ip kube-proxy services\n\
        add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips\n\
        add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }\n\
        add chain ip kube-proxy service-A\n\
        add rule ip kube-proxy service-A numgen random mod 1 vmap { 0 : goto endpoint-B }\n\
        add element ip kube-proxy service-ips { 10.96.0.10 . tcp . 80 : goto service-A }\n\
        \n\
        add chain ip kube-proxy endpoint-B\n\
        add rule ip kube-proxy endpoint-B meta l4proto tcp dnat to 10.244.0.2:8080\n";

    #[test]
    fn declarations_come_first_and_the_rest_keeps_its_order_in_slices() {
        let tx = transactions(SCRIPT, 2);
        assert_eq!(tx.len(), 3);
        assert_eq!(
            tx[0].lines().collect::<Vec<_>>(),
            [
                "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }",
                "add chain ip kube-proxy services",
                "add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }",
                "add chain ip kube-proxy service-A",
                "add chain ip kube-proxy endpoint-B",
            ]
        );
        let rest: Vec<&str> = tx[1..].iter().flat_map(|t| t.lines()).collect();
        assert_eq!(
            rest,
            [
                "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips",
                "add rule ip kube-proxy service-A numgen random mod 1 vmap { 0 : goto endpoint-B }",
                "add element ip kube-proxy service-ips { 10.96.0.10 . tcp . 80 : goto service-A }",
                "add rule ip kube-proxy endpoint-B meta l4proto tcp dnat to 10.244.0.2:8080",
            ]
        );
        assert_eq!(tx[1].lines().count(), 2);
    }

    #[test]
    fn one_batch_is_declarations_then_everything_else_and_zero_counts_as_one() {
        assert_eq!(transactions(SCRIPT, 1).len(), 2);
        assert_eq!(transactions(SCRIPT, 0), transactions(SCRIPT, 1));
        // more slices than lines: one line each, none empty
        let tx = transactions(SCRIPT, 50);
        assert_eq!(tx.len(), 5);
        assert!(tx.iter().all(|t| !t.is_empty()));
    }

    #[test]
    fn the_generated_workload_loses_and_gains_no_line() {
        let script = Workload {
            services: 200,
            endpoints: 5,
        }
        .nft_script()
        .expect("the workload fits");
        let tx = transactions(&script, 10);
        assert_eq!(tx.len(), 11);
        let mut want: Vec<&str> = script.lines().collect();
        let mut got: Vec<&str> = tx.iter().flat_map(|t| t.lines()).collect();
        assert!(tx[0].lines().all(is_declaration));
        assert!(
            tx[1..]
                .iter()
                .flat_map(|t| t.lines())
                .all(|l| !is_declaration(l))
        );
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want);
    }
}
