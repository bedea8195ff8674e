//! Population drift of feature tables: a reference (the training table) against a current one
//! (today's scoring snapshot). For every feature: the population stability index over quantile
//! bins (numbers) or category shares with an "unseen" bucket (categories), a missing bucket in
//! both; the Kolmogorov-Smirnov statistic for numbers (against the reference's percentiles);
//! missing-value rates; a status by threshold (0.1 watch, 0.25 act by default); features ranked
//! by PSI.
//!
//! The trainer fits a [`Reference`] on its table (plus the model's scores, as [`SCORE`]) and
//! the registry stores it with the model; `lapse drift` and the server's `GET /v1/drift`
//! compare a current table against it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use lapse_core::table::{Categories, FeatureColumn, FeatureValues};

/// Quantile bins per numeric feature.
pub const BINS: usize = 10;
/// Shares are floored at this before PSI, so an empty bin does not make it infinite.
const FLOOR: f64 = 1e-4;

/// What a feature looked like in the reference table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureReference {
    Numeric {
        /// Inner bin edges (reference deciles, ties merged); bin k is (edge k-1, edge k].
        edges: Vec<f64>,
        /// Share of non-missing reference values per bin.
        shares: Vec<f64>,
        /// Percentiles 0..=100 of the non-missing values, and the reference's CDF at each (for
        /// KS: with ties, as in counts and flags, the CDF at a percentile is not p/100).
        percentiles: Vec<f64>,
        cdf: Vec<f64>,
        missing: f64,
    },
    Categorical {
        /// Share of all reference rows per level (missing excluded).
        levels: BTreeMap<String, f64>,
        missing: f64,
    },
}

/// The reference distributions of a table's features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reference {
    pub rows: usize,
    pub features: Vec<(String, FeatureReference)>,
}

/// PSI thresholds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    pub watch: f64,
    pub act: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { watch: 0.1, act: 0.25 }
    }
}

/// A feature's drift status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Below the watch threshold, or within sampling noise.
    Stable,
    /// At or above the watch threshold.
    Watch,
    /// At or above the act threshold.
    Act,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Watch => "watch",
            Status::Act => "act",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One feature's drift.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureDrift {
    pub feature: String,
    pub kind: &'static str,
    pub psi: f64,
    /// Numbers only: max |F_current - F_reference| at the reference percentiles.
    pub ks: Option<f64>,
    pub missing_reference: f64,
    pub missing_current: f64,
    /// Categories only: share of current rows with a level the reference never had.
    pub unseen_share: Option<f64>,
    /// The PSI that sampling noise alone exceeds once in a hundred comparisons of samples of
    /// these sizes from one population (PSI ~ chi-square with buckets - 1 degrees of freedom x
    /// (1/reference rows + 1/current rows)); near 0 for big tables.
    pub psi_noise: f64,
    /// `stable`, `watch` or `act`: PSI at or above the threshold and above `psi_noise`.
    pub status: Status,
    /// The buckets PSI was computed over, as shares of all rows: the reference's bins (or
    /// levels), then `unseen` (categories) and `missing`.
    pub bins: Vec<BinShares>,
}

/// One PSI bucket: its label and the share of reference and current rows in it.
#[derive(Debug, Clone, Serialize)]
pub struct BinShares {
    pub bin: String,
    pub reference: f64,
    pub current: f64,
}

fn short(x: f64) -> String {
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.to_string() }
}

/// Labels of the numeric bins: `<= e0`, `(e0, e1]`, ..., `> e_last`, then `missing`.
fn numeric_bin_labels(edges: &[f64]) -> Vec<String> {
    let mut labels = Vec::with_capacity(edges.len() + 2);
    for k in 0..=edges.len() {
        labels.push(match k {
            0 if edges.is_empty() => "all".to_string(),
            0 => format!("<= {}", short(edges[0])),
            k if k == edges.len() => format!("> {}", short(edges[k - 1])),
            k => format!("({}, {}]", short(edges[k - 1]), short(edges[k])),
        });
    }
    labels.push("missing".into());
    labels
}

