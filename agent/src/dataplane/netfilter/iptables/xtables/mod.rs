//! Legacy iptables rules read straight from the kernel (x_tables over `getsockopt`), not from
//! `iptables-legacy-save`'s text. The kernel hands over a whole table either way; what the tool
//! adds is formatting every rule, some 0.7 s at 10,000 Services, of which a lookup for one VIP
//! needs a few hundred rules. Here the table is indexed by chain in one pass over the entry
//! headers and only the chains the walker reaches are decoded.

mod extensions;
mod layout;
mod socket;
mod table;

use std::collections::HashMap;

pub use socket::{FetchError, LegacySocket};
pub use table::{Malformed, Table, TableInfo};

use super::ChainSource;
use super::rule::Rule;

/// The legacy tables of the current network namespace, each fetched on first use.
pub struct LegacyTables {
    socket: LegacySocket,
    tables: HashMap<String, Option<Table>>,
}

impl LegacyTables {
    pub fn open() -> Result<LegacyTables, FetchError> {
        Ok(LegacyTables {
            socket: LegacySocket::open()?,
            tables: HashMap::new(),
        })
    }

    /// `table`, fetched once; `None` when the kernel has no such legacy table.
    pub fn table(&mut self, table: &str) -> Result<Option<&Table>, FetchError> {
        if !self.tables.contains_key(table) {
            let fetched = self.socket.table(table)?;
            self.tables.insert(table.to_string(), fetched);
        }
        Ok(self.tables.get(table).and_then(Option::as_ref))
    }
}

impl ChainSource for LegacyTables {
    type Error = FetchError;
    fn chain(&mut self, table: &str, name: &str) -> Result<Option<Vec<Rule>>, FetchError> {
        match self.table(table)? {
            Some(t) => Ok(t.rules(name).transpose()?),
            None => Ok(None),
        }
    }
}

/// One table on its own (a fixture, say): chains of other tables do not exist.
impl ChainSource for Table {
    type Error = Malformed;
    fn chain(&mut self, table: &str, name: &str) -> Result<Option<Vec<Rule>>, Malformed> {
        if table != self.name() {
            return Ok(None);
        }
        self.rules(name).transpose()
    }
}
