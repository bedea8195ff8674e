//! One line beside each metric a page shows, on that page, in the reader's language (each line
//! is one text node, so the phrase table translates it whole): what the figure is, which way is
//! better, and the base of every rate. The wording follows `docs/glossary.md`.

use maud::{Markup, html};

/// A metric a page can explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    RocAuc,
    LogLoss,
    Ece,
    Psi,
    Qini,
    Contribution,
    SaveRate,
    Detectable,
    LapseRateFunnel,
    LapseRateTraining,
    Persistency,
    CollectionRate,
    ObservedToExpected,
    WinBack,
}

impl Metric {
    /// The line, in English (the phrase table holds its Chinese).
    pub fn line(self) -> &'static str {
        match self {
            Metric::RocAuc => {
                "ROC AUC: the chance that a renewal which lapsed is ranked above one which was paid (0.5 is a coin toss, 1 is perfect; higher is better)."
            }
            Metric::LogLoss => {
                "Log loss: the average penalty of the predicted probabilities against what happened (lower is better; it punishes confident mistakes most)."
            }
            Metric::Ece => {
                "ECE (expected calibration error): the average gap between the predicted lapse probability and the lapse rate observed at that probability (lower is better)."
            }
            Metric::Psi => {
                "PSI (population stability index): how far a feature's distribution today moved from the model's training data (below 0.1 stable, 0.1-0.25 watch, above 0.25 act)."
            }
            Metric::Qini => {
                "Qini: the lapses a ranking prevents beyond contacting the same number of renewals at random, summed down the list (higher is better)."
            }
            Metric::Contribution => {
                "A reason's number, e.g. (+0.50): how much that input raises this renewal's log-odds of lapse; +0.7 roughly doubles the odds."
            }
            Metric::SaveRate => {
                "Save rate: 1 - lapse rate of the contacted arm / lapse rate of the control arm, on renewals whose grace has ended: the relative cut in lapses (a good call campaign saves 10-30%; not the share of customers kept)."
            }
            Metric::Detectable => {
                "Detectable: the smallest save rate this campaign's size could tell from zero (80% power, two-sided 5%); a smaller true effect may be real but unmeasured."
            }
            Metric::LapseRateFunnel => {
                "Lapse rate here: of the renewals due in the month, those unpaid when their grace ended (most customers pay: a few percent)."
            }
            Metric::LapseRateTraining => {
                "Lapse rate of the training table: of the renewals at risk on each snapshot date (due within 30 days or overdue in grace, so unpaid at the snapshot), those that lapsed: higher than a month's lapse rate, because renewals already paid are not at risk."
            }
            Metric::Persistency => {
                "Persistency: of the policies whose 13th (25th) month premium fell due with its grace over, the share that paid it (a policy, not a renewal, is counted)."
            }
            Metric::CollectionRate => "Collection rate: premium collected within grace / premium due of the renewals due in the month (达成率).",
            Metric::ObservedToExpected => {
                "Observed / expected: the premium collected over what an average agent was expected to collect from the same customers (above 1 is better than the book predicts)."
            }
            Metric::WinBack => {
                "Win-back candidate: a policy lapsed at the report date, within 730 days of its lapse, not surrendered, matured, cancelled or ended by death: it can still be reinstated by paying the arrears."
            }
        }
    }

    /// The anchor of its definition in `docs/metrics.md`.
    pub fn anchor(self) -> &'static str {
        match self {
            Metric::RocAuc => "roc-auc",
            Metric::LogLoss => "log-loss",
            Metric::Ece => "ece",
            Metric::Psi => "psi",
            Metric::Qini => "qini",
            Metric::Contribution => "contribution",
            Metric::SaveRate => "save-rate",
            Metric::Detectable => "detectable",
            Metric::LapseRateFunnel => "lapse-rate-month",
            Metric::LapseRateTraining => "lapse-rate-training",
            Metric::Persistency => "persistency",
            Metric::CollectionRate => "collection-rate",
            Metric::ObservedToExpected => "observed-to-expected",
            Metric::WinBack => "win-back",
        }
    }

    /// Its name, in English and Chinese (the glossary's words).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Metric::RocAuc => ("ROC AUC", "ROC AUC"),
            Metric::LogLoss => ("Log loss", "对数损失"),
            Metric::Ece => ("Expected calibration error (ECE)", "期望校准误差（ECE）"),
            Metric::Psi => ("Population stability index (PSI)", "群体稳定性指数（PSI）"),
            Metric::Qini => ("Qini coefficient", "Qini 系数"),
            Metric::Contribution => ("A reason's contribution", "原因的贡献值"),
            Metric::SaveRate => ("Save rate", "相对流失降幅"),
            Metric::Detectable => ("Minimum detectable save rate", "最小可检测降幅"),
            Metric::LapseRateFunnel => ("Lapse rate of a due month", "应缴月份失效率"),
            Metric::LapseRateTraining => ("Lapse rate of the training table", "训练表失效率"),
            Metric::Persistency => ("Persistency (13th / 25th month)", "第13/25个月继续率"),
            Metric::CollectionRate => ("Collection rate", "达成率"),
            Metric::ObservedToExpected => ("Observed / expected collection", "实际/预期"),
            Metric::WinBack => ("Win-back candidate", "复效名单"),
        }
    }

    /// The full definition: how it is computed, on which rows (English).
    pub fn definition(self) -> &'static str {
        match self {
            Metric::RocAuc => {
                "Over labelled renewals (matured: paid, or unpaid at due date + grace): the probability that a randomly chosen lapsed renewal has a higher predicted probability than a randomly chosen paid one (ties count half). Judged only on rows the model was not fitted on (out of time or out of fold); realised per scoring month on the score log's renewals once matured."
            }
            Metric::LogLoss => {
                "The mean over labelled renewals of -[y ln p + (1 - y) ln(1 - p)], y = 1 for a lapse, p the predicted probability clipped to [1e-15, 1 - 1e-15]. Held-out rows only. The champion/challenger margin is a relative log-loss gain."
            }
            Metric::Ece => {
                "Renewals binned by predicted probability (10 equal-width bins); ECE = sum over bins of (bin rows / all rows) x |mean predicted - observed lapse rate|. The guard rail allows the sampling noise a calibrated model shows at that size on top of its limit."
            }
            Metric::Psi => {
                "For one feature, bins fixed on the training reference (deciles for numbers, levels for categories, plus missing and unseen): PSI = sum over bins of (today - reference) x ln(today / reference), shares floored at 1e-4. Flagged at 0.1 (watch) and 0.25 (act) when above the PSI two samples of these sizes from one population exceed once in a hundred."
            }
            Metric::Qini => {
                "Renewals ranked by a score; for the top k%: prevented lapses = (control lapse rate - treated lapse rate) among them x their count. The Qini coefficient is the area between that curve and chance's straight line, per renewal, on held-out (cross-fitted) renewals."
            }
            Metric::Contribution => {
                "For a boosted model, the input's SHAP contribution to this renewal's log-odds of lapse; for the linear and spline families, the sum over its design columns of coefficient x (value - the column's training centre). Positive raises the risk; +0.7 about doubles the odds."
            }
            Metric::SaveRate => {
                "Intention to treat over a campaign's matured renewals: 1 - (lapses / renewals in the treatment arm) / (lapses / renewals in the control arm), with a 95% interval from the log risk ratio (cluster-robust by customer). The relative cut in lapses the contact causes; not the share of contacted customers who paid."
            }
            Metric::Detectable => {
                "The save rate a two-sided 5% test detects with 80% power at the campaign's arm sizes and the control lapse rate (the same equation before launch, `lapse queue --plan`, and in the effect report)."
            }
            Metric::LapseRateFunnel => {
                "For a due month: renewals (installment_no >= 2) due in the month and unpaid at due date + grace, over the renewals due in the month whose grace has ended. Base: every renewal due, paid or not."
            }
            Metric::LapseRateTraining => {
                "For the stacked snapshots of a training table: renewals at risk on each snapshot date (unpaid at T, due within 30 days or overdue in grace) that lapsed, over those renewals. Higher than a month's rate: renewals paid before T are not at risk."
            }
            Metric::Persistency => {
                "For month K (13 or 25): a policy persists when its first premium due on or after issue + (K - 1) months is paid by its due date + grace. Base: the policies whose month-K premium fell due with its grace over before the report date and whose payment term is longer than (K - 1)/12 years, less those ended by death or maturity before it fell due. By count and by annualized premium; a policy, not a renewal, is counted."
            }
            Metric::CollectionRate => {
                "For a due month M measured at T: premium collected (the amount_paid of the renewals due in M paid on or before due date + grace and before T) / premium due (their amount_due); by count: renewals collected / renewals due. A month with a renewal still in grace at T is open (in progress)."
            }
            Metric::ObservedToExpected => {
                "For a group (agent, team...) and period: premium collected / premium expected, where expected is what the lapse model predicted for each of its renewals at the start of the due month with the agent's own record set to the book's typical value (an average agent on the same customers); with a 95% interval and empirical-Bayes shrinkage."
            }
            Metric::WinBack => {
                "A policy is lapsed at T when it has a renewal due on D with D + grace before T unpaid at T; its lapse date L is D + grace of the earliest such renewal. It is a win-back candidate when T - 730 days <= L and its status visible at T is not surrendered, death_claim, matured or cancelled. Arrears: the amount_due of its renewals due before T and unpaid."
            }
        }
    }

    /// The full definition in Chinese.
    pub fn definition_zh(self) -> &'static str {
        match self {
            Metric::RocAuc => {
                "在已有结果的续期（已缴，或至应缴日加宽限期仍未缴）上：随机取一件失效续期和一件已缴续期，前者预测概率更高的概率（相同记一半）。只在模型未拟合过的行上评估（样本外时间或交叉验证）；实际 AUC 按评分月份在评分日志的续期有结果后计算。"
            }
            Metric::LogLoss => {
                "已有结果续期上 -[y ln p + (1 - y) ln(1 - p)] 的平均值，失效时 y = 1，p 为截断到 [1e-15, 1 - 1e-15] 的预测概率。仅用留出行。冠军/挑战模型的改进幅度是对数损失的相对降幅。"
            }
            Metric::Ece => {
                "续期按预测概率分入10个等宽箱；ECE = 各箱（箱内行数 / 总行数）x |平均预测 - 实际失效率| 之和。护栏在上限之外允许校准良好的模型在该样本量下仅因抽样就会产生的噪声。"
            }
            Metric::Psi => {
                "对一个特征，按训练参照固定分箱（数值型按十分位，类别型按取值，另加缺失和未见取值）：PSI = 各箱（今日占比 - 参照占比）x ln(今日占比 / 参照占比) 之和，占比下限1e-4。PSI 达到0.1为关注、0.25为行动，且须高于同一总体两组此样本量百次中仅有一次会超过的 PSI。"
            }
            Metric::Qini => {
                "续期按某一评分排序；前 k% 中可避免的失效 =（其中对照组失效率 - 实验组失效率）x 件数。Qini 系数为该曲线与随机直线之间的面积（按每件续期），在留出（交叉拟合）续期上计算。"
            }
            Metric::Contribution => {
                "提升模型中为该输入特征对此续期失效对数几率的 SHAP 贡献；线性和样条模型中为其各设计列的 系数 x（取值 - 该列训练中心）之和。正值提高风险；+0.7 约使几率翻倍。"
            }
            Metric::SaveRate => {
                "活动已有结果续期上的意向处理分析：1 -（实验组失效件数 / 件数）/（对照组失效件数 / 件数），95%置信区间由对数风险比得出（按客户聚类稳健）。即联系带来的失效相对降幅，不是被联系客户中缴费的比例。"
            }
            Metric::Detectable => {
                "在活动两组的规模和对照组失效率下，双侧5%检验以80%功效能检测到的相对流失降幅（上线前的 `lapse queue --plan` 与效果报告用同一公式）。"
            }
            Metric::LapseRateFunnel => {
                "对一个应缴月份：当月应缴的续期（installment_no >= 2）中至应缴日加宽限期仍未缴的件数，除以当月应缴且宽限期已过的续期件数。基数：所有应缴续期，无论是否已缴。"
            }
            Metric::LapseRateTraining => {
                "训练表各快照中：每个快照日处于风险中的续期（快照时未缴、30天内应缴或已逾期仍在宽限期内）中最终失效的比例。高于月度失效率，因为快照前已缴的续期不在风险中。"
            }
            Metric::Persistency => {
                "第K个月（13或25）：保单承保后满 (K - 1) 个月当日或之后的第一期保费在应缴日加宽限期内缴纳即为继续。基数：第K个月保费在统计日前已应缴且宽限期已过、缴费期长于 (K - 1)/12 年的保单，减去该期应缴前因身故或满期终止的保单。按件数和年化保费计；按保单计，不按续期计。"
            }
            Metric::CollectionRate => {
                "应缴月份 M 在统计日 T：实收续期保费（M 月应缴续期中在应缴日加宽限期内且在 T 之前缴纳的 amount_paid 之和）/ 应收续期保费（其 amount_due 之和）；按件数：已收件数 / 应缴件数。T 时仍有续期在宽限期内的月份为进行中。"
            }
            Metric::ObservedToExpected => {
                "对一个分组（业务员、团队……）和期间：实收保费 / 预期保费；预期为失效模型在应缴月份第一天对其每件续期的预测，其中业务员自身记录设为全体典型值（即一般业务员在同样客户上的预期）；附95%置信区间和经验贝叶斯收缩。"
            }
            Metric::WinBack => {
                "保单在 T 时失效：有一期续期应缴日 D 加宽限期在 T 之前且 T 时未缴；失效日 L 为最早此类续期的 D 加宽限期。当 T - 730天 <= L 且 T 时可见状态不是退保、理赔身故、满期或撤销时，为复效名单对象。欠缴金额：T 之前应缴且未缴的续期 amount_due 之和。"
            }
        }
    }
}