fn bin_shares(labels: Vec<String>, reference: &[f64], current: &[f64]) -> Vec<BinShares> {
    labels.into_iter().zip(reference).zip(current).map(|((bin, &r), &c)| BinShares { bin, reference: r, current: c }).collect()
}

/// The drift of a current table against a reference.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub reference_rows: usize,
    pub current_rows: usize,
    pub thresholds: Thresholds,
    /// Ranked by PSI, largest first.
    pub features: Vec<FeatureDrift>,
    /// Features at `watch` or `act`.
    pub flagged: Vec<String>,
    /// Reference features the current table lacks.
    pub missing_features: Vec<String>,
}

fn bin_of(edges: &[f64], x: f64) -> usize {
    edges.partition_point(|&e| e < x)
}

fn psi(reference: &[f64], current: &[f64]) -> f64 {
    reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let (r, c) = (r.max(FLOOR), c.max(FLOOR));
            (c - r) * (c / r).ln()
        })
        .sum()
}

/// The 99th percentile of a chi-square distribution with `df` degrees of freedom
/// (Wilson-Hilferty: within 1 % of the exact value from 3 degrees of freedom up, a few % at 1-2).
pub fn chi_square_99(df: usize) -> f64 {
    let k = df as f64;
    let z = 2.326_347_874; // the standard normal's 99th percentile
    let a = 2.0 / (9.0 * k);
    k * (1.0 - a + z * a.sqrt()).powi(3)
}

/// The name the model's score goes by in a reference and a report.
pub const SCORE: &str = "score";

impl Reference {
    /// [`Reference::fit`] plus the distribution of a model's scores on the same rows (as the
    /// feature [`SCORE`]).
    pub fn fit_with_score(features: &[FeatureColumn], scores: Vec<f64>) -> Reference {
        let mut reference = Reference::fit(features);
        let score = Reference::fit(&[FeatureColumn { name: SCORE.into(), values: FeatureValues::Numeric(scores) }]);
        reference.features.extend(score.features);
        reference
    }

    /// Learns the reference distributions of `features` (all rows).
    pub fn fit(features: &[FeatureColumn]) -> Reference {
        use rayon::prelude::*;
        let rows = features.first().map_or(0, |f| f.values.len());
        // One sort per numeric feature: in parallel (order kept by the indexed collect).
        let features = features
            .par_iter()
            .map(|f| {
                let reference = match &f.values {
                    FeatureValues::Numeric(values) => {
                        let mut present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
                        present.sort_by(f64::total_cmp);
                        let n = present.len();
                        let at = |q: f64| if n == 0 { 0.0 } else { present[((q * (n - 1) as f64).round() as usize).min(n - 1)] };
                        let mut edges: Vec<f64> = (1..BINS).map(|k| at(k as f64 / BINS as f64)).collect();
                        edges.dedup();
                        let mut shares = vec![0.0; edges.len() + 1];
                        for &x in &present {
                            shares[bin_of(&edges, x)] += 1.0;
                        }
                        shares.iter_mut().for_each(|s| *s /= n.max(1) as f64);
                        let percentiles: Vec<f64> = (0..=100).map(|p| at(p as f64 / 100.0)).collect();
                        let cdf = percentiles.iter().map(|&q| present.partition_point(|&x| x <= q) as f64 / n.max(1) as f64).collect();
                        FeatureReference::Numeric { edges, shares, percentiles, cdf, missing: (values.len() - n) as f64 / values.len().max(1) as f64 }
                    }
                    FeatureValues::Categorical(values) => {
                        let mut counts = vec![0usize; values.levels.len()];
                        let mut missing = 0usize;
                        for &code in &values.codes {
                            match code {
                                Categories::MISSING => missing += 1,
                                code => counts[code as usize] += 1,
                            }
                        }
                        let total = values.len().max(1) as f64;
                        let levels: BTreeMap<String, f64> =
                            values.levels.iter().zip(&counts).filter(|(_, n)| **n > 0).map(|(level, &n)| (level.clone(), n as f64 / total)).collect();
                        FeatureReference::Categorical { levels, missing: missing as f64 / total }
                    }
                };
                (f.name.clone(), reference)
            })
            .collect();
        Reference { rows, features }
    }

