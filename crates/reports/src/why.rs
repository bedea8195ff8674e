//! Why customers lapse, across the book: for each channel, product type, region, age band,
//! policy year and segment, the renewals, the observed lapse rate where outcomes are known, the
//! mean predicted probability, and the reasons behind it (how often each feature is a renewal's
//! top reason, and its mean contribution to the log-odds there), with the change against the
//! previous snapshot when the table holds several.
//!
//! The reasons are the model's own exact contributions ([`lapse_model::scoring::ScoredRows`]
//! with reasons), so a manager reads the same reasons an agent reads on a renewal. Counts and
//! rates use every renewal; the reasons are computed for a sample (every renewal of a small
//! group, at least [`EXPLAINED_PER_GROUP`] of each group and [`EXPLAINED_ROWS`] spread over the
//! table): exact contributions of a deep boosted model cost milliseconds per renewal, and a
//! group's reason shares need hundreds of renewals, not a million.

/// Renewals explained per group at least (all of a smaller group).
pub const EXPLAINED_PER_GROUP: usize = 400;
/// Renewals explained evenly spread over the table.
pub const EXPLAINED_ROWS: usize = 20_000;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use lapse_core::dates::{Day, format_day};
use lapse_model::scoring::lang::{Lang, sentence_in};
use lapse_model::scoring::{NONE, ScoredRows};
use lapse_retention::{Economics, segment_name};

/// Reasons listed per group.
const TOP_REASONS: usize = 3;

/// The report `lapse why` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhyReport {
    pub table: String,
    pub model_version: String,
    /// The snapshot dates the table holds, ascending.
    pub snapshots: Vec<String>,
    pub renewals: usize,
    /// Renewals whose outcome is known (a `lapsed` value).
    pub labelled: usize,
    /// Whether the model could explain its scores (the forest cannot: no reasons then).
    pub explained: bool,
    /// Rows of the table whose renewal the model was fitted on (None: its registry keeps no list).
    #[serde(default)]
    pub fitted_rows: Option<usize>,
    /// What the mean predicted probabilities are: in-sample where the model was fitted on the
    /// rows (they then flatter the model's calibration), held-out where it was not.
    #[serde(default)]
    pub predictions: String,
    pub groups: Vec<WhyGroup>,
}

/// The `table` of the nightly's why report: its training table, which is not kept after the
/// night (pages name it in words rather than by a path that no longer exists).
pub const NIGHT_TRAINING_TABLE: &str = "the night's training table (not kept after the night)";

/// One value of one dimension.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhyGroup {
    /// `channel`, `product_type`, `region`, `age_band`, `policy_year` or `segment`.
    pub dimension: String,
    pub value: String,
    pub renewals: usize,
    pub labelled: usize,
    /// Renewals whose reasons were computed (the sample the reason shares come from).
    pub explained: usize,
    /// Lapses / labelled renewals; None when no outcome is known.
    pub observed_lapse_rate: Option<f64>,
    pub mean_predicted: f64,
    pub top_reasons: Vec<TopReason>,
    /// The latest snapshot against the one before, when the table holds several.
    pub change: Option<Change>,
}

/// A feature that is the top reason of some of a group's renewals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopReason {
    pub feature: String,
    /// Share of the group's explained renewals whose top reason it is.
    pub share: f64,
    /// Its mean contribution to the log-odds on those renewals.
    pub mean_contribution: f64,
    /// The sentence an agent reads, on one of those renewals.
    pub example: String,
    /// The same sentence in Chinese (empty in reports written before it existed).
    #[serde(default)]
    pub example_zh: String,
}

/// A group's figures on the latest snapshot and on the one before.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub previous: String,
    pub latest: String,
    pub renewals_previous: usize,
    pub renewals_latest: usize,
    pub observed_previous: Option<f64>,
    pub observed_latest: Option<f64>,
    pub predicted_previous: f64,
    pub predicted_latest: f64,
}

