//! Realised performance: the score log joined with the outcomes the extracts now show, per
//! scoring month (overall, by channel and by product type): ROC AUC, log loss, observed vs
//! predicted lapse rate, top-decile lift; and, before the labels arrive, the AUC the
//! calibrated probabilities themselves expect (as NannyML's CBPE estimates it), to compare
//! with the realised figure once it comes.

use std::collections::BTreeMap;
use std::path::Path;

use rustc_hash::FxHashMap;
use serde::Serialize;

use lapse_core::dates::Day;
use lapse_core::extract::Book;
use lapse_model::metrics::{capture_curve, log_loss, roc_auc, top_decile_lift};
use lapse_model::score_log::{self, ScoreLine};

/// The expected ROC AUC if the probabilities are calibrated: the chance that a random lapse
/// outranks a random non-lapse, with each renewal a lapse with its own probability
/// (sum over pairs i != j of p_i (1 - p_j) [s_i > s_j], ties half, over the expected number of
/// (lapse, non-lapse) pairs). O(n log n) by sorting.
pub fn expected_auc(probabilities: &[f64]) -> Option<f64> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]));
    let (mut numerator, mut below_negatives) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        // A block of tied scores.
        let mut j = i;
        while j < order.len() && probabilities[order[j]] == probabilities[order[i]] {
            j += 1;
        }
        let block: Vec<f64> = order[i..j].iter().map(|&k| probabilities[k]).collect();
        let positives: f64 = block.iter().sum();
        let negatives: f64 = block.iter().map(|p| 1.0 - p).sum();
        let self_pairs: f64 = block.iter().map(|p| p * (1.0 - p)).sum();
        numerator += positives * below_negatives + 0.5 * (positives * negatives - self_pairs);
        below_negatives += negatives;
        i = j;
    }
    let total_positive: f64 = probabilities.iter().sum();
    let total_negative: f64 = probabilities.iter().map(|p| 1.0 - p).sum();
    let self_pairs: f64 = probabilities.iter().map(|p| p * (1.0 - p)).sum();
    let pairs = total_positive * total_negative - self_pairs;
    (pairs > 0.0).then(|| numerator / pairs)
}

/// Figures of one group of renewals scored in one month.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Performance {
    pub month: String,
    /// `all`, `channel` or `product_type`.
    pub dimension: String,
    pub group: String,
    /// Distinct renewals scored (the last score of the month per renewal).
    pub scored: usize,
    /// Of those, renewals whose grace period ended before the report date (matured): the only
    /// ones the realised figures below use. A renewal paid early is known early, one that
    /// lapses only after grace: counting paid ones before they mature would understate the
    /// lapse rate and flatter the AUC.
    pub labelled: usize,
    /// Scored renewals whose grace has not ended yet (left out of every realised figure), and
    /// how many of them are already paid.
    #[serde(default)]
    pub maturing: usize,
    #[serde(default)]
    pub maturing_paid: usize,
    /// Every scored renewal of the group and month has matured: its figures are final.
    #[serde(default)]
    pub matured: bool,
    pub roc_auc: Option<f64>,
    pub log_loss: Option<f64>,
    pub observed_lapse_rate: Option<f64>,
    /// Mean probability of the matured renewals (calibration in the large).
    pub predicted_lapse_rate: Option<f64>,
    pub top_decile_lift: Option<f64>,
    /// The AUC expected from the probabilities of every scored renewal (matured or not), if they
    /// are calibrated (see [`RealisedReport::cbpe_calibration`]).
    pub expected_auc: Option<f64>,
    /// Annualized premium of the labelled renewals that lapsed.
    pub lapsed_premium: f64,
    /// Retained-premium potential of the ranking: the share of the lapsed premium in the top
    /// 10% of labelled renewals by priority (probability x annualized premium), the ones a
    /// collection team calls first.
    pub top_decile_premium_capture: Option<f64>,
}

/// The realised-performance report.
#[derive(Debug, Clone, Serialize)]
pub struct RealisedReport {
    pub outcomes_as_of: String,
    pub grace_days: i32,
    pub log_lines: usize,
    /// Lines that did not parse (a crash mid-write leaves a torn one), skipped wherever they are.
    pub malformed_lines: usize,
    /// The first few of them: file, line number and why.
    pub malformed_examples: Vec<MalformedLine>,
    /// Logged renewals the extract does not know (policy or installment).
    pub unknown_renewals: usize,
    pub months: Vec<Performance>,
    /// The calibration the expected AUC (CBPE) assumes, checked on the matured renewals.
    pub cbpe_calibration: CbpeCalibration,
}

