//! What a campaign saved: the campaign file joined with the outcomes of a later extract (the
//! contract's lapse definition) and with the contacts delivered (events `contact_<action>`
//! dated from the campaign's date to the end of grace). Per action, and per action within
//! segment and channel: renewals and lapses per arm, lapse rates, the save rate (intention to
//! treat, [`stats`]), the delivered share and the effect per delivered contact, what was
//! retained net of contact costs, and the smallest save rate the sample could detect.
//!
//! Renewals whose grace has not ended by the outcome date are pending (paid already or not):
//! counted, not used. Which renewals mature first then depends on their due dates only, not on
//! their arm, so the matured renewals are a fair comparison; but the figures speak for them
//! only until the campaign is readable (every renewal matured: `readable_on`).

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;
use serde::Serialize;

use lapse_core::dates::{Day, format_day};
use lapse_core::extract::Book;
use lapse_core::features::history::outcome_known_at;
use lapse_retention::campaign::file::CampaignFile;
pub use lapse_retention::campaign::stats::{self, Arms, Estimate};
use lapse_retention::campaign::{Arm, CampaignRow};
use lapse_retention::{Economics, segments};

/// How far a measured save rate may pull from its prior, by default (`lapse effect --prior-sd`).
pub const DEFAULT_PRIOR_SD: f64 = 0.1;
/// Fewest control lapses for a segment to get a save rate of its own, by default.
pub const DEFAULT_MIN_SEGMENT_CONTROL_LAPSES: usize = 30;

/// How to read the outcomes.
#[derive(Debug, Clone)]
pub struct EffectOptions {
    /// Outcomes and contacts known on this day.
    pub as_of: Day,
    pub grace_days: i32,
    /// Contact costs (and the priors of the measured economics).
    pub economics: Economics,
    /// How far a measured save rate may pull from its prior: the prior's standard deviation.
    pub prior_sd: f64,
    /// Fewest control lapses for a segment to get a save rate of its own in the measured
    /// economics.
    pub min_segment_control_lapses: usize,
    /// Contact attempts agents recorded in the outcome store (`lapse effect --store`): counted
    /// as delivered like the extract's contact events (for a core system that keeps no
    /// contact events, the only record of delivery).
    pub recorded_contacts: RecordedContacts,
}

/// Contact attempts from the outcome store: (policy, installment) -> (day, action) each.
pub type RecordedContacts = std::collections::HashMap<(String, u32), Vec<(Day, String)>>;

/// The attempts among `outcomes` (every result but `contact_allowed`), by renewal.
pub fn recorded_contacts(outcomes: &[lapse_retention::outcomes::Outcome]) -> RecordedContacts {
    let mut out = RecordedContacts::new();
    for o in outcomes.iter().filter(|o| o.result.is_attempt()) {
        out.entry((o.policy_id.clone(), o.installment_no)).or_default().push((o.day, o.action.clone()));
    }
    out
}