/// What `why` reads besides the scored rows: one value per row.
pub struct WhyColumns<'a> {
    /// The outcome (None: not known yet).
    pub lapsed: &'a [Option<u8>],
    /// `customer_age` and `policy_year` (NaN when missing).
    pub customer_age: &'a [f64],
    pub policy_year: &'a [f64],
}

/// The dimensions, in report order.
pub const DIMENSIONS: [&str; 6] = ["channel", "product_type", "region", "age_band", "policy_year", "segment"];

/// The age band of an age in years.
pub fn age_band(age: f64) -> &'static str {
    match age {
        a if a.is_nan() => "unknown",
        a if a < 25.0 => "under 25",
        a if a < 35.0 => "25-34",
        a if a < 45.0 => "35-44",
        a if a < 55.0 => "45-54",
        a if a < 65.0 => "55-64",
        _ => "65 and over",
    }
}

/// Accumulated figures of one group (and one period).
#[derive(Default, Clone)]
struct Tally {
    renewals: usize,
    explained: usize,
    labelled: usize,
    lapses: usize,
    predicted: f64,
    /// Per top-reason feature: renewals, summed contribution, an example row.
    reasons: BTreeMap<u16, (usize, f64, usize)>,
}

impl Tally {
    fn observed(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.lapses as f64 / self.labelled as f64)
    }
    fn mean_predicted(&self) -> f64 {
        self.predicted / self.renewals.max(1) as f64
    }
}

/// Each renewal's group value in every dimension, in [`DIMENSIONS`] order.
fn group_values(rows: &ScoredRows, columns: &WhyColumns<'_>, economics: &Economics, r: usize) -> [String; 6] {
    let text = |code: u32| if code == NONE { "unknown".to_string() } else { rows.text(code).unwrap_or("unknown").to_string() };
    let renewal = &rows.renewals[r];
    let year = columns.policy_year[r];
    [
        text(renewal.channel),
        text(renewal.product_type),
        text(renewal.region),
        age_band(columns.customer_age[r]).to_string(),
        if year.is_nan() {
            "unknown".to_string()
        } else if year >= 10.0 {
            "10 and later".to_string()
        } else {
            format!("{year:.0}")
        },
        segment_name(economics.risk_band(renewal.probability), economics.value_band(renewal.value)).to_string(),
    ]
}

/// The rows whose reasons `why` needs (ascending): the first [`EXPLAINED_PER_GROUP`] of every
/// group and [`EXPLAINED_ROWS`] evenly spaced ones.
pub fn rows_to_explain(rows: &ScoredRows, columns: &WhyColumns<'_>, economics: &Economics) -> Vec<usize> {
    let n = rows.len();
    let step = n.div_ceil(EXPLAINED_ROWS).max(1);
    let mut seen: std::collections::HashMap<(usize, String), usize> = std::collections::HashMap::new();
    (0..n)
        .filter(|&r| {
            let mut take = r % step == 0;
            for (d, value) in group_values(rows, columns, economics, r).into_iter().enumerate() {
                let count = seen.entry((d, value)).or_default();
                if *count < EXPLAINED_PER_GROUP {
                    *count += 1;
                    take = true;
                }
            }
            take
        })
        .collect()
}

