//! Campaigns in the API: `GET /v1/queue?campaign=NAME&holdout=F` serves the treatment arm of a
//! campaign's work list (control renewals never appear on it), and `GET /v1/campaigns/NAME`
//! returns the stored assignment. The campaign is planned exactly as `lapse queue` plans it
//! (same work list, same keyed-hash arms) and kept in the campaigns directory the command
//! shares, so the batch file and the API agree renewal for renewal.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use axum::http::StatusCode;

use super::error::ApiError;
use super::pool::on_compute_pool;
use super::scorebook::Scorebook;
use lapse_retention::Contact;
use lapse_retention::RankBy;
use lapse_retention::campaign::{Arm, CampaignRequest, CampaignStore, Planned, StoreError, Stored, plan};

/// A campaign being served: its treatment arm as rows of one scored snapshot.
pub struct ServedCampaign {
    /// The request's settings as text: the same text, the same campaign.
    key: String,
    book: Weak<Scorebook>,
    pub name: Arc<str>,
    pub holdout: f64,
    /// Contacts the list could make (before the capacity).
    pub matching: usize,
    /// The treatment arm's contacts in rank order (`rank` renumbered 1..).
    pub treatment: Vec<Contact>,
    /// Contacts held out.
    pub control: usize,
    /// What the contact rules kept off the campaign when it was planned.
    pub held: lapse_retention::contact::HeldBack,
}

