//! The one grammar of a work-list request. `lapse queue` (flags) and `GET /v1/queue` (query
//! parameters) both fill a [`WorkListRequest`] with what they were given and call
//! [`WorkListRequest::check`]; the options, their defaults and their errors are defined here
//! once. An error names the field at fault by its query-parameter name (`min_value`); the
//! command line shows it as its flag (`--min-value`).

use crate::assign::Capacity;
use crate::campaign::{SettingsError, check_name};
use crate::economics::Economics;
use crate::worklist::Filters;

/// Contacts listed when no capacity is given: one number, each renewal with its best action.
pub const DEFAULT_CAPACITY: usize = 500;

/// The control share of a campaign asked for without a holdout.
pub const DEFAULT_HOLDOUT: f64 = 0.1;

/// The furthest a due-date filter may reach, in days either way.
pub const MAX_DUE_WITHIN_DAYS: i32 = 36_500;

/// What a work list is ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RankBy {
    /// Expected gain from the economics' save rates: P(lapse) x save rate x value - cost.
    #[default]
    Risk,
    /// Expected gain from the registered uplift learner's per-renewal effects (`lapse uplift`).
    Uplift,
}

impl RankBy {
    /// The names as the flag and the query parameter take them.
    pub const NAMES: [&'static str; 2] = ["risk", "uplift"];

    pub fn parse(text: &str) -> Option<RankBy> {
        match text {
            "risk" => Some(RankBy::Risk),
            "uplift" => Some(RankBy::Uplift),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// A work-list request as it arrives, nothing checked yet: `None` is "not given". Text filters
/// given empty (`channel=`) filter nothing.
#[derive(Debug, Clone, Default)]
pub struct WorkListRequest {
    /// `2500` (a total, best action each) or `visit=300,call=800,sms=5000` (also `visit:300`):
    /// an exact assignment within each action's capacity.
    pub capacity: Option<String>,
    pub channel: Option<String>,
    pub region: Option<String>,
    pub agent_id: Option<String>,
    /// Product code or product type.
    pub product: Option<String>,
    pub min_value: Option<f64>,
    pub due_within_days: Option<i32>,
    pub overdue: Option<bool>,
    /// true: only orphan renewals (the team that takes them over); false: none.
    pub orphan: Option<bool>,
    pub include_no_action: Option<bool>,
    /// A campaign name: the list becomes a campaign with a randomized holdout.
    pub campaign: Option<String>,
    /// The campaign's control share, 0 to [`crate::campaign::MAX_HOLDOUT`]; [`DEFAULT_HOLDOUT`] when a campaign
    /// is named without one.
    pub holdout: Option<f64>,
    /// `risk` (default) or `uplift`.
    pub rank_by: Option<String>,
}

/// A campaign asked for: its name and holdout share.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignSpec {
    pub name: String,
    pub holdout: f64,
}

/// A checked work-list request.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkListSpec {
    pub capacity: Capacity,
    pub filters: Filters,
    pub campaign: Option<CampaignSpec>,
    pub rank_by: RankBy,
}

/// A work-list request that cannot be served: the field at fault (its query-parameter name)
/// and why. Always the caller's input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecError {
    pub field: &'static str,
    pub reason: String,
}

impl SpecError {
    fn new(field: &'static str, reason: impl Into<String>) -> SpecError {
        SpecError { field, reason: reason.into() }
    }

