//! The outcomes a server serves with: the store (`--store`), the contact rules, and an index of
//! every stored outcome in memory that the work list consults on each request. An outcome
//! recorded through this server is in the index as soon as it is acknowledged; outcomes other
//! servers stored in the same database are read before each work list: when the store holds
//! more outcomes than the index, everything recorded since this server last looked, with an
//! overlap for clocks and slow commits (the index keeps one copy of each id). The customers
//! campaigns hold out are kept the same way: read at open, added when this server creates a
//! campaign, read again when the store holds another number of them.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use crate::scorebook::Scorebook;
use lapse_core::dates::Day;
use lapse_retention::contact::{ContactRules, OutcomeIndex};
use lapse_retention::outcomes::Outcome;
use lapse_retention::worklist::{CustomerOrder, RuleVerdicts};
use lapse_store::{Holdout, Recorded, Store, StoreError};

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
    /// Every campaign holdout stored, and how many rows the store held when read.
    holdouts: RwLock<(Arc<Vec<Holdout>>, i64)>,
    /// The rules compiled per served order (kept between lists, updated for the customers whose
    /// outcomes changed).
    verdicts: Mutex<Vec<CompiledVerdicts>>,
    /// The Today page's morning list, kept between views.
    morning: Mutex<Option<MorningList>>,
}

/// A day's morning list and what it was built from (the Today page).
struct MorningList {
    book: Weak<Scorebook>,
    day: Day,
    capacity: String,
    /// Outcomes dated before the day, and customers held out, when it was built.
    before: usize,
    held_out: usize,
    list: Arc<lapse_retention::WorkList>,
}

/// The rules compiled over one order of one scored snapshot, at an index generation.
struct CompiledVerdicts {
    book: Weak<Scorebook>,
    order: String,
    generation: usize,
    verdicts: Arc<RuleVerdicts>,
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
        let count = store.holdout_count().await?;
        let holdouts = store.holdouts_open(Day::MIN).await?;
        tracing::info!(store = %store.url(), outcomes = all.len(), holdouts = holdouts.len(), "outcome store opened");
        Ok(OutcomeBook {
            store,
            rules,
            index: RwLock::new(OutcomeIndex::new(all)),
            synced_ms: AtomicI64::new(now),
            holdouts: RwLock::new((Arc::new(holdouts), count)),
            verdicts: Mutex::new(Vec::new()),
            morning: Mutex::new(None),
        })
    }

    /// The rules' verdicts over `order` of `book` on its date: compiled once, then updated for
    /// the customers whose outcomes arrived since (a list with 100,000 outcomes costs little more
    /// than one without).
    pub fn verdicts(&self, book: &Arc<Scorebook>, order: &CustomerOrder, economics: &lapse_retention::Economics) -> Arc<RuleVerdicts> {
        let index = self.index();
        let mut cache = self.verdicts.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|c| c.book.strong_count() > 0);
        let at = cache.iter().position(|c| c.book.upgrade().is_some_and(|b| Arc::ptr_eq(&b, book)) && c.order == order.name());
        match at {
            Some(i) => {
                let c = &mut cache[i];
                if c.generation != index.generation() {
                    let fresh: std::collections::HashSet<&str> = index.touched_since(c.generation).collect();
                    Arc::make_mut(&mut c.verdicts).update(&self.rules, &index, fresh, order, &book.rows, economics);
                    c.generation = index.generation();
                }
                Arc::clone(&c.verdicts)
            }
            None => {
                let verdicts = Arc::new(RuleVerdicts::new(&self.rules, &index, order, &book.rows, economics, book.as_of));
                cache.push(CompiledVerdicts {
                    book: Arc::downgrade(book),
                    order: order.name().to_string(),
                    generation: index.generation(),
                    verdicts: Arc::clone(&verdicts),
                });
                verdicts
            }
        }
    }

    /// The list `book` began `day` with under a capacity (`key`: its canonical text): kept
    /// between views until the book, the day, the capacity, the open holdouts or the outcomes
    /// dated before the day (in `index`, read by the caller) change; `build` makes it.
    pub fn morning_list(
        &self,
        book: &Arc<Scorebook>,
        day: Day,
        key: &str,
        held_out: usize,
        index: &OutcomeIndex,
        build: impl FnOnce() -> lapse_retention::WorkList,
    ) -> Arc<lapse_retention::WorkList> {
        let before = lapse_retention::worklist::today::outcomes_before(index, day);
        let mut kept = self.morning.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = kept.as_ref()
            && m.book.upgrade().is_some_and(|b| Arc::ptr_eq(&b, book))
            && (m.day, m.capacity.as_str(), m.before, m.held_out) == (day, key, before, held_out)
        {
            return Arc::clone(&m.list);
        }
        let list = Arc::new(build());
        *kept = Some(MorningList { book: Arc::downgrade(book), day, capacity: key.to_string(), before, held_out, list: Arc::clone(&list) });
        list
    }

    /// Records the customers `campaign` holds out until `until`, and keeps them in memory.
    pub async fn hold_out(&self, campaign: &str, customers: &[String], until: Day) -> Result<usize, StoreError> {
        let added = self.store.hold_out(campaign, customers, until, crate::score_log::now_ms() as i64).await?;
        self.reread_holdouts().await?;
        Ok(added)
    }

    async fn reread_holdouts(&self) -> Result<(), StoreError> {
        let count = self.store.holdout_count().await?;
        let all = self.store.holdouts_open(Day::MIN).await?;
        *self.holdouts.write().unwrap_or_else(|e| e.into_inner()) = (Arc::new(all), count);
        Ok(())
    }

    /// The customers held out by campaigns whose window is open on `day`, but `except` (the
    /// campaign being planned).
    pub fn holdouts_open(&self, day: Day, except: Option<&str>) -> Vec<String> {
        let all = Arc::clone(&self.holdouts.read().unwrap_or_else(|e| e.into_inner()).0);
        all.iter().filter(|h| h.until >= day && except != Some(h.campaign.as_str())).map(|h| h.customer_id.clone()).collect()
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
        let known = self.holdouts.read().unwrap_or_else(|e| e.into_inner()).1;
        if self.store.holdout_count().await? != known {
            self.reread_holdouts().await?;
        }
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

/// The contact rules in force for a list over `order` of `book`: the compiled `verdicts` (None
/// without a store: the orphan rule only) and the customers open campaigns hold out, but those of
/// `except` (the campaign being planned).
pub fn contacts_in_force<'a>(
    outcomes: Option<&OutcomeBook>,
    verdicts: Option<&'a RuleVerdicts>,
    rules: &ContactRules,
    book: &Scorebook,
    order: &CustomerOrder,
    economics: &lapse_retention::Economics,
    except: Option<&str>,
) -> lapse_retention::worklist::Contacts<'a> {
    let verdicts = match verdicts {
        Some(v) => std::borrow::Cow::Borrowed(v),
        None => std::borrow::Cow::Owned(RuleVerdicts::default()),
    };
    let mut contacts = lapse_retention::worklist::Contacts::compiled(verdicts, rules, order, economics);
    if let Some(outcomes) = outcomes {
        contacts.hold_out(outcomes.holdouts_open(book.as_of, except), &book.rows, order);
    }
    contacts
}
