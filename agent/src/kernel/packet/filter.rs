//! The classic BPF program that keeps only the probe's frames, built in pure code so it is
//! tested without a socket: IPv4 of the probe's protocol with its source port on either side
//! (so both directions, before and after DNAT, which keeps the pod's port), and every ARP frame
//! (the seeds' "who-has" questions about the hops' addresses), and ICMP unreachable and
//! time-exceeded errors that quote a packet of the probe's protocol and port (a REJECT's
//! answer, a router's "host unreachable").

use libc::sock_filter;

/// What a frame must carry to be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeFilter {
    /// IP protocol number (6 TCP, 17 UDP).
    pub ip_proto: u8,
    /// The probe socket's port in the pod.
    pub port: u16,
    /// Bytes kept of a frame: the program returns it as the snap length.
    pub snaplen: u32,
}

// Classic BPF opcodes (linux/filter.h, linux/bpf_common.h).
const LD_H_ABS: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
const LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const LD_H_IND: u16 = 0x48; // BPF_LD | BPF_H | BPF_IND
const LD_B_IND: u16 = 0x50; // BPF_LD | BPF_B | BPF_IND
const AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const LSH_K: u16 = 0x64; // BPF_ALU | BPF_LSH | BPF_K
const ADD_X: u16 = 0x0c; // BPF_ALU | BPF_ADD | BPF_X
const TAX: u16 = 0x07; // BPF_MISC | BPF_TAX
const LDX_B_MSH: u16 = 0xb1; // BPF_LDX | BPF_B | BPF_MSH: X = 4 * (P[k] & 0xf)
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

