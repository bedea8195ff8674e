//! Champion or challenger: the guard rails a challenger must pass and the comparison with the
//! champion on the same out-of-time rows. Pure functions of measured figures, so every rule is
//! tested on its own and the decision log can say exactly which rule decided.

use serde::{Deserialize, Serialize};

use crate::metrics::Evaluation;

/// When a challenger replaces the champion. Defaults are in `docs/nightly.md`; a policy file
/// gives any subset of the fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromotionPolicy {
    /// The challenger's held-out log loss must be lower than the champion's by at least this
    /// fraction of the champion's (0.005 = 0.5 %).
    pub min_log_loss_gain: f64,
    /// ... and its ROC AUC may not be lower than the champion's by more than this.
    pub max_auc_drop: f64,
    /// Guard rail: expected calibration error of the challenger's calibrated held-out scores.
    pub max_ece: f64,
    /// Guard rail: |mean predicted - observed lapse rate| on the held-out rows (calibration in
    /// the large), in absolute lapse rate.
    pub max_calibration_gap: f64,
    /// Guard rails: rows the challenger was fitted on, and held-out rows and lapses it was
    /// judged on.
    pub min_train_rows: usize,
    pub min_validation_rows: usize,
    pub min_validation_lapses: usize,
    /// The comparison with the champion is made only on held-out renewals neither model was
    /// fitted on; with fewer renewals or lapses than these left, the champion stays.
    pub min_compared_rows: usize,
    pub min_compared_lapses: usize,
}

impl Default for PromotionPolicy {
    fn default() -> Self {
        PromotionPolicy {
            min_log_loss_gain: 0.005,
            max_auc_drop: 0.005,
            max_ece: 0.03,
            max_calibration_gap: 0.02,
            min_train_rows: 1_000,
            min_validation_rows: 500,
            min_validation_lapses: 30,
            min_compared_rows: 1_000,
            min_compared_lapses: 50,
        }
    }
}

/// One guard rail's verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuardRail {
    pub name: String,
    pub passed: bool,
    /// What was measured and the limit, in words.
    pub detail: String,
    /// The same in Chinese, for zh-CN pages (empty in reports written before it existed).
    #[serde(default)]
    pub detail_zh: String,
}

impl GuardRail {
    fn new(name: &str, passed: bool, (detail, detail_zh): (String, String)) -> Self {
        GuardRail { name: name.to_string(), passed, detail, detail_zh }
    }
}

/// What the challenger was fitted and judged on, besides its metrics.
#[derive(Debug, Clone)]
pub struct ChallengerFacts<'a> {
    pub train_rows: usize,
    pub evaluation: &'a Evaluation,
    /// Features the feature catalog defines that the training table lacks.
    pub features_absent_from_training: Vec<String>,
    /// Features present in training that today's snapshot lacks or has entirely missing.
    pub features_missing_today: Vec<String>,
    /// Why the challenger cannot score today's snapshot, if it cannot.
    pub cannot_score_today: Option<String>,
}

