//! Choosing among the tried settings, and stacking them, from held-out predictions only.
//!
//! Every candidate (a family with one hyper-parameter setting) has held-out predictions for
//! the same rows. A choice made on some of those rows is judged on the others: the rows are
//! split into selection groups (k-fold: the folds; out-of-time: two halves of the validation
//! rows by policy), each group's figure comes from the choice made on the other groups, and
//! the reported figure is their mean. So what is reported comes from rows that chose nothing.
//! The served model is the choice made on all held-out rows.
//!
//! The blend is a logistic regression on the log-odds of up to three explainable settings
//! (logistic, spline, boosting; chosen by forward selection, [`HeldOut::blend_members`]), fitted
//! on their out-of-fold predictions: a stack whose contributions stay exact (linear in the
//! members' log-odds).

use crate::estimators::Family;
use crate::logistic;

/// What a selection picked.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    /// One candidate (index into the candidates).
    Single(usize),
    /// A blend of candidates: P = sigmoid(intercept + sum weights[k] x logit(raw[members[k]])).
    Blend { members: Vec<usize>, weights: Vec<f64>, intercept: f64 },
}

/// The held-out predictions of every candidate, by slot (position among the held-out rows).
pub struct HeldOut<'a> {
    pub families: &'a [Family],
    /// Before calibration.
    pub raw: &'a [Vec<f64>],
    /// Calibrated by calibrators fitted on other rows.
    pub calibrated: &'a [Vec<f64>],
    pub labels: &'a [u8],
}

/// A blend holds at most this many settings.
pub const MAX_BLEND_MEMBERS: usize = 3;

/// A setting joins the blend only when it lowers the blend's cross-fitted log loss by this much.
pub const MIN_BLEND_GAIN: f64 = 1e-5;

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Mean log loss of `p` (by slot) on `slots`.
pub fn log_loss(labels: &[u8], p: &[f64], slots: &[usize]) -> f64 {
    let total: f64 = slots
        .iter()
        .map(|&s| {
            let q = p[s].clamp(1e-15, 1.0 - 1e-15);
            if labels[s] == 1 { -q.ln() } else { -(1.0 - q).ln() }
        })
        .sum();
    total / slots.len().max(1) as f64
}