/// CBPE's expected AUC assumes the probabilities are calibrated; this is how calibrated they
/// were on every matured renewal of the log (all months).
#[derive(Debug, Clone, Serialize)]
pub struct CbpeCalibration {
    pub matured_renewals: usize,
    pub observed_lapse_rate: Option<f64>,
    pub predicted_lapse_rate: Option<f64>,
    /// (predicted - observed) / observed.
    pub relative_gap: Option<f64>,
    /// The largest |relative gap| under which the expected AUC is trusted.
    pub tolerance: f64,
    /// False when the gap is beyond the tolerance: the expected AUC of months not yet matured
    /// is then not to be relied on.
    pub trusted: bool,
    pub note: String,
}

/// CBPE is flagged when the matured renewals' mean probability is off their observed lapse rate
/// by more than this share of it.
pub const CBPE_TOLERANCE: f64 = 0.10;

impl CbpeCalibration {
    /// [`CbpeCalibration::note`] in Chinese, for zh-CN pages.
    pub fn note_zh(&self) -> String {
        let n = self.matured_renewals;
        match (self.relative_gap, self.observed_lapse_rate, self.predicted_lapse_rate) {
            (Some(g), Some(o), Some(p)) if self.trusted => format!(
                "在 {n} 件已有结果的续期上，模型预测 {:.2}%，实际 {:.2}%（{:+.1}%，在 {:.0}% 以内）：预期 AUC 可作为估计参考",
                100.0 * p,
                100.0 * o,
                100.0 * g,
                100.0 * self.tolerance
            ),
            (Some(g), Some(o), Some(p)) => format!(
                "在 {n} 件已有结果的续期上，模型预测 {:.2}%，实际 {:.2}%（{:+.1}%，超出 {:.0}%）：模型校准有偏，以校准为前提的预期 AUC 不可依赖",
                100.0 * p,
                100.0 * o,
                100.0 * g,
                100.0 * self.tolerance
            ),
            _ => "尚无已有结果且发生失效的续期：无法检验预期 AUC 所依赖的校准".to_string(),
        }
    }

    fn of(scores: &[f64], labels: &[u8]) -> Self {
        let n = labels.len();
        let observed = (n > 0).then(|| labels.iter().map(|&y| f64::from(y)).sum::<f64>() / n as f64);
        let predicted = (n > 0).then(|| scores.iter().sum::<f64>() / n as f64);
        let relative_gap = observed.zip(predicted).filter(|(o, _)| *o > 0.0).map(|(o, p)| (p - o) / o);
        let trusted = relative_gap.is_some_and(|g| g.abs() <= CBPE_TOLERANCE);
        let note = match (relative_gap, observed, predicted) {
            (Some(g), Some(o), Some(p)) if trusted => format!(
                "on the {n} matured renewals the model predicted {:.2}% against {:.2}% observed ({:+.1}%, within {:.0}%): the expected AUC can be read as an estimate",
                100.0 * p,
                100.0 * o,
                100.0 * g,
                100.0 * CBPE_TOLERANCE
            ),
            (Some(g), Some(o), Some(p)) => format!(
                "on the {n} matured renewals the model predicted {:.2}% against {:.2}% observed ({:+.1}%, beyond {:.0}%): it is miscalibrated, and the expected AUC, which assumes calibrated probabilities, is not to be relied on",
                100.0 * p,
                100.0 * o,
                100.0 * g,
                100.0 * CBPE_TOLERANCE
            ),
            _ => "no matured renewal with a lapse yet: the calibration the expected AUC assumes cannot be checked".to_string(),
        };
        CbpeCalibration {
            matured_renewals: n,
            observed_lapse_rate: observed,
            predicted_lapse_rate: predicted,
            relative_gap,
            tolerance: CBPE_TOLERANCE,
            trusted,
            note,
        }
    }
}

/// A score-log line that did not parse.
#[derive(Debug, Clone, Serialize)]
pub struct MalformedLine {
    pub file: String,
    pub line: usize,
    pub error: String,
}

