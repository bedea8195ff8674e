//! The reports as HTML pages for people: one self-contained file per report (inline CSS and
//! SVG charts, no scripts, no external resources), so a page can be mailed, archived or opened
//! from a file share. The JSON beside each page is the same report for machines.
//!
//! Pages are maud templates: every value is escaped unless wrapped in `PreEscaped`, which only
//! the stylesheet and the charts' SVG (drawn by plotters, which escapes its text) are.

pub mod charts;
mod effect;
mod funnel;
pub mod metrics;
mod performance;
mod uplift;
mod why;
pub mod zh;

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
th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}td{white-space:nowrap}\
.stable{color:#2e8b57}.watch{color:#b38600;font-weight:600}.act{color:#c82828;font-weight:700}\
.pass{color:#2e8b57}.fail{color:#c82828;font-weight:700}.chart{margin:.8rem 0}.note{background:#f8f8f0;border-left:3px solid #ccc;padding:.4rem .8rem}\
.verdict{font-size:1.1rem;padding:.5rem .8rem;border-radius:4px}.yes{background:#e6f4ea}.no{background:#f4f4f4}";

/// A whole page.
fn page(title: &str, context: &Context, body: Markup) -> Markup {
    let rendered = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                p.meta { "night " (context.night) " · generated " (context.generated_at) " by lapse " (env!("CARGO_PKG_VERSION")) }
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

fn status_cell(status: Status) -> Markup {
    html! { span class=(status.as_str()) { (status.as_str()) } }
}

fn guard_rail_rows(rails: &[GuardRail]) -> Vec<Vec<Markup>> {
    rails.iter().map(|r| vec![text(&r.name), verdict_cell(r.passed), text(&r.detail)]).collect()
}

/// The drift report: PSI per feature (ranked, by status), the score's distribution reference
/// against today, and the distributions of the flagged features.
pub fn drift_page(context: &Context, model: &str, report: &DriftReport) -> Markup {
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
    let title = if report.features.len() > shown.len() {
        format!("the {} most drifted of {} features", shown.len(), report.features.len())
    } else {
        "every feature".to_string()
    };
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
        @if let Some(score) = report.features.iter().find(|f| f.feature == SCORE) {
            h2 { "Score distribution" }
            @let (labels, reference, current) = shares(score);
            (chart(charts::distribution(&format!("model score: PSI {:.3}", score.psi), &labels, &reference, &current, "training reference", "today")))
        }
        h2 { "PSI by feature" }
        (chart(charts::horizontal_bars(&title, "PSI", &labels, &values, &colors, &[(report.thresholds.watch, AMBER), (report.thresholds.act, RED_)])))
        @for f in report.features.iter().filter(|f| f.status != Status::Stable && f.feature != SCORE).take(8) {
            h2 { (f.feature) }
            @let (labels, reference, current) = shares(f);
            (chart(charts::distribution(&format!("{}: PSI {:.3} ({})", f.feature, f.psi, f.status), &labels, &reference, &current, "training reference", "today")))
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
                text(format!("{role} {}", m.version)),
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
        models.iter().zip(colors).map(|((role, m), color)| Series { name: format!("{role} {}", m.version), points: points(m), color }).collect()
    };
    let calibration = series(&|m| m.evaluation.reliability.iter().filter(|b| b.count > 0).map(|b| (b.mean_predicted, b.observed_rate)).collect());
    let top = calibration.iter().flat_map(|s| s.points.iter().map(|p| p.0.max(p.1))).fold(0.05, f64::max).min(1.0);
    let curve = |v: &[f64]| -> Vec<(f64, f64)> {
        std::iter::once((0.0, 0.0)).chain(v.iter().enumerate().map(|(k, &y)| ((k + 1) as f64 / 100.0, y))).collect()
    };
    let gains = series(&|m| curve(&m.evaluation.gains));
    let premium = series(&|m| curve(&m.evaluation.retained_premium));
    let body = html! {
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
        @for note in &report.notes { p.note { (note) } }
        h2 { "Held-out metrics" }
        (table(&["model", "family", "ROC AUC", "log loss", "Brier", "ECE", "mean predicted", "observed", "top-decile lift", "lapsed premium in top 10%"], &rows, 1))
        h2 { "Guard rails (challenger)" }
        (table(&["rule", "verdict", "measured"], &guard_rail_rows(&report.guard_rails), 3))
        @if !report.champion_guard_rails.is_empty() {
            h2 { "Guard rails (champion, on the renewals it never saw)" }
            (table(&["rule", "verdict", "measured"], &guard_rail_rows(&report.champion_guard_rails), 3))
        }
        h2 { "Calibration" }
        (chart(charts::lines("observed lapse rate by predicted probability (bins)", "mean predicted", "observed", &calibration, (0.0, top), (0.0, top), Some("perfect calibration"))))
        h2 { "Whom to call first" }
        (chart(charts::lines("share of lapses among the top k% by probability", "share of renewals contacted", "share of lapses", &gains, (0.0, 1.0), (0.0, 1.0), Some("random order"))))
        (chart(charts::lines("share of lapsed premium among the top k% by priority (probability x value)", "share of renewals contacted", "share of lapsed premium", &premium, (0.0, 1.0), (0.0, 1.0), Some("random order"))))
        @if let Some((measure, inputs)) = &report.importance {
            h2 { "What the challenger learnt" }
            p { "Its most influential inputs (" (measure) "), and for the top numeric ones the mean predicted lapse probability over sampled rows of its own training table (rows it was fitted on: the curves show what it learnt, not how well it predicts) when the input is set to each of its deciles (partial dependence)." }
            (table(&["input", measure.as_str()], &inputs.iter().map(|(name, v)| vec![text(name), num(Some(*v), 4)]).collect::<Vec<_>>(), 1))
        }
        @for pd in &report.partial_dependence {
            @let (lo, hi) = pd.points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
            @let top = pd.points.iter().map(|p| p.1).fold(0.01, f64::max);
            (chart(charts::lines(&format!("partial dependence: {}", pd.feature), &pd.feature, "mean predicted P(lapse)", &[Series { name: pd.feature.clone(), points: pd.points.clone(), color: ORANGE }], (lo, if hi > lo { hi } else { lo + 1.0 }), (0.0, (top * 1.2).min(1.0)), None)))
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
        .map(|k| vec![text(format!("{}th month", k.month)), text(k.policies), text(k.persisting), pct(k.ratio_by_count), pct(k.ratio_by_premium)])
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
            name: format!("{month}th month by {by}"),
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
        p { "As of " (report.as_of) ", grace " (report.grace_days) " days." }
        p.note { b { "Definition." } " " (report.definition) }
        h2 { "Overall" }
        (table(&["", "policies", "persisting", "by count", "by premium"], &overall, 1))
        h2 { "By issue cohort" }
        (chart(charts::category_lines("persistency by issue year", "persistency ratio", &cohorts, &series, ((low - 0.05).max(0.0), 1.0))))
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
        CategorySeries { name: "realised AUC".into(), values: overall.iter().map(|m| m.roc_auc).collect(), color: BLUE },
        CategorySeries { name: "expected AUC (before labels)".into(), values: overall.iter().map(|m| m.expected_auc).collect(), color: ORANGE },
    ];
    let low = auc_series.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(1.0, f64::min);
    let rate_series = vec![
        CategorySeries { name: "observed lapse rate".into(), values: overall.iter().map(|m| m.observed_lapse_rate).collect(), color: BLUE },
        CategorySeries { name: "mean predicted".into(), values: overall.iter().map(|m| m.predicted_lapse_rate).collect(), color: ORANGE },
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
                    text(if m.matured { "final".to_string() } else { format!("{} maturing ({} paid)", m.maturing, m.maturing_paid) }),
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
    let body = html! {
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
        @if report.cbpe_calibration.trusted {
            p.note { "Calibration CBPE assumes: " (report.cbpe_calibration.note) "." }
        } @else {
            p.verdict.no { "Calibration CBPE assumes: " (report.cbpe_calibration.note) "." }
        }
        h2 { "AUC over time" }
        (chart(charts::category_lines("ROC AUC by scoring month", "ROC AUC", &months, &auc_series, ((low - 0.05).max(0.0), 1.0))))
        @if overall.iter().any(|m| m.labelled > 0) {
            (chart(charts::category_lines("observed vs predicted lapse rate (matured renewals)", "lapse rate", &months, &rate_series, (0.0, (high * 1.2).min(1.0)))))
        } @else {
            p.note { "No scored renewal has matured yet: the realised figures come once the first grace periods end." }
        }
        @for (dimension, title) in [("all", "Every renewal"), ("channel", "By channel"), ("product_type", "By product type")] {
            h2 { (title) }
            (table(&["month", "group", "scored", "matured", "still in grace", "AUC", "expected AUC", "log loss", "observed", "predicted", "top-decile lift", "lapsed premium in top 10%"], &by_dimension(dimension), 2))
        }
    };
    page("Realised performance", context, body)
}

/// The night's summary: decision, guard rails, drift, links to the other reports.
pub fn index_page(context: &Context, summary: &RunSummary) -> Markup {
    let e = &summary.extract;
    let t = &summary.training;
    let inputs = vec![
        vec![
            text("extract"),
            text(format!(
                "{} policies, {} installments, {} events; {} rows rejected; latest record {}",
                e.policies,
                e.installments,
                e.events,
                e.rejected_rows,
                e.latest_observed.as_deref().unwrap_or("-")
            )),
        ],
        vec![
            text("snapshot"),
            text(format!(
                "{} renewals at risk: due in the next {} days, or overdue and still in their grace period; {}",
                summary.snapshot.rows, summary.snapshot.horizon_days, summary.snapshot.path
            )),
        ],
        vec![
            text("training"),
            text(format!(
                "{} monthly snapshots {}..{}: {} labelled rows ({} train, {} held out), lapse rate {:.2}%",
                t.snapshots.len(),
                t.snapshots.first().map_or("", String::as_str),
                t.snapshots.last().map_or("", String::as_str),
                t.rows_labelled,
                t.rows_train,
                t.rows_validation,
                100.0 * t.lapse_rate
            )),
        ],
    ];
    let mut models: Vec<(&str, &JudgedModel)> = vec![("challenger", &summary.challenger)];
    if let Some(c) = &summary.champion {
        models.push(("champion", c));
    }
    let model_rows: Vec<Vec<Markup>> = models
        .iter()
        .map(|(role, m)| {
            vec![
                text(format!("{role} {}", m.version)),
                text(m.family.as_str()),
                num(m.roc_auc, 4),
                num(Some(m.log_loss), 5),
                num(Some(m.ece), 4),
                pct(Some(m.mean_predicted)),
            ]
        })
        .collect();
    let none_or = |names: &[String]| if names.is_empty() { "none".to_string() } else { names.join(", ") };
    let body = html! {
        @if summary.decision.promote {
            p.verdict.yes { "Challenger promoted: champion now " (summary.champion_after.as_deref().unwrap_or("(none)")) "." }
        } @else {
            p.verdict.no { "Champion kept: champion now " (summary.champion_after.as_deref().unwrap_or("(none)")) "." }
        }
        ul { @for reason in &summary.decision.reasons { li { (reason) } } }
        h2 { "Reports" }
        ul {
            @for report in summary.reports.iter().filter(|r| r.ends_with(".html") && r.as_str() != "index.html") {
                li { a href=(report) { (report) } " (" a href=(report.replace(".html", ".json")) { "json" } ")" }
            }
            li { a href="nightly.json" { "nightly.json" } ": this run, for machines" }
        }
        h2 { "Inputs" }
        (table(&["", ""], &inputs, 2))
        h2 { "Models" }
        (table(&["model", "family", "ROC AUC", "log loss", "ECE", "mean predicted"], &model_rows, 1))
        (table(&["guard rail", "verdict", "measured"], &guard_rail_rows(&summary.guard_rails), 3))
        h2 { "Drift" }
        p { "Against the reference of " (summary.drift.model) ": flagged " (none_or(&summary.drift.flagged)) "; act " (none_or(&summary.drift.act)) "; score PSI " (num(summary.drift.score_psi, 4)) "." }
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
        let page = drift_page(&Context { night: "2026-09-30".into(), generated_at: "now".into(), lang: Default::default() }, "v0001 \"&", &report)
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
        )
        .into_string();
        assert!(page.contains("chart not drawn: nothing to draw"));
    }
}