impl HeldOut<'_> {
    /// Blend weights fitted on `slots` (members' raw log-odds as inputs).
    fn fit_blend(&self, members: &[usize], slots: &[usize]) -> (Vec<f64>, f64) {
        let n = slots.len();
        let mut values = Vec::with_capacity(n * members.len());
        for &m in members {
            values.extend(slots.iter().map(|&s| logit(self.raw[m][s])));
        }
        let labels: Vec<u8> = slots.iter().map(|&s| self.labels[s]).collect();
        // A light penalty: a handful of weights fitted on thousands of rows.
        let fit = logistic::fit(&values, n, members.len(), &labels, 1.0, 100, 0);
        (fit.weights, fit.intercept)
    }

    /// The blend's probability at one slot.
    pub fn blend_at(&self, members: &[usize], weights: &[f64], intercept: f64, slot: usize) -> f64 {
        sigmoid(intercept + members.iter().zip(weights).map(|(&m, w)| w * logit(self.raw[m][slot])).sum::<f64>())
    }

    /// The pick's probability at one slot.
    pub fn predict(&self, pick: &Pick, slot: usize) -> f64 {
        match pick {
            Pick::Single(c) => self.calibrated[*c][slot],
            Pick::Blend { members, weights, intercept } => self.blend_at(members, weights, *intercept, slot),
        }
    }

    /// The blend's members, chosen on `slots` by forward selection (Caruana et al. 2004's
    /// ensemble selection, with weights fitted rather than counted): start from the explainable
    /// setting with the lowest log loss, then add the setting whose addition lowers the
    /// cross-fitted log loss of the blend most, while it lowers it by at least
    /// [`MIN_BLEND_GAIN`] and the blend has fewer than [`MAX_BLEND_MEMBERS`]. The pool is the
    /// two best settings of each explainable family (logistic, spline, boosting): two boosting
    /// settings of different depths can see different things, ten near-copies add only cost.
    /// Returned in family order, then candidate order.
    pub fn blend_members(&self, slots: &[usize], group: &dyn Fn(usize) -> usize) -> Vec<usize> {
        let losses: Vec<f64> = self.calibrated.iter().map(|p| log_loss(self.labels, p, slots)).collect();
        let mut pool: Vec<usize> = Vec::new();
        for family in [Family::Logistic, Family::Spline, Family::Gbdt] {
            let mut of_family: Vec<usize> = (0..self.families.len()).filter(|&c| self.families[c] == family).collect();
            of_family.sort_by(|&a, &b| losses[a].total_cmp(&losses[b]).then(a.cmp(&b)));
            pool.extend(of_family.into_iter().take(2));
        }
        let Some(&first) = pool.iter().min_by(|&&a, &&b| losses[a].total_cmp(&losses[b]).then(a.cmp(&b))) else {
            return Vec::new();
        };
        let labels: Vec<u8> = slots.iter().map(|&s| self.labels[s]).collect();
        let every: Vec<usize> = (0..slots.len()).collect();
        let mut members = vec![first];
        // The first member alone, refitted like a blend (its slope refitted too): a second member
        // must add more than a recalibration of the first.
        let mut current = log_loss(&labels, &self.blend_cross_fitted(&members, slots, group), &every);
        while members.len() < MAX_BLEND_MEMBERS {
            let best = pool
                .iter()
                .filter(|c| !members.contains(c))
                .map(|&c| {
                    let mut trial = members.clone();
                    trial.push(c);
                    (c, log_loss(&labels, &self.blend_cross_fitted(&trial, slots, group), &every))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            match best {
                Some((c, loss)) if loss < current - MIN_BLEND_GAIN => {
                    members.push(c);
                    current = loss;
                }
                _ => break,
            }
        }
        members.sort_by_key(|&c| (self.families[c], c));
        members
    }

    /// Cross-fitted blend predictions for `slots`: each group's from weights fitted on the
    /// other groups of `slots` (by slot parity when `slots` holds one group only).
    pub fn blend_cross_fitted(&self, members: &[usize], slots: &[usize], group: &dyn Fn(usize) -> usize) -> Vec<f64> {
        let mut groups: Vec<usize> = slots.iter().map(|&s| group(s)).collect();
        groups.sort_unstable();
        groups.dedup();
        let split: Box<dyn Fn(usize) -> usize> = if groups.len() > 1 { Box::new(group) } else { Box::new(|s| s % 2) };
        let mut out = vec![f64::NAN; slots.len()];
        let mut ids: Vec<usize> = slots.iter().map(|&s| split(s)).collect();
        ids.sort_unstable();
        ids.dedup();
        for g in ids {
            let fit_on: Vec<usize> = slots.iter().copied().filter(|&s| split(s) != g).collect();
            if fit_on.is_empty() {
                continue;
            }
            let (weights, intercept) = self.fit_blend(members, &fit_on);
            for (o, &s) in out.iter_mut().zip(slots) {
                if split(s) == g {
                    *o = self.blend_at(members, &weights, intercept, s);
                }
            }
        }
        out
    }

    /// Chooses on `slots` alone: the candidate with the lowest held-out log loss, or the blend
    /// of the forward-selected settings when `blend` is on and its cross-fitted log loss is
    /// lower still.
    pub fn choose(&self, slots: &[usize], group: &dyn Fn(usize) -> usize, blend: bool) -> Pick {
        let losses: Vec<f64> = self.calibrated.iter().map(|p| log_loss(self.labels, p, slots)).collect();
        let best = (0..losses.len()).min_by(|&a, &b| losses[a].total_cmp(&losses[b])).expect("at least one candidate");
        if !blend {
            return Pick::Single(best);
        }
        let members = self.blend_members(slots, group);
        if members.len() < 2 {
            return Pick::Single(best);
        }
        let crossed = self.blend_cross_fitted(&members, slots, group);
        let blend_loss = {
            let labels: Vec<u8> = slots.iter().map(|&s| self.labels[s]).collect();
            let all: Vec<usize> = (0..slots.len()).collect();
            log_loss(&labels, &crossed, &all)
        };
        if blend_loss < losses[best] {
            let (weights, intercept) = self.fit_blend(&members, slots);
            Pick::Blend { members, weights, intercept }
        } else {
            Pick::Single(best)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two noisy views of the same signal: each alone is worse than both together.
    fn world() -> (Vec<u8>, Vec<Vec<f64>>) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let n = 4_000;
        let mut labels = Vec::new();
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut noise = Vec::new();
        for _ in 0..n {
            let signal: f64 = rng.random::<f64>() * 4.0 - 2.0;
            let extra: f64 = rng.random::<f64>() * 4.0 - 2.0;
            labels.push(u8::from(rng.random::<f64>() < sigmoid(signal + extra - 1.0)));
            a.push(sigmoid(signal - 1.0));
            b.push(sigmoid(extra - 1.0));
            noise.push(sigmoid(rng.random::<f64>() - 1.0));
        }
        (labels, vec![a, b, noise])
    }

    #[test]
    fn the_blend_wins_when_members_see_different_things() {
        let (labels, raw) = world();
        let families = [Family::Logistic, Family::Gbdt, Family::Spline];
        let held = HeldOut { families: &families, raw: &raw, calibrated: &raw, labels: &labels };
        let slots: Vec<usize> = (0..labels.len()).collect();
        let pick = held.choose(&slots, &|s| s % 5, true);
        let Pick::Blend { members, weights, .. } = &pick else { panic!("{pick:?}") };
        // Forward selection takes the two informative settings (family order: logistic, then
        // boosting) with weights near 1 and leaves the noise (the spline here) out.
        assert_eq!(members, &[0, 1]);
        assert!(weights[0] > 0.7 && weights[1] > 0.7, "{weights:?}");
        let blended: Vec<f64> = slots.iter().map(|&s| held.predict(&pick, s)).collect();
        assert!(log_loss(&labels, &blended, &slots) < log_loss(&labels, &raw[0], &slots) - 0.02);
        // Without the blend: the single best.
        assert_eq!(held.choose(&slots, &|s| s % 5, false), Pick::Single(0));
    }

    #[test]
    fn forward_selection_stops_at_the_member_cap_and_keeps_family_order() {
        use rand::{Rng, SeedableRng};
        // Five views of independent signals, two of them boosting settings: each adds, so the
        // blend grows to the cap.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let n = 6_000;
        let mut labels = Vec::new();
        let mut raw = vec![Vec::new(); 5];
        for _ in 0..n {
            let parts: Vec<f64> = (0..5).map(|_| rng.random::<f64>() * 3.0 - 1.5).collect();
            labels.push(u8::from(rng.random::<f64>() < sigmoid(parts.iter().sum::<f64>() - 1.0)));
            for (r, p) in raw.iter_mut().zip(&parts) {
                r.push(sigmoid(p - 0.2));
            }
        }
        let families = [Family::Gbdt, Family::Gbdt, Family::Logistic, Family::Spline, Family::Logistic];
        let held = HeldOut { families: &families, raw: &raw, calibrated: &raw, labels: &labels };
        let slots: Vec<usize> = (0..n).collect();
        let members = held.blend_members(&slots, &|s| s % 5);
        assert_eq!(members.len(), MAX_BLEND_MEMBERS, "{members:?}");
        // In family order, then candidate order.
        let order: Vec<(Family, usize)> = members.iter().map(|&m| (families[m], m)).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
    }

    #[test]
    fn a_useless_blend_is_not_picked() {
        let (labels, raw) = world();
        // Only one informative candidate and noise in another family: the blend cannot beat it
        // out of fold by enough to matter, and a single family never blends.
        let families = [Family::Logistic, Family::Logistic];
        let raw = vec![raw[0].clone(), raw[2].clone()];
        let held = HeldOut { families: &families, raw: &raw, calibrated: &raw, labels: &labels };
        let slots: Vec<usize> = (0..labels.len()).collect();
        assert_eq!(held.choose(&slots, &|s| s % 5, true), Pick::Single(0));
    }
}
