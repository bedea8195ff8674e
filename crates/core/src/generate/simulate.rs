//! The per-customer simulation: customers, their policies, premium schedules, payments, lapses,
//! reinstatements, surrenders, deaths and events.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Poisson};

use super::GenerateConfig;
use super::drivers::{RenewalDrivers, lapse_probability, late_probability};
use crate::dates::{Day, add_months, whole_years_between};
use crate::extract::schema::Frequency;

/// Days after the extract date for which upcoming installments are already scheduled.
const SCHEDULED_AHEAD_DAYS: i32 = 45;

#[derive(Debug, Clone)]
pub struct AgentRow {
    pub agent_id: String,
    pub hire_date: Day,
    pub leave_date: Option<Day>,
    /// Eight agents a team, five teams a branch.
    pub team: String,
    pub branch: String,
    /// How much better than their book's risk the agent collects: subtracted from the lapse
    /// log-odds of the renewals they serve (0 unless [`super::GenerateConfig::agent_skill_sd`]).
    pub skill: f64,
}

#[derive(Debug, Clone)]
pub struct CustomerRow {
    pub customer_id: String,
    pub birth_date: Day,
    pub gender: &'static str,
    pub region: &'static str,
    pub occupation_class: &'static str,
}

#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub policy_id: String,
    pub customer: u32,
    pub product_code: &'static str,
    pub product_type: &'static str,
    pub channel: &'static str,
    pub agent: Option<u32>,
    pub issue_date: Day,
    pub frequency: Frequency,
    pub modal_premium: f64,
    pub sum_assured: Option<f64>,
    pub payment_term_years: u32,
    pub payment_method: &'static str,
    pub region: &'static str,
    pub status: &'static str,
    pub status_date: Option<Day>,
}

#[derive(Debug, Clone)]
pub struct InstallmentRow {
    pub policy: u32,
    pub installment_no: u32,
    pub due_date: Day,
    pub amount_due: f64,
    pub paid_date: Option<Day>,
    pub payment_method: Option<&'static str>,
    pub failed_debits: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub policy: u32,
    pub event_date: Day,
    pub event_type: &'static str,
    pub amount: Option<f64>,
}

/// One customer's part of the book.
pub struct CustomerBook {
    pub customer: CustomerRow,
    pub policies: Vec<PolicyRow>,
    pub installments: Vec<InstallmentRow>,
    pub events: Vec<EventRow>,
    pub truth: Vec<super::campaign::TruthRow>,
    /// (policy, installment_no, the probability its lapse was drawn with) of every renewal
    /// the simulation decided: the bound any model of this book can reach.
    pub lapse_probabilities: Vec<(u32, u32, f64)>,
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, table: &[(T, f64)]) -> T {
    let total: f64 = table.iter().map(|(_, w)| w).sum();
    let mut u = rng.random::<f64>() * total;
    for &(value, weight) in table {
        if u < weight {
            return value;
        }
        u -= weight;
    }
    table[table.len() - 1].0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn uniform_day(rng: &mut ChaCha8Rng, from: Day, to: Day) -> Day {
    if to <= from { from } else { rng.random_range(from..=to) }
}

const REGIONS: &[(&str, f64)] = &[
    ("Guangdong", 12.0),
    ("Jiangsu", 9.0),
    ("Shandong", 8.0),
    ("Zhejiang", 8.0),
    ("Henan", 7.0),
    ("Sichuan", 6.0),
    ("Hubei", 5.0),
    ("Hunan", 5.0),
    ("Hebei", 5.0),
    ("Fujian", 4.0),
    ("Shanghai", 4.0),
    ("Beijing", 4.0),
    ("Anhui", 4.0),
    ("Liaoning", 3.0),
    ("Shaanxi", 3.0),
    ("Chongqing", 3.0),
    ("Yunnan", 2.5),
    ("Guangxi", 2.5),
    ("Jiangxi", 2.0),
    ("Tianjin", 1.5),
];

/// (product type, share of sales, median annual premium in CNY, sum-assured multiple, payment terms)
const PRODUCTS: &[(&str, f64, f64, f64, &[u32])] = &[
    ("critical_illness", 25.0, 6_000.0, 30.0, &[10, 20, 30]),
    ("whole_life", 20.0, 8_000.0, 22.0, &[10, 20]),
    ("endowment", 14.0, 12_000.0, 8.0, &[3, 5, 10]),
    ("annuity", 11.0, 20_000.0, 0.0, &[3, 5, 10]),
    ("term_life", 8.0, 1_500.0, 250.0, &[10, 20, 30]),
    ("health", 8.0, 2_500.0, 40.0, &[5, 10]),
    ("universal_life", 6.0, 10_000.0, 10.0, &[5, 10, 20]),
    ("unit_linked", 4.0, 10_000.0, 6.0, &[5, 10]),
    ("accident", 4.0, 600.0, 500.0, &[5, 10]),
];

fn product_code(product_type: &str, variant: u32) -> &'static str {
    const CODES: &[(&str, [&str; 3])] = &[
        ("critical_illness", ["CI01", "CI02", "CI03"]),
        ("whole_life", ["WL01", "WL02", "WL03"]),
        ("endowment", ["EN01", "EN02", "EN03"]),
        ("annuity", ["AN01", "AN02", "AN03"]),
        ("term_life", ["TL01", "TL02", "TL03"]),
        ("health", ["HE01", "HE02", "HE03"]),
        ("universal_life", ["UL01", "UL02", "UL03"]),
        ("unit_linked", ["UK01", "UK02", "UK03"]),
        ("accident", ["AC01", "AC02", "AC03"]),
    ];
    CODES.iter().find(|(t, _)| *t == product_type).map(|(_, c)| c[variant as usize % 3]).unwrap_or("XX01")
}

