//! The reports as HTML pages for people: one self-contained file per report (inline CSS and
//! SVG charts, no scripts, no external resources), so a page can be mailed, archived or opened
//! from a file share. The JSON beside each page is the same report for machines.
//!
//! Pages are maud templates: every value is escaped unless wrapped in `PreEscaped`, which only
//! the stylesheet and the charts' SVG (drawn by plotters, which escapes its text) are.

mod audit;
pub mod charts;
mod effect;
mod funnel;
pub mod history;
pub mod metrics;
mod performance;
pub mod today;
mod uplift;
mod why;
pub mod zh;

pub use audit::audit_page;
pub use effect::effect_page;
pub use funnel::funnel_page;
pub use performance::performance_page;
pub use uplift::uplift_page;
pub use why::why_page;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use charts::{AMBER, BLUE, CategorySeries, Chart, GREEN, GREY, ORANGE, RED_, Series};

use crate::night::{EvaluationReport, JudgedModel, ModelEvaluation, RunSummary};
use crate::persistency::PersistencyReport;
use crate::realised::RealisedReport;
use lapse_model::drift::{DriftReport, SCORE, Status};
use lapse_model::promotion::GuardRail;

/// What every page says about where it comes from.
#[derive(Debug, Clone)]
pub struct Context {
    /// The night (as-of date) the report belongs to.
    pub night: String,
    pub generated_at: String,
    /// The language of headings and labels (`--lang`).
    pub lang: lapse_model::scoring::lang::Lang,
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:62rem;padding:0 1rem;color:#222}\
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}\
.meta{color:#666;font-size:.9rem}table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem;display:block;max-width:100%;overflow-x:auto}\
th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}td{white-space:nowrap}td.l,td div{white-space:normal}td div{text-align:left;min-width:14rem}\
.stable{color:#1e6b3f}.watch{color:#845f00;font-weight:600}.act{color:#c82828;font-weight:700}\
.pass{color:#1e6b3f;white-space:nowrap}.fail{color:#c82828;font-weight:700;white-space:nowrap}.chart{margin:.8rem 0}.note{background:#f8f8f0;border-left:3px solid #ccc;padding:.4rem .8rem}\
.verdict{font-size:1.1rem;padding:.5rem .8rem;border-radius:4px}.yes{background:#e6f4ea}.no{background:#f4f4f4}\
table.heatmap td.heat{width:14px;min-width:14px;padding:0;height:16px;border:1px solid #fff}table.heatmap th{font-size:.7rem;padding:.1rem .2rem}\
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}";

/// A whole page.
fn page(title: &str, context: &Context, body: Markup) -> Markup {
    let rendered = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No icon to fetch (a served page would ask the server for /favicon.ico).
                link rel="icon" href="data:,";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                @if zh(context) {
                    p.meta { "批次日 " (context.night) " · 生成于 " (context.generated_at) " · lapse " (env!("CARGO_PKG_VERSION")) }
                } @else {
                    p.meta { "night " (context.night) " · generated " (context.generated_at) " by lapse " (env!("CARGO_PKG_VERSION")) }
                }
                @let explained = metrics::of_page(title);
                @if !explained.is_empty() { (metrics::metric_notes(explained)) }
                (body)
            }
        }
    };
    match context.lang {
        lapse_model::scoring::lang::Lang::En => rendered,
        lapse_model::scoring::lang::Lang::ZhCn => PreEscaped(zh::translate(&rendered.into_string())),
    }
}

/// Whether the page is in Chinese: its sentences are then written in Chinese (headings and
/// short labels are replaced after rendering, by `zh::translate`).
fn zh(context: &Context) -> bool {
    context.lang == lapse_model::scoring::lang::Lang::ZhCn
}

/// `en` or `zh`, by the page's language (chart titles, axes and legends).
fn say<'a>(context: &Context, en: &'a str, zh_text: &'a str) -> &'a str {
    if zh(context) { zh_text } else { en }
}

/// A chart, or the reason it is missing.
fn chart(chart: Chart) -> Markup {
    match chart {
        // plotters writes the SVG and escapes the text in it.
        Ok(svg) => html! { div.chart { (PreEscaped(svg)) } },
        Err(reason) => html! { p.note { "(chart not drawn: " (reason) ")" } },
    }
}

/// A table: header cells and rows of cells. The first `left` columns are left-aligned (text),
/// the others right-aligned (numbers). No header row when every header is empty.
fn table(header: &[&str], rows: &[Vec<Markup>], left: usize) -> Markup {
    let class = |i: usize| if i < left { Some("l") } else { None };
    html! {
        table {
            @if header.iter().any(|h| !h.is_empty()) {
                tr { @for (i, h) in header.iter().enumerate() { th class=[class(i)] { (h) } } }
            }
            @for row in rows {
                tr { @for (i, cell) in row.iter().enumerate() { td class=[class(i)] { (cell) } } }
            }
        }
    }
}