    /// The drift of `current` against this reference.
    pub fn compare(&self, current: &[FeatureColumn], thresholds: Thresholds) -> DriftReport {
        self.compare_with(|name| current.iter().find(|c| c.name == name).cloned(), thresholds)
    }

    /// [`Reference::compare`] with the current columns produced one at a time by `column` (so
    /// a big table is never held whole as feature columns).
    pub fn compare_with(&self, mut column: impl FnMut(&str) -> Option<FeatureColumn>, thresholds: Thresholds) -> DriftReport {
        let mut features = Vec::new();
        let mut missing_features = Vec::new();
        let mut current_rows = 0;
        for (name, reference) in &self.features {
            let Some(column) = column(name) else {
                missing_features.push(name.clone());
                continue;
            };
            // A column with no value at all in the reference (an optional family not attached
            // then, e.g. the recorded contact outcomes) has no kind of its own there: read as the
            // current column's kind, every reference row missing.
            let empty_categorical;
            let reference = match (reference, &column.values) {
                (FeatureReference::Numeric { missing, .. }, FeatureValues::Categorical(_)) if *missing >= 1.0 => {
                    empty_categorical = FeatureReference::Categorical { levels: BTreeMap::new(), missing: 1.0 };
                    &empty_categorical
                }
                _ => reference,
            };
            let drift = match (reference, &column.values) {
                (FeatureReference::Numeric { edges, shares, percentiles, cdf, missing }, FeatureValues::Numeric(values)) => {
                    current_rows = values.len();
                    let mut present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
                    present.sort_by(f64::total_cmp);
                    let total = values.len().max(1) as f64;
                    let missing_current = (values.len() - present.len()) as f64 / total;
                    // PSI over the bins plus a missing bucket, as shares of all rows.
                    let mut reference_all: Vec<f64> = shares.iter().map(|s| s * (1.0 - missing)).collect();
                    reference_all.push(*missing);
                    let mut current_all = vec![0.0; shares.len() + 1];
                    for &x in &present {
                        current_all[bin_of(edges, x)] += 1.0 / total;
                    }
                    current_all[shares.len()] = missing_current;
                    let n = present.len();
                    let ks = (n > 0).then(|| {
                        percentiles
                            .iter()
                            .zip(cdf)
                            .map(|(&q, &f)| (present.partition_point(|&x| x <= q) as f64 / n as f64 - f).abs())
                            .fold(0.0, f64::max)
                    });
                    FeatureDrift {
                        feature: name.clone(),
                        kind: "numeric",
                        psi: psi(&reference_all, &current_all),
                        ks,
                        missing_reference: *missing,
                        missing_current,
                        unseen_share: None,
                        psi_noise: 0.0,
                        status: Status::Stable,
                        bins: bin_shares(numeric_bin_labels(edges), &reference_all, &current_all),
                    }
                }
                (FeatureReference::Categorical { levels, missing }, FeatureValues::Categorical(values)) => {
                    current_rows = values.len();
                    let total = values.len().max(1) as f64;
                    let mut per_code = vec![0usize; values.levels.len()];
                    let mut missing_rows = 0usize;
                    for &code in &values.codes {
                        match code {
                            Categories::MISSING => missing_rows += 1,
                            code => per_code[code as usize] += 1,
                        }
                    }
                    let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
                    let mut unseen = 0.0;
                    for (level, &n) in values.levels.iter().zip(&per_code).filter(|(_, n)| **n > 0) {
                        if levels.contains_key(level) {
                            *counts.entry(level.as_str()).or_default() += n as f64 / total;
                        } else {
                            unseen += n as f64 / total;
                        }
                    }
                    let missing_current = missing_rows as f64 / total;
                    let mut reference_all: Vec<f64> = levels.values().copied().collect();
                    let mut current_all: Vec<f64> = levels.keys().map(|l| counts.get(l.as_str()).copied().unwrap_or(0.0)).collect();
                    reference_all.extend([0.0, *missing]);
                    current_all.extend([unseen, missing_current]);
                    FeatureDrift {
                        feature: name.clone(),
                        kind: "categorical",
                        psi: psi(&reference_all, &current_all),
                        ks: None,
                        missing_reference: *missing,
                        missing_current,
                        unseen_share: Some(unseen),
                        psi_noise: 0.0,
                        status: Status::Stable,
                        bins: bin_shares(
                            levels.keys().cloned().chain(["unseen".to_string(), "missing".to_string()]).collect(),
                            &reference_all,
                            &current_all,
                        ),
                    }
                }
                // A feature that changed kind (numbers became text): as drifted as it gets.
                _ => FeatureDrift {
                    feature: name.clone(),
                    kind: "changed_kind",
                    psi: f64::INFINITY,
                    ks: None,
                    missing_reference: 0.0,
                    missing_current: 0.0,
                    unseen_share: None,
                    psi_noise: 0.0,
                    status: Status::Stable,
                    bins: Vec::new(),
                },
            };
            features.push(drift);
        }
        for f in &mut features {
            // Between two samples of one population, PSI ~ sum_i (p_i - q_i)^2 / p_i, a
            // chi-square with k - 1 degrees of freedom over the k buckets the reference fills,
            // times (1/n + 1/m): negligible for big tables, above the watch threshold for a
            // snapshot of a few hundred renewals. A feature is flagged only past both.
            let buckets = f.bins.iter().filter(|b| b.reference > 0.0).count();
            if buckets > 1 && self.rows > 0 && current_rows > 0 {
                f.psi_noise = chi_square_99(buckets - 1) * (1.0 / self.rows as f64 + 1.0 / current_rows as f64);
            }
            let psi = if f.psi > f.psi_noise { f.psi } else { 0.0 };
            f.status = if psi >= thresholds.act {
                Status::Act
            } else if psi >= thresholds.watch {
                Status::Watch
            } else {
                Status::Stable
            };
        }
        features.sort_by(|a, b| b.psi.total_cmp(&a.psi).then(a.feature.cmp(&b.feature)));
        let flagged = features.iter().filter(|f| f.status != Status::Stable).map(|f| f.feature.clone()).collect();
        DriftReport { reference_rows: self.rows, current_rows, thresholds, features, flagged, missing_features }
    }
}