/// The report for `rows` (every renewal, probabilities) and their `columns`; `reasons` are
/// the same model's scores with reasons of the rows `explained` (ascending indices into `rows`).
pub fn why(
    table: &str,
    model_version: &str,
    rows: &ScoredRows,
    reasons: &ScoredRows,
    explained: &[usize],
    columns: &WhyColumns<'_>,
    economics: &Economics,
) -> WhyReport {
    let n = rows.len();
    let mut explained_at = vec![usize::MAX; n];
    for (k, &r) in explained.iter().enumerate() {
        explained_at[r] = k;
    }
    let mut snapshots: Vec<Day> = rows.renewals.iter().map(|r| r.as_of).collect();
    snapshots.sort_unstable();
    snapshots.dedup();
    let latest = snapshots.last().copied();
    let previous = (snapshots.len() >= 2).then(|| snapshots[snapshots.len() - 2]);
    // (dimension, value) -> (all, latest, previous)
    let mut tallies: BTreeMap<(usize, String), [Tally; 3]> = BTreeMap::new();
    for (r, &k) in explained_at.iter().enumerate() {
        let renewal = &rows.renewals[r];
        let values = group_values(rows, columns, economics, r);
        let top = (k != usize::MAX && reasons.explained)
            .then(|| reasons.renewals[k].reasons[0])
            .filter(|s| usize::from(s.feature) < reasons.feature_names.len());
        for (d, value) in values.into_iter().enumerate() {
            let entry = tallies.entry((d, value)).or_default();
            let periods = [Some(0), (Some(renewal.as_of) == latest).then_some(1), (Some(renewal.as_of) == previous).then_some(2)];
            for p in periods.into_iter().flatten() {
                let t = &mut entry[p];
                t.renewals += 1;
                t.predicted += renewal.probability;
                if let Some(y) = columns.lapsed[r] {
                    t.labelled += 1;
                    t.lapses += usize::from(y);
                }
                if p == 0 && k != usize::MAX {
                    t.explained += 1;
                    if let Some(slot) = top {
                        let e = t.reasons.entry(slot.feature).or_insert((0, 0.0, k));
                        e.0 += 1;
                        e.1 += f64::from(slot.contribution);
                    }
                }
            }
        }
    }
    let mut groups: Vec<WhyGroup> = tallies
        .into_iter()
        .map(|((d, value), [all, now, before])| {
            let mut counted: Vec<(u16, (usize, f64, usize))> = all.reasons.clone().into_iter().collect();
            counted.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
            let top_reasons = counted
                .into_iter()
                .take(TOP_REASONS)
                .map(|(feature, (count, sum, example))| {
                    let first = reasons.reasons_of(example).next();
                    TopReason {
                        feature: reasons.feature_names[usize::from(feature)].clone(),
                        share: count as f64 / all.explained.max(1) as f64,
                        mean_contribution: sum / count.max(1) as f64,
                        example: first.map(|(_, _, _, s)| s.to_string()).unwrap_or_default(),
                        example_zh: first.map(|(name, value, _, _)| sentence_in(Lang::ZhCn, name, value)).unwrap_or_default(),
                    }
                })
                .collect();
            let change = previous.zip(latest).map(|(p, l)| Change {
                previous: format_day(p),
                latest: format_day(l),
                renewals_previous: before.renewals,
                renewals_latest: now.renewals,
                observed_previous: before.observed(),
                observed_latest: now.observed(),
                predicted_previous: before.mean_predicted(),
                predicted_latest: now.mean_predicted(),
            });
            WhyGroup {
                dimension: DIMENSIONS[d].to_string(),
                value,
                renewals: all.renewals,
                labelled: all.labelled,
                explained: all.explained,
                observed_lapse_rate: all.observed(),
                mean_predicted: all.mean_predicted(),
                top_reasons,
                change,
            }
        })
        .collect();
    // Within a dimension, the biggest groups first.
    groups.sort_by(|a, b| {
        let order = |d: &str| DIMENSIONS.iter().position(|x| *x == d).unwrap_or(usize::MAX);
        order(&a.dimension).cmp(&order(&b.dimension)).then(b.renewals.cmp(&a.renewals)).then(a.value.cmp(&b.value))
    });
    WhyReport {
        table: table.to_string(),
        model_version: model_version.to_string(),
        snapshots: snapshots.into_iter().map(format_day).collect(),
        renewals: n,
        labelled: columns.lapsed.iter().filter(|y| y.is_some()).count(),
        explained: reasons.explained,
        fitted_rows: None,
        predictions: String::new(),
        groups,
    }
}

