//! Judging a ranking by effect on a campaign with a holdout: the uplift curve (lapses a
//! contact prevents among the top of the ranking, estimated from both arms there), the Qini
//! coefficient (its area above the random ranking's straight line) and the uplift by decile.
//! Hand-written: a sort and running counts; the Python uplift packages (scikit-uplift,
//! causalml) have no Rust counterpart.

use serde::Serialize;

/// One point of the uplift curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QiniPoint {
    /// Share of the list contacted, from the top of the ranking.
    pub share: f64,
    /// Lapses prevented if those were contacted: (r_c - r_t) among them x their number.
    pub prevented: f64,
    /// Its standard error (the two arms' binomial variances among them).
    pub standard_error: f64,
}

/// The uplift curve of `scores` (higher first) at `points` + 1 evenly spaced shares from 0 to
/// 1. `treated[i]`: in the treatment arm; `lapsed[i]`: the outcome.
pub fn qini_curve(scores: &[f64], treated: &[bool], lapsed: &[bool], points: usize) -> Vec<QiniPoint> {
    let n = scores.len();
    let mut order: Vec<usize> = (0..n).collect();
    // Ties keep the input order (callers pass rows in a fixed order).
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut n_t, mut n_c, mut y_t, mut y_c) = (0f64, 0f64, 0f64, 0f64);
    let mut prevented_at = Vec::with_capacity(n + 1);
    prevented_at.push((0.0, 0.0));
    for (k, &i) in order.iter().enumerate() {
        if treated[i] {
            n_t += 1.0;
            y_t += f64::from(u8::from(lapsed[i]));
        } else {
            n_c += 1.0;
            y_c += f64::from(u8::from(lapsed[i]));
        }
        let point = if n_t > 0.0 && n_c > 0.0 {
            let (r_t, r_c) = (y_t / n_t, y_c / n_c);
            let m = (k + 1) as f64;
            ((r_c - r_t) * m, m * (r_t * (1.0 - r_t) / n_t + r_c * (1.0 - r_c) / n_c).sqrt())
        } else {
            (0.0, 0.0)
        };
        prevented_at.push(point);
    }
    (0..=points)
        .map(|j| {
            let share = j as f64 / points as f64;
            let k = ((share * n as f64).round() as usize).min(n);
            QiniPoint { share, prevented: prevented_at[k].0, standard_error: prevented_at[k].1 }
        })
        .collect()
}

/// The area between an uplift curve and the straight line of a random ranking (from 0 to the
/// curve's end), per listed renewal: 0 for a ranking no better than chance.
pub fn qini_coefficient(curve: &[QiniPoint], renewals: usize) -> f64 {
    let Some(last) = curve.last() else { return 0.0 };
    let gap = |p: &QiniPoint| p.prevented - p.share * last.prevented;
    let area: f64 = curve.windows(2).map(|w| (w[1].share - w[0].share) * (gap(&w[0]) + gap(&w[1])) / 2.0).sum();
    area / renewals.max(1) as f64
}

/// One decile of predicted uplift (1 = the largest).
#[derive(Debug, Clone, Serialize)]
pub struct DecileRow {
    pub decile: usize,
    pub treated: usize,
    pub control: usize,
    pub lapse_rate_treated: Option<f64>,
    pub lapse_rate_control: Option<f64>,
    /// r_c - r_t in the decile.
    pub observed_uplift: Option<f64>,
    pub mean_predicted_uplift: f64,
}

/// The deciles of `scores` (largest first) with the uplift observed in each.
pub fn deciles(scores: &[f64], treated: &[bool], lapsed: &[bool]) -> Vec<DecileRow> {
    let n = scores.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    (0..10)
        .map(|d| {
            let part = &order[d * n / 10..(d + 1) * n / 10];
            let (mut nt, mut nc, mut yt, mut yc) = (0usize, 0usize, 0usize, 0usize);
            for &i in part {
                if treated[i] {
                    nt += 1;
                    yt += usize::from(lapsed[i]);
                } else {
                    nc += 1;
                    yc += usize::from(lapsed[i]);
                }
            }
            let rate = |y: usize, n: usize| (n > 0).then(|| y as f64 / n as f64);
            let (rt, rc) = (rate(yt, nt), rate(yc, nc));
            DecileRow {
                decile: d + 1,
                treated: nt,
                control: nc,
                lapse_rate_treated: rt,
                lapse_rate_control: rc,
                observed_uplift: rt.zip(rc).map(|(t, c)| c - t),
                mean_predicted_uplift: part.iter().map(|&i| scores[i]).sum::<f64>() / part.len().max(1) as f64,
            }
        })
        .collect()
}

/// Lapses prevented when contacting a share of the list, by three rankings.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetRow {
    pub share: f64,
    pub by_uplift: f64,
    pub by_uplift_se: f64,
    pub by_risk: f64,
    pub by_risk_se: f64,
    pub random: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn a_ranking_that_knows_the_effect_beats_chance_and_chance_scores_near_zero() {
        // Half the renewals respond (lapse 40% untreated, 10% treated), half do not (30%).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = 20_000;
        let responds: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let treated: Vec<bool> = (0..n).map(|_| rng.random_bool(0.5)).collect();
        let lapsed: Vec<bool> = (0..n)
            .map(|i| {
                let p = match (responds[i], treated[i]) {
                    (true, true) => 0.1,
                    (true, false) => 0.4,
                    (false, _) => 0.3,
                };
                rng.random_bool(p)
            })
            .collect();
        let knowing: Vec<f64> = responds.iter().map(|&r| if r { 0.3 } else { 0.0 }).collect();
        let noise: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let good = qini_curve(&knowing, &treated, &lapsed, 100);
        let chance = qini_curve(&noise, &treated, &lapsed, 100);
        // Everyone contacted: 0.15 x 20000 = 3000 prevented, whatever the order.
        assert!((good[100].prevented - 3000.0).abs() < 250.0, "{}", good[100].prevented);
        assert!((good[100].prevented - chance[100].prevented).abs() < 1e-9);
        // Contacting the responders (the top half) prevents all of it.
        assert!((good[50].prevented - 3000.0).abs() < 250.0, "{}", good[50].prevented);
        let (q_good, q_chance) = (qini_coefficient(&good, n), qini_coefficient(&chance, n));
        // The knowing ranking's area: a triangle of 0.25 x 0.15 renewals' worth.
        assert!((q_good - 0.0375).abs() < 0.008, "{q_good}");
        assert!(q_chance.abs() < 0.01, "{q_chance}");
        let d = deciles(&knowing, &treated, &lapsed);
        assert!(d[0].observed_uplift.unwrap() > 0.2 && d[9].observed_uplift.unwrap().abs() < 0.05, "{d:?}");
    }
}
