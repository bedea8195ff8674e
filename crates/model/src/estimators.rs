//! The three model families behind one interface: fit on a design matrix, predict P(lapse).

use forust_ml::{GradientBooster, Matrix};
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{RandomForestRegressor, RandomForestRegressorParameters};
use smartcore::linalg::basic::matrix::DenseMatrix;

use super::encode::{Design, Style};

/// A model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// L2-regularized logistic regression (Newton's method, [`crate::logistic`]) on standardized,
    /// one-hot inputs.
    Logistic,
    /// The same logistic regression with each numeric input as a cubic B-spline basis on its
    /// training quantiles: a linear model that is honest about curvature.
    Spline,
    /// Random forest of regression trees on 0/1 targets (smartcore): the mean of the trees is
    /// the probability.
    Forest,
    /// Histogram gradient-boosted trees with log loss (forust-ml).
    Gbdt,
    /// A stack of the explainable families (logistic, spline, boosting): a logistic regression
    /// on their log-odds, fitted on out-of-fold predictions. Assembled by the trainer, never
    /// fitted directly.
    Blend,
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Family {
    pub const ALL: [Family; 4] = [Family::Logistic, Family::Spline, Family::Forest, Family::Gbdt];
    /// What `--model auto` tries: the families whose scores can be explained (reasons for the
    /// collection team). The forest is left out: it never won a comparison we measured
    /// (boosting beat it on generated books, the linear families on eudirectlapse), it cannot
    /// say why a renewal is at risk, and it is the slowest to fit and to score.
    pub const AUTO: [Family; 3] = [Family::Logistic, Family::Spline, Family::Gbdt];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Logistic => "logistic",
            Family::Spline => "spline",
            Family::Forest => "forest",
            Family::Gbdt => "gbdt",
            Family::Blend => "blend",
        }
    }

    /// The design-matrix layout the family takes. A blend's design is its members' designs
    /// side by side ([`crate::artifact::LapseModel::design`]); `Linear` is never used for it.
    pub fn style(self) -> Style {
        match self {
            Family::Blend => Style::Linear,
            Family::Logistic => Style::Linear,
            Family::Spline => Style::Spline,
            Family::Forest => Style::TreeImputed,
            Family::Gbdt => Style::TreeWithMissing,
        }
    }
}

/// Hyper-parameters of every family. Each field's default is in [`Params::default`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Seed for everything random (forest bootstraps, boosting subsamples, fold assignment).
    pub seed: u64,
    /// A category level needs this many training rows to get its own column (else pooled).
    pub min_level_count: usize,
    /// Logistic: L2 penalty (scikit-learn's 1/C). Default 1.0.
    pub logistic_alpha: f64,
    /// Logistic: at most this many Newton iterations (5-10 are typical). Default 200.
    pub logistic_max_iterations: u64,
    /// Forest: trees. Default 100.
    pub forest_trees: usize,
    /// Forest: maximum depth. Default 10.
    pub forest_max_depth: u16,
    /// Forest: minimum rows per leaf. Default 20.
    pub forest_min_leaf: usize,
    /// Forest: at most this many training rows (a seeded sample beyond it). Default 200,000.
    pub forest_max_rows: usize,
    /// Logistic and spline: at most this many training rows (a seeded sample beyond it): a
    /// few hundred weights are pinned down long before a million rows. Default 150,000.
    pub linear_max_rows: usize,
    /// Boosting: rounds. Default 100 (LightGBM's and scikit-learn's default).
    pub gbdt_rounds: usize,
    /// Boosting: learning rate. Default 0.1 (LightGBM's and scikit-learn's default).
    pub gbdt_learning_rate: f32,
    /// Boosting: maximum depth. Default 4.
    pub gbdt_max_depth: usize,
    /// Boosting: minimum hessian weight per leaf. Default 20.
    pub gbdt_min_leaf_weight: f32,
    /// Boosting: L2 penalty on leaf values. Default 1.0.
    pub gbdt_l2: f32,
    /// Boosting: histogram bins per input. Default 256 (LightGBM's 255).
    pub gbdt_bins: u16,
    /// Boosting: with a value, the rounds are chosen by early stopping: a seeded tenth of the
    /// training rows is set aside, boosting stops once log loss on it has not improved for this
    /// many rounds (at most `gbdt_rounds`), and the model is refitted on every training row with
    /// the best number of rounds. None (the default): `gbdt_rounds` rounds.
    pub gbdt_early_stopping: Option<usize>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            seed: 42,
            min_level_count: 20,
            logistic_alpha: 1.0,
            logistic_max_iterations: 200,
            forest_trees: 100,
            forest_max_depth: 10,
            forest_min_leaf: 20,
            forest_max_rows: 200_000,
            linear_max_rows: 150_000,
            gbdt_rounds: 100,
            gbdt_learning_rate: 0.1,
            gbdt_max_depth: 4,
            gbdt_min_leaf_weight: 20.0,
            gbdt_l2: 1.0,
            gbdt_bins: 256,
            gbdt_early_stopping: None,
        }
    }
}

