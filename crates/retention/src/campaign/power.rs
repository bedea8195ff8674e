//! A campaign planned before launch (`lapse queue --plan`): per action, what the list's size and
//! holdout can detect, when the result can be read, and the holdout that would detect the save
//! rate the economics assume. The same equation as the effect report's minimum detectable save
//! rate ([`super::stats::min_detectable_save_rate`]), on the renewals each arm will hold and the
//! control lapse rate the model expects of them.

use serde::Serialize;

use lapse_core::dates::{Day, format_day};

use super::stats::min_detectable_save_rate;
use super::{Arm, Campaign};
use crate::economics::Economics;

/// The plan of one action.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActionPlan {
    pub action: String,
    /// Customers (contacts) and renewals per arm.
    pub treated_customers: usize,
    pub control_customers: usize,
    pub treated_renewals: usize,
    pub control_renewals: usize,
    /// The lapse rate the model expects without contact: the mean P(lapse) of the listed
    /// renewals (the control arm's expectation).
    pub expected_control_lapse_rate: f64,
    /// The save rate the economics assume for this action.
    pub configured_save_rate: f64,
    /// The smallest save rate this list can tell from zero (80% power, two-sided 5%); None when
    /// not even a save rate of 100% could be.
    pub min_detectable_save_rate: Option<f64>,
    /// The configured save rate is at least the detectable one.
    pub detects_configured: bool,
    /// The smallest holdout (in steps of 1%, up to 50%) at which this list would detect the
    /// configured save rate; None: not at any holdout (the list is too small).
    pub holdout_needed: Option<f64>,
    /// Campaigns of this size and holdout to pool before the configured save rate becomes
    /// detectable (1 when it already is; None when there is no control).
    pub campaigns_to_pool: Option<u32>,
}

/// The plan of a campaign.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CampaignPlan {
    pub campaign: String,
    pub as_of: String,
    pub holdout: f64,
    /// The day every listed renewal's grace has ended: the effect report is final from then.
    pub readable_on: String,
    pub method: &'static str,
    pub actions: Vec<ActionPlan>,
}

pub const METHOD: &str = "minimum detectable save rate s: the pooled two-proportion z test (two-sided 5%) with 80% power on the renewals of each arm, \
control lapse rate r_c = the mean predicted P(lapse) of the listed renewals, treated rate r_c (1 - s); the same equation the effect report prints \
after the campaign. Customers with several renewals make the real interval somewhat wider (the effect report's is cluster-robust).";

/// The plan of `campaign` (arms drawn), with `economics`' save rates and `grace_days`.
pub fn plan_power(campaign: &Campaign, economics: &Economics, grace_days: i32) -> CampaignPlan {
    let mut actions: Vec<ActionPlan> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for row in &campaign.rows {
        if !names.contains(&row.action.as_str()) {
            names.push(&row.action);
        }
    }
    for name in names {
        let rows: Vec<_> = campaign.rows.iter().filter(|r| r.action == name).collect();
        let customers = |arm: Arm| {
            let mut ranks: Vec<u32> = rows.iter().filter(|r| r.arm == arm).map(|r| r.rank).collect();
            ranks.sort_unstable();
            ranks.dedup();
            ranks.len()
        };
        let n_t = rows.iter().filter(|r| r.arm == Arm::Treatment).count();
        let n_c = rows.len() - n_t;
        let r_c = rows.iter().map(|r| r.probability).sum::<f64>() / rows.len().max(1) as f64;
        let configured = economics.actions.iter().find(|a| a.name == name).map_or(0.0, |a| a.save_rate);
        let mde = (n_t > 0 && n_c > 0).then(|| min_detectable_save_rate(r_c, n_t as f64, n_c as f64)).flatten();
        let total = rows.len() as f64;
        let holdout_needed = (1..=50).map(|h| f64::from(h) / 100.0).find(|&h| {
            let (t, c) = (total * (1.0 - h), total * h);
            c >= 1.0 && min_detectable_save_rate(r_c, t, c).is_some_and(|m| m <= configured)
        });
        // The detectable effect shrinks as 1 / sqrt(n): k campaigns pooled detect mde / sqrt(k).
        let campaigns_to_pool = match (n_c > 0, mde) {
            (false, _) => None,
            (true, Some(m)) if configured > 0.0 => Some(((m / configured).powi(2)).ceil().max(1.0) as u32),
            (true, _) => None,
        };
        actions.push(ActionPlan {
            action: name.to_string(),
            treated_customers: customers(Arm::Treatment),
            control_customers: customers(Arm::Control),
            treated_renewals: n_t,
            control_renewals: n_c,
            expected_control_lapse_rate: r_c,
            configured_save_rate: configured,
            min_detectable_save_rate: mde,
            detects_configured: mde.is_some_and(|m| m <= configured),
            holdout_needed,
            campaigns_to_pool,
        });
    }
    let last_due: Day = campaign.rows.iter().map(|r| r.due_date).max().unwrap_or(campaign.settings.as_of);
    CampaignPlan {
        campaign: campaign.settings.name.clone(),
        as_of: format_day(campaign.settings.as_of),
        holdout: campaign.settings.holdout,
        readable_on: format_day(last_due + grace_days + 1),
        method: METHOD,
        actions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_example_cannot_detect_a_twenty_percent_save_rate() {
        // 800 calls, 20% held out, a 20% control lapse rate: about 40% is detectable.
        let mde = min_detectable_save_rate(0.2, 640.0, 160.0).unwrap();
        assert!((0.35..0.45).contains(&mde), "{mde}");
    }
}