/// The guard rails, in a fixed order.
pub fn guard_rails(policy: &PromotionPolicy, facts: &ChallengerFacts) -> Vec<GuardRail> {
    let e = facts.evaluation;
    let lapses = lapses_of(e);
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    let list_zh = |v: &[String]| if v.is_empty() { "无".to_string() } else { v.join("、") };
    let [ece, in_the_large] = calibration_rails(policy, e);
    vec![
        GuardRail::new(
            "min_train_rows",
            facts.train_rows >= policy.min_train_rows,
            (
                format!("{} training rows (minimum {})", facts.train_rows, policy.min_train_rows),
                format!("训练行数 {}（最少 {}）", facts.train_rows, policy.min_train_rows),
            ),
        ),
        GuardRail::new(
            "min_validation_rows",
            e.rows >= policy.min_validation_rows && lapses >= policy.min_validation_lapses,
            (
                format!(
                    "{} held-out rows with {} lapses (minimum {} rows, {} lapses)",
                    e.rows, lapses, policy.min_validation_rows, policy.min_validation_lapses
                ),
                format!(
                    "留出集 {} 行，其中失效 {} 件（最少 {} 行、{} 件失效）",
                    e.rows, lapses, policy.min_validation_rows, policy.min_validation_lapses
                ),
            ),
        ),
        ece,
        in_the_large,
        GuardRail::new(
            "no_feature_missing",
            facts.features_absent_from_training.is_empty() && facts.features_missing_today.is_empty() && facts.cannot_score_today.is_none(),
            match &facts.cannot_score_today {
                Some(why) => (format!("cannot score today's snapshot: {why}"), format!("无法为今日快照评分：{why}")),
                None => (
                    format!(
                        "catalog features absent from training: {}; missing from today's snapshot: {}",
                        list(&facts.features_absent_from_training),
                        list(&facts.features_missing_today)
                    ),
                    format!(
                        "训练表缺少的目录特征：{}；今日快照缺少的特征：{}",
                        list_zh(&facts.features_absent_from_training),
                        list_zh(&facts.features_missing_today)
                    ),
                ),
            },
        ),
    ]
}

fn lapses_of(e: &Evaluation) -> usize {
    (e.lapse_rate * e.rows as f64).round() as usize
}

/// The two calibration guard rails (ECE beyond sampling noise, calibration in the large) on
/// one evaluation: the challenger's on its held-out rows, and the champion's on the renewals
/// it never saw.
pub fn calibration_rails(policy: &PromotionPolicy, e: &Evaluation) -> [GuardRail; 2] {
    let gap = (e.mean_predicted - e.lapse_rate).abs();
    let noise = calibrated_ece_noise(e);
    // The gap a calibrated model still shows from sampling alone: 1.96 standard errors of the
    // observed rate at the mean predicted probability (0.013 at 10% on 2,000 rows, 0.004 on
    // 20,000), allowed on top of the limit as the ECE rail allows its noise.
    let p = e.mean_predicted.clamp(0.0, 1.0);
    let gap_noise = if e.rows > 0 { 1.96 * (p * (1.0 - p) / e.rows as f64).sqrt() } else { 0.0 };
    [
        GuardRail::new(
            "calibration_ece",
            e.ece <= policy.max_ece + noise,
            (
                format!("held-out ECE {:.4} (maximum {} + {noise:.4}, the ECE sampling noise alone gives at {} rows)", e.ece, policy.max_ece, e.rows),
                format!("留出集 ECE {:.4}（上限 {} + {noise:.4}，后者为 {} 行样本仅因抽样噪声就会产生的 ECE）", e.ece, policy.max_ece, e.rows),
            ),
        ),
        GuardRail::new(
            "calibration_in_the_large",
            gap <= policy.max_calibration_gap + gap_noise,
            (
                format!(
                    "mean predicted {:.4} vs observed {:.4}: gap {:.4} (maximum {} + {gap_noise:.4}, the gap sampling alone gives at {} rows)",
                    e.mean_predicted, e.lapse_rate, gap, policy.max_calibration_gap, e.rows
                ),
                format!(
                    "平均预测 {:.4}，实际 {:.4}：差距 {:.4}（上限 {} + {gap_noise:.4}，后者为 {} 行样本仅因抽样就会产生的差距）",
                    e.mean_predicted, e.lapse_rate, gap, policy.max_calibration_gap, e.rows
                ),
            ),
        ),
    ]
}

/// The ECE a perfectly calibrated model would still show on these bins, from sampling noise
/// alone: each bin's observed rate deviates from its mean probability p by
/// E|X| = sqrt(2/pi x p(1-p)/n) on average (normal approximation), weighted by bin size. The
/// ECE guard rail allows `max_ece` on top of it, so a small held-out window is not failed for
/// noise and a big one is held to `max_ece`.
pub fn calibrated_ece_noise(e: &Evaluation) -> f64 {
    let total: usize = e.reliability.iter().map(|b| b.count).sum();
    if total == 0 {
        return 0.0;
    }
    e.reliability
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| {
            let p = b.mean_predicted.clamp(0.0, 1.0);
            (b.count as f64 / total as f64) * (2.0 / std::f64::consts::PI * p * (1.0 - p) / b.count as f64).sqrt()
        })
        .sum()
}