fn text(value: impl maud::Render) -> Markup {
    html! { (value) }
}

fn num(x: Option<f64>, digits: usize) -> Markup {
    text(match x {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        Some(x) if x.is_infinite() => "inf".into(),
        _ => "–".into(),
    })
}

fn pct(x: Option<f64>) -> Markup {
    text(x.filter(|x| x.is_finite()).map_or("–".into(), |x| format!("{:.1}%", 100.0 * x)))
}

fn verdict_cell(passed: bool) -> Markup {
    if passed {
        html! { span.pass { "pass" } }
    } else {
        html! { span.fail { "fail" } }
    }
}

/// A drift status in the page's language.
fn status_name(context: &Context, status: Status) -> &'static str {
    match (status, zh(context)) {
        (s, false) => s.as_str(),
        (Status::Stable, true) => "稳定",
        (Status::Watch, true) => "关注",
        (Status::Act, true) => "行动",
    }
}

fn status_cell(status: Status) -> Markup {
    html! { span class=(status.as_str()) { (status.as_str()) } }
}

fn guard_rail_rows(context: &Context, rails: &[GuardRail]) -> Vec<Vec<Markup>> {
    rails
        .iter()
        .map(|r| {
            let detail = if zh(context) { lapse_model::promotion::zh_or_en(&r.detail_zh, &r.detail) } else { &r.detail };
            vec![text(&r.name), verdict_cell(r.passed), text(detail)]
        })
        .collect()
}

/// "challenger" / "champion" in the page's language.
fn role_name(context: &Context, role: &str) -> &'static str {
    match (role, zh(context)) {
        ("challenger", false) => "challenger",
        ("challenger", true) => "挑战模型",
        (_, false) => "champion",
        (_, true) => "冠军模型",
    }
}

/// The decision's reasons in the page's language.
fn reasons<'a>(context: &Context, decision: &'a lapse_model::promotion::Decision) -> &'a [String] {
    if zh(context) && !decision.reasons_zh.is_empty() { &decision.reasons_zh } else { &decision.reasons }
}

