//! The uplift report: how well a T-learner fitted on a campaign ranks renewals by the lapses a
//! contact prevents, judged on cross-fitted (held-out) uplifts against the risk ranking the
//! campaign used and a random order.

use serde::Serialize;

use lapse_retention::campaign::Arm;
use lapse_retention::uplift::{BudgetRow, DecileRow, QiniPoint, UpliftFit, UpliftPointer, deciles, qini_coefficient, qini_curve};

/// The arms' models, as judged out of fold.
#[derive(Debug, Clone, Serialize)]
pub struct ArmModel {
    pub arm: &'static str,
    pub rows: usize,
    pub lapses: usize,
    pub roc_auc: Option<f64>,
    pub log_loss: f64,
    pub version: Option<String>,
}

/// One uplift learner's held-out result.
#[derive(Debug, Clone, Serialize)]
pub struct Learner {
    pub name: &'static str,
    pub qini: f64,
    pub curve: Vec<QiniPoint>,
}

/// The uplift report.
#[derive(Debug, Clone, Serialize)]
pub struct UpliftReport {
    pub campaign: String,
    pub outcomes_as_of: String,
    pub method: &'static str,
    /// Matured renewals used, and those left out.
    pub renewals: usize,
    pub not_in_snapshot: usize,
    pub pending: usize,
    pub unknown_to_extract: usize,
    pub models: Vec<ArmModel>,
    /// Each learner tried, judged on its cross-fitted uplifts.
    pub learners: Vec<Learner>,
    /// The learner with the larger held-out Qini: the one the queue ranks by.
    pub chosen: &'static str,
    /// Qini coefficients (area above random, lapses prevented per listed renewal) of the chosen
    /// learner and of the risk ranking the campaign used.
    pub qini_uplift: f64,
    pub qini_risk: f64,
    pub curve_uplift: Vec<QiniPoint>,
    pub curve_risk: Vec<QiniPoint>,
    pub deciles: Vec<DecileRow>,
    /// Lapses prevented contacting the top share of the list, by each ranking.
    pub budgets: Vec<BudgetRow>,
    pub registered: Option<UpliftPointer>,
    /// Whether the chosen learner ranks better than risk on held-out Qini: only then is it
    /// registered for `lapse queue --rank-by uplift`; otherwise work lists keep ranking by risk.
    pub beats_risk: bool,
    /// What happened to the learner, in words (registered, or why not).
    #[serde(default)]
    pub registration: String,
}

/// [`METHOD`] in Chinese, for zh-CN pages.
pub const METHOD_ZH: &str = "两种学习器，按保单分5折交叉拟合，这里评估的每个增益都来自从未见过该续期的模型：(1) 分层法：续期的失效概率 x \
其行动和客群的相对流失降幅（1 - r_t / r_c，向其行动的降幅收缩，行动的降幅向不联系收缩）；(2) T-learner：在每个组别上拟合梯度提升、\
已校准的 P(失效)，以列入的行动作为特征，增益 = P(失效 | 对照组) - P(失效 | 实验组)；保留 Qini 较大的一种；曲线：排序前列中可避免的失效件数 = \
（该处对照组失效率 - 实验组失效率）x 该处续期件数";

pub const METHOD: &str = "two learners, cross-fitted over 5 folds of policies so every uplift judged here comes from models that never saw the renewal: (1) stratified: the renewal's lapse probability x the save rate of its action and segment (1 - r_t / r_c, shrunk toward its action's, the action's toward none); (2) T-learner: gradient-boosted, calibrated P(lapse) fitted on each arm with the listed action as a feature, uplift = P(lapse | control) - P(lapse | treated); the one with the larger Qini is kept; curves: lapses prevented among the top of a ranking = (control lapse rate - treated lapse rate) there x renewals there";