/// The effect on one group of a campaign's renewals.
#[derive(Debug, Clone, Serialize)]
pub struct GroupEffect {
    pub action: String,
    /// `all`, `segment`, `channel` or `team`.
    pub dimension: &'static str,
    pub value: String,
    /// Renewals per arm (matured or not).
    pub treated: usize,
    pub control: usize,
    /// Renewals whose outcome is known, per arm.
    pub treated_matured: usize,
    pub control_matured: usize,
    pub lapses_treated: usize,
    pub lapses_control: usize,
    pub lapse_rate_treated: Option<f64>,
    pub lapse_rate_control: Option<f64>,
    /// 1 - lapse_rate_treated / lapse_rate_control (intention to treat).
    pub save_rate: Option<f64>,
    /// 95% interval of the save rate (log risk ratio, Katz).
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
    /// The smallest save rate this sample detects with 80% power (two-sided 5% test).
    pub min_detectable_save_rate: Option<f64>,
    /// Among the renewals not yet due on the campaign date, the share of each arm with a
    /// contact of this action dated from the campaign date to the day before the renewal's due
    /// date (control renewals can be contacted outside the campaign). Contacts after the due
    /// date are left out: collection contacts of a renewal going unpaid would count the
    /// lapsers as contacted.
    pub delivered_treated: Option<f64>,
    pub delivered_control: Option<f64>,
    /// Save rate per delivered contact, on those same not-yet-due renewals: their ITT save rate
    /// over the extra delivered share (None when the campaign raised delivery by less than 5
    /// points there).
    pub save_rate_per_delivered: Option<f64>,
    /// Lapses the campaign prevented among the matured treated renewals, (r_c - r_t) x n_t,
    /// with a 95% interval.
    pub lapses_prevented: Option<f64>,
    pub lapses_prevented_low: Option<f64>,
    pub lapses_prevented_high: Option<f64>,
    /// Annualized premium of the prevented lapses (mean over the matured treated renewals).
    pub retained_premium: Option<f64>,
    /// Value at risk of the prevented lapses.
    pub retained_value: Option<f64>,
    /// One contact per matured treated renewal at the action's cost.
    pub contact_cost: f64,
    /// retained_value - contact_cost.
    pub net_value: Option<f64>,
}

/// A renewal of the campaign file the extract does not have.
#[derive(Debug, Clone, Serialize)]
pub struct Unknown {
    pub policy_id: String,
    pub installment_no: u32,
}

/// The save rates a campaign measured, shrunk toward the configured ones.
#[derive(Debug, Clone, Serialize)]
pub struct MeasuredRate {
    pub action: String,
    /// `all` or a segment name.
    pub segment: String,
    pub prior: f64,
    pub measured: Option<f64>,
    pub standard_error: Option<f64>,
    /// (prior / sd^2 + measured / se^2) / (1 / sd^2 + 1 / se^2), clamped to [0, 1].
    pub shrunk: f64,
}

/// How tomorrow's work list would change with the measured economics, on this campaign's
/// renewals (best action each, no capacity).
#[derive(Debug, Clone, Serialize)]
pub struct WorkListChange {
    pub renewals: usize,
    /// Renewals whose best action changes.
    pub changed: usize,
    pub moves: Vec<ActionMove>,
    /// Sum of the best action's expected gain under each economics.
    pub expected_gain_configured: f64,
    pub expected_gain_measured: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionMove {
    pub from: String,
    pub to: String,
    pub renewals: usize,
}

/// The campaign-effect report.
#[derive(Debug, Clone, Serialize)]
pub struct EffectReport {
    pub campaign: String,
    pub campaign_as_of: String,
    pub model_version: String,
    pub outcomes_as_of: String,
    pub grace_days: i32,
    pub renewals: usize,
    pub treated: usize,
    pub control: usize,
    /// The control share asked for (when the file carries its settings) and the one drawn.
    pub holdout_asked: Option<f64>,
    pub holdout_drawn: f64,
    pub matured: usize,
    pub pending: usize,
    /// The day every renewal of the campaign has matured (the last due date + grace + 1).
    pub readable_on: String,
    pub readable: bool,
    /// Campaign renewals the extract does not know (not counted anywhere else).
    pub unknown: usize,
    pub unknown_examples: Vec<Unknown>,
    pub method: &'static str,
    pub actions: Vec<GroupEffect>,
    pub by_segment: Vec<GroupEffect>,
    pub by_channel: Vec<GroupEffect>,
    /// By the team of the renewal's agent (the agents table's `team`; empty without it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_team: Vec<GroupEffect>,
    pub measured_economics: Vec<MeasuredRate>,
    pub work_list_change: Option<WorkListChange>,
}

pub const METHOD: &str = "intention to treat: every listed renewal counts in its arm, contacted or not; save rate = 1 - r_t / r_c with a 95% interval from the log risk ratio (Katz; 0.5 added to every cell when one is zero); p-value from the pooled two-proportion z test; when customers have several renewals in a group (arms are drawn per customer), the interval, the difference's interval and the p-value are cluster-robust by customer (ratio estimator with a sandwich variance, delta method on the log risk ratio, Wald test); minimum detectable save rate at 80% power, two-sided 5%";

/// [`METHOD`] in Chinese, for zh-CN pages.
pub const METHOD_ZH: &str = "意向处理分析：每件列入清单的续期都计入其组别，无论是否实际联系；相对流失降幅 = 1 - r_t / r_c，\
95%置信区间由对数风险比得出（Katz 法；某一格为零时各格加0.5）；p 值来自合并的两比例 z 检验；同一分组中客户有多件续期时\
（组别按客户抽取），置信区间、差值区间和 p 值按客户做聚类稳健估计（比率估计量加三明治方差，对数风险比用 delta 法，Wald 检验）；\
最小可检测降幅按80%功效、双侧5%计算";

/// Per-renewal facts joined from the extract.
struct Joined<'a> {
    row: &'a CampaignRow,
    lapsed: Option<u8>,
    /// Due on or after the campaign date (the only renewals whose delivery is counted).
    pre_due: bool,
    delivered: bool,
    annual_premium: f64,
    channel: String,
    /// The team of the row's agent (None: the agents table has no team column).
    team: Option<String>,
}

