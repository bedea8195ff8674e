//! Campaigns: a day's work list with a randomized holdout, so that what the contacts save can
//! be measured. The treatment arm is contacted; the control arm (a share `holdout` of every
//! action x segment stratum) is left alone for the campaign, and the difference in lapse rates
//! between the arms is the campaign's effect (`lapse effect`).
//!
//! - [`arms`]: which renewals are held out (a keyed hash, stratified);
//! - [`file`]: the campaign file (CSV or Parquet), written atomically and read back;
//! - [`store`]: the campaigns directory: one name, one set of settings, forever.

pub mod arms;
pub mod file;
pub mod power;
pub mod stats;
pub mod store;

use serde::{Deserialize, Serialize};

use crate::assign::Capacity;
use crate::economics::{Economics, segment_name};
use crate::worklist::{Contact, Contacts, CustomerOrder, Filters, select};
pub use arms::{Arm, assign_arms, assign_unit_arms, customer_hash, renewal_hash};
pub use file::{CampaignFileError, read_campaign, write_campaign};
use lapse_core::dates::Day;
use lapse_model::scoring::ScoredRows;
pub use store::{CampaignStore, StoreError, Stored};

/// The largest holdout share: a campaign that contacts fewer than one in ten renewals is not a
/// campaign.
pub const MAX_HOLDOUT: f64 = 0.9;

/// What makes a campaign: asking again with the same settings gives the same campaign; a
/// campaign name is never reused with other settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub name: String,
    #[serde(with = "lapse_core::dates::iso")]
    pub as_of: Day,
    pub model_version: String,
    /// Share of every stratum held out as control (0..=0.9).
    pub holdout: f64,
    /// The capacity as asked (`2500`, `visit=300,call=800,sms=5000`), canonical form.
    pub capacity: String,
    /// The work list's filters, canonical form (`channel=agent;overdue=true`), empty for none.
    pub filters: String,
    /// The actions' save rates and costs the list was ranked with.
    pub economics: Economics,
    /// SHA-256 of the listed renewals and their actions: the same settings on another snapshot
    /// would list other renewals.
    pub list_digest: String,
    /// `risk` (expected gain from the economics' save rates) or `uplift:<learner>@<campaign>`
    /// (gains from a registered uplift learner).
    #[serde(default = "risk_ranking")]
    pub ranking: String,
}

fn risk_ranking() -> String {
    "risk".into()
}

/// Why campaign settings are refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    #[error("campaign name {0:?}: use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'")]
    Name(String),
    #[error("holdout {0} is outside [0, {MAX_HOLDOUT}]")]
    Holdout(f64),
}

/// Checks a campaign name (it names files).
pub fn check_name(name: &str) -> Result<(), SettingsError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok { Ok(()) } else { Err(SettingsError::Name(name.to_string())) }
}

/// Checks a holdout share.
pub fn check_holdout(holdout: f64) -> Result<(), SettingsError> {
    if holdout.is_finite() && (0.0..=MAX_HOLDOUT).contains(&holdout) { Ok(()) } else { Err(SettingsError::Holdout(holdout)) }
}

/// One renewal of a campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignRow {
    /// Its contact's rank: 1 = first on the work list (a customer's renewals share one).
    pub rank: u32,
    /// The customer contacted (None: the snapshot had no customer id; the renewal was its own
    /// contact).
    pub customer_id: Option<String>,
    pub policy_id: String,
    pub installment_no: u32,
    pub due_date: Day,
    pub action: String,
    pub arm: Arm,
    pub probability: f64,
    pub value_at_risk: f64,
    pub expected_gain: f64,
    pub segment: String,
    pub channel: Option<String>,
    pub product_type: Option<String>,
    pub region: Option<String>,
    pub agent_id: Option<String>,
}

/// A campaign: its settings and its renewals in work-list order.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub settings: Settings,
    pub rows: Vec<CampaignRow>,
}