/// The report of a fitted uplift model.
pub fn report(campaign: &str, outcomes_as_of: &str, fit: &UpliftFit, registered: Option<UpliftPointer>) -> UpliftReport {
    let treated: Vec<bool> = fit.rows.iter().map(|r| r.arm == Arm::Treatment).collect();
    let lapsed: Vec<bool> = fit.rows.iter().map(|r| r.lapsed).collect();
    let t_learner: Vec<f64> = fit.rows.iter().map(|r| r.uplift).collect();
    let stratified: Vec<f64> = fit.rows.iter().map(|r| r.stratified_uplift).collect();
    let risk: Vec<f64> = fit.rows.iter().map(|r| r.probability).collect();
    let n = fit.rows.len();
    let learners: Vec<Learner> = [("stratified", &stratified), ("t_learner", &t_learner)]
        .into_iter()
        .map(|(name, scores)| {
            let curve = qini_curve(scores, &treated, &lapsed, 20);
            Learner { name, qini: qini_coefficient(&curve, n), curve }
        })
        .collect();
    let best = if learners[1].qini > learners[0].qini { 1 } else { 0 };
    let (chosen, uplift) = if best == 1 { ("t_learner", &t_learner) } else { ("stratified", &stratified) };
    let (curve_uplift, curve_risk) = (learners[best].curve.clone(), qini_curve(&risk, &treated, &lapsed, 20));
    let at = |curve: &[QiniPoint], share: f64| {
        curve
            .iter()
            .min_by(|a, b| (a.share - share).abs().total_cmp(&(b.share - share).abs()))
            .map_or((0.0, 0.0), |p| (p.prevented, p.standard_error))
    };
    let total = curve_uplift.last().map_or(0.0, |p| p.prevented);
    let budgets = [0.1, 0.2, 0.3, 0.5, 1.0]
        .iter()
        .map(|&share| {
            let ((by_uplift, by_uplift_se), (by_risk, by_risk_se)) = (at(&curve_uplift, share), at(&curve_risk, share));
            BudgetRow { share, by_uplift, by_uplift_se, by_risk, by_risk_se, random: share * total }
        })
        .collect();
    let (qini_uplift, qini_risk) = (learners[best].qini, qini_coefficient(&curve_risk, n));
    let arm_model = |arm: &'static str, outcome: &lapse_model::train::TrainOutcome, is_treated: bool, version: Option<String>| ArmModel {
        arm,
        rows: treated.iter().filter(|&&t| t == is_treated).count(),
        lapses: treated.iter().zip(&lapsed).filter(|(t, l)| **t == is_treated && **l).count(),
        roc_auc: outcome.report.roc_auc,
        log_loss: outcome.report.log_loss,
        version,
    };
    UpliftReport {
        campaign: campaign.to_string(),
        outcomes_as_of: outcomes_as_of.to_string(),
        method: METHOD,
        renewals: n,
        not_in_snapshot: fit.not_in_snapshot,
        pending: fit.pending,
        unknown_to_extract: fit.unknown_to_extract,
        models: vec![
            arm_model("treatment", &fit.treated, true, registered.as_ref().map(|p| p.treated.clone())),
            arm_model("control", &fit.control, false, registered.as_ref().map(|p| p.control.clone())),
        ],
        qini_uplift,
        qini_risk,
        curve_uplift,
        curve_risk,
        deciles: deciles(uplift, &treated, &lapsed),
        learners,
        chosen,
        budgets,
        beats_risk: qini_uplift > qini_risk,
        registration: match &registered {
            Some(p) => format!("registered: the {} learner (held-out Qini {qini_uplift:.4} against {qini_risk:.4} by risk)", p.learner),
            None if qini_uplift > qini_risk => "not registered (--no-register)".to_string(),
            None => format!(
                "not registered: the {chosen} learner ranks worse than risk on held-out Qini ({qini_uplift:.4} against {qini_risk:.4}); work lists keep ranking by risk"
            ),
        },
        registered,
    }
}