impl Reference {
    /// The drift of a current table and of a model's scores on it (as [`SCORE`], from the
    /// model's `scores_of`) against this reference: what `lapse drift --model`, the nightly
    /// job and the server report. `column` gives the current table's feature columns one at a
    /// time.
    pub fn compare_scored(
        &self,
        mut column: impl FnMut(&str) -> Option<FeatureColumn>,
        scores: Option<Vec<f64>>,
        thresholds: Thresholds,
    ) -> DriftReport {
        let mut scores = scores;
        self.compare_with(
            |name| match name {
                SCORE => scores.take().map(|s| FeatureColumn { name: SCORE.into(), values: FeatureValues::Numeric(s) }),
                _ => column(name),
            },
            thresholds,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(name: &str, values: Vec<f64>) -> FeatureColumn {
        FeatureColumn { name: name.into(), values: FeatureValues::Numeric(values) }
    }

    #[test]
    fn identical_tables_do_not_drift_and_a_shift_does() {
        let reference: Vec<f64> = (0..10_000).map(|i| f64::from(i % 1000)).collect();
        let fitted = Reference::fit(&[numeric("x", reference.clone())]);
        let same = fitted.compare(&[numeric("x", reference.clone())], Thresholds::default());
        assert!(same.features[0].psi < 1e-9 && same.features[0].ks.unwrap() < 0.011);
        let shifted: Vec<f64> = reference.iter().map(|x| x + 300.0).collect();
        let report = fitted.compare(&[numeric("x", shifted)], Thresholds::default());
        assert_eq!(report.features[0].status, Status::Act);
        assert!((report.features[0].ks.unwrap() - 0.3).abs() < 0.02, "{:?}", report.features[0].ks);
        assert_eq!(report.flagged, vec!["x".to_string()]);
    }

    #[test]
    fn categories_count_unseen_levels_and_missing_values() {
        let cat = |values: Vec<Option<&str>>| FeatureColumn { name: "c".into(), values: FeatureValues::Categorical(Categories::from_values(values)) };
        let fitted = Reference::fit(&[cat(vec![Some("a"), Some("b"), Some("a"), None])]);
        let report = fitted.compare(&[cat(vec![Some("a"), Some("z"), Some("z"), Some("b")])], Thresholds::default());
        let f = &report.features[0];
        assert_eq!(f.unseen_share, Some(0.5));
        assert_eq!((f.missing_reference, f.missing_current), (0.25, 0.0));
        assert_eq!(f.status, Status::Act);
    }

    #[test]
    fn a_category_empty_in_the_reference_is_compared_as_all_missing_there() {
        // An all-missing column reads back as numbers (nothing says it holds text).
        let fitted = Reference::fit(&[numeric("c", vec![f64::NAN; 4])]);
        let cat = FeatureColumn { name: "c".into(), values: FeatureValues::Categorical(Categories::from_values([Some("open"), None, None, None])) };
        let f = &fitted.compare(&[cat], Thresholds::default()).features[0];
        assert_eq!(f.kind, "categorical");
        assert_eq!((f.missing_reference, f.missing_current, f.unseen_share), (1.0, 0.75, Some(0.25)));
        assert!(f.psi.is_finite() && f.bins.len() == 2, "{f:?}");
    }

    #[test]
    fn chi_square_percentiles() {
        // Tables: 6.635 (1 df), 21.666 (9), 50.892 (30).
        for (df, exact) in [(1, 6.635), (9, 21.666), (30, 50.892)] {
            assert!((chi_square_99(df) - exact).abs() < 0.03 * exact, "{df}: {}", chi_square_99(df));
        }
    }

    #[test]
    fn sampling_noise_is_measured_and_not_flagged() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let reference: Vec<f64> = (0..20_000).map(|_| rng.random::<f64>()).collect();
        let fitted = Reference::fit(&[numeric("x", reference)]);
        // Many small samples of the same population: their mean PSI is the noise the report
        // states, individual ones exceed the watch threshold, none is flagged.
        let (mut total, mut above_watch, mut flagged) = (0.0, 0, 0);
        let runs = 400;
        let scale = 1.0 / 20_000.0 + 1.0 / 80.0;
        for _ in 0..runs {
            let sample: Vec<f64> = (0..80).map(|_| rng.random::<f64>()).collect();
            let f = &fitted.compare(&[numeric("x", sample)], Thresholds::default()).features[0];
            // 10 deciles + an empty missing bucket: 9 degrees of freedom (chi-square 99%: 21.67).
            assert!((f.psi_noise - 21.666 * scale).abs() < 0.01 * f.psi_noise, "{}", f.psi_noise);
            total += f.psi;
            above_watch += usize::from(f.psi >= 0.1);
            flagged += usize::from(f.status != Status::Stable);
        }
        // The mean PSI of same-population samples is the chi-square's mean (9) x scale.
        let mean = total / runs as f64;
        assert!((mean - 9.0 * scale).abs() < 0.15 * 9.0 * scale, "mean PSI {mean} vs {}", 9.0 * scale);
        assert!(above_watch > runs / 4, "{above_watch} samples above 0.1 by chance");
        assert!(flagged <= runs * 3 / 100, "{flagged} of {runs} samples of the same population flagged");
        // A real shift of a small sample is still flagged.
        let shifted: Vec<f64> = (0..80).map(|_| rng.random::<f64>() * 0.5).collect();
        assert_eq!(fitted.compare(&[numeric("x", shifted)], Thresholds::default()).features[0].status, Status::Act);
    }
}