/// The drift report: PSI per feature (ranked, by status), the score's distribution reference
/// against today, and the distributions of the flagged features.
/// `labels_changed`: how many of the model's training labels a late entry or a change after
/// the fact moved since it was trained (from the night's data-quality audit).
pub fn drift_page(context: &Context, model: &str, report: &DriftReport, labels_changed: Option<usize>) -> Markup {
    let shown: Vec<_> = report.features.iter().take(30).collect();
    let labels: Vec<String> = shown.iter().map(|f| f.feature.clone()).collect();
    let values: Vec<f64> = shown.iter().map(|f| f.psi).collect();
    let colors: Vec<_> = shown
        .iter()
        .map(|f| match f.status {
            Status::Act => RED_,
            Status::Watch => AMBER,
            Status::Stable => GREEN,
        })
        .collect();
    let title = match (report.features.len() > shown.len(), zh(context)) {
        (true, false) => format!("the {} most drifted of {} features", shown.len(), report.features.len()),
        (true, true) => format!("{} 个特征中漂移最大的 {} 个", report.features.len(), shown.len()),
        (false, false) => "every feature".to_string(),
        (false, true) => "全部特征".to_string(),
    };
    let (reference_name, today_name) = (say(context, "training reference", "训练参照"), say(context, "today", "今日"));
    let rows_axis = say(context, "share of rows", "行占比");
    let shares = |f: &lapse_model::drift::FeatureDrift| -> (Vec<String>, Vec<f64>, Vec<f64>) {
        (f.bins.iter().map(|b| b.bin.clone()).collect(), f.bins.iter().map(|b| b.reference).collect(), f.bins.iter().map(|b| b.current).collect())
    };
    let rows: Vec<Vec<Markup>> = report
        .features
        .iter()
        .map(|f| {
            vec![
                text(&f.feature),
                text(f.kind),
                num(Some(f.psi), 4),
                num(Some(f.psi_noise), 4),
                num(f.ks, 4),
                pct(Some(f.missing_reference)),
                pct(Some(f.missing_current)),
                pct(f.unseen_share),
                status_cell(f.status),
            ]
        })
        .collect();
    let body = html! {
        @if zh(context) {
            p {
                "今日评分快照（" (report.current_rows) " 件续期）对比模型 " b { (model) } " 的训练参照（" (report.reference_rows) " 行）。"
                "PSI 达到 " (report.thresholds.watch) " 为" span.watch { "watch" } "，达到 " (report.thresholds.act) " 为" span.act { "act" }
                "，且须同时高于其噪声（同一总体中这样大小的样本百次中仅有一次会超过的 PSI；对小快照有意义）。"
                "数值型特征按参照的十分位分箱，类别型按取值分箱，另各有“未见取值”和“缺失”两箱。"
            }
            @if report.flagged.is_empty() {
                p.verdict.yes { "没有特征的漂移超过关注阈值。" }
            } @else {
                p.verdict.no { "需关注的特征：" (report.flagged.join("、")) }
            }
            @if !report.missing_features.is_empty() {
                p.note { "今日表中缺少：" (report.missing_features.join("、")) }
            }
        } @else {
            p {
                "Today's scoring snapshot (" (report.current_rows) " renewals) against the training reference of model " b { (model) } " (" (report.reference_rows) " rows). "
                "PSI at or above " (report.thresholds.watch) " is " span.watch { "watch" } ", at or above " (report.thresholds.act) " " span.act { "act" }
                ", when it is also above its noise (the PSI that samples of these sizes from one population exceed once in a hundred; it matters for small snapshots). "
                "Numbers are binned at the reference deciles, categories by level, each with an unseen and a missing bucket."
            }
            @if report.flagged.is_empty() {
                p.verdict.yes { "No feature drifted past the watch threshold." }
            } @else {
                p.verdict.no { "Flagged: " (report.flagged.join(", ")) }
            }
            @if !report.missing_features.is_empty() {
                p.note { "Missing from today's table: " (report.missing_features.join(", ")) }
            }
        }
        @if let Some(n) = labels_changed {
            @if zh(context) {
                p.note { "自模型训练以来，补录或事后更改改变了 " (n) " 个训练标签（见数据质量审计）。" }
            } @else {
                p.note { (n) " training labels changed since the model was trained (late entries and changes after the fact: see the data-quality audit)." }
            }
        }
        @if let Some(score) = report.features.iter().find(|f| f.feature == SCORE) {
            h2 { "Score distribution" }
            @let (labels, reference, current) = shares(score);
            (chart(charts::distribution(&format!("{}: PSI {:.3}", say(context, "model score", "模型评分"), score.psi), rows_axis, &labels, &reference, &current, reference_name, today_name)))
        }
        h2 { "PSI by feature" }
        (chart(charts::horizontal_bars(&title, "PSI", &labels, &values, &colors, &[(report.thresholds.watch, AMBER), (report.thresholds.act, RED_)])))
        @for f in report.features.iter().filter(|f| f.status != Status::Stable && f.feature != SCORE).take(8) {
            h2 { (f.feature) }
            @let (labels, reference, current) = shares(f);
            (chart(charts::distribution(&format!("{}: PSI {:.3} ({})", f.feature, f.psi, status_name(context, f.status)), rows_axis, &labels, &reference, &current, reference_name, today_name)))
        }
        h2 { "Every feature" }
        (table(&["feature", "kind", "PSI", "PSI noise", "KS", "missing (reference)", "missing (today)", "unseen levels", "status"], &rows, 1))
    };
    page("Drift report", context, body)
}

