//! Renewal team performance (续期考核): the collection rate of `DATA_CONTRACT.md` ("Renewal
//! collection KPIs") per due month and group (agent, team, branch, region, channel, product
//! type, all), against targets, and risk-adjusted: observed against what the lapse model
//! expected of the group's renewals, with an interval, and shrunk (empirical Bayes) for the
//! league tables so a group with three renewals does not top them by luck.
//!
//! The tallies are arrays indexed by (group code, month): one pass over the installments,
//! no hashing per renewal (a million-policy book, twelve months: BENCHMARKS.md).

pub mod expected;
pub mod export;
pub mod servicing;
#[cfg(test)]
mod tests;
pub mod work;

use serde::Serialize;

use lapse_core::categories::Categories;
use lapse_core::dates::{Day, add_months, civil_from_days, format_day, parse_day};
use lapse_core::extract::Book;

/// The definition, as the report prints it.
pub const DEFINITION: &str = "For a due month M measured at T: premium due = the sum of amount_due over the renewals \
(installment_no >= 2) due in M; premium collected = the sum of amount_paid over those paid on or before due_date + grace_days \
and before T; collection rate = collected / due (by premium, and by count). A renewal whose due_date + grace_days is on or after \
T is open: counted in the due figures, and its group's month is open. A renewal belongs to its policy's agent (\"no agent\" \
when none), that agent's team and branch, and the policy's region, channel and product type.";

/// [`DEFINITION`] in Chinese, for zh-CN pages.
pub const DEFINITION_ZH: &str = "应缴月份 M 在统计日 T 的口径：应收续期保费 = M 月应缴的续期（installment_no >= 2）的 amount_due 之和；\
实收续期保费 = 其中在 due_date + grace_days 当日或之前且在 T 之前缴纳的 amount_paid 之和；达成率 = 实收 / 应收（按保费，也按件数）。\
due_date + grace_days 在 T 当日或之后的续期为进行中：计入应收，其分组的该月为进行中。续期归属其保单的业务员（没有业务员时为“no agent”）、\
该业务员的团队和机构，以及保单的地区、渠道和产品类型。";

/// The key of renewals whose policy has no agent (and of their team and branch).
pub const NO_AGENT: &str = "no agent";

/// A level of grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    All,
    Agent,
    Team,
    Branch,
    Region,
    Channel,
    Product,
    /// The renewal's servicing state at its due date: serviced, orphan (孤儿单), before and
    /// after a reassignment, no agent ([`servicing`]).
    Servicing,
}

impl Level {
    pub const ALL: [Level; 8] =
        [Level::All, Level::Agent, Level::Team, Level::Branch, Level::Region, Level::Channel, Level::Product, Level::Servicing];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::All => "all",
            Level::Agent => "agent",
            Level::Team => "team",
            Level::Branch => "branch",
            Level::Region => "region",
            Level::Channel => "channel",
            Level::Product => "product",
            Level::Servicing => "servicing",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        Self::ALL.into_iter().find(|l| l.as_str() == text.trim())
    }
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// The month `day` falls in.
    pub fn of(day: Day) -> Month {
        let (year, month, _) = civil_from_days(day);
        Month { year, month }
    }

    /// `2026-01`.
    pub fn parse(text: &str) -> Option<Month> {
        let day = parse_day(&format!("{}-01", text.trim()))?;
        Some(Month::of(day))
    }

    pub fn first_day(self) -> Day {
        parse_day(&format!("{:04}-{:02}-01", self.year, self.month)).expect("a valid month")
    }

    pub fn last_day(self) -> Day {
        add_months(self.first_day(), 1) - 1
    }

    pub fn next(self) -> Month {
        Month::of(add_months(self.first_day(), 1))
    }

    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// FROM..TO (inclusive), or one month.
    pub fn range(text: &str) -> Option<Vec<Month>> {
        let (from, to) = match text.split_once("..") {
            Some((a, b)) => (Month::parse(a)?, Month::parse(b)?),
            None => {
                let m = Month::parse(text)?;
                (m, m)
            }
        };
        if to < from || (to.year - from.year) * 12 + to.month as i32 - from.month as i32 > 120 {
            return None;
        }
        let mut months = vec![from];
        while *months.last().expect("one") < to {
            months.push(months.last().expect("one").next());
        }
        Some(months)
    }
}

