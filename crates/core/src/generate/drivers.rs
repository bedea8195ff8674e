//! What drives lapse in the synthetic book: the hazard model the simulator draws from.
//!
//! The log-odds of a renewal lapsing add up the drivers insurers see, with interactions and
//! thresholds that a linear model cannot represent but tree ensembles can. Documented in
//! `training-data-samples/README.md`; keep the two in step.

/// Everything the hazard depends on, as the simulator knows it when a renewal falls due.
#[derive(Debug, Clone, Copy)]
pub struct RenewalDrivers<'a> {
    pub policy_year: i32,
    pub years_left: i32,
    pub channel: &'a str,
    pub product_type: &'a str,
    pub frequency_per_year: u32,
    pub payment_method: &'a str,
    /// The servicing agent left before the due date.
    pub orphan: bool,
    /// The serving agent's collection skill (0 for an orphan or without skill in the book):
    /// lowers the lapse log-odds.
    pub agent_skill: f64,
    pub age: i32,
    /// The customer's financial stress at the due date: persistent, plus the customer's
    /// shock of the quarter (shared by all their policies) and the policy's yearly shock.
    pub stress: f64,
    /// log(annual premium / customer income): how heavy the premium is.
    pub premium_burden: f64,
    pub late_renewals_before: u32,
    /// The customer pays late by habit: often late, and earlier lateness says little.
    pub habitual_late: bool,
    pub lapses_before: u32,
    pub complaints_12m: u32,
    pub claims_12m: u32,
    pub loans_12m: u32,
    pub withdrawals_12m: u32,
    pub bank_changes_12m: u32,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Probability that the renewal is not paid within its grace period. The drivers set a yearly
/// lapse hazard; an installment of a policy paying `n` times a year carries `1 - (1 - p)^(1/n)`
/// of it, so monthly payers are not twelve times as likely to lapse within a year.
pub fn lapse_probability(d: &RenewalDrivers<'_>) -> f64 {
    let yearly = yearly_lapse_probability(d);
    1.0 - (1.0 - yearly).powf(1.0 / f64::from(d.frequency_per_year.max(1)))
}

/// The yearly lapse hazard the drivers imply.
pub fn yearly_lapse_probability(d: &RenewalDrivers<'_>) -> f64 {
    let mut z = -3.35;
    // Policy year: the second-year peak, then persistency improves.
    z += match d.policy_year {
        ..=1 => 0.6,
        2 => 1.15,
        3 => 0.55,
        4 => 0.25,
        5 => 0.1,
        y => -0.15 - 0.03 * f64::from((y - 6).min(10)),
    };
    if d.years_left <= 1 {
        z -= 0.45; // almost paid up
    }
    z += match d.channel {
        "bancassurance" => 0.35,
        "telemarketing" => 0.6,
        "online" => 0.45,
        "broker" => 0.2,
        _ => 0.0,
    };
    z += match d.product_type {
        "term_life" => 0.2,
        "health" | "accident" => 0.3,
        "unit_linked" => 0.2,
        "whole_life" | "endowment" => -0.1,
        "annuity" => -0.2,
        _ => 0.0,
    };
    z += match d.frequency_per_year {
        12 => 0.3,
        4 => 0.15,
        2 => 0.1,
        _ => 0.0,
    };
    z += match d.payment_method {
        "auto_debit" => -0.55,
        "cash" => 0.45,
        "bank_transfer" => 0.1,
        "mobile_wallet" => 0.15,
        _ => 0.0,
    };
    // Interactions a tree can find.
    if d.channel == "telemarketing" && d.policy_year == 2 {
        z += 0.5;
    }
    if d.payment_method == "cash" && d.frequency_per_year == 12 {
        z += 0.4;
    }
    if d.orphan {
        z += if d.policy_year <= 3 { 1.2 } else { 0.7 };
    }
    z -= d.agent_skill;
    z += 0.75 * d.stress;
    // Premium burden matters only past a threshold, and more for the young.
    let excess = (d.premium_burden + 2.3).max(0.0);
    z += 0.7 * excess * if d.age < 30 { 1.6 } else { 1.0 };
    z += match d.age {
        ..25 => 0.4,
        25..30 => 0.2,
        60.. => 0.25,
        _ => 0.0,
    };
    // Earlier lateness is a warning, except from a habitual late payer.
    z += if d.habitual_late { 0.06 } else { 0.3 } * f64::from(d.late_renewals_before.min(4));
    z += 0.5 * f64::from(d.lapses_before.min(2));
    z += 0.9 * f64::from(d.complaints_12m.min(2));
    z -= 0.6 * f64::from(d.claims_12m.min(1));
    z += 0.6 * f64::from(d.loans_12m.min(2));
    z += 0.3 * f64::from(d.withdrawals_12m.min(2));
    if d.payment_method == "auto_debit" {
        z += 0.35 * f64::from(d.bank_changes_12m.min(2));
    }
    sigmoid(z)
}

/// Probability that a renewal that is paid in grace is paid after its due date.
pub fn late_probability(d: &RenewalDrivers<'_>) -> f64 {
    let mut z = -1.9 + 0.9 * d.stress + 0.35 * f64::from(d.late_renewals_before.min(3));
    if d.habitual_late {
        z += 1.8;
    }
    z += match d.payment_method {
        "auto_debit" => -1.0,
        "cash" => 0.8,
        "bank_transfer" => 0.4,
        _ => 0.1,
    };
    if d.orphan {
        z += 0.4;
    }
    sigmoid(z)
}