impl Campaign {
    /// The campaign of a work list: `list` (every listed contact, in rank order) of `rows`, a
    /// row per renewal, with arms drawn per customer by [`assign_unit_arms`] within action x
    /// segment strata (a contact's stratum is its first renewal's segment).
    /// `settings.list_digest` is filled in here.
    pub fn of_work_list(mut settings: Settings, rows: &ScoredRows, list: &[Contact], economics: &Economics) -> Campaign {
        let mut out: Vec<CampaignRow> = Vec::new();
        let mut units: Vec<(u64, String)> = Vec::with_capacity(list.len());
        for contact in list {
            let customer_id = rows.text(contact.customer).map(str::to_string);
            for item in &contact.renewals {
                let x = &rows.renewals[item.row];
                let (risk, value) = (economics.risk_band(x.probability), economics.value_band(x.value));
                out.push(CampaignRow {
                    rank: item.rank,
                    customer_id: customer_id.clone(),
                    policy_id: rows.policy_id[item.row].to_string(),
                    installment_no: x.installment_no,
                    due_date: x.due,
                    action: economics.action_name(item.action).to_string(),
                    arm: Arm::Treatment,
                    probability: x.probability,
                    value_at_risk: x.value,
                    expected_gain: item.gain,
                    segment: segment_name(risk, value).to_string(),
                    channel: rows.text(x.channel).map(str::to_string),
                    product_type: rows.text(x.product_type).map(str::to_string),
                    region: rows.text(x.region).map(str::to_string),
                    agent_id: rows.text(x.agent).map(str::to_string),
                });
            }
            let Some(first) = contact.renewals.first() else { continue };
            let hash = match &customer_id {
                Some(c) => customer_hash(&settings.name, c),
                None => renewal_hash(&settings.name, &rows.policy_id[first.row], rows.renewals[first.row].installment_no),
            };
            let last = &out[out.len() - 1];
            let first_row = &out[out.len() - contact.renewals.len()];
            debug_assert_eq!(last.rank, first_row.rank);
            units.push((hash, format!("{}/{}", first_row.action, first_row.segment)));
        }
        let keys: Vec<(u64, &str)> = units.iter().map(|(h, s)| (*h, s.as_str())).collect();
        let arms = assign_unit_arms(&settings.name, settings.holdout, &keys);
        let mut at = 0;
        for (contact, arm) in list.iter().filter(|c| !c.renewals.is_empty()).zip(arms) {
            for row in &mut out[at..at + contact.renewals.len()] {
                row.arm = arm;
            }
            at += contact.renewals.len();
        }
        settings.list_digest = list_digest(&out);
        Campaign { settings, rows: out }
    }

    /// The customers of the control arm (with an id), and the last day of the campaign's outcome
    /// window: the last control renewal's due date plus `grace_days`. None without control.
    pub fn holdout(&self, grace_days: i32) -> Option<(Vec<String>, Day)> {
        let control: Vec<&CampaignRow> = self.rows.iter().filter(|r| r.arm == Arm::Control).collect();
        let until = control.iter().map(|r| r.due_date).max()? + grace_days;
        let mut customers: Vec<String> = control.iter().filter_map(|r| r.customer_id.clone()).collect();
        customers.sort();
        customers.dedup();
        Some((customers, until))
    }

    /// Customers (contacts) in `arm`.
    pub fn contacts(&self, arm: Arm) -> usize {
        let mut n = 0;
        let mut previous = None;
        for r in self.rows.iter().filter(|r| r.arm == arm) {
            if previous != Some(r.rank) {
                n += 1;
                previous = Some(r.rank);
            }
        }
        n
    }

    /// Renewals in `arm`.
    pub fn count(&self, arm: Arm) -> usize {
        self.rows.iter().filter(|r| r.arm == arm).count()
    }
}

/// What a campaign is asked for: a name, a holdout share, and the work list's capacity and
/// filters.
#[derive(Debug, Clone)]
pub struct CampaignRequest<'a> {
    pub name: &'a str,
    pub holdout: f64,
    pub capacity: &'a Capacity,
    pub filters: &'a Filters,
}

/// A campaign planned on scored rows: the campaign, and its work list (contacts in rank order;
/// `campaign.rows` are their renewals in the same order).
#[derive(Debug, Clone)]
pub struct Planned {
    pub campaign: Campaign,
    /// Contacts the list could make (before the capacity).
    pub matching: usize,
    pub list: Vec<Contact>,
    /// What the contact rules kept off it.
    pub held: crate::contact::HeldBack,
}

/// The campaign of the work list of `rows` in `order` under the request's capacity
/// and filters (and the contact rules, when given): every listed renewal, with its arm. The
/// settings are checked (name, holdout).
pub fn plan(
    request: &CampaignRequest<'_>,
    rows: &ScoredRows,
    order: &CustomerOrder,
    economics: &Economics,
    contacts: Option<&Contacts<'_>>,
    as_of: Day,
    model_version: &str,
) -> Result<Planned, SettingsError> {
    check_name(request.name)?;
    check_holdout(request.holdout)?;
    let list = select(rows, order, request.filters, request.capacity, contacts, 0..usize::MAX);
    let action_names: Vec<&str> = economics.actions.iter().map(|a| a.name.as_str()).collect();
    let settings = Settings {
        name: request.name.to_string(),
        as_of,
        model_version: model_version.to_string(),
        holdout: request.holdout,
        capacity: request.capacity.canonical(&action_names),
        filters: request.filters.canonical(),
        economics: economics.clone(),
        list_digest: String::new(),
        ranking: order.name().to_string(),
    };
    let campaign = Campaign::of_work_list(settings, rows, &list.page, economics);
    Ok(Planned { campaign, matching: list.matching, list: list.page, held: list.held })
}

/// SHA-256 over the listed renewals and their actions, in list order.
pub fn list_digest(rows: &[CampaignRow]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for r in rows {
        hasher.update(r.policy_id.as_bytes());
        hasher.update([0]);
        hasher.update(r.installment_no.to_le_bytes());
        hasher.update(r.action.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