/// How many malformed lines a report names.
const MALFORMED_EXAMPLES: usize = 20;

/// A scored renewal's outcome at the report date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Grace ended before the report date: 1 lapsed, 0 paid in time.
    Matured(u8),
    /// Grace not over: paid already, or not yet.
    Maturing { paid: bool },
}

/// (month, dimension, group) -> (probability, outcome, annualized premium) of each renewal.
type Groups = BTreeMap<(String, &'static str, String), Vec<(f64, Outcome, f64)>>;

/// Why the report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum RealisedError {
    #[error("{}: {message}", path.display())]
    Log { path: std::path::PathBuf, message: String },
}

/// What reading a score log found besides its lines.
#[derive(Debug, Clone, Default)]
pub struct LogRead {
    pub log_lines: usize,
    pub malformed_lines: usize,
    pub malformed_examples: Vec<MalformedLine>,
}

/// Reads every `scores-*.jsonl` (and closed `.jsonl.zst` part) of `dir` in file order and hands
/// each line that parses to `visit`; a torn or damaged line is counted and named, never fatal.
pub fn read_log(dir: &Path, mut visit: impl FnMut(ScoreLine<'_>)) -> Result<LogRead, RealisedError> {
    let fail = |path: &Path, message: String| RealisedError::Log { path: path.to_path_buf(), message };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| fail(dir, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(score_log::is_log_file))
        .collect();
    files.sort();
    // A part caught between compressed and removed (a crash): its `.zst` is complete.
    let compressed: std::collections::HashSet<std::path::PathBuf> =
        files.iter().filter(|p| p.extension().is_some_and(|e| e == "zst")).cloned().collect();
    files.retain(|p| !compressed.contains(&std::path::PathBuf::from(format!("{}.zst", p.display()))));
    let mut read = LogRead::default();
    for path in &files {
        let bytes = std::fs::read(path).map_err(|e| fail(path, e.to_string()))?;
        // Closed parts are zstd-compressed (`.jsonl.zst`).
        let bytes = if path.extension().is_some_and(|e| e == "zst") {
            match zstd::decode_all(bytes.as_slice()) {
                Ok(bytes) => bytes,
                Err(e) => {
                    // A damaged compressed part: named and skipped like a malformed line.
                    read.malformed_lines += 1;
                    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                    read.malformed_examples.push(MalformedLine { file, line: 0, error: format!("cannot decompress: {e}") });
                    continue;
                }
            }
        } else {
            bytes
        };
        // Invalid UTF-8 (a torn multi-byte character) makes that line malformed, not the file.
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<ScoreLine>(line) {
                Ok(score) => {
                    read.log_lines += 1;
                    visit(score);
                }
                Err(e) => {
                    read.malformed_lines += 1;
                    if read.malformed_examples.len() < MALFORMED_EXAMPLES {
                        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                        read.malformed_examples.push(MalformedLine { file, line: n + 1, error: e.to_string() });
                    }
                }
            }
        }
    }
    if read.malformed_lines > 0 {
        tracing::warn!(malformed_lines = read.malformed_lines, first = ?read.malformed_examples.first(), "score-log lines that do not parse were skipped");
    }
    Ok(read)
}

