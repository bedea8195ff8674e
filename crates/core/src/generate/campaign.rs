//! Campaigns in the simulated world: `lapse generate --campaign FILE` replays a campaign file
//! (from `lapse queue`) in the book. The world answers contacts with effects the scoring side
//! cannot see, and writes the truth (`campaign_truth.csv`) so a test can check what `lapse
//! effect` measures against what the campaign really saved.
//!
//! For each listed renewal (both arms, so the truth of the control renewals is known too) the
//! world draws, from a stream keyed by (seed, policy, installment) and independent of the arm:
//! - whether a contact gets through (delivery: sms 90%, call 60%, visit 50%), on a day 1-7
//!   days after the campaign date;
//! - whether it saves the renewal if it would have lapsed: probability
//!   [`save_probability`] (by action, segment and the customer's financial stress: a contact
//!   cannot pay a premium a customer cannot afford, and an SMS does nothing for a high-risk
//!   renewal);
//! - the day a saved renewal is paid: 1-10 days after the contact, by the end of grace.
//!
//! Only the treatment arm is contacted. A renewal that would have been paid anyway stays paid.
//! The campaign changes a policy only from the saved renewal on: its history before is
//! identical to the book simulated without the campaign (same seed, same flags), so the
//! campaign's snapshot still describes the book.

use std::collections::HashMap;

use crate::dates::Day;

/// One renewal of a campaign as the world sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedContact {
    pub installment_no: u32,
    pub action: String,
    pub treated: bool,
    pub segment: String,
}

impl PlannedContact {
    /// The truth of this renewal of `policy_id`.
    pub fn truth(&self, policy_id: &str, lapse_untreated: bool, delivered_if_treated: bool, save_probability: f64, lapse_treated: bool) -> TruthRow {
        TruthRow {
            policy_id: policy_id.to_string(),
            installment_no: self.installment_no,
            action: self.action.clone(),
            arm: if self.treated { "treatment" } else { "control" },
            segment: self.segment.clone(),
            lapse_untreated,
            delivered_if_treated,
            save_probability,
            lapse_treated,
        }
    }
}

/// A campaign to replay: its date and its renewals by policy id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CampaignPlan {
    pub name: String,
    pub as_of: Day,
    pub by_policy: HashMap<String, Vec<PlannedContact>>,
}

/// What really happened (or would have) to one listed renewal.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthRow {
    pub policy_id: String,
    pub installment_no: u32,
    pub action: String,
    pub arm: &'static str,
    pub segment: String,
    /// Would lapse without a contact.
    pub lapse_untreated: bool,
    /// A contact would get through.
    pub delivered_if_treated: bool,
    /// Probability that a delivered contact saves it, were it to lapse.
    pub save_probability: f64,
    /// Would lapse if the campaign contacted it (delivery and save drawn).
    pub lapse_treated: bool,
}

/// Share of contacts of an action that get through.
pub fn delivery_probability(action: &str) -> f64 {
    match action {
        "sms" => 0.9,
        "call" => 0.6,
        "visit" => 0.5,
        _ => 0.0,
    }
}

/// Probability that a delivered contact saves a renewal that would lapse: by action, cut to a
/// tenth in high-risk segments (Ascarza's retention futility: the likeliest lapsers are the
/// hardest to move, so a call to a 60% risk saves fewer lapses than one to a 25% risk; an SMS
/// moves none of them) and to 30% for customers under financial stress (a latent trait the
/// extract does not show).
pub fn save_probability(action: &str, segment: &str, stress: f64) -> f64 {
    let base = match action {
        "sms" => 0.15,
        "call" => 0.40,
        "visit" => 0.60,
        _ => 0.0,
    };
    let segment_factor = match (action, segment.starts_with("high_risk")) {
        ("sms", true) => 0.0,
        (_, true) => 0.1,
        _ => 1.0,
    };
    let stress_factor = if stress > 1.0 { 0.3 } else { 1.0 };
    base * segment_factor * stress_factor
}

/// The event a delivered contact leaves.
pub fn contact_event(action: &str) -> Option<&'static str> {
    match action {
        "sms" => Some("contact_sms"),
        "call" => Some("contact_call"),
        "visit" => Some("contact_visit"),
        _ => None,
    }
}

/// The stream of one listed renewal's draws (the same in both arms and both passes).
pub fn renewal_stream(seed: u64, policy_id: &str, installment_no: u32) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    // A stable hash of the key: the same stream on every platform and Rust version.
    rand_chacha::ChaCha8Rng::seed_from_u64(crate::hash::fnv1a(seed, policy_id.bytes().chain(installment_no.to_le_bytes())))
}
