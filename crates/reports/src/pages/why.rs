//! The "why customers lapse" page.

use maud::{Markup, html};

use super::charts::{self, BLUE, ORANGE};
use super::{Context, chart, num, page, pct, table, text};
use crate::why::{DIMENSIONS, WhyReport};

/// Headings of the dimensions, in report order.
const HEADINGS: [&str; 6] = ["By channel", "By product type", "By region", "By age band", "By policy year", "By segment"];

/// Per dimension: renewals, observed and predicted lapse rates, the top reasons, the change.
pub fn why_page(context: &Context, report: &WhyReport) -> Markup {
    let body = html! {
        p {
            (report.renewals) " renewals of " code { (report.table) } " (snapshots " (report.snapshots.join(", ")) "), "
            (report.labelled) " with a known outcome, scored by model " (report.model_version) ". "
            "A renewal's top reason is the input that adds most to its predicted risk; a group's reasons are how often each input is the top reason there."
        }
        @if !report.predictions.is_empty() { p.note { "Mean predicted: " (report.predictions) "." } }
        @if !report.explained { p.note { "This model cannot explain its scores (random forest): no reasons." } }
        @for (dimension, heading) in DIMENSIONS.iter().zip(HEADINGS) {
            h2 { (heading) }
            @let groups: Vec<_> = report.groups.iter().filter(|g| g.dimension == *dimension).collect();
            @let observed = groups.iter().all(|g| g.observed_lapse_rate.is_some());
            (chart(charts::horizontal_bars(
                if observed { "observed lapse rate" } else { "mean predicted lapse probability (no outcomes known)" },
                "lapse rate",
                &groups.iter().map(|g| format!("{} ({})", g.value, g.renewals)).collect::<Vec<_>>(),
                &groups.iter().map(|g| if observed { g.observed_lapse_rate.unwrap_or(0.0) } else { g.mean_predicted }).collect::<Vec<_>>(),
                &groups.iter().map(|_| if observed { ORANGE } else { BLUE }).collect::<Vec<_>>(),
                &[],
            )))
            (table(
                &["Group", "Renewals", "Observed lapse rate", "Mean predicted", "Top reasons", "Change (latest vs previous snapshot)"],
                &report.groups.iter().filter(|g| g.dimension == *dimension).map(|g| vec![
                    text(&g.value),
                    text(g.renewals),
                    pct(g.observed_lapse_rate),
                    pct(Some(g.mean_predicted)),
                    html! { @for r in &g.top_reasons { div { (format!("{:.0}%", 100.0 * r.share)) " " code { (r.feature) } " (+" (format!("{:.2}", r.mean_contribution)) "): " (r.example) } } },
                    match &g.change {
                        Some(c) => html! {
                            "predicted " (format!("{:.1}% -> {:.1}%", 100.0 * c.predicted_previous, 100.0 * c.predicted_latest))
                            @if let (Some(a), Some(b)) = (c.observed_previous, c.observed_latest) { "; observed " (format!("{:.1}% -> {:.1}%", 100.0 * a, 100.0 * b)) }
                            " (" (c.renewals_previous) " -> " (c.renewals_latest) " renewals)"
                        },
                        None => num(None, 0),
                    },
                ]).collect::<Vec<_>>(),
                1,
            ))
        }
    };
    page("Why customers lapse", context, body)
}
