//! Hop kinds and verdicts. Both read values this version does not know (a newer agent or
//! controller wrote them) instead of failing the whole report or status.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares the known hop kinds once: the enum, their names and the lookup by name.
macro_rules! hop_kinds {
    ($($(#[$doc:meta])* $name:ident,)* ; $(#[$odoc:meta])* Other; $(#[$ldoc:meta])* $last:ident,) => {
        /// The vocabulary of hop kinds. The order of the variants is the order along a path.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum HopKind {
            $($(#[$doc])* $name,)*
            $(#[$odoc])*
            Other(String),
            $(#[$ldoc])*
            $last,
        }

        impl HopKind {
            /// Every known kind, in path order.
            pub const ALL: &'static [HopKind] = &[$(HopKind::$name,)* HopKind::$last];

            /// The CamelCase name, as it appears in a report or a status.
            pub fn as_str(&self) -> &str {
                match self {
                    $(HopKind::$name => stringify!($name),)*
                    HopKind::$last => stringify!($last),
                    HopKind::Other(name) => name,
                }
            }

            /// A bounded label for metrics: the name of a known kind, `Other` for any unknown one.
            pub fn label(&self) -> &'static str {
                match self {
                    $(HopKind::$name => stringify!($name),)*
                    HopKind::$last => stringify!($last),
                    HopKind::Other(_) => "Other",
                }
            }

            /// The kind of that name: a known variant, else [`HopKind::Other`].
            pub fn from_name(name: &str) -> HopKind {
                match name {
                    $(stringify!($name) => HopKind::$name,)*
                    stringify!($last) => HopKind::$last,
                    other => HopKind::Other(other.to_string()),
                }
            }
        }
    };
}

hop_kinds! {
    PodInterface,
    HostVeth,
    Bridge,
    NodeSettings,
    ServiceRules,
    /// The rules the probe's own packets met (nf_tables tracing): which one dropped them.
    Firewall,
    Conntrack,
    Route,
    Tunnel,
    NodeInterface,
    Listener,
    /// After the path: a DNS failure is more often a consequence of a broken hop (kube-dns
    /// sits behind the same routes and rules) than a cause of one.
    Dns,
    ;
    /// A kind this version does not know, kept by its name. It sorts after every known hop and
    /// before Connect: the connect stays the last word of a path.
    Other;
    /// The end-to-end symptom: last, so a broken hop before it reads as the cause.
    Connect,
}

impl fmt::Display for HopKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for HopKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HopKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(HopKind::from_name(&name))
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for HopKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HopKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // A plain string, not an enum: a newer agent's hop kind must not fail an older CRD.
        schemars::json_schema!({
            "type": "string",
            "description": "The hop's kind, in path order: PodInterface, HostVeth, Bridge, NodeSettings, ServiceRules, Conntrack, Route, Tunnel, NodeInterface, Listener, Dns, Connect."
        })
    }
}

/// How a hop looks.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Verdict {
    /// Informational: nothing to judge.
    Info,
    Ok,
    /// Works, but something is off and may bite.
    Warn,
    /// Broken: traffic cannot pass here.
    Fail,
    /// A verdict this version does not know (a newer agent wrote it). It ranks below Info, so
    /// it never passes for a failure.
    #[serde(other)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    Unknown,
}

impl Verdict {
    /// How bad: Unknown < Info < Ok < Warn < Fail.
    fn rank(self) -> u8 {
        match self {
            Verdict::Unknown => 0,
            Verdict::Info => 1,
            Verdict::Ok => 2,
            Verdict::Warn => 3,
            Verdict::Fail => 4,
        }
    }
}

impl PartialOrd for Verdict {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Verdict {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Unknown => "Unknown",
            Verdict::Info => "Info",
            Verdict::Ok => "Ok",
            Verdict::Warn => "Warn",
            Verdict::Fail => "Fail",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_kind_keeps_its_name_and_sorts_just_before_connect() {
        let k: HopKind = serde_json::from_str("\"Capture\"").unwrap_or(HopKind::Bridge);
        assert_eq!(k, HopKind::Other("Capture".into()));
        assert_eq!(serde_json::to_string(&k).unwrap_or_default(), "\"Capture\"");
        assert!(k > HopKind::Dns && k < HopKind::Connect);
        for known in HopKind::ALL {
            assert_eq!(&HopKind::from_name(known.as_str()), known);
        }
    }

    #[test]
    fn an_unknown_verdict_reads_as_unknown() {
        let v: Verdict = serde_json::from_str("\"Skipped\"").unwrap_or(Verdict::Fail);
        assert_eq!(v, Verdict::Unknown);
        assert!(v < Verdict::Info);
    }
}