#[derive(Default, Clone)]
struct Tally {
    n: [usize; 2],
    matured: [usize; 2],
    lapses: [usize; 2],
    /// Renewals due on or after the campaign date: all, matured, lapsed, delivered.
    pre_due: [usize; 2],
    pre_due_matured: [usize; 2],
    pre_due_lapses: [usize; 2],
    delivered: [usize; 2],
    premium_treated: f64,
    value_treated: f64,
    /// Per arm, per customer (the campaign's unit of randomisation): matured renewals, lapses.
    clusters: [HashMap<String, (usize, usize)>; 2],
}

fn arm_index(arm: Arm) -> usize {
    match arm {
        Arm::Treatment => 0,
        Arm::Control => 1,
    }
}

impl Tally {
    fn add(&mut self, j: &Joined<'_>) {
        let a = arm_index(j.row.arm);
        self.n[a] += 1;
        if j.pre_due {
            self.pre_due[a] += 1;
            self.delivered[a] += usize::from(j.delivered);
            if let Some(y) = j.lapsed {
                self.pre_due_matured[a] += 1;
                self.pre_due_lapses[a] += usize::from(y);
            }
        }
        if let Some(y) = j.lapsed {
            self.matured[a] += 1;
            self.lapses[a] += usize::from(y);
            let unit = j.row.customer_id.clone().unwrap_or_else(|| format!("{}#{}", j.row.policy_id, j.row.installment_no));
            let cluster = self.clusters[a].entry(unit).or_default();
            cluster.0 += 1;
            cluster.1 += usize::from(y);
            if a == 0 {
                self.premium_treated += j.annual_premium;
                self.value_treated += j.row.value_at_risk;
            }
        }
    }