/// A target rate for a group and month (`--targets`: level, key, month, target_rate).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub level: Level,
    pub key: String,
    pub month: Month,
    pub target_rate: f64,
}

/// What the report is asked for.
#[derive(Debug, Clone)]
pub struct PerformanceOptions {
    pub as_of: Day,
    /// Ascending.
    pub months: Vec<Month>,
    pub levels: Vec<Level>,
    pub grace_days: i32,
    pub targets: Vec<Target>,
}

/// One group's month.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupMonth {
    pub level: Level,
    pub key: String,
    /// `2026-01`, or the whole period `2026-01..2026-12` (a report of several months).
    pub month: String,
    pub renewals_due: u64,
    pub premium_due: f64,
    pub renewals_collected: u64,
    pub premium_collected: f64,
    /// premium collected / premium due (None when nothing was due).
    pub collection_rate: Option<f64>,
    /// renewals collected / renewals due.
    pub count_rate: Option<f64>,
    /// Some renewal's grace is not over at T: the month is still in progress for this group.
    pub open: bool,
    pub renewals_open: u64,
    pub premium_open: f64,
    pub target_rate: Option<f64>,
    /// collection rate / target rate.
    pub attainment: Option<f64>,
    /// target rate x premium due - premium collected: the premium still short of target
    /// (negative: ahead of it).
    pub gap_premium: Option<f64>,
    /// Closed months with a model: the premium the model expected collected (each renewal's
    /// amount due x (1 - P(lapse)) at the start of its due month), its rate, observed / expected
    /// and its 95% interval (the model's own variance of the collected premium).
    pub expected_collected: Option<f64>,
    pub expected_rate: Option<f64>,
    pub observed_to_expected: Option<f64>,
    pub oe_low: Option<f64>,
    pub oe_high: Option<f64>,
    /// Shrunk towards the level's month (empirical Bayes): O/E with a model, and the collection
    /// rate (with a model: expected rate x shrunk O/E); what the league tables rank by.
    pub shrunk_observed_to_expected: Option<f64>,
    pub shrunk_collection_rate: Option<f64>,
    /// Place in the level's league table of the month (closed months; 1 is best).
    pub rank: Option<u32>,
    /// 13th-month persistency (the persistency report's definition) of the group's policies
    /// whose month-13 premium fell due in this month, its grace over: the base, and the ratio by
    /// count and by annualized premium. Zero and None for the `servicing` level (a state of a
    /// renewal, not of a policy).
    pub persistency_13_policies: u64,
    pub persistency_13: Option<f64>,
    pub persistency_13_premium: Option<f64>,
    /// The same at the 25th month.
    pub persistency_25_policies: u64,
    pub persistency_25: Option<f64>,
    pub persistency_25_premium: Option<f64>,
    /// The work behind the figures (only with the outcome store or a score log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work: Option<work::WorkCounts>,
}

/// The model the expectations came from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RiskModel {
    pub version: String,
    /// Inputs describing the agent's own record, set to the book's typical value when scoring
    /// (the expectation is of an average agent on this book: a good agent's record must not
    /// lower what is expected of them).
    pub neutralized: Vec<String>,
    /// Renewals scored (due in the report's months, not paid before their month began).
    pub scored: u64,
    /// Of them, the share the model was fitted or calibrated on (its expectations there are
    /// in-sample and lean towards what happened).
    pub fitted_share: Option<f64>,
}