/// Champion against challenger on the same out-of-time rows: metrics, guard rails, decision,
/// calibration, gains and retained-premium curves.
pub fn evaluation_page(context: &Context, report: &EvaluationReport) -> Markup {
    let window = report.window.as_ref().map_or("(no window)".to_string(), |(a, b)| format!("{a} .. {b}"));
    let mut models: Vec<(&str, &ModelEvaluation)> = vec![("challenger", &report.challenger)];
    if let Some(champion) = &report.champion {
        models.push(("champion", champion));
    }
    let rows: Vec<Vec<Markup>> = models
        .iter()
        .map(|(role, m)| {
            let e = &m.evaluation;
            vec![
                text(format!("{} {}", role_name(context, role), m.version)),
                text(m.family.as_str()),
                num(e.roc_auc, 4),
                num(Some(e.log_loss), 5),
                num(Some(e.brier), 5),
                num(Some(e.ece), 4),
                pct(Some(e.mean_predicted)),
                pct(Some(e.lapse_rate)),
                num(e.top_decile_lift, 2),
                pct(e.retained_premium.get(9).copied()),
            ]
        })
        .collect();
    let colors = [ORANGE, BLUE];
    let series = |points: &dyn Fn(&ModelEvaluation) -> Vec<(f64, f64)>| -> Vec<Series> {
        models
            .iter()
            .zip(colors)
            .map(|((role, m), color)| Series { name: format!("{} {}", role_name(context, role), m.version), points: points(m), color })
            .collect()
    };
    let calibration = series(&|m| m.evaluation.reliability.iter().filter(|b| b.count > 0).map(|b| (b.mean_predicted, b.observed_rate)).collect());
    let top = calibration.iter().flat_map(|s| s.points.iter().map(|p| p.0.max(p.1))).fold(0.05, f64::max).min(1.0);
    let curve = |v: &[f64]| -> Vec<(f64, f64)> {
        std::iter::once((0.0, 0.0)).chain(v.iter().enumerate().map(|(k, &y)| ((k + 1) as f64 / 100.0, y))).collect()
    };
    let gains = series(&|m| curve(&m.evaluation.gains));
    let premium = series(&|m| curve(&m.evaluation.retained_premium));
    let body = html! {
        @if zh(context) {
            p {
                "挑战模型在样本外时间窗口 " (window) " 的 " (report.rows) " 件留出续期上评估"
                "（这些快照的结果均已知；模型只用更早的快照拟合，且每一行都由未用该行校准的模型评分）。"
            }
            @if report.champion.is_some() {
                p {
                    "两个模型在其中两者都未拟合过的 " (report.comparison.compared) " 件续期（失效 " (report.comparison.compared_lapses) " 件）上比较："
                    (report.comparison.dropped_champion_fitted) " 件因冠军模型已学过其结果而排除，"
                    (report.comparison.dropped_challenger_fitted) " 件因挑战模型已学过而排除。已拟合续期的依据："
                    (lapse_model::promotion::zh_or_en(&report.comparison.basis_zh, &report.comparison.basis)) "。"
                }
            }
            @if report.decision.promote {
                p.verdict.yes { "上线：" (reasons(context, &report.decision).join("；")) }
            } @else {
                p.verdict.no { "未上线：" (reasons(context, &report.decision).join("；")) }
            }
        } @else {
            p {
                "The challenger was judged on " (report.rows) " held-out renewals of the out-of-time window " (window)
                " (snapshots whose outcomes are all known; it was fitted on earlier snapshots only and calibrated on other rows than each one it is judged on)."
            }
            @if report.champion.is_some() {
                p {
                    "Both models are compared on the " (report.comparison.compared) " of them (" (report.comparison.compared_lapses) " lapses) that neither model was fitted on: "
                    (report.comparison.dropped_champion_fitted) " were left out because the champion had learnt their outcome, "
                    (report.comparison.dropped_challenger_fitted) " because the challenger had. " (report.comparison.basis) "."
                }
            }
            @if report.decision.promote {
                p.verdict.yes { "Promoted: " (report.decision.reasons.join("; ")) }
            } @else {
                p.verdict.no { "Not promoted: " (report.decision.reasons.join("; ")) }
            }
            // The notes repeat the comparison above and the champion's failure the reasons
            // give; in English they stay as the judge wrote them.
            @for note in &report.notes { p.note { (note) } }
        }
        h2 { "Held-out metrics" }
        (table(&["model", "family", "ROC AUC", "log loss", "Brier", "ECE", "mean predicted", "observed", "top-decile lift", "lapsed premium in top 10%"], &rows, 1))
        h2 { "Guard rails (challenger)" }
        (table(&["rule", "verdict", "measured"], &guard_rail_rows(context, &report.guard_rails), 3))
        @if !report.champion_guard_rails.is_empty() {
            h2 { "Guard rails (champion, on the renewals it never saw)" }
            (table(&["rule", "verdict", "measured"], &guard_rail_rows(context, &report.champion_guard_rails), 3))
        }
        h2 { "Calibration" }
        (chart(charts::lines(
            say(context, "observed lapse rate by predicted probability (bins)", "按预测概率分箱的实际失效率"),
            say(context, "mean predicted", "平均预测"),
            say(context, "observed", "实际"),
            &calibration,
            (0.0, top),
            (0.0, top),
            Some(say(context, "perfect calibration", "完美校准")),
        )))
        h2 { "Whom to call first" }
        @let contacted = say(context, "share of renewals contacted", "联系的续期占比");
        @let random = Some(say(context, "random order", "随机顺序"));
        (chart(charts::lines(say(context, "share of lapses among the top k% by probability", "按概率排前 k% 的续期覆盖的失效占比"), contacted, say(context, "share of lapses", "失效占比"), &gains, (0.0, 1.0), (0.0, 1.0), random)))
        (chart(charts::lines(
            say(context, "share of lapsed premium among the top k% by priority (probability x value)", "按优先级（概率 x 价值）排前 k% 的续期覆盖的失效保费占比"),
            contacted,
            say(context, "share of lapsed premium", "失效保费占比"),
            &premium,
            (0.0, 1.0),
            (0.0, 1.0),
            random,
        )))
        @if let Some((measure, inputs)) = &report.importance {
            h2 { "What the challenger learnt" }
            @if zh(context) {
                p { "影响最大的输入特征（" (zh::phrase(measure).unwrap_or(measure)) "），以及排名靠前的数值型特征取其各十分位值时，模型在自身训练表抽样行上的平均预测失效概率（部分依赖；这些行是模型拟合过的：曲线显示模型学到了什么，而不是预测得有多准）。" }
            } @else {
                p { "Its most influential inputs (" (measure) "), and for the top numeric ones the mean predicted lapse probability over sampled rows of its own training table (rows it was fitted on: the curves show what it learnt, not how well it predicts) when the input is set to each of its deciles (partial dependence)." }
            }
            (table(&["input", measure.as_str()], &inputs.iter().map(|(name, v)| vec![text(name), num(Some(*v), 4)]).collect::<Vec<_>>(), 1))
        }
        @for pd in &report.partial_dependence {
            @let (lo, hi) = pd.points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
            @let top = pd.points.iter().map(|p| p.1).fold(0.01, f64::max);
            (chart(charts::lines(
                &format!("{}: {}", say(context, "partial dependence", "部分依赖"), pd.feature),
                &pd.feature,
                say(context, "mean predicted P(lapse)", "平均预测失效概率"),
                &[Series { name: pd.feature.clone(), points: pd.points.clone(), color: ORANGE }],
                (lo, if hi > lo { hi } else { lo + 1.0 }),
                (0.0, (top * 1.2).min(1.0)),
                None,
            )))
        }
    };
    page("Champion and challenger", context, body)
}