    fn effect(&self, action: &str, dimension: &'static str, value: String, cost: f64) -> GroupEffect {
        let arms = Arms { treated: self.matured[0], treated_lapses: self.lapses[0], control: self.matured[1], control_lapses: self.lapses[1] };
        // Customers with several renewals: the intervals by customer (cluster-robust).
        let e = if self.clusters.iter().any(|arm| arm.values().any(|c| c.0 > 1)) {
            let clusters = |a: usize| self.clusters[a].values().copied().collect::<Vec<_>>();
            arms.estimate().clustered(&clusters(0), &clusters(1))
        } else {
            arms.estimate()
        };
        let share = |a: usize| (self.pre_due[a] > 0).then(|| self.delivered[a] as f64 / self.pre_due[a] as f64);
        let (d_t, d_c) = (share(0), share(1));
        let uplift = d_t.zip(d_c).map(|(t, c)| t - c);
        let pre_due = Arms {
            treated: self.pre_due_matured[0],
            treated_lapses: self.pre_due_lapses[0],
            control: self.pre_due_matured[1],
            control_lapses: self.pre_due_lapses[1],
        }
        .estimate();
        let n_t = self.matured[0] as f64;
        let prevented = e.difference.map(|d| d * n_t);
        let mean = |sum: f64| (n_t > 0.0).then(|| sum / n_t);
        let retained_value = prevented.zip(mean(self.value_treated)).map(|(k, v)| k * v);
        let contact_cost = n_t * cost;
        GroupEffect {
            action: action.to_string(),
            dimension,
            value,
            treated: self.n[0],
            control: self.n[1],
            treated_matured: self.matured[0],
            control_matured: self.matured[1],
            lapses_treated: self.lapses[0],
            lapses_control: self.lapses[1],
            lapse_rate_treated: e.lapse_rate_treated,
            lapse_rate_control: e.lapse_rate_control,
            save_rate: e.save_rate,
            ci_low: e.ci_low,
            ci_high: e.ci_high,
            p_value: e.p_value,
            min_detectable_save_rate: e.min_detectable_save_rate,
            delivered_treated: d_t,
            delivered_control: d_c,
            save_rate_per_delivered: pre_due.save_rate.zip(uplift.filter(|&u| u >= 0.05)).map(|(s, u)| s / u),
            lapses_prevented: prevented,
            lapses_prevented_low: e.difference_low.map(|d| d * n_t),
            lapses_prevented_high: e.difference_high.map(|d| d * n_t),
            retained_premium: prevented.zip(mean(self.premium_treated)).map(|(k, p)| k * p),
            retained_value,
            contact_cost,
            net_value: retained_value.map(|v| v - contact_cost),
        }
    }
}

/// Why the report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    #[error("the outcome date {outcomes} is before the campaign date {campaign}: nothing can have happened yet")]
    TooEarly { outcomes: String, campaign: String },
}