/// The campaigns the server has planned, by name, and the directory they are kept in.
pub struct Campaigns {
    pub store: CampaignStore,
    served: std::sync::Mutex<HashMap<String, Arc<ServedCampaign>>>,
    /// One campaign created at a time (check-then-save must not interleave).
    creating: tokio::sync::Mutex<()>,
    /// Campaigns a caller may create per UTC day, and what each created today (the caller is
    /// a digest of its token): each campaign writes its assignment to disk and both arms to the
    /// score log, so a scoring token could otherwise fill the disk (2,000 names in 9 s wrote
    /// 95 MB).
    max_per_day: usize,
    created: std::sync::Mutex<(lapse_core::dates::Day, HashMap<String, usize>)>,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => ApiError::new(StatusCode::CONFLICT, "campaign_conflict", e.to_string()).with_field("campaign"),
            StoreError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            StoreError::Name(_) => ApiError::invalid("campaign", e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl Campaigns {
    pub fn new(store: CampaignStore, max_per_day: usize) -> Self {
        Campaigns {
            store,
            served: Default::default(),
            creating: tokio::sync::Mutex::new(()),
            max_per_day,
            created: std::sync::Mutex::new((0, HashMap::new())),
        }
    }

    /// Campaigns `caller` created today, resetting the counts at a new UTC day.
    fn created_today(&self, caller: &str) -> usize {
        let today = lapse_core::dates::today_utc();
        let mut created = self.created.lock().expect("not poisoned");
        if created.0 != today {
            *created = (today, HashMap::new());
        }
        created.1.get(caller).copied().unwrap_or(0)
    }

    fn count_created(&self, caller: &str) {
        let mut created = self.created.lock().expect("not poisoned");
        *created.1.entry(caller.to_string()).or_default() += 1;
    }

    fn cached(&self, name: &str, key: &str, book: &Arc<Scorebook>) -> Option<Arc<ServedCampaign>> {
        let served = self.served.lock().expect("not poisoned");
        served.get(name).filter(|c| c.key == key && c.book.upgrade().is_some_and(|b| Arc::ptr_eq(&b, book))).cloned()
    }

    /// The campaign `request` asks for on `book`: planned (off the async workers) and stored
    /// when new, checked against the stored settings otherwise. Returns it, with the whole
    /// plan when it was created by this call (to be logged, both arms).
    pub async fn serve(
        &self,
        request: &CampaignRequest<'_>,
        book: &Arc<Scorebook>,
        rank_by: RankBy,
        economics: &lapse_retention::Economics,
        outcomes: Option<Arc<crate::outcomes::OutcomeBook>>,
        rules: &lapse_retention::contact::ContactRules,
        caller: &str,
    ) -> Result<(Arc<ServedCampaign>, Option<Planned>), ApiError> {
        let action_names: Vec<&str> = economics.actions.iter().map(|a| a.name.as_str()).collect();
        let key = format!("{}|{}|{}|{}", rank_by.as_str(), request.holdout, request.capacity.canonical(&action_names), request.filters.canonical());
        if let Some(hit) = self.cached(request.name, &key, book) {
            return Ok((hit, None));
        }
        let _one = self.creating.lock().await;
        if let Some(hit) = self.cached(request.name, &key, book) {
            return Ok((hit, None));
        }
        let in_shared_store = match &outcomes {
            Some(o) => o.store.campaign_settings(request.name).await.map_err(ApiError::internal)?.is_some(),
            None => false,
        };
        let new_name = self.store.record(request.name)?.is_none() && !in_shared_store;
        if new_name && self.created_today(caller) >= self.max_per_day {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_campaigns",
                format!(
                    "this token created {} campaigns today (UTC), the most allowed (--max-campaigns-per-day); existing campaigns are still served",
                    self.max_per_day
                ),
            )
            .with_field("campaign"));
        }
        let (name, holdout, capacity, filters) = (request.name.to_string(), request.holdout, request.capacity.clone(), request.filters.clone());
        let (planned_book, planned_economics, store, rules) = (Arc::clone(book), economics.clone(), self.store.clone(), rules.clone());
        let store_outcomes = outcomes.clone();
        let planned = on_compute_pool(move || -> Result<Planned, ApiError> {
            let request = CampaignRequest { name: &name, holdout, capacity: &capacity, filters: &filters };
            let b = &planned_book;
            let order = match rank_by {
                RankBy::Risk => &b.queue,
                RankBy::Uplift => b.uplift.as_ref().ok_or_else(|| {
                    ApiError::new(StatusCode::CONFLICT, "no_uplift_learner", "rank_by=uplift: no uplift learner is registered with the served models")
                        .with_field("rank_by")
                })?,
            };
            // The rules, and other campaigns' control customers kept out of this one.
            let verdicts = outcomes.as_ref().map(|o| o.verdicts(b, order, &planned_economics));
            let contacts =
                crate::outcomes::contacts_in_force(outcomes.as_deref(), verdicts.as_deref(), &rules, b, order, &planned_economics, Some(&name));
            let planned = plan(&request, &b.rows, order, &planned_economics, Some(&contacts), b.as_of, &b.version).map_err(|e| {
                ApiError::invalid(if matches!(e, lapse_retention::campaign::SettingsError::Name(_)) { "campaign" } else { "holdout" }, e.to_string())
            })?;
            // A name this directory binds to other settings: refused before anything is written.
            store.check(&planned.campaign.settings)?;
            Ok(planned)
        })
        .await??;
        // With an outcome store, the store binds the name (for every server sharing it) and
        // keeps the assignment; the directory keeps its copy for the nightly's effect reports.
        let shared = match &store_outcomes {
            Some(o) => Some(
                o.store.save_campaign(&planned.campaign, &lapse_core::dates::now_utc_rfc3339(), crate::score_log::now_ms() as i64).await.map_err(
                    |e| match e {
                        lapse_store::StoreError::CampaignConflict { .. } => {
                            ApiError::new(StatusCode::CONFLICT, "campaign_conflict", e.to_string()).with_field("campaign")
                        }
                        other => ApiError::internal(other),
                    },
                )?,
            ),
            None => None,
        };
        let (campaign_copy, directory) = (planned.campaign.clone(), self.store.clone());
        let in_directory = on_compute_pool(move || directory.save(&campaign_copy)).await??;
        let stored = shared.unwrap_or(in_directory);
        // Its control customers stay off every other list until its outcome window closes, on
        // every server sharing the store.
        if let (Some(o), Some((customers, until))) = (&store_outcomes, planned.campaign.holdout(book.grace_days)) {
            o.hold_out(request.name, &customers, until).await.map_err(ApiError::internal)?;
        }
        let matching = planned.matching;
        // The campaign's rows are the contacts' renewals in order: a contact's arm is its first
        // renewal's.
        let mut arms = Vec::with_capacity(planned.list.len());
        let mut at = 0;
        for contact in &planned.list {
            arms.push(planned.campaign.rows.get(at).map_or(Arm::Treatment, |r| r.arm));
            at += contact.renewals.len();
        }
        let treatment: Vec<Contact> = planned
            .list
            .iter()
            .zip(&arms)
            .filter(|(_, arm)| **arm == Arm::Treatment)
            .enumerate()
            .map(|(i, (contact, _))| {
                let rank = (i + 1) as u32;
                let renewals = contact.renewals.iter().map(|l| lapse_retention::Listed { rank, ..*l }).collect();
                Contact { rank, renewals, ..contact.clone() }
            })
            .collect();
        let served = Arc::new(ServedCampaign {
            key,
            book: Arc::downgrade(book),
            name: request.name.into(),
            holdout: request.holdout,
            matching,
            control: planned.campaign.contacts(Arm::Control),
            treatment,
            held: planned.held.clone(),
        });
        self.served.lock().expect("not poisoned").insert(request.name.to_string(), Arc::clone(&served));
        if stored == Stored::Created {
            self.count_created(caller);
        }
        tracing::info!(campaign = %served.name, ?stored, treatment = served.treatment.len(), control = served.control, "campaign planned");
        Ok((served, (stored == Stored::Created).then_some(planned)))
    }
}
