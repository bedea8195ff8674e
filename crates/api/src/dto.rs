//! The API's request and response types: the documented shapes (they generate the OpenAPI
//! document) that the handlers fill and `json` writes.

use serde::{Deserialize, Serialize, Serializer};
use utoipa::{IntoParams, ToSchema};

use super::inline::InlineRecords;
use super::schema;
use lapse_core::dates::{Day, day_bytes};
use lapse_model::scoring::reasons::ReasonValue;
use lapse_retention::Economics;

/// A renewal to score from the loaded snapshot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalKey {
    /// At most 128 bytes.
    #[schema(max_length = 128)]
    pub policy_id: String,
    /// The installment (renewals are 2 and up; 1 is the first premium); omitted: every
    /// renewal of the policy at risk in the snapshot.
    #[schema(minimum = 1, maximum = 2147483647)]
    pub installment_no: Option<u32>,
}

/// The largest installment number a request may name (the contract's int).
pub const MAX_INSTALLMENT_NO: u32 = i32::MAX as u32;

/// What to do with a key the snapshot does not hold.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnUnknown {
    /// Fail the request with 404 `unknown_policy` naming the key.
    #[default]
    Error,
    /// Score the others and list the unknown keys under `not_found`.
    Skip,
}

/// `POST /v1/score`: renewals by key, raw records, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    /// Renewals by key (at most the server's batch limit, 1000 by default). A request gives
    /// at least one key or `records`.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub renewals: Vec<RenewalKey>,
    /// Raw records whose renewals at risk are scored with features built on the fly.
    pub records: Option<InlineRecords>,
    #[serde(default)]
    pub on_unknown: OnUnknown,
}

/// A date as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy)]
pub struct Date(pub Day);

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = day_bytes(self.0);
        s.serialize_str(std::str::from_utf8(&bytes).unwrap_or(""))
    }
}

/// A reason's feature value.
#[derive(Debug)]
pub struct ReasonValueOut<'a>(pub ReasonValue<'a>);

impl Serialize for ReasonValueOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ReasonValue::Number(x) => s.serialize_f64(x),
            ReasonValue::Category(c) => s.serialize_str(c),
            ReasonValue::Missing => s.serialize_none(),
        }
    }
}

/// The documented shape of a reason's value: a number or a category (or null).
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum ReasonValueSchema {
    Number(f64),
    Category(String),
}

/// A feature pushing the risk up.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reason<'a> {
    pub feature: &'a str,
    /// The feature's value (a number, a category, or null when missing).
    #[schema(value_type = Option<ReasonValueSchema>)]
    pub value: ReasonValueOut<'a>,
    /// Its contribution to the log-odds of lapse (exact: coefficient x centred value, or TreeSHAP).
    pub contribution: f32,
    /// The reason in words, for an agent to say (in the request's language).
    #[schema(value_type = String)]
    pub text: std::borrow::Cow<'a, str>,
}

/// Risk band x value band.
#[derive(Debug, Serialize, ToSchema)]
pub struct Segment {
    /// `low`, `medium`, `high`.
    pub risk_band: &'static str,
    pub value_band: &'static str,
    /// e.g. `high_risk_high_value`.
    pub name: &'static str,
    /// The segment in words, in the request's language (`high risk, high value`, `高风险·高价值`).
    pub label: &'static str,
}

/// One scored renewal.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoredRenewal<'a> {
    /// Position in this response's ranking (1 = contact first), by expected gain.
    pub rank: u32,
    pub policy_id: &'a str,
    pub installment_no: u32,
    #[schema(value_type = String, format = Date)]
    pub due_date: Date,
    /// The snapshot date the features are as of.
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    /// Days past due at `as_of` (0 when not yet due).
    pub days_overdue: i32,
    /// Days until due at `as_of` (0 when already due).
    pub days_until_due: i32,
    /// Calibrated probability that this renewal lapses.
    pub probability: f64,
    /// Annualized premium x remaining payment years (capped).
    pub value_at_risk: f64,
    /// probability x value_at_risk.
    pub expected_loss: f64,
    /// The action with the largest expected gain (`sms`, `call`, `visit`), or `none`.
    pub action: &'a str,
    /// The action in words, in the request's language (`phone call`, `电话催缴`).
    #[schema(value_type = String)]
    pub action_label: std::borrow::Cow<'static, str>,
    /// probability x save rate x value - cost, for the recommended action (0 for `none`).
    pub expected_gain: f64,
    pub segment: Segment,
    /// Up to 3 features pushing this renewal's risk up, largest first.
    pub reasons: Vec<Reason<'a>>,
    pub channel: Option<&'a str>,
    pub region: Option<&'a str>,
    pub agent_id: Option<&'a str>,
    pub product_code: Option<&'a str>,
    /// The policyholder (the contact rules count per customer).
    pub customer_id: Option<&'a str>,
    /// No servicing agent in service at `as_of` (no agent, or the agent left: an orphan policy,
    /// 孤儿单): only the orphan actions (`call`, `sms` by default) are given.
    pub orphan: bool,
    /// The customer promised to pay this renewal by a date now more than the grace days past
    /// (`promised` outcome): "promise to pay broken".
    pub promise_broken: bool,
    /// `snapshot` (looked up) or `inline` (built from the request's records).
    pub source: &'static str,
    pub model_version: &'a str,
}