/// `docs/metrics.md`: every KPI the product reports, its definition in English and Chinese, one
/// anchor each (the pages name the anchor of every metric they explain).
pub fn document() -> String {
    let mut out = String::from(
        "# Metric definitions (指标口径)\n\n\
         Generated from `lapse_reports::pages::metrics` (`lapse catalog --metrics > docs/metrics.md`; a test keeps it\n\
         in step). Every page shows, beside each metric it reports, its one-line explanation and the anchor of\n\
         its definition here.\n",
    );
    for m in EVERY {
        let (en, zh) = m.names();
        out.push_str(&format!("\n<a id=\"{}\"></a>\n## {en} · {zh}\n\n{}\n\n{}\n\n{}\n", m.anchor(), m.line(), m.definition(), m.definition_zh()));
    }
    out
}

/// Every metric, in the order of `docs/metrics.md`.
pub const EVERY: [Metric; 14] = [
    Metric::LapseRateFunnel,
    Metric::LapseRateTraining,
    Metric::Persistency,
    Metric::CollectionRate,
    Metric::ObservedToExpected,
    Metric::SaveRate,
    Metric::Detectable,
    Metric::WinBack,
    Metric::RocAuc,
    Metric::LogLoss,
    Metric::Ece,
    Metric::Psi,
    Metric::Qini,
    Metric::Contribution,
];

