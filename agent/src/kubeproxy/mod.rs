//! kube-proxy's programmed state: iptables (legacy and nft backends), the walker, the generator.