/// Which held-out rows were compared, and why the others were not.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Comparison {
    /// The challenger's held-out rows.
    pub held_out: usize,
    /// Rows neither model was fitted on: the rows both models are judged on.
    pub compared: usize,
    pub compared_lapses: usize,
    /// Rows left out because the champion learnt their renewal's outcome.
    pub dropped_champion_fitted: usize,
    /// Rows left out because the challenger's validation models learnt it (none by the
    /// out-of-time gap; counted to show it).
    pub dropped_challenger_fitted: usize,
    /// How the champion's fitted renewals were known.
    pub basis: String,
    /// The same in Chinese (empty in reports written before it existed).
    #[serde(default)]
    pub basis_zh: String,
}

/// The champion as the comparison saw it.
#[derive(Debug, Clone)]
pub enum ChampionState<'a> {
    /// No champion yet.
    None,
    /// The champion could not be loaded or could not score the held-out rows.
    Unusable { version: String, reason: String },
    /// The same artifact as the challenger (same data, same code).
    Same { version: String },
    /// Scored on the held-out renewals neither model was fitted on (`evaluation`), with its
    /// calibration guard rails on them.
    Scored { version: String, evaluation: &'a Evaluation, rails: Vec<GuardRail> },
}

/// The outcome: promote or not, and every reason.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    pub promote: bool,
    /// One sentence per rule that decided, first the deciding one.
    pub reasons: Vec<String>,
    /// The same sentences in Chinese, for zh-CN pages (empty in reports written before it
    /// existed).
    #[serde(default)]
    pub reasons_zh: Vec<String>,
}

/// A sentence in English and in Chinese.
type Said = (String, String);