/// Persistency by issue cohort (chart), and the tables by cohort, channel, product and region.
pub fn persistency_page(context: &Context, report: &PersistencyReport) -> Markup {
    let overall: Vec<Vec<Markup>> = report
        .kpis
        .iter()
        .filter(|k| k.dimension == "all")
        .map(|k| {
            let month = if zh(context) { format!("第{}个月", k.month) } else { format!("{}th month", k.month) };
            vec![text(month), text(k.policies), text(k.persisting), pct(k.ratio_by_count), pct(k.ratio_by_premium)]
        })
        .collect();
    let cohorts: Vec<String> = {
        let mut years: Vec<String> = report.kpis.iter().filter(|k| k.dimension == "issue_year").map(|k| k.group.clone()).collect();
        years.sort();
        years.dedup();
        years
    };
    let series: Vec<CategorySeries> = [(13, "count", ORANGE), (25, "count", BLUE), (13, "premium", AMBER), (25, "premium", GREY)]
        .into_iter()
        .map(|(month, by, color)| CategorySeries {
            name: if zh(context) {
                format!("第{month}个月（按{}）", if by == "count" { "件数" } else { "保费" })
            } else {
                format!("{month}th month by {by}")
            },
            values: cohorts
                .iter()
                .map(|c| {
                    report
                        .kpis
                        .iter()
                        .find(|k| k.dimension == "issue_year" && k.month == month && &k.group == c)
                        .and_then(|k| if by == "count" { k.ratio_by_count } else { k.ratio_by_premium })
                })
                .collect(),
            color,
        })
        .collect();
    let low = series.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(1.0, f64::min);
    let by_dimension = |dimension: &str| -> Vec<Vec<Markup>> {
        let mut groups: Vec<&str> = report.kpis.iter().filter(|k| k.dimension == dimension).map(|k| k.group.as_str()).collect();
        groups.sort_unstable();
        groups.dedup();
        groups
            .iter()
            .map(|g| {
                let cell = |month: u32| report.kpis.iter().find(|k| k.dimension == dimension && k.month == month && k.group == *g);
                let (m13, m25) = (cell(13), cell(25));
                vec![
                    text(g),
                    text(m13.map_or(0, |k| k.policies)),
                    pct(m13.and_then(|k| k.ratio_by_count)),
                    pct(m13.and_then(|k| k.ratio_by_premium)),
                    text(m25.map_or(0, |k| k.policies)),
                    pct(m25.and_then(|k| k.ratio_by_count)),
                    pct(m25.and_then(|k| k.ratio_by_premium)),
                ]
            })
            .collect()
    };
    let body = html! {
        @if zh(context) {
            p { "统计日 " (report.as_of) "，宽限期 " (report.grace_days) " 天。" }
            p.note { b { "定义。" } (crate::persistency::DEFINITION_ZH) }
        } @else {
            p { "As of " (report.as_of) ", grace " (report.grace_days) " days." }
            p.note { b { "Definition." } " " (report.definition) }
        }
        h2 { "Overall" }
        (table(&["", "policies", "persisting", "by count", "by premium"], &overall, 1))
        h2 { "By issue cohort" }
        (chart(charts::category_lines(
            say(context, "persistency by issue year", "按承保年度的继续率"),
            say(context, "persistency ratio", "继续率"),
            &cohorts,
            &series,
            ((low - 0.05).max(0.0), 1.0),
        )))
        @for (dimension, title) in [("issue_year", "By issue year"), ("channel", "By channel"), ("product_type", "By product type"), ("region", "By region")] {
            h2 { (title) }
            (table(&["group", "13th: policies", "13th: by count", "13th: by premium", "25th: policies", "25th: by count", "25th: by premium"], &by_dimension(dimension), 1))
        }
    };
    page("Persistency", context, body)
}