/// The performance report.
#[derive(Debug, Clone, Serialize)]
pub struct PerformanceReport {
    pub as_of: String,
    pub grace_days: i32,
    pub definition: &'static str,
    pub months: Vec<String>,
    pub levels: Vec<Level>,
    /// Levels asked for but not reportable, and why (e.g. the agents table has no `team`).
    pub omitted_levels: Vec<(Level, String)>,
    pub risk_model: Option<RiskModel>,
    /// Targets that named no group of the report (level, key, month).
    pub unmatched_targets: Vec<String>,
    /// Renewals paid in grace whose `amount_paid` is missing: counted as collected with 0.
    pub paid_without_amount: u64,
    /// The closed months together (`2026-01..2026-04`), a period of its own in `groups` when
    /// some months are still open and at least two are closed.
    pub closed_period: Option<String>,
    /// The period the league tables rank: the closed months together, else the last closed
    /// month (None: no month is closed).
    pub league_period: Option<String>,
    /// What the work figures were read from (None: no outcome store or score log given).
    pub work: Option<work::WorkSource>,
    /// Where stored campaigns ran with a control arm: the measured save rate per campaign,
    /// action and team, with its interval (the effect report's method, `lapse effect`).
    pub campaign_save_rates: Vec<TeamSaveRate>,
    pub groups: Vec<GroupMonth>,
}

/// A campaign's save rate for one action and team.
#[derive(Debug, Clone, Serialize)]
pub struct TeamSaveRate {
    pub campaign: String,
    pub campaign_as_of: String,
    /// Every renewal's grace has ended: the figure is final.
    pub readable: bool,
    pub readable_on: String,
    #[serde(flatten)]
    pub effect: crate::effect::GroupEffect,
}

/// The save rates by team of `campaigns` with a control arm and a renewal due in the report's
/// months, at `options.as_of` (the effect report's method; costs from each campaign's own
/// economics; recorded outcomes as delivered contacts). A campaign the extract cannot be joined
/// with is logged and left out.
pub fn campaign_save_rates(
    campaigns: &[(lapse_retention::campaign::store::Record, lapse_retention::campaign::Campaign)],
    book: &Book,
    options: &PerformanceOptions,
    outcomes: Option<&[lapse_retention::outcomes::Outcome]>,
) -> Vec<TeamSaveRate> {
    use lapse_retention::campaign::Arm;
    let (Some(first), Some(last)) = (options.months.first(), options.months.last()) else { return Vec::new() };
    let (from, to) = (first.first_day(), last.last_day());
    let mut out = Vec::new();
    for (record, campaign) in campaigns {
        let in_period = campaign.rows.iter().any(|r| r.due_date >= from && r.due_date <= to);
        if !in_period || !campaign.rows.iter().any(|r| r.arm == Arm::Control) || record.settings.as_of > options.as_of {
            continue;
        }
        match crate::effect::stored_campaign_report(record, campaign, book, options.as_of, options.grace_days, outcomes) {
            Ok(r) => out.extend(r.by_team.iter().map(|e| TeamSaveRate {
                campaign: r.campaign.clone(),
                campaign_as_of: r.campaign_as_of.clone(),
                readable: r.readable,
                readable_on: r.readable_on.clone(),
                effect: e.clone(),
            })),
            Err(e) => tracing::warn!(campaign = %record.settings.name, error = %e, "no save rates by team for this campaign"),
        }
    }
    out
}

/// Per installment row, what is known beyond the extract: the lapse model's expectation and
/// the work recorded (see [`report`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct RenewalInputs<'a> {
    /// P(lapse) at the start of the renewal's due month ([`expected::expected_lapse`]).
    pub expected: Option<(&'a [f32], &'a RiskModel)>,
    /// The work flags ([`work::renewal_work`]) and their source.
    pub work: Option<(&'a [u8], &'a work::WorkSource)>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    due_n: u64,
    due: f64,
    collected_n: u64,
    collected: f64,
    open_n: u64,
    open: f64,
    /// Closed renewals with an expectation: their amount due, expected collected, variance.
    scored_due: f64,
    expected: f64,
    variance: f64,
    /// 13th and 25th month: policies in the base, persisting, and their annualized premiums.
    persist_n: [u64; 2],
    persist_kept: [u64; 2],
    persist_premium: [f64; 2],
    persist_kept_premium: [f64; 2],
    work: work::WorkTally,
}