/// Why a fit failed.
#[derive(Debug, thiserror::Error)]
#[error("fitting {family}: {message}")]
pub struct FitError {
    pub family: &'static str,
    pub message: String,
}

/// A fitted model of one family (before calibration).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    Logistic {
        /// One weight per design column (standardized inputs), and the intercept.
        weights: Vec<f64>,
        intercept: f64,
    },
    Forest(Box<RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>>),
    Gbdt(Box<GradientBooster>),
    /// `P = sigmoid(intercept + sum_k weights[k] x logit_k)`, member k reading the k-th block
    /// of design columns.
    Blend {
        members: Vec<BlendMember>,
        weights: Vec<f64>,
        intercept: f64,
    },
}

/// One member of a blend: its family, how many design columns it reads, its fitted model.
#[derive(Debug, Serialize, Deserialize)]
pub struct BlendMember {
    pub family: Family,
    /// The member's hyper-parameter setting, as the trainer's report names it.
    pub setting: String,
    pub columns: usize,
    pub estimator: Estimator,
}

impl BlendMember {
    /// The member's block of a blend design: (first column, past-the-end column) offsets.
    pub fn blocks(members: &[BlendMember]) -> Vec<(usize, usize)> {
        let mut start = 0;
        members
            .iter()
            .map(|m| {
                let block = (start, start + m.columns);
                start += m.columns;
                block
            })
            .collect()
    }
}