/// Decides from the guard rails and the comparison.
pub fn decide(policy: &PromotionPolicy, rails: &[GuardRail], challenger: &Evaluation, champion: &ChampionState) -> Decision {
    let failed: Vec<Said> = rails
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            (format!("guard rail {} failed: {}", r.name, r.detail), format!("护栏检查 {} 未通过：{}", r.name, zh_or_en(&r.detail_zh, &r.detail)))
        })
        .collect();
    let comparison: Result<Said, Said> = match champion {
        ChampionState::None => Ok(("no champion yet".to_string(), "尚无冠军模型".to_string())),
        ChampionState::Unusable { version, reason } => {
            Ok((format!("champion {version} is unusable: {reason}"), format!("冠军模型 {version} 不可用：{reason}")))
        }
        ChampionState::Same { version } => Err((
            format!("the challenger is the champion's artifact ({version}): nothing new to promote"),
            format!("挑战模型与冠军模型（{version}）是同一产物：没有可上线的新模型"),
        )),
        ChampionState::Scored { version, evaluation: champ, rails: champion_rails } => {
            let gain = (champ.log_loss - challenger.log_loss) / champ.log_loss;
            let auc_drop = match (champ.roc_auc, challenger.roc_auc) {
                (Some(a), Some(b)) => a - b,
                _ => 0.0,
            };
            let figures = format!(
                "held-out log loss {:.5} vs champion {version} {:.5} ({}, needed {:.2}% better); ROC AUC {} vs {}; on {} renewals neither model was fitted on",
                challenger.log_loss,
                champ.log_loss,
                relative(gain),
                100.0 * policy.min_log_loss_gain,
                fmt_auc(challenger.roc_auc),
                fmt_auc(champ.roc_auc),
                champ.rows
            );
            let figures_zh = format!(
                "留出集对数损失 {:.5}，冠军模型 {version} 为 {:.5}（{}，要求至少好 {:.2}%）；ROC AUC {} 对 {}；基于两个模型都未拟合过的 {} 件续期",
                challenger.log_loss,
                champ.log_loss,
                relative_zh(gain),
                100.0 * policy.min_log_loss_gain,
                fmt_auc(challenger.roc_auc),
                fmt_auc(champ.roc_auc),
                champ.rows
            );
            let champion_failed: Vec<&GuardRail> = champion_rails.iter().filter(|r| !r.passed).collect();
            let (rows, lapses) = (champ.rows, lapses_of(champ));
            if rows < policy.min_compared_rows || lapses < policy.min_compared_lapses {
                Err((
                    format!(
                        "too few held-out renewals that neither model was fitted on to compare them: {rows} with {lapses} lapses (minimum {} and {}); the champion {version} stays",
                        policy.min_compared_rows, policy.min_compared_lapses
                    ),
                    format!(
                        "两个模型都未拟合过的留出续期太少，无法比较：{rows} 件，其中失效 {lapses} 件（最少 {} 件、{} 件失效）；冠军模型 {version} 保留",
                        policy.min_compared_rows, policy.min_compared_lapses
                    ),
                ))
            } else if !champion_failed.is_empty() && gain >= 0.0 && auc_drop <= policy.max_auc_drop {
                let failed = champion_failed.iter().map(|r| format!("{} ({})", r.name, r.detail)).collect::<Vec<_>>().join("; ");
                let failed_zh =
                    champion_failed.iter().map(|r| format!("{}（{}）", r.name, zh_or_en(&r.detail_zh, &r.detail))).collect::<Vec<_>>().join("；");
                Ok((
                    format!(
                        "the champion fails its guard rails on renewals it never saw: {failed}; the challenger passes them and is no worse: {figures}"
                    ),
                    format!("冠军模型在其未见过的续期上未通过护栏检查：{failed_zh}；挑战模型通过且不差于冠军模型：{figures_zh}"),
                ))
            } else if gain < policy.min_log_loss_gain {
                Err((format!("not better by the margin: {figures}"), format!("未达到要求的改进幅度：{figures_zh}")))
            } else if auc_drop > policy.max_auc_drop {
                Err((
                    format!("ROC AUC dropped by {auc_drop:.4} (allowed {}): {figures}", policy.max_auc_drop),
                    format!("ROC AUC 下降 {auc_drop:.4}（允许 {}）：{figures_zh}", policy.max_auc_drop),
                ))
            } else {
                Ok((format!("better by the margin: {figures}"), format!("达到要求的改进幅度：{figures_zh}")))
            }
        }
    };
    let (promote, said) = match (failed.is_empty(), comparison) {
        (true, Ok(why)) => (true, vec![why]),
        (true, Err(why)) => (false, vec![why]),
        (false, Ok((en, zh))) | (false, Err((en, zh))) => {
            let mut said = failed;
            said.push((format!("(comparison: {en})"), format!("（比较结果：{zh}）")));
            (false, said)
        }
    };
    let (reasons, reasons_zh) = said.into_iter().unzip();
    Decision { promote, reasons, reasons_zh }
}

/// The Chinese text, or the English one when a report predates the Chinese.
pub fn zh_or_en<'a>(zh: &'a str, en: &'a str) -> &'a str {
    if zh.is_empty() { en } else { zh }
}

/// A relative log-loss gain in words: "1.41% better" or "1.41% worse" (never "-1.41% better").
fn relative(gain: f64) -> String {
    if gain >= 0.0 { format!("{:.2}% better", 100.0 * gain) } else { format!("{:.2}% worse", -100.0 * gain) }
}

/// The same in Chinese: "好 1.41%" or "差 1.41%".
fn relative_zh(gain: f64) -> String {
    if gain >= 0.0 { format!("好 {:.2}%", 100.0 * gain) } else { format!("差 {:.2}%", -100.0 * gain) }
}