/// The lines of `metrics`, as a note, each with the anchor of its definition in
/// `docs/metrics.md` (the line is a text node of its own, for the phrase table).
pub fn metric_notes(metrics: &[Metric]) -> Markup {
    html! {
        ul.note.metrics {
            @for m in metrics { li { span { (m.line()) } " " code.def { "docs/metrics.md#" (m.anchor()) } } }
        }
    }
}

/// Every line (for the phrase table's test).
pub const ALL: [Metric; 14] = [
    Metric::WinBack,
    Metric::RocAuc,
    Metric::LogLoss,
    Metric::Ece,
    Metric::Psi,
    Metric::Qini,
    Metric::Contribution,
    Metric::SaveRate,
    Metric::Detectable,
    Metric::LapseRateFunnel,
    Metric::LapseRateTraining,
    Metric::Persistency,
    Metric::CollectionRate,
    Metric::ObservedToExpected,
];

/// The metrics a page (by its title) shows, explained at its top.
pub fn of_page(title: &str) -> &'static [Metric] {
    use Metric::*;
    match title {
        "Drift report" => &[Psi],
        "Champion and challenger" => &[RocAuc, LogLoss, Ece],
        "Persistency" => &[Persistency],
        "Realised performance" => &[RocAuc, LogLoss],
        "Renewal funnel" => &[LapseRateFunnel],
        "Renewal team performance" => &[CollectionRate, ObservedToExpected],
        "Why customers lapse" => &[Contribution, LapseRateTraining],
        t if t.starts_with("Nightly run") => &[RocAuc, LogLoss, LapseRateTraining, Psi],
        t if t.starts_with("Campaign effect") => &[SaveRate, Detectable],
        t if t.starts_with("Uplift") => &[Qini, SaveRate],
        "Model over time" => &[RocAuc, LogLoss],
        "Drift over time" => &[Psi],
        "The book over time" => &[LapseRateFunnel, CollectionRate, Persistency, WinBack],
        "Campaigns" => &[SaveRate],
        _ => &[],
    }
}
