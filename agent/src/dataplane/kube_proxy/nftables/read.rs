//! kube-proxy's nftables objects from this node's kernel, in the calling thread's network
//! namespace: map and set elements over nf_tables netlink (one keyed get each), chains with
//! `nft -j list chain ip kube-proxy NAME` (a few ms each, whatever the table's size).

use std::collections::HashMap;
use std::time::Duration;

use super::{NftSource, TABLE};
use crate::dataplane::netfilter::command::{CommandError, Tool, run};
use crate::dataplane::netfilter::nftables::rule::{JsonError, NftRule, parse_listing, set_timeout};
use crate::kernel::netlink::NetlinkError;
use crate::kernel::nftables::msg::NFPROTO_IPV4;
use crate::kernel::nftables::{NftSocket, SetElement};

/// Why kube-proxy's nftables objects could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NftReadError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("`nft -j list {object}`: {source}")]
    Json {
        object: String,
        #[source]
        source: JsonError,
    },
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
    /// How many `nft` runs this reader made (for tests and benchmarks).
    pub runs: usize,
}

impl NodeNft {
    pub fn open(timeout: Duration) -> Result<NodeNft, NftReadError> {
        Ok(NodeNft {
            socket: NftSocket::open(timeout)?,
            chains: HashMap::new(),
            runs: 0,
        })
    }

    fn list(&mut self, kind: &str, name: &str) -> Result<Option<Vec<u8>>, NftReadError> {
        self.runs += 1;
        Ok(run(&NFT, &["-j", "list", kind, "ip", TABLE, name])?)
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
        let rules = match self.list("chain", name)? {
            Some(json) => Some(parse_listing(&json).map_err(|source| NftReadError::Json {
                object: format!("chain ip {TABLE} {name}"),
                source,
            })?),
            None => None,
        };
        self.chains.insert(name.to_string(), rules.clone());
        Ok(rules)
    }

    fn set_timeout(&mut self, name: &str) -> Result<Option<u32>, NftReadError> {
        Ok(self.list("set", name)?.and_then(|json| set_timeout(&json)))
    }
}
