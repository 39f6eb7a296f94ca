//! The classic BPF program that keeps only the probe's frames, built in pure code so it is
//! tested without a socket: IPv4 of the probe's protocol with its source port on either side
//! (so both directions, before and after DNAT, which keeps the pod's port), and every ARP frame
//! (the seeds' "who-has" questions about the hops' addresses).

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
/// (src port N or dst port N))'`; the last two instructions are accept and drop.
pub fn program(f: ProbeFilter) -> Vec<sock_filter> {
    // Jump offsets count from the next instruction; ACCEPT is index 12, DROP index 13.
    vec![
        /* 0 */ stmt(LD_H_ABS, 12), // ethertype
        /* 1 */ jump(JEQ_K, ETH_P_ARP, 10, 0), // -> accept
        /* 2 */ jump(JEQ_K, ETH_P_IP, 0, 10), // -> drop
        /* 3 */ stmt(LD_B_ABS, 23), // IPv4 protocol
        /* 4 */ jump(JEQ_K, u32::from(f.ip_proto), 0, 8), // -> drop
        /* 5 */ stmt(LD_H_ABS, 20), // flags and fragment offset
        /* 6 */ jump(JSET_K, 0x1fff, 6, 0), // a later fragment has no ports: -> drop
        /* 7 */ stmt(LDX_B_MSH, 14), // X = IPv4 header length
        /* 8 */ stmt(LD_H_IND, 14), // source port
        /* 9 */ jump(JEQ_K, u32::from(f.port), 2, 0), // -> accept
        /* 10 */ stmt(LD_H_IND, 16), // destination port
        /* 11 */ jump(JEQ_K, u32::from(f.port), 0, 1), // -> accept, else drop
        /* 12 */ stmt(RET_K, f.snaplen),
        /* 13 */ stmt(RET_K, 0),
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
