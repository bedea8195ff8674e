//! The outcomes a server serves with: the store (`--store`), the contact rules, and an index of
//! every stored outcome in memory that the work list consults on each request. An outcome
//! recorded through this server is in the index as soon as it is acknowledged; outcomes other
//! servers stored in the same database are read before each work list: when the store holds
//! more outcomes than the index, everything recorded since this server last looked, with an
//! overlap for clocks and slow commits (the index keeps one copy of each id).

use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, Ordering};

use lapse_retention::contact::{ContactRules, OutcomeIndex};
use lapse_retention::outcomes::Outcome;
use lapse_store::{Recorded, Store, StoreError};

/// How far back a catch-up reads before the last one: covers servers' clocks a little apart and
/// a transaction that commits after a later one started.
pub const CATCH_UP_OVERLAP_MS: i64 = 10_000;

/// The store, the rules and the index.
pub struct OutcomeBook {
    pub store: Store,
    pub rules: ContactRules,
    index: RwLock<OutcomeIndex>,
    /// When this server last read what others recorded (its clock, ms).
    synced_ms: AtomicI64,
}

impl std::fmt::Debug for OutcomeBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutcomeBook").field("store", &self.store.url()).finish()
    }
}

impl OutcomeBook {
    /// Opens the store at `url` and reads every outcome it holds.
    pub async fn open(url: &str, rules: ContactRules) -> Result<OutcomeBook, StoreError> {
        let store = Store::open(url).await?;
        let now = crate::score_log::now_ms() as i64;
        let all = store.recorded_since(0).await?;
        tracing::info!(store = %store.url(), outcomes = all.len(), "outcome store opened");
        Ok(OutcomeBook { store, rules, index: RwLock::new(OutcomeIndex::new(all)), synced_ms: AtomicI64::new(now) })
    }

    /// Stores a checked batch and adds it to the index.
    pub async fn record(&self, batch: Vec<Outcome>) -> Result<Recorded, StoreError> {
        let recorded = self.store.record(&batch, crate::score_log::now_ms() as i64).await?;
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        for outcome in batch {
            index.add(outcome);
        }
        Ok(recorded)
    }

    /// Reads what other servers recorded since the last look (with the overlap).
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let now = crate::score_log::now_ms() as i64;
        // Nothing recorded elsewhere (the store holds what the index holds): nothing to read.
        let stored = self.store.count().await?;
        if usize::try_from(stored).is_ok_and(|n| n == self.index().len()) {
            self.synced_ms.store(now, Ordering::Relaxed);
            return Ok(());
        }
        let since = self.synced_ms.load(Ordering::Relaxed) - CATCH_UP_OVERLAP_MS;
        let fresh = self.store.recorded_since(since).await?;
        if !fresh.is_empty() {
            let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
            for outcome in fresh {
                index.add(outcome);
            }
        }
        self.synced_ms.store(now, Ordering::Relaxed);
        Ok(())
    }

    /// Reads the index (the work list holds it while it selects).
    pub fn index(&self) -> std::sync::RwLockReadGuard<'_, OutcomeIndex> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }
}
