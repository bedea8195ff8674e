//! Calibration: mapping a model's scores to probabilities a business can multiply by money.
//! Platt scaling (a logistic fit on the score's log-odds) and isotonic regression (pool adjacent
//! violators). Both are a few lines of well-known numerics, written here rather than pulling a
//! crate for each.

use serde::{Deserialize, Serialize};

use crate::metrics::log_loss;

/// A fitted calibration map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calibrator {
    /// Scores are used as they are.
    Identity,
    /// p' = sigmoid(a * logit(p) + b).
    Platt { a: f64, b: f64 },
    /// Piecewise-linear through (score, rate) knots, constant beyond the ends.
    Isotonic { scores: Vec<f64>, rates: Vec<f64> },
}

/// Which calibration to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Identity,
    Platt,
    Isotonic,
}

const EPS: f64 = 1e-6;

fn logit(p: f64) -> f64 {
    let p = p.clamp(EPS, 1.0 - EPS);
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Calibrator {
    /// Fits `method` on held-out scores and their labels.
    pub fn fit(method: Method, scores: &[f64], labels: &[u8]) -> Calibrator {
        match method {
            Method::Identity => Calibrator::Identity,
            Method::Platt => platt(scores, labels),
            Method::Isotonic => isotonic(scores, labels),
        }
    }

    /// The calibrated probability of a score.
    pub fn apply(&self, p: f64) -> f64 {
        match self {
            Calibrator::Identity => p,
            Calibrator::Platt { a, b } => sigmoid(a * logit(p) + b),
            Calibrator::Isotonic { scores, rates } => {
                if scores.is_empty() {
                    return p;
                }
                let i = scores.partition_point(|&s| s < p);
                if i == 0 {
                    rates[0]
                } else if i == scores.len() {
                    rates[rates.len() - 1]
                } else {
                    let (x0, x1, y0, y1) = (scores[i - 1], scores[i], rates[i - 1], rates[i]);
                    if x1 > x0 { y0 + (y1 - y0) * (p - x0) / (x1 - x0) } else { y1 }
                }
            }
        }
    }

    pub fn apply_all(&self, scores: &[f64]) -> Vec<f64> {
        scores.iter().map(|&p| self.apply(p)).collect()
    }

    pub fn method(&self) -> Method {
        match self {
            Calibrator::Identity => Method::Identity,
            Calibrator::Platt { .. } => Method::Platt,
            Calibrator::Isotonic { .. } => Method::Isotonic,
        }
    }
}

/// Platt scaling by Newton's method on the two parameters, with Platt's target smoothing.
fn platt(scores: &[f64], labels: &[u8]) -> Calibrator {
    let x: Vec<f64> = scores.iter().map(|&p| logit(p)).collect();
    let positives = labels.iter().filter(|&&y| y == 1).count() as f64;
    let negatives = labels.len() as f64 - positives;
    let (hi, lo) = ((positives + 1.0) / (positives + 2.0), 1.0 / (negatives + 2.0));
    let t: Vec<f64> = labels.iter().map(|&y| if y == 1 { hi } else { lo }).collect();
    let (mut a, mut b) = (1.0, 0.0);
    for _ in 0..100 {
        let (mut g_a, mut g_b, mut h_aa, mut h_ab, mut h_bb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
        for (xi, ti) in x.iter().zip(&t) {
            let p = sigmoid(a * xi + b);
            let d = p - ti;
            let w = p * (1.0 - p);
            g_a += d * xi;
            g_b += d;
            h_aa += w * xi * xi;
            h_ab += w * xi;
            h_bb += w;
        }
        let det = h_aa * h_bb - h_ab * h_ab;
        if det.abs() < 1e-18 {
            break;
        }
        let (step_a, step_b) = ((h_bb * g_a - h_ab * g_b) / det, (h_aa * g_b - h_ab * g_a) / det);
        a -= step_a;
        b -= step_b;
        if step_a.abs() < 1e-10 && step_b.abs() < 1e-10 {
            break;
        }
    }
    Calibrator::Platt { a, b }
}

/// Isotonic regression by pool-adjacent-violators; knots at each block's mean score.
fn isotonic(scores: &[f64], labels: &[u8]) -> Calibrator {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| scores[i].total_cmp(&scores[j]));
    // Blocks of (sum of scores, sum of labels, count).
    let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
    for i in order {
        blocks.push((scores[i], f64::from(labels[i]), 1.0));
        while blocks.len() > 1 {
            let n = blocks.len();
            let (a, b) = (blocks[n - 2], blocks[n - 1]);
            if a.1 / a.2 < b.1 / b.2 {
                break;
            }
            blocks.truncate(n - 2);
            blocks.push((a.0 + b.0, a.1 + b.1, a.2 + b.2));
        }
    }
    Calibrator::Isotonic {
        scores: blocks.iter().map(|b| b.0 / b.2).collect(),
        rates: blocks.iter().map(|b| (b.1 / b.2).clamp(EPS, 1.0 - EPS)).collect(),
    }
}

/// Chooses the calibration method by cross-fitting on held-out predictions: each row's
/// calibrator is fitted on the rows of the other groups (`group`: the validation folds, or
/// two halves of one validation set), so the choice is judged on rows the calibrator did not
/// see. Returns the method and the cross-fitted calibrated scores.
pub fn choose(scores: &[f64], labels: &[u8], group: impl Fn(usize) -> usize) -> (Method, Vec<f64>) {
    let mut best: Option<(f64, Method, Vec<f64>)> = None;
    for method in [Method::Identity, Method::Platt, Method::Isotonic] {
        let fitted = cross_fit(method, scores, labels, &group);
        let loss = log_loss(labels, &fitted);
        if best.as_ref().is_none_or(|b| loss < b.0 - 1e-12) {
            best = Some((loss, method, fitted));
        }
    }
    let (_, method, fitted) = best.expect("three candidates");
    (method, fitted)
}

/// Calibrated scores where each row's calibrator was fitted on the rows of the other groups.
pub fn cross_fit(method: Method, scores: &[f64], labels: &[u8], group: impl Fn(usize) -> usize) -> Vec<f64> {
    let groups: Vec<usize> = (0..scores.len()).map(&group).collect();
    let mut out = vec![0.0; scores.len()];
    let mut distinct = groups.clone();
    distinct.sort_unstable();
    distinct.dedup();
    for g in distinct {
        let (fit_scores, fit_labels): (Vec<f64>, Vec<u8>) = (0..scores.len()).filter(|&i| groups[i] != g).map(|i| (scores[i], labels[i])).unzip();
        let calibrator = if fit_scores.is_empty() { Calibrator::Identity } else { Calibrator::fit(method, &fit_scores, &fit_labels) };
        for i in (0..scores.len()).filter(|&i| groups[i] == g) {
            out[i] = calibrator.apply(scores[i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_recovers_a_known_distortion_and_isotonic_is_monotone() {
        // True probability q; the model reports sigmoid(2 * logit(q)) (overconfident).
        let mut scores = Vec::new();
        let mut labels = Vec::new();
        for i in 0..4000 {
            let q = 0.05 + 0.9 * (i % 100) as f64 / 100.0;
            scores.push(sigmoid(2.0 * logit(q)));
            // Deterministic labels with rate q in each score bucket.
            labels.push(u8::from(((i / 100) as f64 / 40.0) < q));
        }
        match platt(&scores, &labels) {
            Calibrator::Platt { a, .. } => assert!((a - 0.5).abs() < 0.05, "a = {a}"),
            other => panic!("{other:?}"),
        }
        let iso = isotonic(&scores, &labels);
        let mapped: Vec<f64> = (0..100).map(|k| iso.apply(k as f64 / 100.0)).collect();
        assert!(mapped.windows(2).all(|w| w[0] <= w[1] + 1e-12));
        let (_, fitted) = choose(&scores, &labels, |i| i % 2);
        assert!(log_loss(&labels, &fitted) < log_loss(&labels, &scores));
    }
}