/// Realised performance per scoring month: AUC (realised and expected) and calibration in the
/// large over time, and the tables by channel and product.
pub fn realised_page(context: &Context, report: &RealisedReport) -> Markup {
    let overall: Vec<_> = report.months.iter().filter(|m| m.dimension == "all").collect();
    let months: Vec<String> = overall.iter().map(|m| m.month.clone()).collect();
    let auc_series = vec![
        CategorySeries { name: say(context, "realised AUC", "实际 AUC").into(), values: overall.iter().map(|m| m.roc_auc).collect(), color: BLUE },
        CategorySeries {
            name: say(context, "expected AUC (before labels)", "预期 AUC（结果未知前）").into(),
            values: overall.iter().map(|m| m.expected_auc).collect(),
            color: ORANGE,
        },
    ];
    let low = auc_series.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(1.0, f64::min);
    let rate_series = vec![
        CategorySeries {
            name: say(context, "observed lapse rate", "实际失效率").into(),
            values: overall.iter().map(|m| m.observed_lapse_rate).collect(),
            color: BLUE,
        },
        CategorySeries {
            name: say(context, "mean predicted", "平均预测").into(),
            values: overall.iter().map(|m| m.predicted_lapse_rate).collect(),
            color: ORANGE,
        },
    ];
    let high = rate_series.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(0.01, f64::max);
    let by_dimension = |dimension: &str| -> Vec<Vec<Markup>> {
        report
            .months
            .iter()
            .filter(|m| m.dimension == dimension)
            .map(|m| {
                vec![
                    text(&m.month),
                    text(if dimension == "all" { "" } else { &m.group }),
                    text(m.scored),
                    text(m.labelled),
                    text(match (m.matured, zh(context)) {
                        (true, false) => "final".to_string(),
                        (true, true) => "已定".to_string(),
                        (false, false) => format!("{} ({} paid)", m.maturing, m.maturing_paid),
                        (false, true) => format!("{}（已缴 {}）", m.maturing, m.maturing_paid),
                    }),
                    num(m.roc_auc, 4),
                    num(m.expected_auc, 4),
                    num(m.log_loss, 4),
                    pct(m.observed_lapse_rate),
                    pct(m.predicted_lapse_rate),
                    num(m.top_decile_lift, 2),
                    pct(m.top_decile_premium_capture),
                ]
            })
            .collect()
    };
    let by_group = |dimension: &str| -> Vec<Vec<Markup>> {
        by_dimension(dimension)
            .into_iter()
            .map(|row| row.into_iter().enumerate().filter(|(i, _)| ![6, 11].contains(i)).map(|(_, cell)| cell).collect())
            .collect()
    };
    let body = html! {
        @if zh(context) {
            p {
                "评分日志（" (report.log_lines) " 行，跳过格式错误的 " (report.malformed_lines) " 行，数据中找不到的续期 " (report.unknown_renewals) " 件）"
                "与 " (report.outcomes_as_of) " 已知的结果（宽限期 " (report.grace_days) " 天）关联。"
                "每件续期在每个评分月份只计一次，取该月最后一次评分。" i { "预期 AUC" }
                "是在任何结果已知之前、仅由预测概率本身推出的 AUC（即 NannyML 的 CBPE 估计），前提是概率已校准；结果陆续到来后可与实际 AUC 对比。"
            }
            p {
                "实际指标只用" b { "已有结果" } "的续期（宽限期在 " (report.outcomes_as_of) " 前结束）：提前缴费的续期立即可知，失效的续期要到宽限期结束才可知，"
                "因此若计入仍在宽限期内月份的已缴续期，会低估该月失效率、高估其 AUC。仍有续期在宽限期内的月份会标明件数，其指标只覆盖已有结果的续期。"
            }
        } @else {
        p {
            "The score log (" (report.log_lines) " lines, " (report.malformed_lines) " malformed lines skipped, " (report.unknown_renewals) " renewals unknown to the extract) "
            "joined with the outcomes known on " (report.outcomes_as_of) " (grace " (report.grace_days) " days). "
            "Each renewal counts once per scoring month, with its last score of that month. " i { "Expected AUC" }
            " is what the probabilities themselves imply before any label is known (as NannyML's CBPE estimates it), if they are calibrated; compare it with the realised AUC as outcomes arrive."
        }
        p {
            "Realised figures use only " b { "matured" } " renewals (grace ended before " (report.outcomes_as_of) "): a renewal paid early is known at once, one that lapses only when its grace ends, "
            "so counting the paid ones of a month still in grace would understate its lapse rate and flatter its AUC. A month with renewals still in grace shows how many, and its figures cover its matured renewals only."
        }
        }
        @let cbpe = if zh(context) { format!("CBPE 依赖的校准：{}。", report.cbpe_calibration.note_zh()) } else { format!("Calibration CBPE assumes: {}.", report.cbpe_calibration.note) };
        @if report.cbpe_calibration.trusted {
            p.note { (cbpe) }
        } @else {
            p.verdict.no { (cbpe) }
        }
        h2 { "AUC over time" }
        (chart(charts::category_lines(say(context, "ROC AUC by scoring month", "各评分月份的 ROC AUC"), "ROC AUC", &months, &auc_series, ((low - 0.05).max(0.0), 1.0))))
        @if overall.iter().any(|m| m.labelled > 0) {
            (chart(charts::category_lines(
                say(context, "observed vs predicted lapse rate (matured renewals)", "实际与预测失效率（已有结果的续期）"),
                say(context, "lapse rate", "失效率"),
                &months,
                &rate_series,
                (0.0, (high * 1.2).min(1.0)),
            )))
        } @else if zh(context) {
            p.note { "尚无已评分续期有结果：首批宽限期结束后才有实际指标。" }
        } @else {
            p.note { "No scored renewal has matured yet: the realised figures come once the first grace periods end." }
        }
        h2 { "Every renewal" }
        (table(&["month", "group", "scored", "matured", "still in grace (paid)", "AUC", "expected AUC", "log loss", "observed", "predicted", "top-decile lift", "lapsed premium in top 10%"], &by_dimension("all"), 2))
        // By group, the figures that compare groups (the expected AUC and the premium capture
        // of each group are in realised.json): a table that fits a laptop's screen.
        @for (dimension, title) in [("channel", "By channel"), ("product_type", "By product type")] {
            h2 { (title) }
            (table(&["month", "group", "scored", "matured", "still in grace (paid)", "AUC", "log loss", "observed", "predicted", "top-decile lift"], &by_group(dimension), 2))
        }
    };
    page("Realised performance", context, body)
}

