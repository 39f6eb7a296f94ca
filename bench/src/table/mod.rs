//! The B1-B5 table: each line with its measurement, its target and a met/missed mark. The rows
//! of each benchmark family are rendered in their own module.

mod b1;
mod criterion;
mod runs;

use std::path::Path;

use crate::b1::B1Row;
use crate::b1_nft::NftRow;
use crate::b3::B3;
use crate::b4::B4;
use crate::b5::B5;
use crate::error::BenchError;
use crate::ipvs::IpvsBench;

pub use criterion::{B2, criterion_median_ns, read_criterion};

fn mb(kb: i64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

fn mark(met: bool) -> String {
    if met { "met" } else { "MISSED" }.into()
}

pub struct Results {
    pub b1: Option<Vec<B1Row>>,
    pub ipvs: Option<IpvsBench>,
    pub nftables: Option<Vec<NftRow>>,
    pub b2: Vec<B2>,
    /// B3 in the bridge lab.
    pub b3: Option<B3>,
    /// B3 in the vxlan lab, with the MTU probe's cost.
    pub b3_vxlan: Option<B3>,
    pub b4: Option<B4>,
    pub b5: Option<B5>,
    /// Criterion's median of the pure join over 250 namespaces, in ns.
    pub b5_join_ns: Option<f64>,
}

pub fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, BenchError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BenchError::io("read", path)(e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| BenchError::Json {
            what: path.display().to_string(),
            source,
        })
}

pub fn render(r: &Results) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "".into(),
        "measurement".into(),
        "target".into(),
        "result".into(),
    ]];
    let legacy_dump_ms = b1::b1_rows(r, &mut rows);
    b1::nft_rows(r, &mut rows);
    b1::ipvs_rows(r, &mut rows);
    criterion::b2_rows(r, legacy_dump_ms, &mut rows);
    runs::b3_rows(r, &mut rows);
    runs::b4_rows(r, &mut rows);
    runs::b5_rows(r, &mut rows);
    let mut widths = [0; 4];
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
impl Results {
    /// Nothing run: every row says so.
    pub(crate) fn none() -> Results {
        Results {
            b1: None,
            ipvs: None,
            nftables: None,
            b2: Vec::new(),
            b3: None,
            b3_vxlan: None,
            b4: None,
            b5: None,
            b5_join_ns: None,
        }
    }
}