const ETH_P_IP: u32 = 0x0800;
const ETH_P_ARP: u32 = 0x0806;

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The program, like `tcpdump -dd 'arp or (ip proto P and not ip[6:2] & 0x1fff != 0 and
/// (src port N or dst port N)) or (icmp[0] in (3, 11) and the quoted packet is P with port N)'`;
/// the last two instructions are accept and drop.
pub fn program(f: ProbeFilter) -> Vec<sock_filter> {
    let port = u32::from(f.port);
    // Jump offsets count from the next instruction; ACCEPT is index 27, DROP index 28.
    vec![
        /* 0 */ stmt(LD_H_ABS, 12), // ethertype
        /* 1 */ jump(JEQ_K, ETH_P_ARP, 25, 0), // -> accept
        /* 2 */ jump(JEQ_K, ETH_P_IP, 0, 25), // -> drop
        /* 3 */ stmt(LD_H_ABS, 20), // flags and fragment offset
        /* 4 */ jump(JSET_K, 0x1fff, 23, 0), // a later fragment has no ports: -> drop
        /* 5 */ stmt(LDX_B_MSH, 14), // X = IPv4 header length
        /* 6 */ stmt(LD_B_ABS, 23), // IPv4 protocol
        /* 7 */ jump(JEQ_K, u32::from(f.ip_proto), 0, 4), // -> 12 (ICMP?)
        /* 8 */ stmt(LD_H_IND, 14), // source port
        /* 9 */ jump(JEQ_K, port, 17, 0), // -> accept
        /* 10 */ stmt(LD_H_IND, 16), // destination port
        /* 11 */ jump(JEQ_K, port, 15, 16), // -> accept, else drop
        /* 12 */ jump(JEQ_K, 1, 0, 15), // ICMP, else -> drop
        /* 13 */ stmt(LD_B_IND, 14), // ICMP type
        /* 14 */ jump(JEQ_K, 3, 1, 0), // unreachable -> 16
        /* 15 */ jump(JEQ_K, 11, 0, 12), // time exceeded, else -> drop
        /* 16 */ stmt(LD_B_IND, 31), // the quoted packet's protocol
        /* 17 */ jump(JEQ_K, u32::from(f.ip_proto), 0, 10), // -> drop
        /* 18 */ stmt(LD_B_IND, 22), // the quoted header's version and length
        /* 19 */ stmt(AND_K, 0x0f),
        /* 20 */ stmt(LSH_K, 2),
        /* 21 */ stmt(ADD_X, 0),
        /* 22 */ stmt(TAX, 0), // X = outer + quoted header lengths
        /* 23 */ stmt(LD_H_IND, 22), // the quoted source port
        /* 24 */ jump(JEQ_K, port, 2, 0), // -> accept
        /* 25 */ stmt(LD_H_IND, 24), // the quoted destination port
        /* 26 */ jump(JEQ_K, port, 0, 1), // -> accept, else drop
        /* 27 */ stmt(RET_K, f.snaplen),
        /* 28 */ stmt(RET_K, 0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic BPF interpreter for exactly the opcodes [`program`] uses, with the kernel's
    /// rules: an out-of-bounds load drops the frame.
    fn run(prog: &[sock_filter], pkt: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let half = |off: usize| -> Option<u32> {
            Some(u32::from(u16::from_be_bytes([
                *pkt.get(off)?,
                *pkt.get(off + 1)?,
            ])))
        };
        loop {
            let ins = &prog[pc];
            pc += 1;
            let k = ins.k as usize;
            match ins.code {
                LD_H_ABS => match half(k) {
                    Some(v) => a = v,
                    None => return 0,
                },
                LD_B_ABS => match pkt.get(k) {
                    Some(v) => a = u32::from(*v),
                    None => return 0,
                },
                LD_H_IND => match half(x as usize + k) {
                    Some(v) => a = v,
                    None => return 0,
                },
                LDX_B_MSH => match pkt.get(k) {
                    Some(v) => x = 4 * u32::from(v & 0xf),
                    None => return 0,
                },
                LD_B_IND => match pkt.get(x as usize + k) {
                    Some(v) => a = u32::from(*v),
                    None => return 0,
                },
                AND_K => a &= ins.k,
                LSH_K => a <<= ins.k,
                ADD_X => a = a.wrapping_add(x),
                TAX => x = a,
                JEQ_K | JSET_K => {
                    let hit = if ins.code == JEQ_K {
                        a == ins.k
                    } else {
                        a & ins.k != 0
                    };
                    pc += usize::from(if hit { ins.jt } else { ins.jf });
                }
                RET_K => return ins.k,
                other => panic!("opcode {other:#x} not in the interpreter"),
            }
        }
    }

    fn ipv4(proto: u8, frag: u16, sport: u16, dport: u16) -> Vec<u8> {
        let mut p = vec![0u8; 12];
        p.extend([0x08, 0x00]);
        let mut ip = vec![0x45, 0, 0, 40, 0, 0];
        ip.extend(frag.to_be_bytes());
        ip.extend([64, proto, 0, 0, 10, 244, 1, 2, 10, 96, 0, 10]);
        p.extend(ip);
        p.extend(sport.to_be_bytes());
        p.extend(dport.to_be_bytes());
        p.extend([0u8; 16]);
        p
    }

    const F: ProbeFilter = ProbeFilter {
        ip_proto: 6,
        port: 41234,
        snaplen: 128,
    };

    #[test]
    fn keeps_the_probe_both_ways_and_arp() {
        let prog = program(F);
        assert_eq!(run(&prog, &ipv4(6, 0, 41234, 80)), 128);
        assert_eq!(run(&prog, &ipv4(6, 0, 80, 41234)), 128);
        assert_eq!(
            run(&prog, &ipv4(6, 0x4000, 41234, 80)),
            128,
            "DF is not a fragment"
        );
        let mut arp = vec![0u8; 12];
        arp.extend([0x08, 0x06]);
        arp.extend([0u8; 28]);
        assert_eq!(run(&prog, &arp), 128);
    }

    #[test]
    fn drops_everything_else() {
        let prog = program(F);
        assert_eq!(run(&prog, &ipv4(6, 0, 41235, 80)), 0, "another port");
        assert_eq!(run(&prog, &ipv4(17, 0, 41234, 80)), 0, "another protocol");
        assert_eq!(
            run(&prog, &ipv4(6, 0x0001, 41234, 80)),
            0,
            "a later fragment"
        );
        let mut v6 = vec![0u8; 12];
        v6.extend([0x86, 0xdd]);
        v6.extend([0u8; 60]);
        assert_eq!(run(&prog, &v6), 0, "IPv6");
        assert_eq!(run(&prog, &ipv4(6, 0, 41234, 80)[..30]), 0, "truncated");
    }

    /// An ICMP error of `kind` quoting a TCP packet from port `sport` to `dport`.
    fn icmp(kind: u8, quoted_proto: u8, sport: u16, dport: u16) -> Vec<u8> {
        let quoted = ipv4(quoted_proto, 0, sport, dport);
        let mut p = ipv4(1, 0, 0, 0);
        p.truncate(34);
        p.extend([kind, 3, 0, 0, 0, 0, 0, 0]);
        p.extend(&quoted[14..]);
        p
    }

    #[test]
    fn keeps_icmp_errors_about_the_probe_only() {
        let prog = program(F);
        assert_eq!(run(&prog, &icmp(3, 6, 41234, 80)), 128, "port unreachable");
        assert_eq!(run(&prog, &icmp(11, 6, 41234, 80)), 128, "time exceeded");
        assert_eq!(run(&prog, &icmp(3, 6, 80, 41234)), 128, "about the reply");
        assert_eq!(run(&prog, &icmp(3, 6, 41235, 80)), 0, "another port");
        assert_eq!(run(&prog, &icmp(3, 17, 41234, 80)), 0, "another protocol");
        assert_eq!(run(&prog, &icmp(8, 6, 41234, 80)), 0, "an echo request");
        assert_eq!(run(&prog, &icmp(3, 6, 41234, 80)[..50]), 0, "truncated");
    }

    #[test]
    fn honours_the_ip_header_length() {
        // IHL 6: the ports sit 4 bytes later, and option bytes at the usual offset do not count.
        let mut p = ipv4(6, 0, 1, 2);
        p[14] = 0x46;
        p.splice(34..34, 41234u16.to_be_bytes().into_iter().chain([0, 0]));
        assert_eq!(run(&program(F), &p), 0);
        p[38..40].copy_from_slice(&41234u16.to_be_bytes());
        assert_eq!(run(&program(F), &p), 128);
    }
}