/// Reads every `scores-*.jsonl` of `dir`, joins it with `book`'s outcomes as of `as_of`.
pub fn report(dir: &Path, book: &Book, as_of: Day, grace_days: i32) -> Result<RealisedReport, RealisedError> {
    // (month, policy, installment) -> (time, probability): the month's last score.
    let mut latest: BTreeMap<(String, String, u32), (String, f64)> = BTreeMap::new();
    let LogRead { log_lines, malformed_lines, malformed_examples } = read_log(dir, |score| {
        let month = score.time.get(..7).unwrap_or("").to_string();
        let key = (month, score.policy_id.into_owned(), score.installment_no);
        match latest.get(&key) {
            Some((time, _)) if time.as_str() > &*score.time => {}
            _ => {
                latest.insert(key, (score.time.into_owned(), score.probability));
            }
        }
    })?;
    let policy_index: FxHashMap<&str, usize> = book.policies.id.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    // Per (month, dimension, group): probabilities and labels (None = unknown yet).
    let mut groups: Groups = BTreeMap::new();
    let mut unknown_renewals = 0;
    for ((month, policy, number), (_, p)) in latest {
        let Some(&pi) = policy_index.get(policy.as_str()) else {
            unknown_renewals += 1;
            continue;
        };
        let installments = &book.installments;
        let Some(i) = installments.of_policy(pi).find(|&i| installments.number[i] == number) else {
            unknown_renewals += 1;
            continue;
        };
        let deadline = installments.due[i] + grace_days;
        // What the extract knows at the report date: payments dated before it.
        let paid = installments.paid[i].filter(|&p| p < as_of);
        let label =
            if deadline < as_of { Outcome::Matured(u8::from(paid.is_none_or(|p| p > deadline))) } else { Outcome::Maturing { paid: paid.is_some() } };
        let premium = book.policies.modal_premium[pi] * f64::from(book.policies.frequency[pi].per_year());
        let text = |c: &lapse_core::extract::Categories| c.get(pi).unwrap_or("(missing)").to_string();
        for (dimension, group) in
            [("all", "all".to_string()), ("channel", text(&book.policies.channel)), ("product_type", text(&book.policies.product_type))]
        {
            groups.entry((month.clone(), dimension, group)).or_default().push((p, label, premium));
        }
    }
    let (mut all_scores, mut all_labels) = (Vec::new(), Vec::new());
    let months = groups
        .into_iter()
        .map(|((month, dimension, group), rows)| {
            let all: Vec<f64> = rows.iter().map(|r| r.0).collect();
            let matured: Vec<(f64, u8, f64)> =
                rows.iter().filter_map(|&(p, outcome, v)| if let Outcome::Matured(y) = outcome { Some((p, y, v)) } else { None }).collect();
            let scores: Vec<f64> = matured.iter().map(|r| r.0).collect();
            let labels: Vec<u8> = matured.iter().map(|r| r.1).collect();
            if dimension == "all" {
                all_scores.extend_from_slice(&scores);
                all_labels.extend_from_slice(&labels);
            }
            let lapsed_premium: Vec<f64> = matured.iter().map(|&(_, y, v)| f64::from(y) * v).collect();
            let priority: Vec<f64> = matured.iter().map(|&(p, _, v)| p * v).collect();
            let labelled = labels.len();
            let maturing = rows.len() - labelled;
            let maturing_paid = rows.iter().filter(|r| r.1 == Outcome::Maturing { paid: true }).count();
            let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
            Performance {
                month,
                dimension: dimension.to_string(),
                group,
                scored: rows.len(),
                labelled,
                maturing,
                maturing_paid,
                matured: maturing == 0,
                roc_auc: roc_auc(&labels, &scores),
                log_loss: (labelled > 0).then(|| log_loss(&labels, &scores)),
                observed_lapse_rate: mean(&labels.iter().map(|&y| f64::from(y)).collect::<Vec<_>>()),
                predicted_lapse_rate: mean(&scores),
                top_decile_lift: top_decile_lift(&labels, &scores),
                expected_auc: expected_auc(&all),
                lapsed_premium: lapsed_premium.iter().sum(),
                top_decile_premium_capture: (lapsed_premium.iter().sum::<f64>() > 0.0).then(|| capture_curve(&priority, &lapsed_premium)[9]),
            }
        })
        .collect();
    let cbpe_calibration = CbpeCalibration::of(&all_scores, &all_labels);
    Ok(RealisedReport {
        outcomes_as_of: lapse_core::dates::format_day(as_of),
        grace_days,
        log_lines,
        malformed_lines,
        malformed_examples,
        unknown_renewals,
        months,
        cbpe_calibration,
    })
}

#[cfg(test)]
mod tests {
    use super::expected_auc;

    #[test]
    fn expected_auc_matches_the_realised_auc_of_calibrated_draws() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let p: Vec<f64> = (0..20_000).map(|_| rng.random::<f64>().powi(2)).collect();
        let labels: Vec<u8> = p.iter().map(|&p| u8::from(rng.random::<f64>() < p)).collect();
        let realised = lapse_model::metrics::roc_auc(&labels, &p).unwrap();
        let expected = expected_auc(&p).unwrap();
        assert!((realised - expected).abs() < 0.01, "realised {realised} expected {expected}");
        // Constant scores rank nothing.
        assert!((expected_auc(&[0.3; 10]).unwrap() - 0.5).abs() < 1e-12);
    }
}