/// A key that was not scored, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotScored {
    pub policy_id: String,
    pub installment_no: Option<u32>,
    pub reason: String,
}

/// `POST /v1/score` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreResponse<'a> {
    pub model_version: &'a str,
    /// In request order: keys first, then inline renewals.
    pub results: Vec<ScoredRenewal<'a>>,
    pub not_found: Vec<NotScored>,
}

/// `GET /v1/queue` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// How many contacts the team can make today (a contact is one customer, with all the
    /// renewals of theirs it covers). One number: at most this many contacts, each with its
    /// best action. Per action (`visit:300,call:800,sms:5000`, or `=`): each customer gets at
    /// most one action, every action at most its capacity (an action not named: none), chosen
    /// to maximize the total expected gain (an exact assignment).
    #[param(
        pattern = r"^\s*([0-9]{1,9}|(ACTIONS)\s*[:=]\s*[0-9]{1,9}(\s*,\s*(ACTIONS)\s*[:=]\s*[0-9]{1,9})*)\s*$",
        example = "visit:300,call:800,sms:5000"
    )]
    pub capacity: Option<String>,
    /// Only renewals due at most this many days after the snapshot date (overdue ones count
    /// as due).
    #[param(minimum = -36500, maximum = 36500)]
    pub due_within_days: Option<i32>,
    /// true: only renewals already past due; false: only those not yet due.
    pub overdue: Option<bool>,
    /// true: only orphan renewals (no servicing agent in service: the list of the team that
    /// takes them over, 收展); false: none of them.
    pub orphan: Option<bool>,
    pub channel: Option<String>,
    pub region: Option<String>,
    pub agent_id: Option<String>,
    /// Product code or product type.
    pub product: Option<String>,
    /// Only renewals with at least this value at risk.
    #[param(minimum = 0.0)]
    pub min_value: Option<f64>,
    /// Include renewals where no action pays (action `none`); default false.
    pub include_no_action: Option<bool>,
    /// Page size (default 100, at most the configured page limit: 1000 by default).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Rank to start the page after (0 = from the top).
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<usize>,
    /// Run the work list as this campaign (letters, digits, '-', '_', '.'): a share `holdout`
    /// of every action x segment is held out as control and never listed. The name is bound to
    /// its settings (capacity, filters, holdout, snapshot, model) in the campaigns directory:
    /// asking again pages the same campaign; other settings are refused with 409.
    #[param(pattern = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")]
    pub campaign: Option<String>,
    /// Share of the campaign's list held out as control, 0 to 0.9 (default 0.1 with
    /// `campaign`); a holdout above 0 without `campaign` is refused (422): nothing would key
    /// its draw.
    #[param(minimum = 0.0, maximum = 0.9)]
    pub holdout: Option<f64>,
    /// `risk` (default): by expected gain from the economics' save rates; `uplift`: by the
    /// registered uplift learner's expected gain per renewal and action (409 when the served
    /// models have none).
    #[param(pattern = "^(risk|uplift)$")]
    pub rank_by: Option<String>,
    /// Language of reasons and labels: `en` or `zh-CN` (else `Accept-Language`, else the
    /// server's default).
    #[param(pattern = "^(en|zh-CN)$")]
    pub lang: Option<String>,
}