/// The night's summary: decision, guard rails, drift, links to the other reports.
pub fn index_page(context: &Context, summary: &RunSummary) -> Markup {
    let e = &summary.extract;
    let t = &summary.training;
    // The same three rows in either language: only the sentences differ.
    let (first, last) = (t.snapshots.first().map_or("", String::as_str), t.snapshots.last().map_or("", String::as_str));
    let latest = e.latest_observed.as_deref().unwrap_or("-");
    let (s, n) = (&summary.snapshot, t.snapshots.len());
    let (extract, snapshot, training) = if zh(context) {
        (
            format!("保单 {} 件，缴费期次 {} 条，事件 {} 条；拒收 {} 行；最新记录 {latest}", e.policies, e.installments, e.events, e.rejected_rows),
            format!("处于风险中的续期 {} 件：{} 天内应缴，或已逾期但仍在宽限期内；", s.rows, s.horizon_days),
            format!(
                "{n} 个月度快照 {first}..{last}：有结果的 {} 行（训练 {} 行，留出 {} 行），失效率 {:.2}%",
                t.rows_labelled,
                t.rows_train,
                t.rows_validation,
                100.0 * t.lapse_rate
            ),
        )
    } else {
        (
            format!(
                "{} policies, {} installments, {} events; {} rows rejected; latest record {latest}",
                e.policies, e.installments, e.events, e.rejected_rows
            ),
            format!("{} renewals at risk: due in the next {} days, or overdue and still in their grace period; ", s.rows, s.horizon_days),
            format!(
                "{n} monthly snapshots {first}..{last}: {} labelled rows ({} train, {} held out), lapse rate {:.2}%",
                t.rows_labelled,
                t.rows_train,
                t.rows_validation,
                100.0 * t.lapse_rate
            ),
        )
    };
    let inputs = vec![
        vec![text("extract"), text(extract)],
        vec![text("snapshot"), html! { (snapshot) code { (s.path) } }],
        vec![text("training"), text(training)],
    ];
    let mut models: Vec<(&str, &JudgedModel)> = vec![("challenger", &summary.challenger)];
    if let Some(c) = &summary.champion {
        models.push(("champion", c));
    }
    let model_rows: Vec<Vec<Markup>> = models
        .iter()
        .map(|(role, m)| {
            vec![
                text(format!("{} {}", role_name(context, role), m.version)),
                text(m.family.as_str()),
                num(m.roc_auc, 4),
                num(Some(m.log_loss), 5),
                num(Some(m.ece), 4),
                pct(Some(m.mean_predicted)),
            ]
        })
        .collect();
    let none_or = |names: &[String]| match (names.is_empty(), zh(context)) {
        (true, false) => "none".to_string(),
        (true, true) => "无".to_string(),
        (false, false) => names.join(", "),
        (false, true) => names.join("、"),
    };
    let body = html! {
        @if summary.decision.promote {
            p.verdict.yes { "Challenger promoted: champion now " (summary.champion_after.as_deref().unwrap_or("(none)")) "." }
        } @else {
            p.verdict.no { "Champion kept: champion now " (summary.champion_after.as_deref().unwrap_or("(none)")) "." }
        }
        ul { @for reason in reasons(context, &summary.decision) { li { (reason) } } }
        h2 { "Reports" }
        ul {
            @for report in summary.reports.iter().filter(|r| r.ends_with(".html") && r.as_str() != "index.html") {
                li { a href=(report) { (report) } " (" a href=(report.replace(".html", ".json")) { "json" } ")" }
            }
            li { a href="nightly.json" { "nightly.json" } (say(context, ": this run, for machines", "：本次批次（供程序读取）")) }
        }
        h2 { "Inputs" }
        (table(&["", ""], &inputs, 2))
        h2 { "Models" }
        (table(&["model", "family", "ROC AUC", "log loss", "ECE", "mean predicted"], &model_rows, 1))
        (table(&["guard rail", "verdict", "measured"], &guard_rail_rows(context, &summary.guard_rails), 3))
        h2 { "Drift" }
        @if zh(context) {
            p { "对比 " (summary.drift.model) " 的参照：需关注 " (none_or(&summary.drift.flagged)) "；需行动 " (none_or(&summary.drift.act)) "；评分 PSI " (num(summary.drift.score_psi, 4)) "。" }
        } @else {
            p { "Against the reference of " (summary.drift.model) ": flagged " (none_or(&summary.drift.flagged)) "; act " (none_or(&summary.drift.act)) "; score PSI " (num(summary.drift.score_psi, 4)) "." }
        }
        @if let Some(audit) = &summary.audit {
            h2 { "Data quality" }
            @let found: Vec<String> = audit.checks.iter().filter(|c| c.2 > 0).map(|c| format!("{} ({}) {}", c.0, c.1, c.2)).collect();
            @if zh(context) {
                p {
                    "今晚的数据对比 " (audit.previous_night) " 的数据：" (if found.is_empty() { "没有检出任何行".to_string() } else { found.join("、") }) "。"
                    @if let Some(n) = audit.training_labels_changed { "冠军模型的训练标签被改变 " (n) " 个。" }
                    " " a href="audit.html" { "audit.html" }
                }
            } @else {
                p {
                    "Tonight's extract against the one of " (audit.previous_night) ": " (if found.is_empty() { "no check found a row".to_string() } else { found.join(", ") }) ". "
                    @if let Some(n) = audit.training_labels_changed { (n) " of the champion's training labels changed. " }
                    a href="audit.html" { "audit.html" }
                }
            }
            @if !audit.warnings.is_empty() {
                ul { @for w in &audit.warnings { li { code { (w) } } } }
            }
        }
    };
    page(&format!("Nightly run {}", summary.as_of), context, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapse_model::drift::{BinShares, FeatureDrift, Thresholds};

    #[test]
    fn text_from_the_data_is_escaped_and_pages_are_whole() {
        let hostile = "<script>alert(1)</script>";
        let feature = FeatureDrift {
            feature: hostile.into(),
            kind: "categorical",
            psi: 0.3,
            psi_noise: 0.0,
            ks: None,
            missing_reference: 0.0,
            missing_current: 0.0,
            unseen_share: Some(0.2),
            status: Status::Act,
            bins: vec![
                BinShares { bin: hostile.into(), reference: 1.0, current: 0.8 },
                BinShares { bin: "unseen".into(), reference: 0.0, current: 0.2 },
            ],
        };
        let report = DriftReport {
            reference_rows: 10,
            current_rows: 10,
            thresholds: Thresholds::default(),
            features: vec![feature],
            flagged: vec![hostile.into()],
            missing_features: vec![],
        };
        let page =
            drift_page(&Context { night: "2026-09-30".into(), generated_at: "now".into(), lang: Default::default() }, "v0001 \"&", &report, None)
                .into_string();
        assert!(!page.contains("<script"), "unescaped text in the page");
        assert!(page.contains("&lt;script&gt;") && page.contains("v0001 &quot;&amp;"), "escaped text missing");
        assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
        assert!(page.contains("<svg") && !page.contains("chart not drawn"));
    }

    #[test]
    fn a_chart_without_data_becomes_a_note() {
        let page = drift_page(
            &Context { night: "n".into(), generated_at: "g".into(), lang: Default::default() },
            "v",
            &DriftReport {
                reference_rows: 0,
                current_rows: 0,
                thresholds: Thresholds::default(),
                features: vec![],
                flagged: vec![],
                missing_features: vec![],
            },
            None,
        )
        .into_string();
        assert!(page.contains("chart not drawn: nothing to draw"));
    }
}
