//! Model-quality metrics, written once and used by training, the nightly job and drift reports.
//!
//! All take labels as 0/1 and scores as probabilities. Ties in scores are handled exactly (ROC
//! AUC by average ranks, PR AUC and curves by whole tie groups), so results do not depend on
//! row order.

use serde::{Deserialize, Serialize};

/// Probabilities are clipped to [EPS, 1 - EPS] in the log loss.
const EPS: f64 = 1e-15;

/// Area under the ROC curve (the probability that a random lapse scores above a random
/// non-lapse, ties counting half). `None` when only one class is present.
pub fn roc_auc(labels: &[u8], scores: &[f64]) -> Option<f64> {
    let order = ascending(scores);
    let positives = labels.iter().filter(|&&y| y == 1).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += average_rank * order[i..=j].iter().filter(|&&k| labels[k] == 1).count() as f64;
        i = j + 1;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// Area under the precision-recall curve as average precision (scikit-learn's definition):
/// the sum over score thresholds of precision x the recall gained there.
pub fn pr_auc(labels: &[u8], scores: &[f64]) -> Option<f64> {
    let positives = labels.iter().filter(|&&y| y == 1).count() as f64;
    if positives == 0.0 {
        return None;
    }
    let mut order = ascending(scores);
    order.reverse();
    let (mut tp, mut seen, mut ap) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let gained = order[i..=j].iter().filter(|&&k| labels[k] == 1).count() as f64;
        tp += gained;
        seen += (j - i + 1) as f64;
        ap += (gained / positives) * (tp / seen);
        i = j + 1;
    }
    Some(ap)
}