/// One level's groups: a code per policy (or per renewal) and the keys.
struct Grouping {
    level: Level,
    keys: Vec<String>,
    /// Per policy: its group's index in `keys` (empty when `of_renewal` is given).
    of_policy: Vec<u32>,
    /// Per installment row: its group's index (a level that is a state of the renewal, of a
    /// few values).
    of_renewal: Option<Vec<u8>>,
}

impl Grouping {
    fn code(&self, policy: usize, row: usize) -> usize {
        match &self.of_renewal {
            Some(codes) => codes[row] as usize,
            None => self.of_policy[policy] as usize,
        }
    }
}

/// Interns `column`'s policy values (with `missing` for none) into a grouping.
fn grouping(level: Level, policies: usize, value: impl Fn(usize) -> Option<String>, missing: &str) -> Grouping {
    let mut index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut keys = Vec::new();
    let of_policy = (0..policies)
        .map(|p| {
            let key = value(p).unwrap_or_else(|| missing.to_string());
            *index.entry(key.clone()).or_insert_with(|| {
                keys.push(key);
                (keys.len() - 1) as u32
            })
        })
        .collect();
    Grouping { level, keys, of_policy, of_renewal: None }
}

fn category(c: &Categories, row: usize) -> Option<String> {
    c.get(row).map(str::to_string)
}

/// The groupings of `levels` that `book` can report, and the levels it cannot.
fn groupings(book: &Book, levels: &[Level], as_of: Day) -> (Vec<Grouping>, Vec<(Level, String)>) {
    let policies = &book.policies;
    let n = policies.len();
    let agents = &book.agents;
    let mut out = Vec::new();
    let mut omitted = Vec::new();
    for &level in levels {
        let of_agent = |column: &Categories, what: &str| -> Option<Grouping> {
            if column.levels.is_empty() {
                return None;
            }
            Some(grouping(
                level,
                n,
                |p| match (policies.agent_id.get(p), policies.agent[p]) {
                    (None, _) => Some(NO_AGENT.to_string()),
                    (Some(_), Some(a)) => Some(column.get(a as usize).map_or_else(|| format!("no {what}"), str::to_string)),
                    (Some(_), None) => Some(format!("no {what}")),
                },
                NO_AGENT,
            ))
        };
        let grouped = match level {
            Level::All => Some(grouping(level, n, |_| Some("all".to_string()), "all")),
            Level::Agent => Some(grouping(level, n, |p| category(&policies.agent_id, p), NO_AGENT)),
            Level::Team => of_agent(&agents.team, "team"),
            Level::Branch => of_agent(&agents.branch, "branch"),
            Level::Region => Some(grouping(level, n, |p| category(&policies.region, p), "(missing)")),
            Level::Channel => Some(grouping(level, n, |p| category(&policies.channel, p), "(missing)")),
            Level::Product => Some(grouping(level, n, |p| category(&policies.product_type, p), "(missing)")),
            Level::Servicing => Some(Grouping {
                level,
                keys: servicing::STATES.iter().map(|s| s.to_string()).collect(),
                of_policy: Vec::new(),
                of_renewal: Some(servicing::servicing_states(book, as_of)),
            }),
        };
        match grouped {
            Some(g) => out.push(g),
            None => omitted.push((level, format!("the agents table has no {} column (or no value in it)", level.as_str()))),
        }
    }
    (out, omitted)
}

