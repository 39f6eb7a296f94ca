# syntax=docker/dockerfile:1
# One image for netdiag-controller and netdiag-agent.
#   docker build -t ghcr.io/netdiag/netdiag:0.1.0 .
# The controller runs from it as a non-root user; the agent pods the controller creates run the
# same image as root with a few capabilities (see `netdiag-controller render-agent-pod`).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p netdiag-controller -p netdiag-agent \
 && install -D -m 0755 target/release/netdiag-controller /out/netdiag-controller \
 && install -D -m 0755 target/release/netdiag-agent /out/netdiag-agent

FROM debian:bookworm-slim
# The agent lists kube-proxy's nf_tables-backend rules with iptables-nft and its nftables-mode
# chains with nft (elements it asks the kernel for itself); legacy tables and IPVS it reads from
# the kernel directly.
# No iproute2: the agent speaks netlink itself.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables nftables ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/netdiag-controller /out/netdiag-agent /usr/local/bin/
# The controller's user; the agent pod's securityContext sets runAsUser: 0.
RUN groupadd --system --gid 65532 netdiag \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin netdiag
USER 65532:65532
ENTRYPOINT []
CMD ["netdiag-controller", "run"]