/// Agent `i`'s collection skill: normal with sd `config.agent_skill_sd`, from a stream of its
/// own (so a book without skill draws exactly what it drew before skill existed).
fn agent_skill(config: &GenerateConfig, i: usize) -> f64 {
    if config.agent_skill_sd <= 0.0 {
        return 0.0;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5c11_1000 ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let normal = Normal::new(0.0, config.agent_skill_sd).expect("finite sd");
    normal.sample(&mut rng)
}

/// The sales force: hires spread from six years before the book starts; some have left.
pub fn agents(config: &GenerateConfig, rng: &mut ChaCha8Rng) -> Vec<AgentRow> {
    let count = (config.policies / 60).max(5);
    let tenure = Exp::new(1.0 / (4.0 * 365.25)).expect("positive rate");
    (0..count)
        .map(|i| {
            let hire_date = uniform_day(rng, config.start - 6 * 365, config.extract_date - 60);
            let leave = hire_date + 30 + tenure.sample(rng) as i32;
            AgentRow {
                agent_id: format!("A{:06}", i + 1),
                hire_date,
                leave_date: (leave <= config.extract_date).then_some(leave),
                team: format!("T{:03}", i / 8 + 1),
                branch: format!("B{:02}", i / 40 + 1),
                skill: agent_skill(config, i),
            }
        })
        .collect()
}

/// An issue date from a book growing 8% a year.
fn issue_date(config: &GenerateConfig, rng: &mut ChaCha8Rng, earliest: Day) -> Day {
    let from = earliest.max(config.start);
    let to = config.extract_date - 15;
    if to <= from {
        return to;
    }
    let span = f64::from(to - from);
    let g = 0.08 / 365.25;
    let u: f64 = rng.random();
    from + (((1.0 + u * ((g * span).exp() - 1.0)).ln() / g) as i32).min(to - from)
}

/// The customer's latent state: financial stress drives lateness, failed debits and lapse.
struct Latent {
    stress: f64,
    income: f64,
    /// The customer's financial shocks by calendar quarter from the book's start (AR(1),
    /// standard normal): a job loss or a debt hits every policy of the customer at once, so
    /// trouble on one policy now is news about the others.
    quarterly_shocks: Vec<f64>,
    /// A habitual late payer: often late, rarely lapses for it (lateness is habit, not
    /// distress; a change in habit is the signal).
    habitual_late: bool,
}

/// Days per quarter of the customer shock series.
const QUARTER_DAYS: i32 = 91;

impl Latent {
    /// The customer's shock in the quarter holding `day`.
    fn shock_at(&self, start: Day, day: Day) -> f64 {
        let q = ((day - start).max(0) / QUARTER_DAYS) as usize;
        self.quarterly_shocks[q.min(self.quarterly_shocks.len() - 1)]
    }
}

pub fn customer(config: &GenerateConfig, agents: &[AgentRow], index: usize, first_policy: usize, size: usize, rng: &mut ChaCha8Rng) -> CustomerBook {
    let normal = Normal::new(0.0, 1.0).expect("valid normal");
    let region = pick(rng, REGIONS);
    let rich_region = matches!(region, "Shanghai" | "Beijing" | "Zhejiang" | "Guangdong" | "Jiangsu" | "Tianjin");
    let occupation_class = pick(rng, &[("1", 30.0), ("2", 30.0), ("3", 20.0), ("4", 12.0), ("5", 5.0), ("6", 3.0)]);
    let income_median = if rich_region { 110_000.0 } else { 70_000.0 };
    let stress = normal.sample(rng);
    let income = income_median * LogNormal::new(0.0, 0.55).expect("valid lognormal").sample(rng);
    let quarters = ((config.extract_date - config.start).max(0) / QUARTER_DAYS + 2) as usize;
    let mut quarterly_shocks = Vec::with_capacity(quarters);
    let mut shock = normal.sample(rng);
    for _ in 0..quarters {
        quarterly_shocks.push(shock);
        shock = 0.8 * shock + 0.6 * normal.sample(rng);
    }
    let latent = Latent { stress, income, quarterly_shocks, habitual_late: rng.random_bool(0.12) };
    let first_issue = issue_date(config, rng, config.start);
    let age_at_first = (38.0 + 10.0 * normal.sample(rng)).clamp(18.0, 66.0);
    let birth_date = first_issue - (age_at_first * 365.25) as i32 - rng.random_range(0..365);
    let customer_row = CustomerRow {
        customer_id: format!("C{:08}", index + 1),
        birth_date,
        gender: if rng.random_bool(0.52) { "F" } else { "M" },
        region,
        occupation_class,
    };
    let mut out = CustomerBook {
        customer: customer_row,
        policies: Vec::new(),
        installments: Vec::new(),
        events: Vec::new(),
        truth: Vec::new(),
        lapse_probabilities: Vec::new(),
    };
    let mut issue = first_issue;
    for k in 0..size {
        if k > 0 {
            issue = issue_date(config, rng, issue + 30);
        }
        let policy_index = (first_policy + k) as u32;
        policy(config, agents, index as u32, policy_index, issue, &latent, region, rng, &mut out);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn policy(
    config: &GenerateConfig,
    agents: &[AgentRow],
    customer: u32,
    policy_index: u32,
    issue: Day,
    latent: &Latent,
    customer_region: &'static str,
    rng: &mut ChaCha8Rng,
    out: &mut CustomerBook,
) {
    let product = PRODUCTS[pick(rng, &PRODUCTS.iter().enumerate().map(|(i, p)| (i, p.1)).collect::<Vec<_>>())];
    let (product_type, _, median_premium, sa_multiple, terms) = product;
    let channel_weights: &[(&str, f64)] = match product_type {
        "endowment" | "annuity" | "universal_life" => {
            &[("agent", 40.0), ("bancassurance", 50.0), ("telemarketing", 3.0), ("online", 4.0), ("broker", 3.0)]
        }
        "term_life" | "accident" | "health" => &[("agent", 35.0), ("bancassurance", 8.0), ("telemarketing", 25.0), ("online", 28.0), ("broker", 4.0)],
        _ => &[("agent", 62.0), ("bancassurance", 18.0), ("telemarketing", 10.0), ("online", 7.0), ("broker", 3.0)],
    };
    let channel = pick(rng, channel_weights);
    let frequency = match channel {
        "telemarketing" | "online" => pick(rng, &[(Frequency::Annual, 45.0), (Frequency::Monthly, 45.0), (Frequency::Quarterly, 10.0)]),
        "bancassurance" => pick(rng, &[(Frequency::Annual, 80.0), (Frequency::Semiannual, 10.0), (Frequency::Monthly, 10.0)]),
        _ => pick(rng, &[(Frequency::Annual, 68.0), (Frequency::Semiannual, 8.0), (Frequency::Quarterly, 10.0), (Frequency::Monthly, 14.0)]),
    };
    let payment_method = match channel {
        "online" => pick(rng, &[("auto_debit", 55.0), ("mobile_wallet", 35.0), ("card", 10.0)]),
        "agent" => pick(rng, &[("auto_debit", 72.0), ("bank_transfer", 10.0), ("cash", 12.0), ("mobile_wallet", 6.0)]),
        _ => pick(rng, &[("auto_debit", 80.0), ("bank_transfer", 10.0), ("card", 5.0), ("mobile_wallet", 5.0)]),
    };
    let agent = if channel == "agent" || (channel == "bancassurance" && rng.random_bool(0.3)) {
        (0..20).find_map(|_| {
            let a = rng.random_range(0..agents.len());
            let row = &agents[a];
            (row.hire_date <= issue && row.leave_date.is_none_or(|l| l > issue)).then_some(a as u32)
        })
    } else {
        None
    };
    let term = terms[rng.random_range(0..terms.len())];
    let annual = median_premium
        * LogNormal::new(0.0, 0.55).expect("valid lognormal").sample(rng)
        * (latent.income / 80_000.0).powf(0.5)
        * if channel == "bancassurance" { 1.6 } else { 1.0 };
    let modal_premium = round2((annual / f64::from(frequency.per_year())).max(20.0));
    let annual = modal_premium * f64::from(frequency.per_year());
    let sum_assured = (sa_multiple > 0.0).then(|| (annual * sa_multiple / 1000.0).round() * 1000.0);
    let region = if rng.random_bool(0.9) { customer_region } else { pick(rng, REGIONS) };
    let variant = rng.random_range(0..3);

    let mut row = PolicyRow {
        policy_id: format!("P{:08}", policy_index + 1),
        customer,
        product_code: product_code(product_type, variant),
        product_type,
        channel,
        agent,
        issue_date: issue,
        frequency,
        modal_premium,
        sum_assured,
        payment_term_years: term,
        payment_method,
        region,
        status: "in_force",
        status_date: None,
    };
    let events_start = out.events.len();
    background_events(config, &row, latent, rng, policy_index, &mut out.events);
    let planned = config.campaign.as_ref().and_then(|c| c.by_policy.get(&row.policy_id).map(|contacts| (c.as_of, contacts.as_slice())));
    let end = match planned {
        None => schedule(config, agents, &mut row, latent, annual, out.customer.birth_date, rng, policy_index, events_start, out, None),
        Some(world) => {
            // First the policy without the campaign, on the customer's stream, so the stream
            // moves on exactly as in the book without it (the customer's later policies stay
            // the same); then again from the same state on a copy of the stream, with the
            // campaign: identical up to the first listed renewal, changed only after it.
            let shadow = rng.clone();
            let (installments, events, status) = (out.installments.len(), out.events.len(), (row.status, row.status_date));
            schedule(config, agents, &mut row, latent, annual, out.customer.birth_date, rng, policy_index, events_start, out, None);
            out.installments.truncate(installments);
            out.events.truncate(events);
            (row.status, row.status_date) = status;
            let mut shadow = shadow;
            schedule(config, agents, &mut row, latent, annual, out.customer.birth_date, &mut shadow, policy_index, events_start, out, Some(world))
        }
    };
    // Nothing happens to a policy after it ends (bar the claim that ended it, and the win-back
    // contacts of a lapsed one), nor after the extract.
    let lapsed = row.status == "lapsed";
    let mut i = events_start;
    while i < out.events.len() {
        let e = &out.events[i];
        let after_end_kept = lapsed && e.event_type.starts_with("contact_");
        let keep = e.event_date <= config.extract_date && (after_end_kept || end.is_none_or(|end| e.event_date <= end));
        if keep {
            i += 1
        } else {
            out.events.remove(i);
        }
    }
    out.events[events_start..].sort_by_key(|e| e.event_date);
    out.policies.push(row);
}

/// Events that happen regardless of payments, as Poisson processes over the policy's life.
fn background_events(config: &GenerateConfig, p: &PolicyRow, latent: &Latent, rng: &mut ChaCha8Rng, policy: u32, events: &mut Vec<EventRow>) {
    let until = config.extract_date.min(p.issue_date + 365 * (p.payment_term_years as i32 + 1));
    let savings = matches!(p.product_type, "whole_life" | "endowment" | "universal_life" | "annuity");
    let rates: [(&'static str, f64, i32); 7] = [
        (
            "complaint",
            0.025
                * (0.3 * latent.stress).exp()
                * match p.channel {
                    "bancassurance" => 2.5,
                    "telemarketing" => 2.0,
                    _ => 1.0,
                },
            0,
        ),
        (
            "claim",
            match p.product_type {
                "health" => 0.12,
                "accident" => 0.08,
                "critical_illness" => 0.02,
                _ => 0.005,
            },
            90,
        ),
        ("policy_loan", if savings { 0.03 * (0.5 * latent.stress).exp() } else { 0.0 }, 730),
        ("partial_withdrawal", if matches!(p.product_type, "universal_life" | "unit_linked") { 0.06 } else { 0.0 }, 365),
        ("bank_account_change", 0.05, 0),
        ("address_change", 0.07, 0),
        ("agent_change", 0.01, 0),
    ];
    for (kind, rate, wait) in rates {
        if rate <= 0.0 {
            continue;
        }
        let gap = Exp::new(rate / 365.25).expect("positive rate");
        let mut day = p.issue_date + wait;
        loop {
            day += gap.sample(rng) as i32 + 1;
            if day > until {
                break;
            }
            let amount = match kind {
                "claim" => Some(round2(p.sum_assured.unwrap_or(p.modal_premium * 10.0) * rng.random_range(0.02..0.3))),
                "policy_loan" | "partial_withdrawal" => {
                    Some(round2(p.modal_premium * f64::from(p.frequency.per_year()) * rng.random_range(0.3..2.0)))
                }
                _ => None,
            };
            events.push(EventRow { policy, event_date: day, event_type: kind, amount });
        }
    }
}

/// Counts of a policy's events of `kind` in the 365 days before `day`.
fn recent(events: &[EventRow], kind: &str, day: Day) -> u32 {
    events.iter().filter(|e| e.event_type == kind && e.event_date < day && e.event_date >= day - 365).count() as u32
}

/// The reinstatement (复效) window of the generated book, in days after the lapse.
pub const REINSTATEMENT_WINDOW_DAYS: i32 = 730;

/// Reinstatement after a lapse whose grace ended on `deadline`: month by month over the
/// two-year window, win-back contacts (the servicing agent's visit while the agent is in
/// service, else a call-centre call) and a monthly chance of paying the arrears back that
///
/// - falls with time since the lapse (x0.89 a month),
/// - falls with the arrears as a share of the customer's income (elasticity -0.55),
/// - is higher while the servicing agent is in service (x1.8) and for 60 days after a
///   win-back contact (x2.7),
/// - is lower for a customer under financial stress (x0.74 per standard deviation).
///
/// Drawn from a stream keyed by (seed, policy, installment), so it does not move the rest of
/// the book's draws. Returns the reinstatement day, if any (possibly after the extract: the
/// caller keeps only what the extract can know), and the contacts made before it.
/// `agent_left` is None for a policy without a servicing agent, Some(leave date) otherwise.
fn reinstatement(
    seed: u64,
    policy_id: &str,
    installment_no: u32,
    deadline: Day,
    arrears: f64,
    latent: &Latent,
    agent_left: Option<Option<Day>>,
) -> (Option<Day>, Vec<(Day, &'static str)>) {
    let mut rng = super::campaign::renewal_stream(seed ^ 0x5265_696e_7374_6174, policy_id, installment_no);
    let burden = (arrears / latent.income).max(1e-6).ln() - 0.1f64.ln();
    let mut contacts = Vec::new();
    let mut last_contact: Option<Day> = None;
    for month in 0..REINSTATEMENT_WINDOW_DAYS / 30 {
        let start = deadline + 30 * month;
        let agent_active = agent_left.is_some_and(|left| left.is_none_or(|l| l > start));
        let contact_chance = if agent_active { 0.16 } else { 0.07 } * (-0.08 * f64::from(month)).exp();
        let mut contact_day = None;
        if rng.random_bool(contact_chance) {
            let day = start + rng.random_range(0..30);
            contacts.push((day, if agent_active { "contact_visit" } else { "contact_call" }));
            last_contact = Some(day);
            contact_day = Some(day);
        }
        let recent_contact = last_contact.is_some_and(|c| c + 60 > start);
        let log_hazard =
            0.008f64.ln() - 0.11 * f64::from(month) - 0.55 * burden + if agent_active { 0.6 } else { 0.0 } + if recent_contact { 1.0 } else { 0.0 }
                - 0.3 * latent.stress;
        if rng.random_bool(log_hazard.exp().min(0.6)) {
            let day = (start + rng.random_range(1..=30)).max(contact_day.map_or(start, |c| c + 1));
            return (Some(day), contacts);
        }
    }
    (None, contacts)
}

/// Simulates the premium schedule; returns the day the policy ended, if it did.
#[allow(clippy::too_many_arguments)]
fn schedule(
    config: &GenerateConfig,
    agents: &[AgentRow],
    p: &mut PolicyRow,
    latent: &Latent,
    annual: f64,
    birth: Day,
    rng: &mut ChaCha8Rng,
    policy: u32,
    events_start: usize,
    out: &mut CustomerBook,
    campaign: Option<(Day, &[super::campaign::PlannedContact])>,
) -> Option<Day> {
    let normal = Normal::new(0.0, 1.0).expect("valid normal");
    let grace = config.grace_days;
    let extract = config.extract_date;
    let per_year = p.frequency.per_year();
    let months = p.frequency.months();
    let total = p.payment_term_years * per_year;
    let auto_debit = p.payment_method == "auto_debit";
    let agent_left = p.agent.and_then(|a| agents[a as usize].leave_date);
    let burden = (annual / latent.income).ln();
    let savings = matches!(p.product_type, "whole_life" | "endowment" | "universal_life" | "unit_linked" | "annuity");

    out.installments.push(InstallmentRow {
        policy,
        installment_no: 1,
        due_date: p.issue_date,
        amount_due: p.modal_premium,
        paid_date: Some(p.issue_date),
        payment_method: Some(p.payment_method),
        failed_debits: auto_debit.then_some(0),
    });
    let mut late_before = 0u32;
    let mut lapses_before = 0u32;
    let mut yearly_shock = normal.sample(rng);
    let mut shock_year = 1;
    // While a lapsed installment is unpaid: (its deadline, the reinstatement day if any).
    let mut arrears: Option<(Day, Option<Day>)> = None;
    for k in 2..=total {
        let due = add_months(p.issue_date, (k as i32 - 1) * months);
        if due > extract + SCHEDULED_AHEAD_DAYS {
            break;
        }
        if let Some((deadline, reinstated)) = arrears {
            if due < deadline {
                // Falls due inside an unpaid installment's grace period: settled with it at
                // reinstatement, or never.
                let paid = reinstated.filter(|&r| due <= r);
                if let Some((_, c)) = campaign.and_then(|(as_of, contacts)| contacts.iter().find(|c| c.installment_no == k).map(|c| (as_of, c))) {
                    // Listed while an earlier renewal is unpaid: settled with it or not at all;
                    // no contact on this one changes that.
                    let lapsed = paid.is_none_or(|r| r > due + grace);
                    out.truth.push(c.truth(&p.policy_id, lapsed, false, 0.0, lapsed));
                }
                out.installments.push(InstallmentRow {
                    policy,
                    installment_no: k,
                    due_date: due,
                    amount_due: p.modal_premium,
                    paid_date: paid,
                    payment_method: paid.map(|_| "bank_transfer"),
                    failed_debits: auto_debit.then(|| if paid.is_some() { 2 } else { 3 }),
                });
                continue;
            }
            match reinstated {
                // Nothing falls due while the policy is lapsed; the schedule resumes after.
                Some(r) if due < r => continue,
                Some(_) => arrears = None,
                None => {
                    // Lapsed for good (as far as the extract knows): cover ends at the deadline.
                    if deadline <= extract {
                        p.status = "lapsed";
                        p.status_date = Some(deadline);
                        return Some(deadline);
                    }
                    return None;
                }
            }
        }
        if due > extract {
            // Scheduled ahead of the extract: not yet paid.
            out.installments.push(InstallmentRow {
                policy,
                installment_no: k,
                due_date: due,
                amount_due: p.modal_premium,
                paid_date: None,
                payment_method: None,
                failed_debits: auto_debit.then_some(0),
            });
            continue;
        }
        let policy_year = whole_years_between(p.issue_date, due) + 1;
        if policy_year != shock_year {
            yearly_shock = 0.6 * yearly_shock + 0.8 * normal.sample(rng);
            shock_year = policy_year;
            let age = whole_years_between(birth, due);
            // Deaths and surrenders happen around anniversaries.
            let death = 0.0006 * (0.085 * f64::from(age - 30)).exp();
            if rng.random_bool(death.clamp(0.0, 0.2)) {
                let day = due - rng.random_range(1..60);
                out.events.push(EventRow { policy, event_date: day, event_type: "claim", amount: Some(p.sum_assured.unwrap_or(annual * 10.0)) });
                p.status = "death_claim";
                p.status_date = Some(day);
                return Some(day);
            }
            let surrender = if savings && policy_year > 2 { 0.012 * (0.4 * latent.stress).exp() } else { 0.0 };
            if rng.random_bool(surrender.clamp(0.0, 0.5)) {
                let day = due - rng.random_range(1..60);
                p.status = "surrendered";
                p.status_date = Some(day);
                return Some(day);
            }
        }
        let events = &out.events[events_start..];
        let drivers = RenewalDrivers {
            policy_year,
            years_left: p.payment_term_years as i32 - policy_year + 1,
            channel: p.channel,
            product_type: p.product_type,
            frequency_per_year: per_year,
            payment_method: p.payment_method,
            orphan: agent_left.is_some_and(|l| l < due),
            agent_skill: match agent_left {
                Some(l) if l < due => 0.0,
                _ => p.agent.map_or(0.0, |a| agents[a as usize].skill),
            },
            age: whole_years_between(birth, due),
            stress: 0.6 * latent.stress + 0.7 * latent.shock_at(config.start, due) + 0.25 * yearly_shock,
            habitual_late: latent.habitual_late,
            premium_burden: burden,
            late_renewals_before: late_before,
            lapses_before,
            complaints_12m: recent(events, "complaint", due),
            claims_12m: recent(events, "claim", due),
            loans_12m: recent(events, "policy_loan", due),
            withdrawals_12m: recent(events, "partial_withdrawal", due),
            bank_changes_12m: recent(events, "bank_account_change", due),
        };
        let probability = lapse_probability(&drivers);
        if config.record_lapse_probabilities {
            out.lapse_probabilities.push((policy, k, probability));
        }
        let lapse = rng.random_bool(probability);
        let mut contacts = Vec::new();
        let listed = campaign.and_then(|(as_of, contacts)| contacts.iter().find(|c| c.installment_no == k).map(|c| (as_of, c)));
        // A listed renewal: the world's draws, the truth, and (treated) the contact and save.
        let mut saved_on: Option<Day> = None;
        if let Some((as_of, c)) = listed {
            let mut draws = super::campaign::renewal_stream(config.seed, &p.policy_id, k);
            let delivered = draws.random_bool(super::campaign::delivery_probability(&c.action));
            let contact_day = as_of + draws.random_range(1..=7);
            let save_probability = super::campaign::save_probability(&c.action, &c.segment, drivers.stress);
            let saves = draws.random::<f64>() < save_probability;
            let pay_day = (contact_day + draws.random_range(1..=10)).min(due + grace);
            let saved = lapse && delivered && saves && contact_day <= due + grace;
            out.truth.push(c.truth(&p.policy_id, lapse, delivered, save_probability, lapse && !saved));
            if c.treated && delivered {
                if let Some(kind) = super::campaign::contact_event(&c.action) {
                    contacts.push((contact_day, kind));
                }
                if saved {
                    saved_on = Some(pay_day);
                }
            }
        }
        let row = if let Some(day) = saved_on {
            // Saved: paid late, in grace, by transfer after the contact.
            late_before += 1;
            let paid = Some(day).filter(|&d| d <= extract);
            InstallmentRow {
                policy,
                installment_no: k,
                due_date: due,
                amount_due: p.modal_premium,
                paid_date: paid,
                payment_method: paid.map(|_| "bank_transfer"),
                failed_debits: auto_debit.then_some(2),
            }
        } else if lapse {
            lapses_before += 1;
            let deadline = due + grace;
            // Premiums falling due before the deadline are in arrears with this one.
            let in_arrears = (k..=total).take_while(|&j| add_months(p.issue_date, (j as i32 - 1) * months) < deadline).count().max(1);
            let (reinstated, winback_contacts) = reinstatement(
                config.seed,
                &p.policy_id,
                k,
                deadline,
                p.modal_premium * in_arrears as f64,
                latent,
                p.agent.is_some().then_some(agent_left),
            );
            contacts.extend(winback_contacts);
            // A reinstatement after the extract is not known to it.
            let reinstated = reinstated.filter(|&r| r <= extract);
            let paid = reinstated;
            if let Some(r) = paid {
                out.events.push(EventRow { policy, event_date: r, event_type: "reinstatement", amount: None });
            }
            arrears = Some((deadline, reinstated));
            contacts.extend([(due + rng.random_range(7..14), "contact_sms"), (due + rng.random_range(25..35), "contact_call")]);
            if p.agent.is_some() && !drivers.orphan && rng.random_bool(0.4) {
                contacts.push((due + rng.random_range(40..55), "contact_visit"));
            }
            let failed = auto_debit.then(|| 1 + Poisson::new(2.0).expect("positive").sample(rng) as u32);
            InstallmentRow {
                policy,
                installment_no: k,
                due_date: due,
                amount_due: p.modal_premium,
                paid_date: paid,
                payment_method: paid.map(|_| "bank_transfer"),
                failed_debits: failed,
            }
        } else {
            let late = if rng.random_bool(late_probability(&drivers)) {
                late_before += 1;
                if rng.random_bool(0.7) { rng.random_range(1..=30) } else { rng.random_range(31..=grace) }
            } else if !auto_debit && rng.random_bool(0.5) {
                -rng.random_range(1..=10)
            } else {
                0
            };
            if late > 10 {
                contacts.push((due + rng.random_range(5..10), "contact_sms"));
            }
            if late > 25 {
                contacts.push((due + rng.random_range(18..25), "contact_call"));
            }
            let failed = auto_debit.then(|| if late > 0 { (1 + late / 10) as u32 } else { u32::from(rng.random_bool(0.03)) });
            let method = if auto_debit && late > 0 && rng.random_bool(0.5) {
                pick(rng, &[("bank_transfer", 1.0), ("mobile_wallet", 1.0)])
            } else {
                p.payment_method
            };
            let paid = Some(due + late).filter(|&d| d <= extract);
            InstallmentRow {
                policy,
                installment_no: k,
                due_date: due,
                amount_due: p.modal_premium,
                paid_date: paid,
                payment_method: paid.map(|_| method),
                failed_debits: failed,
            }
        };
        let settled = row.paid_date.unwrap_or(extract + 1);
        for (day, kind) in contacts {
            if day < settled && day <= extract {
                out.events.push(EventRow { policy, event_date: day, event_type: kind, amount: None });
            }
        }
        // Dated failed-debit attempts, every three days from the day after the due date.
        for j in 0..row.failed_debits.unwrap_or(0) as i32 {
            let day = due + 1 + 3 * j;
            if day < settled && day <= extract {
                out.events.push(EventRow { policy, event_date: day, event_type: "debit_failed", amount: None });
            }
        }
        out.installments.push(row);
    }
    if let Some((deadline, None)) = arrears
        && deadline <= extract
    {
        p.status = "lapsed";
        p.status_date = Some(deadline);
        return Some(deadline);
    }
    if p.product_type == "endowment" && add_months(p.issue_date, 12 * p.payment_term_years as i32) <= extract {
        let day = add_months(p.issue_date, 12 * p.payment_term_years as i32);
        p.status = "matured";
        p.status_date = Some(day);
        return Some(day);
    }
    None
}