/// The report of `book` at `options.as_of`. `inputs.expected`, when given, is each installment
/// row's P(lapse) at the start of its due month (NaN: not scored; 0 for renewals paid before
/// it), from [`expected::expected_lapse`]; `inputs.work` the work flags per installment row.
/// `campaign_save_rates` is left empty for the caller ([`team_save_rates`]).
pub fn report(book: &Book, options: &PerformanceOptions, inputs: RenewalInputs<'_>) -> PerformanceReport {
    let t = options.as_of;
    let grace = options.grace_days;
    let months = &options.months;
    let expected = inputs.expected;
    let work_flags = inputs.work.map(|(flags, _)| flags);
    let (groupings, omitted_levels) = groupings(book, &options.levels, t);
    // Per group: one tally per month, then (several months) the period's total, then (when
    // some months are open and at least two closed) the total of the closed months: the
    // league tables' period, with more renewals per group than one month.
    let closed_n = months.iter().take_while(|m| m.last_day() + grace < t).count();
    let has_total = months.len() > 1;
    let has_closed = closed_n >= 2 && closed_n < months.len();
    let (total_slot, closed_slot) = (months.len(), months.len() + usize::from(has_total));
    let periods = months.len() + usize::from(has_total) + usize::from(has_closed);
    let mut tallies: Vec<Vec<Tally>> = groupings.iter().map(|g| vec![Tally::default(); g.keys.len() * periods]).collect();
    let (first, last) = match (months.first(), months.last()) {
        (Some(a), Some(b)) => (a.first_day(), b.last_day()),
        _ => (0, -1),
    };
    let month_starts: Vec<Day> = months.iter().map(|m| m.first_day()).collect();
    let inst = &book.installments;
    let mut paid_without_amount = 0u64;
    let slots = move |m: usize| [Some(m), has_total.then_some(total_slot), (has_closed && m < closed_n).then_some(closed_slot)].into_iter().flatten();
    for p in 0..book.policies.len() {
        // Persistency, filed under the month its month-13 (25) premium fell due.
        for (k, month_k) in [13u32, 25].into_iter().enumerate() {
            let Some((due, persisted)) = crate::persistency::persistency_at(book, p, month_k, t, grace) else { continue };
            if due < first || due > last {
                continue;
            }
            let m = month_starts.partition_point(|&s| s <= due) - 1;
            let premium = book.policies.modal_premium[p] * f64::from(book.policies.frequency[p].per_year());
            for (g, grouping) in groupings.iter().enumerate().filter(|(_, g)| g.of_renewal.is_none()) {
                let base = grouping.of_policy[p] as usize * periods;
                for slot in slots(m) {
                    let tally = &mut tallies[g][base + slot];
                    tally.persist_n[k] += 1;
                    tally.persist_premium[k] += premium;
                    if persisted {
                        tally.persist_kept[k] += 1;
                        tally.persist_kept_premium[k] += premium;
                    }
                }
            }
        }
        for i in inst.of_policy(p) {
            let due = inst.due[i];
            if inst.number[i] < 2 || due < first || due > last {
                continue;
            }
            let m = month_starts.partition_point(|&s| s <= due) - 1;
            let amount = inst.amount_due[i];
            let deadline = due + grace;
            let collected = inst.paid[i].is_some_and(|paid| paid <= deadline && paid < t);
            if collected && inst.amount_paid[i].is_none() {
                paid_without_amount += 1;
            }
            let paid_amount = if collected { inst.amount_paid[i].unwrap_or(0.0) } else { 0.0 };
            let open = deadline >= t;
            let lapse = expected.and_then(|(p, _)| p.get(i).copied()).filter(|p| !p.is_nan()).map(f64::from);
            let flags = work_flags.map(|f| f[i]);
            for (g, grouping) in groupings.iter().enumerate() {
                let base = grouping.code(p, i) * periods;
                for slot in slots(m) {
                    let tally = &mut tallies[g][base + slot];
                    if let Some(f) = flags {
                        tally.work.add(f);
                    }
                    tally.due_n += 1;
                    tally.due += amount;
                    if collected {
                        tally.collected_n += 1;
                        tally.collected += paid_amount;
                    }
                    if open {
                        tally.open_n += 1;
                        tally.open += amount;
                    } else if let Some(q) = lapse {
                        tally.scored_due += amount;
                        tally.expected += amount * (1.0 - q);
                        tally.variance += amount * amount * q * (1.0 - q);
                    }
                }
            }
        }
    }
    let target_of = |level: Level, key: &str, month: Month| {
        options.targets.iter().find(|x| x.level == level && x.key == key && x.month == month).map(|x| x.target_rate)
    };
    let mut groups = Vec::new();
    for (g, grouping) in groupings.iter().enumerate() {
        for (k, key) in grouping.keys.iter().enumerate() {
            for m in 0..periods {
                let tally = tallies[g][k * periods + m];
                if tally.due_n == 0 && tally.persist_n == [0, 0] {
                    continue;
                }
                let rate = (tally.due > 0.0).then(|| tally.collected / tally.due);
                // The period's total has no target (targets are monthly).
                let (label, target_rate) = match months.get(m) {
                    Some(month) => (month.label(), target_of(grouping.level, key, *month)),
                    None if m == total_slot => (period_label(months), None),
                    None => (period_label(&months[..closed_n]), None),
                };
                let risk = (tally.open_n == 0 && tally.scored_due > 0.0 && tally.expected > 0.0 && tally.scored_due == tally.due).then_some(tally);
                let oe = risk.map(|r| r.collected / r.expected);
                let se = risk.map(|r| r.variance.sqrt() / r.expected);
                groups.push(GroupMonth {
                    level: grouping.level,
                    key: key.clone(),
                    month: label,
                    renewals_due: tally.due_n,
                    premium_due: tally.due,
                    renewals_collected: tally.collected_n,
                    premium_collected: tally.collected,
                    collection_rate: rate,
                    count_rate: (tally.due_n > 0).then(|| tally.collected_n as f64 / tally.due_n as f64),
                    open: tally.open_n > 0,
                    renewals_open: tally.open_n,
                    premium_open: tally.open,
                    target_rate,
                    attainment: target_rate.zip(rate).filter(|(t, _)| *t > 0.0).map(|(t, r)| r / t),
                    gap_premium: target_rate.map(|t| t * tally.due - tally.collected),
                    expected_collected: risk.map(|r| r.expected),
                    expected_rate: risk.map(|r| r.expected / r.due),
                    observed_to_expected: oe,
                    oe_low: oe.zip(se).map(|(o, s)| (o - 1.96 * s).max(0.0)),
                    oe_high: oe.zip(se).map(|(o, s)| o + 1.96 * s),
                    shrunk_observed_to_expected: None,
                    shrunk_collection_rate: None,
                    rank: None,
                    persistency_13_policies: tally.persist_n[0],
                    persistency_13: ratio(tally.persist_kept[0] as f64, tally.persist_n[0] as f64),
                    persistency_13_premium: ratio(tally.persist_kept_premium[0], tally.persist_premium[0]),
                    persistency_25_policies: tally.persist_n[1],
                    persistency_25: ratio(tally.persist_kept[1] as f64, tally.persist_n[1] as f64),
                    persistency_25_premium: ratio(tally.persist_kept_premium[1], tally.persist_premium[1]),
                    work: work_flags.map(|_| tally.work.counts(tally.due_n)),
                });
            }
        }
    }
    shrink_and_rank(&mut groups);
    let matched = |x: &Target| groups.iter().any(|g| g.level == x.level && g.key == x.key && g.month == x.month.label());
    let unmatched_targets =
        options.targets.iter().filter(|x| !matched(x)).map(|x| format!("{},{},{}", x.level.as_str(), x.key, x.month.label())).collect();
    PerformanceReport {
        as_of: format_day(t),
        grace_days: grace,
        definition: DEFINITION,
        months: months.iter().map(|m| m.label()).collect(),
        levels: groupings.iter().map(|g| g.level).collect(),
        omitted_levels,
        risk_model: expected.map(|(_, model)| model.clone()),
        unmatched_targets,
        paid_without_amount,
        work: inputs.work.map(|(_, source)| source.clone()),
        closed_period: has_closed.then(|| period_label(&months[..closed_n])),
        league_period: match (has_closed, has_total, closed_n) {
            (true, _, _) => Some(period_label(&months[..closed_n])),
            (false, true, n) if n == months.len() => Some(period_label(months)),
            (_, _, 0) => None,
            (_, _, n) => Some(months[n - 1].label()),
        },
        campaign_save_rates: Vec::new(),
        groups,
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// Empirical Bayes, per level and month over its closed groups: each group's figure x with
/// sampling variance s² is pulled towards the level's precision-weighted mean m by
/// s² / (s² + τ²), τ² the spread of the true figures (DerSimonian-Laird, at least 0). With
/// expectations the figure is O/E (s from the model's variance);
/// without, the collection rate (s² = r(1 - r) / n, n the renewals due). Then ranks.
fn shrink_and_rank(groups: &mut [GroupMonth]) {
    use std::collections::BTreeMap;
    let mut cells: BTreeMap<(Level, String), Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        if !g.open && !matches!(g.level, Level::All | Level::Servicing) && g.renewals_due > 0 {
            cells.entry((g.level, g.month.clone())).or_default().push(i);
        }
    }
    for members in cells.values() {
        let risk_adjusted = members.iter().all(|&i| groups[i].observed_to_expected.is_some());
        // (figure, sampling variance) per member.
        let figures: Vec<Option<(f64, f64)>> = members
            .iter()
            .map(|&i| {
                let g = &groups[i];
                if risk_adjusted {
                    let oe = g.observed_to_expected?;
                    let se = (g.oe_high? - oe) / 1.96;
                    Some((oe, se * se))
                } else {
                    let r = g.collection_rate?;
                    let n = g.renewals_due as f64;
                    // A rate of 0 or 1 still has uncertainty: half a renewal either way.
                    let r_var = ((r * n + 0.5) / (n + 1.0)) * (1.0 - (r * n + 0.5) / (n + 1.0)) / n;
                    Some((r, r_var))
                }
            })
            .collect();
        let present: Vec<(f64, f64)> = figures.iter().flatten().copied().collect();
        if present.is_empty() {
            continue;
        }
        let weights: Vec<f64> = present.iter().map(|(_, v)| 1.0 / v.max(1e-12)).collect();
        let total: f64 = weights.iter().sum();
        let mean = present.iter().zip(&weights).map(|((x, _), w)| x * w).sum::<f64>() / total;
        // DerSimonian-Laird: Q = Σ w (x - m)² exceeds its k - 1 expected under no spread by
        // τ² (Σw - Σw²/Σw). Precise groups weigh more than in the plain method of moments,
        // which let a crowd of one-renewal groups hide a real spread among the big ones.
        let q: f64 = present.iter().zip(&weights).map(|((x, _), w)| w * (x - mean).powi(2)).sum();
        let scale = total - weights.iter().map(|w| w * w).sum::<f64>() / total;
        let tau2 = if scale > 0.0 { ((q - (present.len() as f64 - 1.0)) / scale).max(0.0) } else { 0.0 };
        let mut ranked: Vec<(usize, f64, f64)> = Vec::new();
        for (&i, figure) in members.iter().zip(&figures) {
            let Some((x, v)) = figure else { continue };
            let shrunk = if tau2 + v > 0.0 { mean + (x - mean) * tau2 / (tau2 + v) } else { mean };
            let g = &mut groups[i];
            if risk_adjusted {
                g.shrunk_observed_to_expected = Some(shrunk);
                g.shrunk_collection_rate = g.expected_rate.map(|e| (e * shrunk).min(1.0));
            } else {
                g.shrunk_collection_rate = Some(shrunk);
            }
            ranked.push((i, shrunk, *x));
        }
        // Equal shrunk figures share a place (when the spread between groups is within noise,
        // τ² = 0, every group shares the first place: the data cannot tell them apart, and an
        // order by name would pretend it can); within a place, the raw figure orders the rows.
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.total_cmp(&a.2)).then(groups[a.0].key.cmp(&groups[b.0].key)));
        let mut place = 0u32;
        let mut previous = f64::NAN;
        for (n, (i, shrunk, _)) in ranked.into_iter().enumerate() {
            if (shrunk - previous).abs() > 1e-9 * shrunk.abs().max(1.0) || previous.is_nan() {
                place = n as u32 + 1;
                previous = shrunk;
            }
            groups[i].rank = Some(place);
        }
    }
}