/// Columns `from..to` of a column-major design, as a design.
pub fn design_block(design: &Design, from: usize, to: usize) -> Design {
    Design { rows: design.rows, names: design.names[from..to].to_vec(), values: design.values[from * design.rows..to * design.rows].to_vec() }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

impl std::fmt::Debug for Estimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Estimator::Logistic { weights, .. } => write!(f, "Logistic({} weights)", weights.len()),
            Estimator::Forest(_) => write!(f, "Forest"),
            Estimator::Gbdt(b) => write!(f, "Gbdt({} trees)", b.trees.len()),
            Estimator::Blend { members, .. } => write!(f, "Blend({members:?})"),
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Estimator {
    /// Fits `family` on `design` (built with `family.style()`) and 0/1 `labels`.
    pub fn fit(family: Family, params: &Params, design: &Design, labels: &[u8]) -> Result<Estimator, FitError> {
        let fail = |message: String| FitError { family: family.as_str(), message };
        match family {
            Family::Logistic | Family::Spline => {
                let fit = crate::logistic::fit(
                    &design.values,
                    design.rows,
                    design.cols(),
                    labels,
                    params.logistic_alpha,
                    params.logistic_max_iterations as usize,
                    params.seed,
                );
                tracing::debug!(iterations = fit.iterations, rows = design.rows, columns = design.cols(), "linear model fitted");
                if !fit.converged {
                    tracing::warn!(iterations = fit.iterations, "logistic regression stopped at its iteration cap before converging");
                }
                Ok(Estimator::Logistic { weights: fit.weights, intercept: fit.intercept })
            }
            Family::Forest => {
                let (rows, y) = sample_rows(design, labels, params.forest_max_rows, params.seed);
                let x = DenseMatrix::new(rows.rows, rows.cols(), rows.values, true).map_err(|e| fail(e.to_string()))?;
                let m = ((rows.names.len() as f64).sqrt().ceil() as usize).max(1);
                let forest = RandomForestRegressor::fit(
                    &x,
                    &y,
                    RandomForestRegressorParameters::default()
                        .with_n_trees(params.forest_trees)
                        .with_max_depth(params.forest_max_depth)
                        .with_min_samples_leaf(params.forest_min_leaf)
                        .with_m(m)
                        .with_seed(params.seed),
                )
                .map_err(|e| fail(e.to_string()))?;
                Ok(Estimator::Forest(Box::new(forest)))
            }
            Family::Blend => Err(fail("a blend is assembled by the trainer from fitted members".into())),
            Family::Gbdt => {
                let x = Matrix::new(&design.values, design.rows, design.cols());
                let y: Vec<f64> = labels.iter().map(|&l| f64::from(l)).collect();
                let weights = vec![1.0; design.rows];
                let rounds = match params.gbdt_early_stopping {
                    Some(patience) => early_stopped_rounds(params, patience, design, &y).map_err(fail)?,
                    None => params.gbdt_rounds,
                };
                let mut booster = booster(params, rounds);
                booster.fit(&x, &y, &weights, None).map_err(|e| fail(e.to_string()))?;
                Ok(Estimator::Gbdt(Box::new(booster)))
            }
        }
    }

    /// P(lapse) for each row of `design`.
    pub fn predict(&self, design: &Design) -> Vec<f64> {
        match self {
            Estimator::Logistic { weights, intercept } => {
                let mut z = vec![*intercept; design.rows];
                for (j, w) in weights.iter().enumerate() {
                    for (zi, x) in z.iter_mut().zip(&design.values[j * design.rows..(j + 1) * design.rows]) {
                        *zi += w * x;
                    }
                }
                z.into_iter().map(sigmoid).collect()
            }
            Estimator::Forest(forest) => {
                let x = DenseMatrix::new(design.rows, design.cols(), design.values.clone(), true).expect("shape matches");
                forest.predict(&x).expect("forest prediction on a checked design").into_iter().map(|p| p.clamp(0.0, 1.0)).collect()
            }
            Estimator::Gbdt(booster) => {
                let x = Matrix::new(&design.values, design.rows, design.cols());
                // In parallel only for big designs: a request of a few rows must not wait for the pool.
                booster.predict(&x, design.rows >= 4096).into_iter().map(sigmoid).collect()
            }
            Estimator::Blend { members, weights, intercept } => {
                let mut z = vec![*intercept; design.rows];
                for ((member, (from, to)), w) in members.iter().zip(BlendMember::blocks(members)).zip(weights) {
                    let p = member.estimator.predict(&design_block(design, from, to));
                    for (zi, p) in z.iter_mut().zip(p) {
                        *zi += w * logit(p);
                    }
                }
                z.into_iter().map(sigmoid).collect()
            }
        }
    }

    /// Per-design-column importance: |weight| for the logistic model (inputs are standardized),
    /// total split gain for boosting; None for the forest (smartcore keeps its trees private).
    pub fn importance(&self, names: &[String]) -> Option<Vec<(String, f64)>> {
        let mut out: Vec<(String, f64)> = match self {
            Estimator::Logistic { weights, .. } => names.iter().cloned().zip(weights.iter().copied()).collect(),
            Estimator::Gbdt(booster) => {
                let gains = booster.calculate_feature_importance(forust_ml::gradientbooster::ImportanceMethod::TotalGain, true);
                names.iter().enumerate().map(|(i, n)| (n.clone(), f64::from(gains.get(&i).copied().unwrap_or(0.0)))).collect()
            }
            Estimator::Forest(_) | Estimator::Blend { .. } => return None,
        };
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        Some(out)
    }
}

/// At most `max_rows` rows of a design (a seeded sample), with their labels as f64.
fn sample_rows(design: &Design, labels: &[u8], max_rows: usize, seed: u64) -> (Design, Vec<f64>) {
    use rand::SeedableRng;
    use rand::seq::index::sample;
    if design.rows <= max_rows {
        return (design.clone(), labels.iter().map(|&l| f64::from(l)).collect());
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut picked = sample(&mut rng, design.rows, max_rows).into_vec();
    picked.sort_unstable();
    let mut values = Vec::with_capacity(max_rows * design.cols());
    for j in 0..design.cols() {
        let column = &design.values[j * design.rows..(j + 1) * design.rows];
        values.extend(picked.iter().map(|&i| column[i]));
    }
    let y = picked.iter().map(|&i| f64::from(labels[i])).collect();
    (Design { rows: max_rows, names: design.names.clone(), values }, y)
}

/// forust's booster with `params` and `rounds` rounds.
fn booster(params: &Params, rounds: usize) -> GradientBooster {
    GradientBooster::default()
        .set_iterations(rounds)
        .set_learning_rate(params.gbdt_learning_rate)
        .set_max_depth(params.gbdt_max_depth)
        .set_min_leaf_weight(params.gbdt_min_leaf_weight)
        .set_l2(params.gbdt_l2)
        .set_nbins(params.gbdt_bins)
        .set_seed(params.seed)
        .set_parallel(true)
        // Row-wise histogram fill over a tiled copy of the bins (LightGBM's layout): 0.6 s of
        // 2.6 s less on a 350k-row table, the same model to the last bits of a sum
        // (BENCHMARKS.md, issue 13).
        .set_tiled_histograms(true)
}

/// The number of rounds early stopping picks: boosting on a seeded nine tenths of the rows,
/// judged by log loss on the other tenth, stopped `patience` rounds after its best round.
fn early_stopped_rounds(params: &Params, patience: usize, design: &Design, y: &[f64]) -> Result<usize, String> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(params.seed ^ 0x005e_ede5);
    let set_aside: Vec<bool> = (0..design.rows).map(|_| rng.random::<f64>() < 0.1).collect();
    let (fit_rows, check_rows): (Vec<usize>, Vec<usize>) = (0..design.rows).partition(|&r| !set_aside[r]);
    if check_rows.is_empty() || fit_rows.is_empty() {
        return Ok(params.gbdt_rounds);
    }
    let part = |rows: &[usize]| -> Vec<f64> {
        let mut values = Vec::with_capacity(rows.len() * design.cols());
        for j in 0..design.cols() {
            let column = &design.values[j * design.rows..(j + 1) * design.rows];
            values.extend(rows.iter().map(|&r| column[r]));
        }
        values
    };
    let (fit_values, check_values) = (part(&fit_rows), part(&check_rows));
    let fit_y: Vec<f64> = fit_rows.iter().map(|&r| y[r]).collect();
    let check_y: Vec<f64> = check_rows.iter().map(|&r| y[r]).collect();
    let (fit_w, check_w) = (vec![1.0; fit_rows.len()], vec![1.0; check_rows.len()]);
    let fit_x = Matrix::new(&fit_values, fit_rows.len(), design.cols());
    let check_x = Matrix::new(&check_values, check_rows.len(), design.cols());
    let mut probe =
        booster(params, params.gbdt_rounds).set_evaluation_metric(Some(forust_ml::metric::Metric::LogLoss)).set_early_stopping_rounds(Some(patience));
    probe.fit(&fit_x, &fit_y, &fit_w, Some(vec![(check_x, &check_y, &check_w)])).map_err(|e| e.to_string())?;
    let best = probe.best_iteration.map_or(params.gbdt_rounds, |i| i + 1);
    tracing::debug!(best, patience, "boosting rounds chosen by early stopping");
    Ok(best.max(1))
}