/// Why a table cannot be reported on: its path, the reason, and whether the input is at fault.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct WhyError {
    pub path: std::path::PathBuf,
    pub message: String,
    pub input: bool,
}

/// Reads the feature table at `path`, scores it with reasons and reports on it.
pub fn why_table(
    path: &std::path::Path,
    version: &str,
    model: &lapse_model::artifact::LapseModel,
    fitted: Option<&lapse_model::fitted::FittedRenewals>,
    economics: &Economics,
) -> Result<WhyReport, WhyError> {
    use lapse_model::scoring::{FrameSource, RenewalKeys, ScoreError, number_column};
    use polars::prelude::DataFrame;
    let fail = |message: String, input: bool| WhyError { path: path.to_path_buf(), message, input };
    let (df, _) = lapse_core::table::read_frame(path).map_err(|e| fail(e.message, true))?;
    if df.height() == 0 {
        return Err(fail("no renewals".into(), true));
    }
    // An absent column is all missing (a table without labels, or without an input).
    let numbers = |df: &DataFrame, name: &str| -> Result<Vec<f64>, WhyError> {
        if df.column(name).is_err() {
            return Ok(vec![f64::NAN; df.height()]);
        }
        number_column(df, name).map_err(|e| fail(e.to_string(), true))
    };
    // Outcomes where the table has them: 0, 1 or empty; anything else is named by row.
    let lapsed: Vec<Option<u8>> = match df.column("lapsed") {
        Err(_) => vec![None; df.height()],
        Ok(_) => numbers(&df, "lapsed")?
            .into_iter()
            .enumerate()
            .map(|(row, v): (usize, f64)| match v {
                v if v.is_nan() => Ok(None),
                0.0 => Ok(Some(0)),
                1.0 => Ok(Some(1)),
                other => Err(fail(format!("row {}: lapsed is {other}, expected 0, 1 or empty", row + 1), true)),
            })
            .collect::<Result<_, _>>()?,
    };
    let score = |df: &DataFrame, explain: bool| {
        let keys = RenewalKeys::from_frame(df).map_err(|e| fail(e.to_string(), true))?;
        lapse_model::scoring::ScoredRows::score_explained(model, economics, keys, &FrameSource(df), explain)
            .map_err(|e| fail(e.to_string(), matches!(e, ScoreError::Input(_))))
    };
    let rows = score(&df, false)?;
    let (age, year) = (numbers(&df, "customer_age")?, numbers(&df, "policy_year")?);
    let columns = WhyColumns { lapsed: &lapsed, customer_age: &age, policy_year: &year };
    let explained = rows_to_explain(&rows, &columns, economics);
    let indices = polars::prelude::IdxCa::from_vec("row".into(), explained.iter().map(|&r| r as polars::prelude::IdxSize).collect());
    let sample = df.take(&indices).map_err(|e| fail(e.to_string(), false))?;
    let reasons = score(&sample, true)?;
    let mut report = why(&path.display().to_string(), version, &rows, &reasons, &explained, &columns, economics);
    // Whether the predictions are the model's own training rows (the nightly explains its
    // training window with the model fitted on it): said, so no one reads in-sample means as
    // calibration.
    let fitted_rows = fitted.map(|keys| {
        rows.policy_id
            .iter()
            .zip(&rows.renewals)
            .filter(|(id, r)| keys.contains(lapse_model::fitted::renewal_key(id, i64::from(r.installment_no))))
            .count()
    });
    report.predictions = match fitted_rows {
        Some(0) => format!("held out: model {version} was fitted on none of these {} renewals", report.renewals),
        Some(k) => format!(
            "model {version} was fitted on {k} of these {} renewals: its mean predicted there is in-sample (it knew their outcomes) and flatters its calibration; the held-out figures are in the evaluation report",
            report.renewals
        ),
        None => format!("model {version} keeps no list of the renewals it was fitted on: the mean predicted may be in-sample"),
    };
    report.fitted_rows = fitted_rows;
    Ok(report)
}