/// The label of a report's whole period: `2026-01..2026-12`.
pub fn period_label(months: &[Month]) -> String {
    match (months.first(), months.last()) {
        (Some(a), Some(b)) => format!("{}..{}", a.label(), b.label()),
        _ => String::new(),
    }
}

/// The months of a report at `as_of` by default: the last `closed` months whose renewals'
/// grace is over, and every month since up to the month of `as_of` (in progress).
pub fn default_months(as_of: Day, grace_days: i32, closed: usize) -> Vec<Month> {
    // The latest month all of whose renewals' deadlines are before T.
    let mut last_closed = Month::of(as_of);
    while last_closed.last_day() + grace_days >= as_of {
        last_closed = Month::of(last_closed.first_day() - 1);
    }
    let mut first = last_closed;
    for _ in 1..closed.max(1) {
        first = Month::of(first.first_day() - 1);
    }
    let mut months = vec![first];
    while *months.last().expect("one") < Month::of(as_of) {
        months.push(months.last().expect("one").next());
    }
    months
}

/// Why a targets file cannot be used: the file, the row (1-based, the header is row 0) and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct TargetsError {
    pub path: std::path::PathBuf,
    pub message: String,
}

/// Reads `--targets` (CSV with a header: level, key, month, target_rate; a UTF-8 byte-order mark
/// is skipped): every bad row named, none used when one is bad.
pub fn read_targets(path: &std::path::Path) -> Result<Vec<Target>, TargetsError> {
    use polars::prelude::*;
    let fail = |message: String| TargetsError { path: path.to_path_buf(), message };
    let mut bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    if bytes.starts_with(b"\xef\xbb\xbf") {
        bytes.drain(..3);
    }
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(std::io::Cursor::new(bytes))
        .finish()
        .map_err(|e| fail(format!("not a CSV file: {e}")))?;
    let column = |name: &str| -> Result<Vec<Option<String>>, TargetsError> {
        let c = df.column(name).map_err(|_| fail(format!("no column {name:?} (the columns: level, key, month, target_rate)")))?;
        Ok(c.str().map_err(|e| fail(e.to_string()))?.iter().map(|v| v.map(|s| s.trim().to_string())).collect())
    };
    let (levels, keys, months, rates) = (column("level")?, column("key")?, column("month")?, column("target_rate")?);
    let mut targets = Vec::with_capacity(df.height());
    let mut problems = Vec::new();
    for row in 0..df.height() {
        let at = |field: &str, why: String| format!("row {} ({field}): {why}", row + 1);
        let level = levels[row].as_deref().and_then(Level::parse);
        let month = months[row].as_deref().and_then(Month::parse);
        let rate =
            rates[row].as_deref().and_then(|r| r.trim_end_matches('%').parse::<f64>().ok().map(|x| if r.ends_with('%') { x / 100.0 } else { x }));
        let key = keys[row].clone().filter(|k| !k.is_empty());
        match (level, key, month, rate) {
            (Some(level), Some(key), Some(month), Some(target_rate)) if (0.0..=1.0).contains(&target_rate) => {
                targets.push(Target { level, key, month, target_rate })
            }
            (None, ..) => problems.push(at("level", format!("{:?} is not one of all, agent, team, branch, region, channel, product", levels[row]))),
            (_, None, ..) => problems.push(at("key", "missing".into())),
            (_, _, None, _) => problems.push(at("month", format!("{:?} is not a month (YYYY-MM)", months[row]))),
            (_, _, _, rate) => problems.push(at(
                "target_rate",
                format!("{:?} is not a rate in [0, 1] (or 0-100%)", rate.map_or(rates[row].clone(), |r| Some(r.to_string()))),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(fail(format!("{} bad row(s), none used: {}", problems.len(), problems.join("; "))));
    }
    Ok(targets)
}
