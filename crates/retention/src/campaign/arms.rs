//! Which renewals of a campaign are held out.
//!
//! Arms are drawn per customer: all of a customer's renewals on a list are one contact and share
//! its arm. Every customer gets a keyed hash h = SHA-256(campaign, customer_id) (first 8 bytes;
//! a renewal without a customer id hashes (campaign, policy_id, installment_no) and is its own
//! unit): the same campaign name and customer always hash alike, on any machine, in the batch
//! file and in the API. Within each stratum (action x segment) the renewals with the smallest
//! hashes are control, as many as floor(n x F + u), where u in [0, 1) is the hash of the
//! campaign and stratum: each stratum holds out its share to within one renewal, and the
//! expected share is exactly F (a plain floor or round would bias small strata).
//!
//! Hand-written: stratified, keyed, reproducible assignment is a few lines over a hash; no
//! crate does this particular job.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A campaign arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arm {
    /// Contacted with the listed action.
    Treatment,
    /// Not contacted for this campaign: the comparison group.
    Control,
}

impl Arm {
    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Treatment => "treatment",
            Arm::Control => "control",
        }
    }

    pub fn parse(text: &str) -> Option<Arm> {
        match text {
            "treatment" => Some(Arm::Treatment),
            "control" => Some(Arm::Control),
            _ => None,
        }
    }
}

fn hash64(parts: &[&[u8]]) -> u64 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    u64::from_le_bytes(digest[..8].try_into().expect("a SHA-256 digest has 32 bytes"))
}

/// The keyed hash of one renewal of a campaign.
pub fn renewal_hash(campaign: &str, policy_id: &str, installment_no: u32) -> u64 {
    hash64(&[campaign.as_bytes(), policy_id.as_bytes(), &installment_no.to_le_bytes()])
}

/// The keyed hash of one customer of a campaign.
pub fn customer_hash(campaign: &str, customer_id: &str) -> u64 {
    hash64(&[campaign.as_bytes(), b"customer", customer_id.as_bytes()])
}

/// The arms of `renewals` ((policy_id, installment_no, stratum) each, each its own unit) in
/// campaign `campaign` with control share `holdout`.
pub fn assign_arms<S: AsRef<str>>(campaign: &str, holdout: f64, renewals: &[(&str, u32, S)]) -> Vec<Arm> {
    let units: Vec<(u64, &str)> = renewals.iter().map(|(p, i, s)| (renewal_hash(campaign, p, *i), s.as_ref())).collect();
    assign_unit_arms(campaign, holdout, &units)
}

/// The arms of units (a customer or a renewal: its keyed hash, and its stratum) in campaign
/// `campaign` with control share `holdout`.
pub fn assign_unit_arms(campaign: &str, holdout: f64, units: &[(u64, &str)]) -> Vec<Arm> {
    let mut strata: HashMap<&str, Vec<(u64, usize)>> = HashMap::new();
    for (i, &(hash, stratum)) in units.iter().enumerate() {
        strata.entry(stratum).or_default().push((hash, i));
    }
    let mut arms = vec![Arm::Treatment; units.len()];
    for (stratum, mut members) in strata {
        // Ties in the hash (never seen, but possible) are broken by position: still a total order.
        members.sort_unstable();
        let u = hash64(&[campaign.as_bytes(), b"stratum", stratum.as_bytes()]) as f64 / 2f64.powi(64);
        let controls = ((members.len() as f64 * holdout + u).floor() as usize).min(members.len());
        for &(_, i) in &members[..controls] {
            arms[i] = Arm::Control;
        }
    }
    arms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renewals(n: usize, strata: usize) -> Vec<(String, u32, String)> {
        (0..n).map(|i| (format!("P{i:08}"), 2 + (i % 3) as u32, format!("s{}", i % strata))).collect()
    }

    fn arms_of(campaign: &str, holdout: f64, rows: &[(String, u32, String)]) -> Vec<Arm> {
        let keys: Vec<(&str, u32, &str)> = rows.iter().map(|(p, i, s)| (p.as_str(), *i, s.as_str())).collect();
        assign_arms(campaign, holdout, &keys)
    }

    #[test]
    fn same_inputs_same_arms_and_order_does_not_matter() {
        let rows = renewals(5000, 7);
        let a = arms_of("march", 0.2, &rows);
        assert_eq!(a, arms_of("march", 0.2, &rows));
        // Shuffled input: each renewal keeps its arm.
        let mut reversed = rows.clone();
        reversed.reverse();
        let mut b = arms_of("march", 0.2, &reversed);
        b.reverse();
        assert_eq!(a, b);
        // Another campaign name draws another control group.
        let c = arms_of("april", 0.2, &rows);
        assert!(a.iter().zip(&c).filter(|(x, y)| x != y).count() > 500);
    }

    #[test]
    fn every_stratum_holds_out_its_share_to_within_one() {
        let rows = renewals(10_007, 9);
        for holdout in [0.0, 0.05, 0.1, 0.33, 0.5, 0.9] {
            let arms = arms_of("c", holdout, &rows);
            for s in 0..9 {
                let members: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].2 == format!("s{s}")).collect();
                let controls = members.iter().filter(|&&i| arms[i] == Arm::Control).count() as f64;
                let expected = members.len() as f64 * holdout;
                assert!((controls - expected).abs() < 1.0, "holdout {holdout} stratum {s}: {controls} vs {expected}");
            }
        }
        assert!(arms_of("c", 0.0, &rows).iter().all(|&a| a == Arm::Treatment));
    }

    #[test]
    fn tiny_strata_are_held_out_at_the_right_rate_on_average() {
        // 2,000 one-renewal strata at F = 0.25: a floor would hold out none, a round none
        // either; floor(F + u) holds out each with probability F.
        let rows: Vec<(String, u32, String)> = (0..2000).map(|i| (format!("P{i}"), 2, format!("s{i}"))).collect();
        let controls = arms_of("tiny", 0.25, &rows).iter().filter(|&&a| a == Arm::Control).count();
        // Binomial(2000, 0.25): sd 19.4; 5 sd either side.
        assert!((400..=600).contains(&controls), "{controls}");
    }
}
