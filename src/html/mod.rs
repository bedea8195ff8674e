//! The reports as HTML pages for people: one self-contained file per report (inline CSS and
//! SVG charts, no scripts, no external resources), so a page can be mailed, archived or opened
//! from a file share. The JSON beside each page is the same report for machines.

pub mod charts;

use std::fmt::Write as _;

use charts::{CategorySeries, Chart, Series, AMBER, BLUE, GREEN, GREY, ORANGE, RED_};

use crate::drift::DriftReport;
use crate::nightly::{EvaluationReport, RunSummary};
use crate::persistency::PersistencyReport;
use crate::realised::RealisedReport;

/// What every page says about where it comes from.
#[derive(Debug, Clone)]
pub struct Context {
    /// The night (as-of date) the report belongs to.
    pub night: String,
    pub generated_at: String,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:62rem;padding:0 1rem;color:#222}\
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}\
.meta{color:#666;font-size:.9rem}table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}\
th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}td{white-space:nowrap}\
.stable{color:#2e8b57}.watch{color:#b38600;font-weight:600}.act{color:#c82828;font-weight:700}\
.pass{color:#2e8b57}.fail{color:#c82828;font-weight:700}.chart{margin:.8rem 0}.note{background:#f8f8f0;border-left:3px solid #ccc;padding:.4rem .8rem}\
.verdict{font-size:1.1rem;padding:.5rem .8rem;border-radius:4px}.yes{background:#e6f4ea}.no{background:#f4f4f4}";

/// A whole page.
fn page(title: &str, context: &Context, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n<p class=\"meta\">night {night} &middot; generated {generated} by lapse {version}</p>\n{body}\n</body></html>\n",
        title = escape(title),
        night = escape(&context.night),
        generated = escape(&context.generated_at),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// A chart, or the reason it is missing.
fn chart(chart: Chart) -> String {
    match chart {
        Ok(svg) => format!("<div class=\"chart\">{svg}</div>"),
        Err(reason) => format!("<p class=\"note\">(chart not drawn: {})</p>", escape(&reason)),
    }
}

/// A table: header cells and rows of cells (already escaped HTML). The first column is
/// left-aligned, the others right-aligned (numbers).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    table_aligned(header, rows, 1)
}

/// [`table`] with the first `left` columns left-aligned (text).
fn table_aligned(header: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let class = |i: usize| if i < left { " class=\"l\"" } else { "" };
    let mut out = String::from("<table>");
    if header.iter().any(|h| !h.is_empty()) {
        out.push_str("<tr>");
        for (i, h) in header.iter().enumerate() {
            let _ = write!(out, "<th{}>{}</th>", class(i), escape(h));
        }
        out.push_str("</tr>");
    }
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(out, "<td{}>{cell}</td>", class(i));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

fn num(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        Some(x) if x.is_infinite() => "inf".into(),
        _ => "&ndash;".into(),
    }
}

fn pct(x: Option<f64>) -> String {
    x.filter(|x| x.is_finite()).map_or("&ndash;".into(), |x| format!("{:.1}%", 100.0 * x))
}

fn verdict_cell(passed: bool) -> String {
    if passed { "<span class=\"pass\">pass</span>".into() } else { "<span class=\"fail\">fail</span>".into() }
}

fn status_cell(status: &str) -> String {
    format!("<span class=\"{status}\">{status}</span>", status = escape(status))
}

/// The drift report: PSI per feature (ranked, by status), the score's distribution reference
/// against today, and the distributions of the flagged features.
pub fn drift_page(context: &Context, model: &str, report: &DriftReport) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>Today's scoring snapshot ({} renewals) against the training reference of model <b>{}</b> ({} rows). \
PSI at or above {} is <span class=\"watch\">watch</span>, at or above {} <span class=\"act\">act</span>, when it is also above its noise \
(the PSI that samples of these sizes from one population exceed once in a hundred; it matters for small snapshots). \
Numbers are binned at the reference deciles, categories by level, each with an unseen and a missing bucket.</p>",
        report.current_rows,
        escape(model),
        report.reference_rows,
        report.thresholds.watch,
        report.thresholds.act
    );
    if report.flagged.is_empty() {
        body.push_str("<p class=\"verdict yes\">No feature drifted past the watch threshold.</p>");
    } else {
        let _ = write!(body, "<p class=\"verdict no\">Flagged: {}</p>", escape(&report.flagged.join(", ")));
    }
    if !report.missing_features.is_empty() {
        let _ = write!(body, "<p class=\"note\">Missing from today's table: {}</p>", escape(&report.missing_features.join(", ")));
    }
    if let Some(score) = report.features.iter().find(|f| f.feature == crate::drift::SCORE) {
        body.push_str("<h2>Score distribution</h2>");
        let labels: Vec<String> = score.bins.iter().map(|b| b.bin.clone()).collect();
        let reference: Vec<f64> = score.bins.iter().map(|b| b.reference).collect();
        let current: Vec<f64> = score.bins.iter().map(|b| b.current).collect();
        body.push_str(&chart(charts::distribution(&format!("model score: PSI {:.3}", score.psi), &labels, &reference, &current, "training reference", "today")));
    }
    body.push_str("<h2>PSI by feature</h2>");
    let shown: Vec<_> = report.features.iter().take(30).collect();
    let labels: Vec<String> = shown.iter().map(|f| f.feature.clone()).collect();
    let values: Vec<f64> = shown.iter().map(|f| f.psi).collect();
    let colors: Vec<_> = shown
        .iter()
        .map(|f| match f.status {
            "act" => RED_,
            "watch" => AMBER,
            _ => GREEN,
        })
        .collect();
    let title = if report.features.len() > shown.len() { format!("the {} most drifted of {} features", shown.len(), report.features.len()) } else { "every feature".to_string() };
    body.push_str(&chart(charts::horizontal_bars(&title, "PSI", &labels, &values, &colors, &[(report.thresholds.watch, AMBER), (report.thresholds.act, RED_)])));
    for f in report.features.iter().filter(|f| f.status != "stable" && f.feature != crate::drift::SCORE).take(8) {
        let labels: Vec<String> = f.bins.iter().map(|b| b.bin.clone()).collect();
        let reference: Vec<f64> = f.bins.iter().map(|b| b.reference).collect();
        let current: Vec<f64> = f.bins.iter().map(|b| b.current).collect();
        let _ = write!(body, "<h2>{}</h2>", escape(&f.feature));
        body.push_str(&chart(charts::distribution(&format!("{}: PSI {:.3} ({})", f.feature, f.psi, f.status), &labels, &reference, &current, "training reference", "today")));
    }
    body.push_str("<h2>Every feature</h2>");
    let rows: Vec<Vec<String>> = report
        .features
        .iter()
        .map(|f| {
            vec![
                escape(&f.feature),
                escape(f.kind),
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
    body.push_str(&table(&["feature", "kind", "PSI", "PSI noise", "KS", "missing (reference)", "missing (today)", "unseen levels", "status"], &rows));
    page("Drift report", context, &body)
}

/// Champion against challenger on the same out-of-time rows: metrics, guard rails, decision,
/// calibration, gains and retained-premium curves.
pub fn evaluation_page(context: &Context, report: &EvaluationReport) -> String {
    let mut body = String::new();
    let window = report.window.as_ref().map_or("(no window)".to_string(), |(a, b)| format!("{a} .. {b}"));
    let _ = write!(
        body,
        "<p>Both models scored the same {} held-out renewals of the out-of-time window {} (snapshots whose outcomes are all known; \
the challenger was fitted on earlier snapshots only and calibrated on other rows than each one it is judged on).</p>",
        report.rows,
        escape(&window)
    );
    let verdict = if report.decision.promote { "yes\">Promoted: " } else { "no\">Not promoted: " };
    let _ = write!(body, "<p class=\"verdict {verdict}{}</p>", escape(&report.decision.reasons.join("; ")));
    for note in &report.notes {
        let _ = write!(body, "<p class=\"note\">{}</p>", escape(note));
    }
    body.push_str("<h2>Held-out metrics</h2>");
    let mut models = vec![("challenger", &report.challenger)];
    if let Some(champion) = &report.champion {
        models.push(("champion", champion));
    }
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|(role, m)| {
            let e = &m.evaluation;
            vec![
                format!("{role} {}", escape(&m.version)),
                escape(&m.family),
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
    body.push_str(&table(&["model", "family", "ROC AUC", "log loss", "Brier", "ECE", "mean predicted", "observed", "top-decile lift", "lapsed premium in top 10%"], &rows));
    body.push_str("<h2>Guard rails (challenger)</h2>");
    let rows: Vec<Vec<String>> = report
        .guard_rails
        .iter()
        .map(|r| vec![escape(&r.name), verdict_cell(r.passed), escape(&r.detail)])
        .collect();
    body.push_str(&table_aligned(&["rule", "verdict", "measured"], &rows, 3));
    let colors = [ORANGE, BLUE];
    body.push_str("<h2>Calibration</h2>");
    let series: Vec<Series> = models
        .iter()
        .zip(colors)
        .map(|((role, m), color)| Series {
            name: format!("{role} {}", m.version),
            points: m.evaluation.reliability.iter().filter(|b| b.count > 0).map(|b| (b.mean_predicted, b.observed_rate)).collect(),
            color,
        })
        .collect();
    let top = series.iter().flat_map(|s| s.points.iter().map(|p| p.0.max(p.1))).fold(0.05, f64::max).min(1.0);
    body.push_str(&chart(charts::lines("observed lapse rate by predicted probability (bins)", "mean predicted", "observed", &series, (0.0, top), (0.0, top), Some("perfect calibration"))));
    body.push_str("<h2>Whom to call first</h2>");
    let curve = |v: &[f64]| -> Vec<(f64, f64)> { std::iter::once((0.0, 0.0)).chain(v.iter().enumerate().map(|(k, &y)| ((k + 1) as f64 / 100.0, y))).collect() };
    let gains: Vec<Series> = models.iter().zip(colors).map(|((role, m), color)| Series { name: format!("{role} {}", m.version), points: curve(&m.evaluation.gains), color }).collect();
    body.push_str(&chart(charts::lines("share of lapses among the top k% by probability", "share of renewals contacted", "share of lapses", &gains, (0.0, 1.0), (0.0, 1.0), Some("random order"))));
    let premium: Vec<Series> =
        models.iter().zip(colors).map(|((role, m), color)| Series { name: format!("{role} {}", m.version), points: curve(&m.evaluation.retained_premium), color }).collect();
    body.push_str(&chart(charts::lines("share of lapsed premium among the top k% by priority (probability x value)", "share of renewals contacted", "share of lapsed premium", &premium, (0.0, 1.0), (0.0, 1.0), Some("random order"))));
    page("Champion and challenger", context, &body)
}

/// Persistency by issue cohort (chart), and the tables by cohort, channel, product and region.
pub fn persistency_page(context: &Context, report: &PersistencyReport) -> String {
    let mut body = String::new();
    let _ = write!(body, "<p>As of {}, grace {} days.</p><p class=\"note\"><b>Definition.</b> {}</p>", escape(&report.as_of), report.grace_days, escape(report.definition));
    let overall: Vec<Vec<String>> = report
        .kpis
        .iter()
        .filter(|k| k.dimension == "all")
        .map(|k| vec![format!("{}th month", k.month), k.policies.to_string(), k.persisting.to_string(), pct(k.ratio_by_count), pct(k.ratio_by_premium)])
        .collect();
    body.push_str("<h2>Overall</h2>");
    body.push_str(&table(&["", "policies", "persisting", "by count", "by premium"], &overall));
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
                    report.kpis.iter().find(|k| k.dimension == "issue_year" && k.month == month && &k.group == c).and_then(|k| if by == "count" { k.ratio_by_count } else { k.ratio_by_premium })
                })
                .collect(),
            color,
        })
        .collect();
    let low = series.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(1.0, f64::min);
    body.push_str("<h2>By issue cohort</h2>");
    body.push_str(&chart(charts::category_lines("persistency by issue year", "persistency ratio", &cohorts, &series, ((low - 0.05).max(0.0), 1.0))));
    for (dimension, title) in [("issue_year", "By issue year"), ("channel", "By channel"), ("product_type", "By product type"), ("region", "By region")] {
        let _ = write!(body, "<h2>{title}</h2>");
        let mut groups: Vec<&str> = report.kpis.iter().filter(|k| k.dimension == dimension).map(|k| k.group.as_str()).collect();
        groups.sort_unstable();
        groups.dedup();
        let rows: Vec<Vec<String>> = groups
            .iter()
            .map(|g| {
                let cell = |month: u32| report.kpis.iter().find(|k| k.dimension == dimension && k.month == month && k.group == *g);
                let (m13, m25) = (cell(13), cell(25));
                vec![
                    escape(g),
                    m13.map_or("0".into(), |k| k.policies.to_string()),
                    pct(m13.and_then(|k| k.ratio_by_count)),
                    pct(m13.and_then(|k| k.ratio_by_premium)),
                    m25.map_or("0".into(), |k| k.policies.to_string()),
                    pct(m25.and_then(|k| k.ratio_by_count)),
                    pct(m25.and_then(|k| k.ratio_by_premium)),
                ]
            })
            .collect();
        body.push_str(&table(&["group", "13th: policies", "13th: by count", "13th: by premium", "25th: policies", "25th: by count", "25th: by premium"], &rows));
    }
    page("Persistency", context, &body)
}

/// Realised performance per scoring month: AUC (realised and expected) and calibration in the
/// large over time, and the tables by channel and product.
pub fn realised_page(context: &Context, report: &RealisedReport) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>The score log ({} lines, {} torn lines skipped, {} renewals unknown to the extract) joined with the outcomes known on {} (grace {} days). \
Each renewal counts once per scoring month, with its last score of that month. <i>Expected AUC</i> is what the probabilities themselves \
imply before any label is known (as NannyML's CBPE estimates it); compare it with the realised AUC as outcomes arrive.</p>",
        report.log_lines,
        report.torn_lines,
        report.unknown_renewals,
        escape(&report.outcomes_as_of),
        report.grace_days
    );
    let overall: Vec<_> = report.months.iter().filter(|m| m.dimension == "all").collect();
    let months: Vec<String> = overall.iter().map(|m| m.month.clone()).collect();
    let auc_series = vec![
        CategorySeries { name: "realised AUC".into(), values: overall.iter().map(|m| m.roc_auc).collect(), color: BLUE },
        CategorySeries { name: "expected AUC (before labels)".into(), values: overall.iter().map(|m| m.expected_auc).collect(), color: ORANGE },
    ];
    let low = auc_series.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(1.0, f64::min);
    body.push_str("<h2>AUC over time</h2>");
    body.push_str(&chart(charts::category_lines("ROC AUC by scoring month", "ROC AUC", &months, &auc_series, ((low - 0.05).max(0.0), 1.0))));
    let rate_series = vec![
        CategorySeries { name: "observed lapse rate".into(), values: overall.iter().map(|m| m.observed_lapse_rate).collect(), color: BLUE },
        CategorySeries { name: "mean predicted".into(), values: overall.iter().map(|m| m.predicted_lapse_rate).collect(), color: ORANGE },
    ];
    let high = rate_series.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(0.01, f64::max);
    body.push_str(&chart(charts::category_lines("observed vs predicted lapse rate (labelled renewals)", "lapse rate", &months, &rate_series, (0.0, (high * 1.2).min(1.0)))));
    for (dimension, title) in [("all", "Every renewal"), ("channel", "By channel"), ("product_type", "By product type")] {
        let _ = write!(body, "<h2>{title}</h2>");
        let rows: Vec<Vec<String>> = report
            .months
            .iter()
            .filter(|m| m.dimension == dimension)
            .map(|m| {
                vec![
                    escape(&m.month),
                    escape(if dimension == "all" { "" } else { &m.group }),
                    m.scored.to_string(),
                    m.labelled.to_string(),
                    num(m.roc_auc, 4),
                    num(m.expected_auc, 4),
                    num(m.log_loss, 4),
                    pct(m.observed_lapse_rate),
                    pct(m.predicted_lapse_rate),
                    num(m.top_decile_lift, 2),
                    pct(m.top_decile_premium_capture),
                ]
            })
            .collect();
        body.push_str(&table_aligned(&["month", "group", "scored", "labelled", "AUC", "expected AUC", "log loss", "observed", "predicted", "top-decile lift", "lapsed premium in top 10%"], &rows, 2));
    }
    page("Realised performance", context, &body)
}

/// The night's summary: decision, guard rails, drift, timings, links to the other reports.
pub fn index_page(context: &Context, summary: &RunSummary) -> String {
    let mut body = String::new();
    let verdict = if summary.decision.promote { "yes\">Challenger promoted" } else { "no\">Champion kept" };
    let _ = write!(
        body,
        "<p class=\"verdict {verdict}: champion now {}.</p><ul>{}</ul>",
        escape(summary.champion_after.as_deref().unwrap_or("(none)")),
        summary.decision.reasons.iter().map(|r| format!("<li>{}</li>", escape(r))).collect::<String>()
    );
    let links: String = summary
        .reports
        .iter()
        .filter(|r| r.ends_with(".html") && r.as_str() != "index.html")
        .map(|r| format!("<li><a href=\"{0}\">{0}</a> (<a href=\"{1}\">json</a>)</li>", escape(r), escape(&r.replace(".html", ".json"))))
        .chain(std::iter::once("<li><a href=\"nightly.json\">nightly.json</a>: this run, for machines</li>".to_string()))
        .collect();
    let _ = write!(body, "<h2>Reports</h2><ul>{links}</ul>");
    body.push_str("<h2>Inputs</h2>");
    let e = &summary.extract;
    let t = &summary.training;
    let rows = vec![
        vec!["extract".into(), escape(&format!("{} policies, {} installments, {} events; {} rows rejected; latest record {}", e.policies, e.installments, e.events, e.rejected_rows, e.latest_observed.as_deref().unwrap_or("-")))],
        vec!["snapshot".into(), escape(&format!("{} renewals due within {} days, {}", summary.snapshot.rows, summary.snapshot.horizon_days, summary.snapshot.path))],
        vec![
            "training".into(),
            escape(&format!(
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
    body.push_str(&table_aligned(&["", ""], &rows, 2));
    body.push_str("<h2>Models</h2>");
    let mut models = vec![("challenger", &summary.challenger)];
    if let Some(c) = &summary.champion {
        models.push(("champion", c));
    }
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|(role, m)| vec![format!("{role} {}", escape(&m.version)), escape(&m.family), num(m.roc_auc, 4), num(Some(m.log_loss), 5), num(Some(m.ece), 4), pct(Some(m.mean_predicted))])
        .collect();
    body.push_str(&table(&["model", "family", "ROC AUC", "log loss", "ECE", "mean predicted"], &rows));
    let rows: Vec<Vec<String>> = summary.guard_rails.iter().map(|r| vec![escape(&r.name), verdict_cell(r.passed), escape(&r.detail)]).collect();
    body.push_str(&table_aligned(&["guard rail", "verdict", "measured"], &rows, 3));
    let _ = write!(
        body,
        "<h2>Drift</h2><p>Against the reference of {}: flagged {}; act {}; score PSI {}.</p>",
        escape(&summary.drift.model),
        if summary.drift.flagged.is_empty() { "none".into() } else { escape(&summary.drift.flagged.join(", ")) },
        if summary.drift.act.is_empty() { "none".into() } else { escape(&summary.drift.act.join(", ")) },
        num(summary.drift.score_psi, 4)
    );
    page(&format!("Nightly run {}", summary.as_of), context, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{BinShares, FeatureDrift, Thresholds};

    #[test]
    fn text_from_the_data_is_escaped_and_pages_are_whole() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
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
            status: "act",
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
        let page = drift_page(&Context { night: "2026-09-30".into(), generated_at: "now".into() }, "v0001", &report);
        assert!(!page.contains("<script"), "unescaped text in the page");
        assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
        assert!(page.contains("<svg") && !page.contains("chart not drawn"));
    }

    #[test]
    fn a_chart_without_data_becomes_a_note() {
        let page = drift_page(
            &Context { night: "n".into(), generated_at: "g".into() },
            "v",
            &DriftReport { reference_rows: 0, current_rows: 0, thresholds: Thresholds::default(), features: vec![], flagged: vec![], missing_features: vec![] },
        );
        assert!(page.contains("chart not drawn: nothing to draw"));
    }
}