/// The effect of `campaign` as `book` shows it on `options.as_of`.
pub fn report(campaign: &CampaignFile, book: &Book, options: &EffectOptions) -> Result<EffectReport, EffectError> {
    if options.as_of < campaign.as_of {
        return Err(EffectError::TooEarly { outcomes: format_day(options.as_of), campaign: format_day(campaign.as_of) });
    }
    let policy_index: FxHashMap<&str, usize> = book.policies.id.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let teams = &book.agents.team;
    let agent_index: FxHashMap<&str, usize> =
        if teams.levels.is_empty() { FxHashMap::default() } else { book.agents.id.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect() };
    let team_of = |agent: Option<&str>| -> Option<String> {
        if teams.levels.is_empty() {
            return None;
        }
        Some(match agent {
            None => crate::performance::NO_AGENT.to_string(),
            Some(a) => agent_index.get(a).and_then(|&i| teams.get(i)).unwrap_or("no team").to_string(),
        })
    };
    let mut unknown = Vec::new();
    let mut joined = Vec::with_capacity(campaign.rows.len());
    for row in &campaign.rows {
        let found = policy_index.get(row.policy_id.as_str()).and_then(|&p| {
            let inst = &book.installments;
            inst.of_policy(p).find(|&i| inst.number[i] == row.installment_no).map(|i| (p, i))
        });
        let Some((p, i)) = found else {
            unknown.push(Unknown { policy_id: row.policy_id.clone(), installment_no: row.installment_no });
            continue;
        };
        let inst = &book.installments;
        let due = inst.due[i];
        let deadline = due + options.grace_days;
        let contact = format!("contact_{}", row.action);
        let events = &book.events;
        // A contact of the campaign's action from the campaign date to the day before the due
        // date (and before the outcome date): what the campaign delivered, not the collection
        // calls a renewal going unpaid gets in its grace period.
        let pre_due = due >= campaign.as_of;
        let in_window = |d: Day| d >= campaign.as_of && d < due.min(options.as_of);
        let recorded = options
            .recorded_contacts
            .get(&(row.policy_id.clone(), row.installment_no))
            .is_some_and(|attempts| attempts.iter().any(|(d, action)| in_window(*d) && *action == row.action));
        let delivered =
            pre_due && (recorded || events.of_policy(p).any(|e| in_window(events.date[e]) && events.kind.get(e) == Some(contact.as_str())));
        joined.push(Joined {
            row,
            // Matured only once the grace has ended, paid or not: counting early payers as
            // matured would let the arm (which speeds payment) decide who is compared.
            lapsed: (deadline < options.as_of).then(|| outcome_known_at(due, inst.paid[i], options.grace_days, options.as_of)).flatten(),
            pre_due,
            delivered,
            annual_premium: book.policies.modal_premium[p] * f64::from(book.policies.frequency[p].per_year()),
            channel: book.policies.channel.get(p).unwrap_or("(missing)").to_string(),
            team: team_of(row.agent_id.as_deref()),
        });
    }

    let cost = |action: &str| options.economics.actions.iter().find(|a| a.name == action).map_or(0.0, |a| a.cost);
    // (action, dimension, value) -> tally, in a stable order.
    let mut tallies: BTreeMap<(String, &'static str, String), Tally> = BTreeMap::new();
    for j in &joined {
        for (dimension, value) in [("all", "all".to_string()), ("segment", j.row.segment.clone()), ("channel", j.channel.clone())] {
            tallies.entry((j.row.action.clone(), dimension, value)).or_default().add(j);
        }
        if let Some(team) = &j.team {
            tallies.entry((j.row.action.clone(), "team", team.clone())).or_default().add(j);
        }
    }
    // Actions in the economics' order, then any others by name.
    let rank = |action: &str| options.economics.actions.iter().position(|a| a.name == action).unwrap_or(usize::MAX);
    let mut effects: Vec<GroupEffect> =
        tallies.iter().map(|((action, dimension, value), t)| t.effect(action, dimension, value.clone(), cost(action))).collect();
    effects.sort_by(|a, b| (rank(&a.action), &a.action).cmp(&(rank(&b.action), &b.action)));
    let pick = |dimension: &str| effects.iter().filter(|e| e.dimension == dimension).cloned().collect::<Vec<_>>();
    let (actions, by_segment, by_channel, by_team) = (pick("all"), pick("segment"), pick("channel"), pick("team"));

    let measured = measured_rates(&actions, &by_segment, options);
    let work_list_change =
        (!measured.is_empty()).then(|| work_list_change(&campaign.rows, &options.economics, &measured_economics(&options.economics, &measured)));
    let matured = joined.iter().filter(|j| j.lapsed.is_some()).count();
    let last_due = campaign.rows.iter().map(|r| r.due_date).max().unwrap_or(campaign.as_of);
    let readable_on = last_due + options.grace_days + 1;
    let treated = campaign.rows.iter().filter(|r| r.arm == Arm::Treatment).count();
    let control = campaign.rows.len() - treated;
    Ok(EffectReport {
        campaign: campaign.name.clone(),
        campaign_as_of: format_day(campaign.as_of),
        model_version: campaign.model_version.clone(),
        outcomes_as_of: format_day(options.as_of),
        grace_days: options.grace_days,
        renewals: campaign.rows.len(),
        treated,
        control,
        holdout_asked: campaign.settings.as_ref().map(|s| s.holdout),
        holdout_drawn: control as f64 / campaign.rows.len().max(1) as f64,
        matured,
        pending: joined.len() - matured,
        readable_on: format_day(readable_on),
        readable: options.as_of >= readable_on,
        unknown: unknown.len(),
        unknown_examples: unknown.into_iter().take(10).collect(),
        method: METHOD,
        actions,
        by_segment,
        by_channel,
        by_team,
        measured_economics: measured,
        work_list_change,
    })
}

/// The effect at `as_of` of a campaign the outcome store holds (or a campaigns directory):
/// costs and priors from the economics it ran with, the recorded outcomes before `as_of` as
/// delivered contacts. What the nightly and `lapse performance` report for stored campaigns.
pub fn stored_campaign_report(
    record: &lapse_retention::campaign::store::Record,
    campaign: &lapse_retention::campaign::Campaign,
    book: &Book,
    as_of: Day,
    grace_days: i32,
    outcomes: Option<&[lapse_retention::outcomes::Outcome]>,
) -> Result<EffectReport, EffectError> {
    let file = CampaignFile {
        name: record.settings.name.clone(),
        as_of: record.settings.as_of,
        model_version: record.settings.model_version.clone(),
        rows: campaign.rows.clone(),
        settings: Some(record.settings.clone()),
    };
    let options = EffectOptions {
        as_of,
        grace_days,
        economics: record.settings.economics.clone(),
        prior_sd: DEFAULT_PRIOR_SD,
        min_segment_control_lapses: DEFAULT_MIN_SEGMENT_CONTROL_LAPSES,
        recorded_contacts: outcomes
            .map(|all| recorded_contacts(&all.iter().filter(|o| o.day < as_of).cloned().collect::<Vec<_>>()))
            .unwrap_or_default(),
    };
    report(&file, book, &options)
}

/// Precision-weighted shrinkage of a measured rate toward its prior, within [0, 1] (a save
/// rate an economics file takes).
fn shrink(prior: f64, prior_sd: f64, measured: Option<f64>, se: Option<f64>) -> f64 {
    stats::shrink(prior, prior_sd, measured.zip(se), (0.0, 1.0))
}

/// The standard error of a save rate, read off its 95% interval.
fn standard_error(e: &GroupEffect) -> Option<f64> {
    stats::standard_error(e.ci_low, e.ci_high)
}

/// Each configured action's save rate shrunk toward its prior by the campaign's uncertainty,
/// and, for segments with enough control lapses, a segment rate shrunk toward the action's.
fn measured_rates(actions: &[GroupEffect], by_segment: &[GroupEffect], options: &EffectOptions) -> Vec<MeasuredRate> {
    let mut out = Vec::new();
    for configured in &options.economics.actions {
        let Some(all) = actions.iter().find(|e| e.action == configured.name) else { continue };
        let se = standard_error(all);
        let action_rate = shrink(configured.save_rate, options.prior_sd, all.save_rate, se);
        out.push(MeasuredRate {
            action: configured.name.clone(),
            segment: "all".into(),
            prior: configured.save_rate,
            measured: all.save_rate,
            standard_error: se,
            shrunk: action_rate,
        });
        for segment in segments() {
            let Some(e) = by_segment.iter().find(|e| e.action == configured.name && e.value == segment) else { continue };
            if e.lapses_control < options.min_segment_control_lapses {
                continue;
            }
            let se = standard_error(e);
            out.push(MeasuredRate {
                action: configured.name.clone(),
                segment: segment.to_string(),
                prior: action_rate,
                measured: e.save_rate,
                standard_error: se,
                shrunk: shrink(action_rate, options.prior_sd, e.save_rate, se),
            });
        }
    }
    out
}

/// The configured economics with the measured (shrunk) save rates in place.
pub fn measured_economics(configured: &Economics, measured: &[MeasuredRate]) -> Economics {
    let mut economics = configured.clone();
    for action in &mut economics.actions {
        for m in measured.iter().filter(|m| m.action == action.name) {
            if m.segment == "all" {
                action.save_rate = m.shrunk;
            } else {
                action.segment_save_rates.insert(m.segment.clone(), m.shrunk);
            }
        }
    }
    economics
}

fn work_list_change(rows: &[CampaignRow], configured: &Economics, measured: &Economics) -> WorkListChange {
    let mut moves: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut before, mut after, mut changed) = (0.0, 0.0, 0);
    for r in rows {
        let (a, g) = configured.best_action(r.probability, r.value_at_risk);
        let (b, h) = measured.best_action(r.probability, r.value_at_risk);
        before += g;
        after += h;
        if a != b {
            changed += 1;
            *moves.entry((configured.action_name(a).to_string(), measured.action_name(b).to_string())).or_default() += 1;
        }
    }
    WorkListChange {
        renewals: rows.len(),
        changed,
        moves: moves.into_iter().map(|((from, to), renewals)| ActionMove { from, to, renewals }).collect(),
        expected_gain_configured: before,
        expected_gain_measured: after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapse_core::extract::{OnError, load_book};
    use lapse_core::testkit::{CsvBook, day};
    use lapse_retention::campaign::{Arm, CampaignRow};
    use lapse_retention::outcomes::{ContactResult, Outcome};

    #[test]
    fn contact_attempts_recorded_in_the_store_count_as_delivered_in_their_window() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = CsvBook::new();
        for p in ["P1", "P2", "P3", "P4"] {
            book.annual_policy(p, "2024-07-01").installment(p, 2, "2025-07-01", "");
        }
        let loaded = load_book(&book.write(dir.path()), OnError::Strict).unwrap();
        let row = |policy: &str, arm| CampaignRow {
            rank: 1,
            customer_id: Some(format!("C-{policy}")),
            policy_id: policy.into(),
            installment_no: 2,
            due_date: day("2025-07-01"),
            action: "call".into(),
            arm,
            probability: 0.3,
            value_at_risk: 10_000.0,
            expected_gain: 10.0,
            segment: "high_risk_low_value".into(),
            channel: None,
            product_type: None,
            region: None,
            agent_id: None,
        };
        let campaign = CampaignFile {
            name: "june".into(),
            as_of: day("2025-06-01"),
            model_version: "v1".into(),
            rows: vec![row("P1", Arm::Treatment), row("P2", Arm::Treatment), row("P3", Arm::Control), row("P4", Arm::Control)],
            settings: None,
        };
        // P1 called in the window (a no-answer is still a call made); P2 called after due (a
        // collection call, not the campaign's); P3 sent an SMS (another action).
        let attempt = |policy: &str, action: &str, result, on: &str| Outcome {
            id: format!("{policy}-{on}"),
            policy_id: policy.into(),
            installment_no: 2,
            customer_id: format!("C-{policy}"),
            action: action.into(),
            result,
            at: String::new(),
            at_ms: 0,
            day: day(on),
            reason: None,
            promised_date: None,
            agent_id: None,
            note: None,
        };
        let outcomes = [
            attempt("P1", "call", ContactResult::NoAnswer, "2025-06-10"),
            attempt("P2", "call", ContactResult::Reached, "2025-07-05"),
            attempt("P3", "sms", ContactResult::Reached, "2025-06-10"),
        ];
        let options = |recorded_contacts| EffectOptions {
            as_of: day("2025-10-01"),
            grace_days: 60,
            economics: Economics::default(),
            prior_sd: DEFAULT_PRIOR_SD,
            min_segment_control_lapses: DEFAULT_MIN_SEGMENT_CONTROL_LAPSES,
            recorded_contacts,
        };
        let delivered = |options: &EffectOptions| {
            let r = report(&campaign, &loaded.book, options).unwrap();
            let all = r.actions.iter().find(|g| g.action == "call" && g.dimension == "all").unwrap().clone();
            (all.delivered_treated, all.delivered_control)
        };
        assert_eq!(delivered(&options(Default::default())), (Some(0.0), Some(0.0)), "the extract has no contact events");
        assert_eq!(delivered(&options(recorded_contacts(&outcomes))), (Some(0.5), Some(0.0)));
    }
}