/// Mean negative log-likelihood.
pub fn log_loss(labels: &[u8], scores: &[f64]) -> f64 {
    let total: f64 = labels
        .iter()
        .zip(scores)
        .map(|(&y, &p)| {
            let p = p.clamp(EPS, 1.0 - EPS);
            if y == 1 { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    total / labels.len().max(1) as f64
}

/// Mean squared error of the probabilities.
pub fn brier(labels: &[u8], scores: &[f64]) -> f64 {
    let total: f64 = labels.iter().zip(scores).map(|(&y, &p)| (p - f64::from(y)).powi(2)).sum();
    total / labels.len().max(1) as f64
}

/// One bin of a reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// Reliability table over `bins` equal-width probability bins (empty bins are left out).
pub fn reliability(labels: &[u8], scores: &[f64], bins: usize) -> Vec<ReliabilityBin> {
    let mut sums = vec![(0usize, 0.0f64, 0.0f64); bins];
    for (&y, &p) in labels.iter().zip(scores) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        sums[b].0 += 1;
        sums[b].1 += p;
        sums[b].2 += f64::from(y);
    }
    sums.iter()
        .enumerate()
        .filter(|(_, s)| s.0 > 0)
        .map(|(b, &(count, p, y))| ReliabilityBin {
            lower: b as f64 / bins as f64,
            upper: (b + 1) as f64 / bins as f64,
            count,
            mean_predicted: p / count as f64,
            observed_rate: y / count as f64,
        })
        .collect()
}

/// Expected calibration error: the count-weighted mean gap between predicted and observed
/// rates over 10 equal-width bins.
pub fn ece(labels: &[u8], scores: &[f64]) -> f64 {
    let n = labels.len().max(1) as f64;
    reliability(labels, scores, 10).iter().map(|b| b.count as f64 / n * (b.mean_predicted - b.observed_rate).abs()).sum()
}

/// Share of `weights` (e.g. lapses, or lapsed premium) caught in the top k% of rows ranked by
/// `ranking`, for k = 1..=100. Ties in the ranking are spread evenly over their positions.
pub fn capture_curve(ranking: &[f64], weights: &[f64]) -> Vec<f64> {
    let n = ranking.len();
    let total: f64 = weights.iter().sum();
    if n == 0 || total <= 0.0 {
        return vec![0.0; 100];
    }
    let mut order = ascending(ranking);
    order.reverse();
    // Cumulative captured weight at each position, ties spread evenly.
    let mut cumulative = Vec::with_capacity(n + 1);
    cumulative.push(0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && ranking[order[j + 1]] == ranking[order[i]] {
            j += 1;
        }
        let group: f64 = order[i..=j].iter().map(|&k| weights[k]).sum();
        let per = group / (j - i + 1) as f64;
        for _ in i..=j {
            let last = *cumulative.last().expect("starts with 0");
            cumulative.push(last + per);
        }
        i = j + 1;
    }
    (1..=100)
        .map(|k| {
            let position = (k as f64 / 100.0 * n as f64).round() as usize;
            cumulative[position.min(n)] / total
        })
        .collect()
}

/// Lapse rate in the top 10% by score over the overall lapse rate.
pub fn top_decile_lift(labels: &[u8], scores: &[f64]) -> Option<f64> {
    let rate = labels.iter().map(|&y| f64::from(y)).sum::<f64>() / labels.len().max(1) as f64;
    if rate == 0.0 {
        return None;
    }
    let gains = capture_curve(scores, &labels.iter().map(|&y| f64::from(y)).collect::<Vec<_>>());
    Some(gains[9] / 0.10)
}

/// Every metric of one set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub rows: usize,
    pub lapse_rate: f64,
    pub mean_predicted: f64,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub log_loss: f64,
    pub brier: f64,
    pub ece: f64,
    pub top_decile_lift: Option<f64>,
    /// Share of lapses in the top k% by probability, k = 1..=100.
    pub gains: Vec<f64>,
    /// Premium-weighted share of lapses in the top k% by priority (probability x value).
    pub retained_premium: Vec<f64>,
    pub reliability: Vec<ReliabilityBin>,
}

impl Evaluation {
    /// Evaluates probabilities `scores` against `labels`; `values` are the policies' values at
    /// risk (premium), used for the priority ranking and the retained-premium curve.
    pub fn of(labels: &[u8], scores: &[f64], values: &[f64]) -> Self {
        let n = labels.len().max(1) as f64;
        let lapsed_value: Vec<f64> = labels.iter().zip(values).map(|(&y, &v)| f64::from(y) * v).collect();
        let priority: Vec<f64> = scores.iter().zip(values).map(|(&p, &v)| p * v).collect();
        Evaluation {
            rows: labels.len(),
            lapse_rate: labels.iter().map(|&y| f64::from(y)).sum::<f64>() / n,
            mean_predicted: scores.iter().sum::<f64>() / n,
            roc_auc: roc_auc(labels, scores),
            pr_auc: pr_auc(labels, scores),
            log_loss: log_loss(labels, scores),
            brier: brier(labels, scores),
            ece: ece(labels, scores),
            top_decile_lift: top_decile_lift(labels, scores),
            gains: capture_curve(scores, &labels.iter().map(|&y| f64::from(y)).collect::<Vec<_>>()),
            retained_premium: capture_curve(&priority, &lapsed_value),
            reliability: reliability(labels, scores, 10),
        }
    }
}

/// Row indices ordered by ascending score (NaN last), stable.
fn ascending(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_as_half_and_matches_the_pairwise_definition() {
        assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]), Some(0.75));
        assert_eq!(roc_auc(&[0, 1], &[0.5, 0.5]), Some(0.5));
        assert_eq!(roc_auc(&[1, 1], &[0.5, 0.4]), None);
        // Pairwise brute force on a tied, unordered sample.
        let labels = [1, 0, 1, 0, 0, 1, 0, 1, 1, 0];
        let scores = [0.3, 0.3, 0.9, 0.1, 0.5, 0.5, 0.2, 0.3, 0.7, 0.6];
        let (mut wins, mut pairs) = (0.0, 0.0);
        for i in 0..10 {
            for j in 0..10 {
                if labels[i] == 1 && labels[j] == 0 {
                    pairs += 1.0;
                    wins += if scores[i] > scores[j] {
                        1.0
                    } else if scores[i] == scores[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        assert!((roc_auc(&labels, &scores).unwrap() - wins / pairs).abs() < 1e-12);
    }

    #[test]
    fn average_precision_matches_scikit_learn() {
        // sklearn.metrics.average_precision_score([0,0,1,1],[0.1,0.4,0.35,0.8]) == 0.8333...
        assert!((pr_auc(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]).unwrap() - 5.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn losses_calibration_and_curves() {
        let labels = [1, 0, 0, 0];
        let scores = [0.25; 4];
        assert!((log_loss(&labels, &scores) - (-(0.25f64).ln() - 3.0 * (0.75f64).ln()) / 4.0).abs() < 1e-12);
        assert!((brier(&labels, &scores) - (0.5625 + 3.0 * 0.0625) / 4.0).abs() < 1e-12);
        assert!(ece(&labels, &scores).abs() < 1e-12, "perfectly calibrated on average");
        assert!((ece(&[1, 1], &[0.25, 0.25]) - 0.75).abs() < 1e-12);
        let gains = capture_curve(&[0.9, 0.1, 0.8, 0.2], &[1.0, 0.0, 1.0, 0.0]);
        assert_eq!((gains[49], gains[99]), (1.0, 1.0));
        assert_eq!(gains[24], 0.5);
        let tied = capture_curve(&[0.5; 4], &[1.0, 0.0, 0.0, 0.0]);
        assert_eq!(tied[49], 0.5, "ties spread evenly");
        let e = Evaluation::of(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], &[1.0; 10]);
        assert_eq!(e.top_decile_lift, Some(10.0));
    }
}