impl QueueParams {
    /// The work-list request these parameters make (checked by the retention crate's spec, as
    /// `lapse queue`'s flags are).
    pub fn work_list(&self) -> lapse_retention::WorkListRequest {
        lapse_retention::WorkListRequest {
            capacity: self.capacity.clone(),
            channel: self.channel.clone(),
            region: self.region.clone(),
            agent_id: self.agent_id.clone(),
            product: self.product.clone(),
            min_value: self.min_value,
            due_within_days: self.due_within_days,
            overdue: self.overdue,
            orphan: self.orphan,
            include_no_action: self.include_no_action,
            campaign: self.campaign.clone(),
            holdout: self.holdout,
            rank_by: self.rank_by.clone(),
        }
    }
}

/// The campaign a queue page belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignInfo {
    pub name: String,
    pub holdout: f64,
    /// Contacts (customers) to make: the pages list these.
    pub treatment: usize,
    /// Customers held out: not to be contacted for this campaign (nor by the plain work list or
    /// another campaign while its outcome window is open).
    pub control: usize,
    /// Customers left out of this campaign because another campaign holds them out.
    pub held_out_by_other_campaigns: usize,
}

/// One contact on a work list: a customer, the action, and the renewals of theirs it covers.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueContact<'a> {
    /// Position on the work list (1 = contact first), by the contact's expected gain.
    pub rank: u32,
    /// The customer (null: the snapshot had no customer id; the renewal is its own contact).
    pub customer_id: Option<&'a str>,
    /// `sms`, `call`, `visit`, or `none` (with `include_no_action`).
    pub action: &'a str,
    /// The action in words, in the request's language.
    #[schema(value_type = String)]
    pub action_label: std::borrow::Cow<'static, str>,
    /// The sum over the covered renewals of probability x save rate x value, less the action's
    /// cost once (each renewal's `expected_gain` is its share: they sum to this).
    pub expected_gain: f64,
    /// The covered renewals' value at risk, summed.
    pub value_at_risk: f64,
    /// The renewals this contact is about, largest gain first (`rank` and `action` are the
    /// contact's).
    pub renewals: Vec<ScoredRenewal<'a>>,
}

/// `GET /v1/queue` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueResponse<'a> {
    pub model_version: &'a str,
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    /// Contacts the list could make: customers with a renewal matching the filters and not
    /// held back (before the capacity cut).
    pub matching: usize,
    /// Contacts in the work list: min(capacity, matching).
    pub listed: usize,
    pub offset: usize,
    /// The offset of the next page, if there is one.
    pub next_offset: Option<usize>,
    /// With `campaign`: the campaign (`listed` then counts its treatment arm only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignInfo>,
    /// Renewals matching the filters that a rule kept off the list, per rule
    /// (`do_not_contact`, `refused`, `promised`, `wrong_number`, `frequency_cap`, `orphan`,
    /// `holdout`).
    pub held_back: std::collections::BTreeMap<&'static str, usize>,
    /// One item per customer.
    pub items: Vec<QueueContact<'a>>,
}

/// `GET /v1/models/current` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelInfo {
    pub version: String,
    pub family: String,
    pub created_at: String,
    pub training_window: Option<Window>,
    pub validation_window: Option<Window>,
    pub validation: String,
    /// Held-out metrics recorded at training.
    pub roc_auc: Option<f64>,
    pub log_loss: Option<f64>,
    pub ece: Option<f64>,
    pub features: usize,
    pub snapshot: SnapshotInfo,
    #[schema(value_type = schema::Economics)]
    pub economics: Economics,
}

/// The snapshot being served.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotInfo {
    /// The snapshot's file name (not its path: the server's layout is not the caller's business).
    pub file: String,
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    pub renewals: usize,
    pub horizon_days: i32,
    pub grace_days: i32,
    pub loaded_at: String,
    pub load_seconds: f64,
}

/// `GET /v1/drift` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriftResponse<'a> {
    pub model_version: &'a str,
    /// The served snapshot's date.
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    #[schema(value_type = schema::DriftReport)]
    pub drift: &'a lapse_model::drift::DriftReport,
}

/// `POST /v1/admin/reload` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadResponse {
    pub previous_version: String,
    pub version: String,
    pub renewals: usize,
    pub load_seconds: f64,
}

/// `GET /healthz` and `GET /readyz` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub model_version: String,
}

/// A span of snapshot dates, first and last.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Window {
    pub from: String,
    pub to: String,
}