fn fmt_auc(auc: Option<f64>) -> String {
    auc.map_or("-".into(), |a| format!("{a:.4}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(rows: usize, lapse_rate: f64, mean_predicted: f64, log_loss: f64, auc: f64, ece: f64) -> Evaluation {
        Evaluation {
            rows,
            lapse_rate,
            mean_predicted,
            roc_auc: Some(auc),
            pr_auc: None,
            log_loss,
            brier: 0.0,
            ece,
            top_decile_lift: None,
            gains: Vec::new(),
            retained_premium: Vec::new(),
            reliability: Vec::new(),
        }
    }

    fn facts(e: &Evaluation) -> ChallengerFacts<'_> {
        ChallengerFacts {
            train_rows: 10_000,
            evaluation: e,
            features_absent_from_training: vec![],
            features_missing_today: vec![],
            cannot_score_today: None,
        }
    }

    #[test]
    fn promotes_only_past_the_margin() {
        let policy = PromotionPolicy::default();
        let champ = evaluation(2_000, 0.1, 0.1, 0.300, 0.80, 0.01);
        let slightly = evaluation(2_000, 0.1, 0.1, 0.299, 0.80, 0.01); // 0.33 % better
        let clearly = evaluation(2_000, 0.1, 0.1, 0.290, 0.81, 0.01); // 3.3 % better
        let rails = guard_rails(&policy, &facts(&clearly));
        assert!(rails.iter().all(|r| r.passed), "{rails:?}");
        let state = ChampionState::Scored { version: "v0001".into(), evaluation: &champ, rails: calibration_rails(&policy, &champ).to_vec() };
        let no = decide(&policy, &rails, &slightly, &state);
        assert!(!no.promote);
        assert!(no.reasons[0].starts_with("not better by the margin"), "{:?}", no.reasons);
        let yes = decide(&policy, &rails, &clearly, &state);
        assert!(yes.promote, "{:?}", yes.reasons);
        // Better log loss but a worse ranking: kept out.
        let worse_rank = evaluation(2_000, 0.1, 0.1, 0.290, 0.79, 0.01);
        let d = decide(&policy, &rails, &worse_rank, &state);
        assert!(!d.promote && d.reasons[0].starts_with("ROC AUC dropped"), "{:?}", d.reasons);
    }

    #[test]
    fn too_few_unseen_renewals_keep_the_champion_and_a_miscalibrated_champion_gives_way() {
        let policy = PromotionPolicy::default();
        let challenger = evaluation(2_000, 0.1, 0.1, 0.250, 0.85, 0.01);
        let rails = guard_rails(&policy, &facts(&challenger));
        // 800 renewals nobody was fitted on: even a clearly better challenger is not promoted.
        let few = evaluation(800, 0.1, 0.1, 0.300, 0.80, 0.01);
        let d = decide(
            &policy,
            &rails,
            &evaluation(800, 0.1, 0.1, 0.250, 0.85, 0.01),
            &ChampionState::Scored { version: "v0001".into(), evaluation: &few, rails: calibration_rails(&policy, &few).to_vec() },
        );
        assert!(!d.promote && d.reasons[0].starts_with("too few held-out renewals"), "{:?}", d.reasons);
        // 2,000 renewals with 40 lapses: still too few lapses.
        let rare = evaluation(2_000, 0.02, 0.02, 0.300, 0.80, 0.01);
        let d = decide(
            &policy,
            &rails,
            &challenger,
            &ChampionState::Scored { version: "v0001".into(), evaluation: &rare, rails: calibration_rails(&policy, &rare).to_vec() },
        );
        assert!(!d.promote && d.reasons[0].contains("40 lapses"), "{:?}", d.reasons);
        // A champion predicting 6% where 10% lapse fails calibration in the large on the unseen
        // renewals: a challenger that passes its rails and is as good replaces it without the margin.
        let stale = evaluation(2_000, 0.1, 0.06, 0.2501, 0.85, 0.01);
        let champion_rails = calibration_rails(&policy, &stale).to_vec();
        assert!(!champion_rails[1].passed);
        let d = decide(
            &policy,
            &rails,
            &challenger,
            &ChampionState::Scored { version: "v0001".into(), evaluation: &stale, rails: champion_rails.clone() },
        );
        assert!(d.promote && d.reasons[0].starts_with("the champion fails its guard rails"), "{:?}", d.reasons);
        // ... but not a worse challenger.
        let worse = evaluation(2_000, 0.1, 0.1, 0.2600, 0.85, 0.01);
        let d = decide(&policy, &rails, &worse, &ChampionState::Scored { version: "v0001".into(), evaluation: &stale, rails: champion_rails });
        assert!(!d.promote && d.reasons[0].starts_with("not better by the margin") && d.reasons[0].contains("worse"), "{:?}", d.reasons);
    }

    #[test]
    fn each_guard_rail_blocks_promotion_and_says_why() {
        let policy = PromotionPolicy::default();
        let good = evaluation(2_000, 0.1, 0.1, 0.2, 0.9, 0.01);
        type Tweak = Box<dyn Fn(&mut ChallengerFacts)>;
        let cases: Vec<(&str, Evaluation, Tweak)> = vec![
            ("min_train_rows", good.clone(), Box::new(|f| f.train_rows = 10)),
            ("min_validation_rows", evaluation(100, 0.1, 0.1, 0.2, 0.9, 0.01), Box::new(|_| {})),
            ("min_validation_rows", evaluation(2_000, 0.01, 0.01, 0.2, 0.9, 0.01), Box::new(|_| {})), // 20 lapses
            ("calibration_ece", evaluation(2_000, 0.1, 0.1, 0.2, 0.9, 0.05), Box::new(|_| {})),
            ("calibration_in_the_large", evaluation(2_000, 0.1, 0.15, 0.2, 0.9, 0.01), Box::new(|_| {})),
            ("no_feature_missing", good.clone(), Box::new(|f| f.features_missing_today = vec!["payment_method".into()])),
            ("no_feature_missing", good.clone(), Box::new(|f| f.features_absent_from_training = vec!["channel".into()])),
            ("no_feature_missing", good.clone(), Box::new(|f| f.cannot_score_today = Some("no column channel".into()))),
        ];
        for (rail, e, tweak) in cases {
            let mut f = facts(&e);
            tweak(&mut f);
            let rails = guard_rails(&policy, &f);
            let failed: Vec<&str> = rails.iter().filter(|r| !r.passed).map(|r| r.name.as_str()).collect();
            assert_eq!(failed, vec![rail]);
            let d = decide(&policy, &rails, &e, &ChampionState::None);
            assert!(!d.promote);
            assert!(d.reasons[0].contains(rail), "{:?}", d.reasons);
        }
    }

    #[test]
    fn ece_noise_shrinks_with_rows() {
        use crate::metrics::ReliabilityBin;
        let at = |count: usize| {
            let mut e = evaluation(10 * count, 0.2, 0.2, 0.4, 0.8, 0.0);
            e.reliability = (0..10)
                .map(|k| ReliabilityBin { lower: k as f64 / 10.0, upper: (k + 1) as f64 / 10.0, count, mean_predicted: 0.2, observed_rate: 0.2 })
                .collect();
            calibrated_ece_noise(&e)
        };
        // sqrt(2/pi x 0.16 / 50) = 0.0451; a hundred times the rows, a tenth of the noise.
        assert!((at(50) - 0.0451).abs() < 1e-3, "{}", at(50));
        assert!((at(5_000) - at(50) / 10.0).abs() < 1e-6);
    }

    #[test]
    fn first_model_and_unusable_champion_promote_when_rails_pass() {
        let policy = PromotionPolicy::default();
        let e = evaluation(2_000, 0.1, 0.1, 0.2, 0.9, 0.01);
        let rails = guard_rails(&policy, &facts(&e));
        assert!(decide(&policy, &rails, &e, &ChampionState::None).promote);
        let unusable = ChampionState::Unusable { version: "v0003".into(), reason: "checksum mismatch".into() };
        let d = decide(&policy, &rails, &e, &unusable);
        assert!(d.promote && d.reasons[0].contains("v0003 is unusable"));
        let same = ChampionState::Same { version: "v0003".into() };
        assert!(!decide(&policy, &rails, &e, &same).promote);
    }
}
