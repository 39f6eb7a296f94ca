//! kube-proxy's nftables objects from this node's kernel, in the calling thread's network
//! namespace, all over nf_tables netlink: map and set elements (one keyed get each), a chain's
//! rules (one dump filtered by the kernel to that chain) and the anonymous `numgen` maps they
//! name. Not `nft -j list chain`: nft 1.0 fetches every set of the table before it lists one
//! chain, 17 s per chain at 10,000 Services.

use std::collections::HashMap;
use std::time::Duration;

use super::{NftSource, TABLE};
use crate::dataplane::netfilter::command::Tool;
use crate::dataplane::netfilter::nftables::netlink::decode;
use crate::dataplane::netfilter::nftables::rule::NftRule;
use crate::kernel::netlink::NetlinkError;
use crate::kernel::nftables::msg::NFPROTO_IPV4;
use crate::kernel::nftables::{NftSocket, SetElement};

/// Why kube-proxy's nftables objects could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NftReadError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

/// nft says "No such file or directory" for a table, chain or set that does not exist.
pub const NFT: Tool = Tool {
    program: "nft",
    package: "nftables",
    missing: &["No such file or directory"],
};

/// The node's `table ip kube-proxy`, each chain read at most once.
pub struct NodeNft {
    socket: NftSocket,
    chains: HashMap<String, Option<Vec<NftRule>>>,
    /// How many chains this reader fetched from the kernel (for tests and benchmarks).
    pub reads: usize,
}

impl NodeNft {
    pub fn open(timeout: Duration) -> Result<NodeNft, NftReadError> {
        Ok(NodeNft {
            socket: NftSocket::open(timeout)?,
            chains: HashMap::new(),
            reads: 0,
        })
    }
}

impl NftSource for NodeNft {
    type Error = NftReadError;

    fn has_table(&mut self) -> Result<bool, NftReadError> {
        Ok(self.socket.table_exists(NFPROTO_IPV4, TABLE)?)
    }

    fn element(&mut self, set: &str, key: &[u8]) -> Result<Option<SetElement>, NftReadError> {
        Ok(self.socket.element(NFPROTO_IPV4, TABLE, set, key)?)
    }

    fn elements(&mut self, set: &str) -> Result<Vec<SetElement>, NftReadError> {
        Ok(self
            .socket
            .elements(NFPROTO_IPV4, TABLE, set)?
            .unwrap_or_default())
    }

    fn chain(&mut self, name: &str) -> Result<Option<Vec<NftRule>>, NftReadError> {
        if let Some(hit) = self.chains.get(name) {
            return Ok(hit.clone());
        }
        self.reads += 1;
        let rules = match self.socket.rules(NFPROTO_IPV4, TABLE, name)? {
            Some(raw) => {
                let socket = &mut self.socket;
                let mut failed = None;
                let rules = raw
                    .iter()
                    .map(|r| {
                        decode(name, r, |set| {
                            match socket.elements(NFPROTO_IPV4, TABLE, set) {
                                Ok(e) => e.unwrap_or_default(),
                                Err(e) => {
                                    failed.get_or_insert(e);
                                    Vec::new()
                                }
                            }
                        })
                    })
                    .collect();
                if let Some(e) = failed {
                    return Err(e.into());
                }
                Some(rules)
            }
            None => None,
        };
        self.chains.insert(name.to_string(), rules.clone());
        Ok(rules)
    }

    fn set_timeout(&mut self, name: &str) -> Result<Option<u32>, NftReadError> {
        let ms = self.socket.set_timeout_ms(NFPROTO_IPV4, TABLE, name)?;
        Ok(ms.and_then(|ms| u32::try_from(ms / 1000).ok()))
    }
}