impl From<(String, String)> for Window {
    fn from((from, to): (String, String)) -> Self {
        Window { from, to }
    }
}

/// `GET /v1/campaigns/{name}` path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CampaignPath {
    /// The campaign's name.
    #[param(pattern = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")]
    pub name: String,
}

/// `GET /v1/campaigns/{name}` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CampaignParams {
    /// Only this arm: `treatment` or `control`.
    #[param(pattern = "^(treatment|control)$")]
    pub arm: Option<String>,
    /// Page size (default 1000, at most 10000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<usize>,
    /// Contacts to skip (in work-list order).
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<usize>,
}

/// One contact of a campaign: a customer, their arm, and their renewals.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignContact<'a> {
    /// Rank on the campaign's work list (both arms; 1 = first).
    pub rank: u32,
    pub customer_id: Option<&'a str>,
    pub action: &'a str,
    /// `treatment` (contact) or `control` (do not contact for this campaign).
    pub arm: &'a str,
    /// The renewals' shares, summed.
    pub expected_gain: f64,
    pub renewals: Vec<CampaignItem<'a>>,
}

/// One renewal of a campaign, as the campaign file has it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignItem<'a> {
    pub policy_id: &'a str,
    pub installment_no: u32,
    #[schema(value_type = String, format = Date)]
    pub due_date: Date,
    pub probability: f64,
    pub value_at_risk: f64,
    pub expected_gain: f64,
    pub segment: &'a str,
}

/// `GET /v1/campaigns/{name}` response: the campaign's settings and a page of its assignment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignResponse<'a> {
    pub name: &'a str,
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    pub model_version: &'a str,
    pub holdout: f64,
    /// The capacity as asked, canonical form.
    pub capacity: &'a str,
    /// The work list's filters, canonical form (empty: none).
    pub filters: &'a str,
    pub created_at: &'a str,
    /// Contacts (customers) in the treatment arm.
    pub treatment: usize,
    /// Contacts (customers) in the control arm.
    pub control: usize,
    /// Contacts of the asked arm (both when none asked).
    pub matching: usize,
    pub offset: usize,
    pub next_offset: Option<usize>,
    pub items: Vec<CampaignContact<'a>>,
}

/// One contact outcome as an agent records it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeIn {
    /// The client's idempotency key (1-128 bytes): the same id again is a duplicate; the same id
    /// with other content is refused (409).
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\x00-\x1f]+$")]
    pub id: String,
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\x00-\x1f]+$")]
    pub policy_id: String,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub installment_no: i64,
    /// The policyholder; default: the served snapshot's (a policy it does not list needs one).
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\x00-\x1f]+$")]
    pub customer_id: Option<String>,
    /// The action taken: one of the economics' actions.
    #[schema(pattern = "^(ACTIONS)$")]
    pub action: String,
    /// `no_answer`, `wrong_number`, `reached`, `promised` (needs `promised_date`), `refused`
    /// (needs `reason`), `do_not_contact`, `contact_allowed` (lifts `do_not_contact` and
    /// `wrong_number`).
    #[schema(pattern = "^(no_answer|wrong_number|reached|promised|refused|do_not_contact|contact_allowed)$")]
    pub result: String,
    /// When, RFC 3339 with its offset (`2026-02-28T10:15:00+08:00`); the rules count days in
    /// that offset.
    #[schema(format = DateTime, example = "2026-02-28T10:15:00+08:00")]
    pub at: String,
    /// With `refused` only: `cannot_afford`, `dissatisfied`, `bought_elsewhere`,
    /// `no_longer_needed`, `other` (the configured list).
    pub reason: Option<String>,
    /// With `promised` only: the day the customer promised to pay by (YYYY-MM-DD, not before
    /// the outcome's day).
    #[schema(format = Date)]
    pub promised_date: Option<String>,
    #[schema(max_length = 128)]
    pub agent_id: Option<String>,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

impl OutcomeIn {
    /// The outcome as the retention crate checks it.
    pub fn into_raw(self) -> lapse_retention::outcomes::RawOutcome {
        lapse_retention::outcomes::RawOutcome {
            id: Some(self.id),
            policy_id: Some(self.policy_id),
            installment_no: Some(self.installment_no),
            customer_id: self.customer_id,
            action: Some(self.action),
            result: Some(self.result),
            at: Some(self.at),
            reason: self.reason,
            promised_date: self.promised_date,
            agent_id: self.agent_id,
            note: self.note,
        }
    }
}

