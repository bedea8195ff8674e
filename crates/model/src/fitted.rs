//! What a model was fitted on: the renewals (policy, installment) of its training table, kept
//! with the model in the registry (`fitted.keys`, checksummed in the manifest), so that a later
//! comparison can leave out every renewal a model already learnt the outcome of.
//!
//! A registered model saw every labelled row of its table: refit on all of them, or (without
//! refit) fitted on the earlier snapshots and calibrated on the later ones. The same renewal sits
//! in several monthly snapshots (due in [T - grace, T + horizon]) with the same outcome, so a
//! champion refit last month knows most of the outcomes of tonight's validation snapshots.
//!
//! Keys are stored as the sorted 64-bit FNV-1a hashes of `policy_id \xff installment_no`: 8 bytes
//! a renewal (a 1M-policy book's window, ~1.2M renewals, is ~10 MB), exact membership up to a
//! hash collision (with 10^6 keys and 10^5 queries, about 10^-8 for one false "seen").

use std::fs;
use std::path::Path;

use lapse_core::io_util::{IoContext, atomic_write};

/// The file in a version directory.
pub const FITTED: &str = "fitted.keys";

const MAGIC: &[u8; 16] = b"lapse-fitted-v1\n";

/// A set of renewals, by key hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FittedRenewals {
    /// Sorted, deduplicated key hashes.
    hashes: Vec<u64>,
}

/// The hash of one renewal's key.
pub fn renewal_key(policy_id: &str, installment_no: i64) -> u64 {
    let number = installment_no.to_string();
    lapse_core::hash::fnv1a(0x6669_7474_6564, policy_id.bytes().chain(std::iter::once(0xff)).chain(number.bytes()))
}

/// The key hash of a table row's renewal, when the table names its renewals (`policy_id` and
/// `installment_no`).
pub fn row_key(data: &crate::dataset::Dataset, row: usize) -> Option<u64> {
    Some(renewal_key(data.group.as_ref()?.get(row)?, *data.installment_no.as_ref()?.get(row)?))
}

/// A fitted-renewals file that cannot be read (a registry file: not the caller's input).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{reason}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
pub struct FittedFileError {
    pub path: Option<std::path::PathBuf>,
    pub reason: String,
}

impl FittedRenewals {
    /// The renewals of `rows` of a table with keys (`policy_id`, `installment_no`).
    pub fn of_rows(policy_id: &[String], installment_no: &[i64], rows: impl IntoIterator<Item = usize>) -> Self {
        let mut hashes: Vec<u64> = rows.into_iter().map(|r| renewal_key(&policy_id[r], installment_no[r])).collect();
        hashes.sort_unstable();
        hashes.dedup();
        FittedRenewals { hashes }
    }

    /// Distinct renewals in the set.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether the renewal with this key hash is in the set.
    pub fn contains(&self, key: u64) -> bool {
        self.hashes.binary_search(&key).is_ok()
    }

    /// The file's bytes: a magic line, the count, then each hash, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAGIC.len() + 8 * (self.hashes.len() + 1));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.hashes.len() as u64).to_le_bytes());
        for h in &self.hashes {
            out.extend_from_slice(&h.to_le_bytes());
        }
        out
    }

    /// Reads [`FittedRenewals::to_bytes`] back; says what is wrong with a file that is not one.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FittedFileError> {
        Self::parse(bytes).map_err(|reason| FittedFileError { path: None, reason })
    }

    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let body = bytes.strip_prefix(MAGIC.as_slice()).ok_or("not a fitted-renewals file (bad header)")?;
        if body.len() < 8 {
            return Err("truncated: no count".into());
        }
        let count = u64::from_le_bytes(body[..8].try_into().expect("8 bytes")) as usize;
        let rest = &body[8..];
        if rest.len() != count.saturating_mul(8) {
            return Err(format!("truncated or padded: {count} keys announced, {} bytes of keys", rest.len()));
        }
        let hashes: Vec<u64> = rest.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
        if hashes.windows(2).any(|w| w[0] >= w[1]) {
            return Err("keys not sorted".into());
        }
        Ok(FittedRenewals { hashes })
    }

    /// Writes the set atomically.
    pub fn write(&self, path: &Path) -> Result<(), IoContext> {
        let bytes = self.to_bytes();
        atomic_write(path, |w| w.write_all(&bytes))
    }

    /// Reads a set written by [`FittedRenewals::write`].
    pub fn read(path: &Path) -> Result<Self, FittedFileError> {
        let fail = |reason: String| FittedFileError { path: Some(path.to_path_buf()), reason };
        let bytes = fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        Self::parse(&bytes).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_answers_membership() {
        let ids: Vec<String> = ["P1", "P1", "P2", "P1"].iter().map(|s| s.to_string()).collect();
        let numbers = vec![2, 3, 2, 2];
        let set = FittedRenewals::of_rows(&ids, &numbers, 0..4);
        assert_eq!(set.len(), 3, "P1/2 twice counts once");
        assert!(set.contains(renewal_key("P1", 3)));
        assert!(!set.contains(renewal_key("P2", 3)));
        // The separator keeps ("P1", 23) apart from ("P12", 3).
        assert_ne!(renewal_key("P1", 23), renewal_key("P12", 3));
        let back = FittedRenewals::from_bytes(&set.to_bytes()).unwrap();
        assert_eq!(back, set);
        let bytes = set.to_bytes();
        assert!(FittedRenewals::from_bytes(&bytes[..bytes.len() - 3]).unwrap_err().reason.contains("truncated"));
        assert!(FittedRenewals::from_bytes(b"hello").unwrap_err().reason.contains("header"));
    }
}
