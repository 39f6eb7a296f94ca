//! The CNI config files in a node's `/etc/cni/net.d`, as the container runtime reads them: the
//! first file (by name) with a network in it is the one in force. Parsing is pure; reading goes
//! through the confined reader, and whatever cannot be read is no evidence, never an error.

use std::path::Path;

use crate::kernel::file::{list_in_root, read_in_root};

/// Where the runtime looks, relative to the host's root.
pub const CONFIG_DIR: &str = "etc/cni/net.d";
/// More files than any node holds; a directory stuffed with thousands is not read through.
const MAX_FILES: usize = 32;
/// A conflist is a few hundred bytes; Calico's, the largest, about 1.5 KiB.
const MAX_BYTES: u64 = 64 * 1024;

/// One config file: its name and the plugin types it chains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CniConfig {
    /// `10-flannel.conflist`.
    pub file: String,
    /// `type` of the network (a `.conf`) or of each plugin (a `.conflist`), in order:
    /// `["flannel", "portmap"]`. Empty when the file is no JSON config.
    pub types: Vec<String>,
    /// The `bridge` a `bridge` plugin names (`cni0`, kube-router's `kube-bridge`).
    pub bridge: Option<String>,
}

impl CniConfig {
    /// Parse `bytes` of the file `file` (pure). A file that is no JSON object keeps no types.
    pub fn parse(file: &str, bytes: &[u8]) -> CniConfig {
        let mut config = CniConfig {
            file: file.to_string(),
            types: Vec::new(),
            bridge: None,
        };
        let Ok(serde_json::Value::Object(top)) = serde_json::from_slice(bytes) else {
            return config;
        };
        let plugins: Vec<&serde_json::Map<String, serde_json::Value>> = match top.get("plugins") {
            Some(serde_json::Value::Array(list)) => {
                list.iter().filter_map(|p| p.as_object()).collect()
            }
            _ => vec![&top],
        };
        for p in plugins {
            if let Some(t) = p.get("type").and_then(|t| t.as_str()) {
                config.types.push(t.to_string());
            }
            if let Some(b) = p.get("bridge").and_then(|b| b.as_str()) {
                config.bridge.get_or_insert_with(|| b.to_string());
            }
        }
        config
    }

    /// The CNI this file configures, by its plugins' types (and kube-router's bridge name).
    pub fn cni(&self) -> Option<&'static str> {
        let has = |t: &str| self.types.iter().any(|x| x == t);
        if has("flannel") {
            Some("flannel")
        } else if has("calico") {
            Some("calico")
        } else if has("cilium-cni") {
            Some("cilium")
        } else if has("weave-net") {
            Some("weave")
        } else if has("cni-kindnet") || (has("ptp") && self.file.contains("kindnet")) {
            Some("kindnet")
        } else if self.bridge.as_deref() == Some("kube-bridge") {
            Some("kube-router")
        } else if has("bridge") {
            Some("bridge")
        } else {
            None
        }
    }

    /// `/etc/cni/net.d/10-flannel.conflist (flannel, portmap)`.
    pub fn describe(&self) -> String {
        format!("/{CONFIG_DIR}/{} ({})", self.file, self.types.join(", "))
    }
}

/// Whether the runtime would load `name`: libcni takes `.conf`, `.conflist` and `.json`.
fn is_config(name: &str) -> bool {
    [".conf", ".conflist", ".json"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// The config files the runtime would consider, in its order, read inside `host_root` (the
/// host's `/`, e.g. `/proc/1/root`). An unreadable directory or file is left out.
pub fn read_configs(host_root: &Path) -> Vec<CniConfig> {
    let Ok(names) = list_in_root(host_root, CONFIG_DIR, MAX_FILES) else {
        return Vec::new();
    };
    names
        .iter()
        .filter(|n| is_config(n))
        .filter_map(|n| {
            let bytes = read_in_root(host_root, &format!("{CONFIG_DIR}/{n}"), MAX_BYTES).ok()?;
            Some(CniConfig::parse(n, &bytes))
        })
        .collect()
}

/// The file in force: the first with a network in it.
pub fn in_force(configs: &[CniConfig]) -> Option<&CniConfig> {
    configs.iter().find(|c| !c.types.is_empty())
}