    /// The field as a command-line flag: `min_value` -> `--min-value`.
    pub fn flag(&self) -> String {
        format!("--{}", self.field.replace('_', "-"))
    }
}

impl WorkListRequest {
    /// Checks the request against the economics' actions: the first field at fault is named.
    /// A capacity not given is `default_capacity` (a server's limit may differ from
    /// [`DEFAULT_CAPACITY`]).
    pub fn check(&self, economics: &Economics, default_capacity: usize) -> Result<WorkListSpec, SpecError> {
        let actions: Vec<&str> = economics.actions.iter().map(|a| a.name.as_str()).collect();
        let capacity = match &self.capacity {
            None => Capacity::Total(default_capacity),
            Some(text) => Capacity::parse(text, &actions).map_err(|e| SpecError::new("capacity", e.to_string()))?,
        };
        if let Some(v) = self.min_value
            && !(v.is_finite() && v >= 0.0)
        {
            return Err(SpecError::new("min_value", "min_value must be a number >= 0"));
        }
        if self.due_within_days.is_some_and(|d| !(-MAX_DUE_WITHIN_DAYS..=MAX_DUE_WITHIN_DAYS).contains(&d)) {
            return Err(SpecError::new("due_within_days", format!("due_within_days must be within +-{MAX_DUE_WITHIN_DAYS}")));
        }
        let rank_by = match self.rank_by.as_deref() {
            None => RankBy::default(),
            Some(text) => {
                RankBy::parse(text).ok_or_else(|| SpecError::new("rank_by", format!("rank_by {text:?}: use {}", RankBy::NAMES.join(" or "))))?
            }
        };
        let campaign = match (&self.campaign, self.holdout) {
            (None, Some(h)) if h != 0.0 => {
                return Err(SpecError::new(
                    "holdout",
                    "a holdout needs a campaign name: the name keys the holdout draw and keeps it from being redrawn",
                ));
            }
            (None, _) => None,
            (Some(name), holdout) => {
                check_name(name).map_err(|e| SpecError::new("campaign", e.to_string()))?;
                let holdout = holdout.unwrap_or(DEFAULT_HOLDOUT);
                crate::campaign::check_holdout(holdout).map_err(|e: SettingsError| SpecError::new("holdout", e.to_string()))?;
                Some(CampaignSpec { name: name.clone(), holdout })
            }
        };
        let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let filters = Filters {
            channel: given(&self.channel),
            region: given(&self.region),
            agent_id: given(&self.agent_id),
            product: given(&self.product),
            min_value: self.min_value,
            due_within_days: self.due_within_days,
            overdue: self.overdue,
            orphan: self.orphan,
            include_no_action: self.include_no_action.unwrap_or(false),
        };
        Ok(WorkListSpec { capacity, filters, campaign, rank_by })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(request: WorkListRequest) -> Result<WorkListSpec, SpecError> {
        request.check(&Economics::default(), DEFAULT_CAPACITY)
    }

    #[test]
    fn an_empty_request_is_the_documented_defaults() {
        let spec = check(WorkListRequest::default()).unwrap();
        assert_eq!(spec.capacity, Capacity::Total(DEFAULT_CAPACITY));
        assert_eq!(spec.rank_by, RankBy::Risk);
        assert_eq!(spec.campaign, None);
        assert_eq!(spec.filters.canonical(), "");
    }

    #[test]
    fn a_campaign_without_a_holdout_holds_out_the_default_share() {
        let spec = check(WorkListRequest { campaign: Some("march".into()), ..Default::default() }).unwrap();
        assert_eq!(spec.campaign, Some(CampaignSpec { name: "march".into(), holdout: DEFAULT_HOLDOUT }));
        let none = check(WorkListRequest { campaign: Some("march".into()), holdout: Some(0.0), ..Default::default() }).unwrap();
        assert_eq!(none.campaign.unwrap().holdout, 0.0);
    }

    #[test]
    fn each_bad_field_is_named() {
        let field = |request: WorkListRequest| check(request).unwrap_err().field;
        assert_eq!(field(WorkListRequest { capacity: Some("fax=3".into()), ..Default::default() }), "capacity");
        assert_eq!(field(WorkListRequest { min_value: Some(-1.0), ..Default::default() }), "min_value");
        assert_eq!(field(WorkListRequest { min_value: Some(f64::NAN), ..Default::default() }), "min_value");
        assert_eq!(field(WorkListRequest { due_within_days: Some(40_000), ..Default::default() }), "due_within_days");
        assert_eq!(field(WorkListRequest { rank_by: Some("value".into()), ..Default::default() }), "rank_by");
        assert_eq!(field(WorkListRequest { holdout: Some(0.2), ..Default::default() }), "holdout");
        assert_eq!(field(WorkListRequest { campaign: Some("../x".into()), ..Default::default() }), "campaign");
        let e = check(WorkListRequest { campaign: Some("x".into()), holdout: Some(0.95), ..Default::default() }).unwrap_err();
        assert_eq!((e.field, e.flag()), ("holdout", "--holdout".to_string()));
        assert!(e.reason.contains("outside [0, 0.9]"), "{e}");
    }

    #[test]
    fn empty_text_filters_filter_nothing_and_uplift_is_a_ranking() {
        let spec = check(WorkListRequest {
            channel: Some(String::new()),
            region: Some("north".into()),
            rank_by: Some("uplift".into()),
            capacity: Some("visit=3,call:4".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(spec.filters.canonical(), "region=north");
        assert_eq!(spec.rank_by, RankBy::Uplift);
        assert_eq!(spec.capacity, Capacity::PerAction(vec![0, 4, 3]));
    }
}