/// `POST /v1/outcomes` request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomesRequest {
    /// At most the batch limit (`--max-batch`, 1000 by default): stored all or none.
    #[schema(min_items = 1, max_items = 1000)]
    pub outcomes: Vec<OutcomeIn>,
}

/// `POST /v1/outcomes` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomesRecorded {
    /// Outcomes stored by this request.
    pub recorded: usize,
    /// Outcomes already stored with the same id and content (not stored twice).
    pub duplicates: usize,
}

/// `GET /v1/outcomes` parameters: one of the two.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutcomesParams {
    pub policy_id: Option<String>,
    pub customer_id: Option<String>,
}

/// One stored outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomeOut<'a> {
    pub id: &'a str,
    pub policy_id: &'a str,
    pub installment_no: u32,
    pub customer_id: &'a str,
    pub action: &'a str,
    pub result: &'static str,
    pub at: &'a str,
    pub reason: Option<&'a str>,
    #[schema(value_type = Option<String>, format = Date)]
    pub promised_date: Option<Date>,
    pub agent_id: Option<&'a str>,
    pub note: Option<&'a str>,
}

impl<'a> OutcomeOut<'a> {
    pub fn of(o: &'a lapse_retention::outcomes::Outcome) -> OutcomeOut<'a> {
        OutcomeOut {
            id: &o.id,
            policy_id: &o.policy_id,
            installment_no: o.installment_no,
            customer_id: &o.customer_id,
            action: &o.action,
            result: o.result.as_str(),
            at: &o.at,
            reason: o.reason.as_deref(),
            promised_date: o.promised_date.map(Date),
            agent_id: o.agent_id.as_deref(),
            note: o.note.as_deref(),
        }
    }
}

/// `GET /v1/outcomes` response: newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomesHistory<'a> {
    pub outcomes: Vec<OutcomeOut<'a>>,
}

/// `GET /v1/queue/explain` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExplainParams {
    #[param(min_length = 1, max_length = 128)]
    pub policy_id: String,
    #[param(minimum = 1, maximum = 4294967295u64)]
    pub installment_no: u32,
    /// The list's capacity (a total number of contacts; default the server's).
    #[param(minimum = 0, maximum = 1000000000)]
    pub capacity: Option<usize>,
    /// Language of the action labels: `en` or `zh-CN`.
    #[param(pattern = "^(en|zh-CN)$")]
    pub lang: Option<String>,
}

/// One action considered for the customer's contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainedAction {
    pub action: String,
    /// The contact's expected gain with this action (null: it can serve none of the customer's
    /// renewals: the orphan rule).
    pub expected_gain: Option<f64>,
    /// The rule that forbids it today (`wrong_number`, `frequency_cap`, `orphan`), or null.
    pub forbidden_by: Option<&'static str>,
}

/// `GET /v1/queue/explain` response: why a renewal is or is not on today's work list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainResponse {
    pub policy_id: String,
    pub installment_no: u32,
    pub customer_id: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    /// `listed`; `beyond_capacity` (on the list, past the capacity); `held` (a rule keeps it
    /// off: `held_by`); `no_action_pays`; `not_covered` (the customer's contact is an action
    /// this renewal cannot get: an orphan renewal and a visit about the customer's other
    /// policies); `not_in_snapshot`.
    pub verdict: &'static str,
    /// The rule keeping it off the list (`holdout`, `do_not_contact`, `refused`, `promised`,
    /// `wrong_number`, `frequency_cap`, `orphan`), or null.
    pub held_by: Option<&'static str>,
    pub promise_broken: bool,
    /// The contact's rank on the list without filters or capacity (null: not on it).
    pub rank: Option<u32>,
    pub capacity: usize,
    /// The customer's contact: its action and expected gain.
    pub action: Option<String>,
    #[schema(value_type = Option<String>)]
    pub action_label: Option<std::borrow::Cow<'static, str>>,
    pub expected_gain: Option<f64>,
    /// The renewals the contact covers.
    pub covers: Vec<RenewalKeyOut>,
    pub actions: Vec<ExplainedAction>,
    /// The customer's recorded outcomes, newest first (the rules read these).
    pub outcomes: usize,
}

/// A renewal's key.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalKeyOut {
    pub policy_id: String,
    pub installment_no: u32,
}
