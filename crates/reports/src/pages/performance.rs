//! The renewal team performance page (续期考核): the book's collection rate by due month, the
//! league tables (risk-adjusted and shrunk when a model was given), and the gaps to target.

use maud::{Markup, html};

use super::charts::{self, BLUE, CategorySeries, GREEN, GREY};
use super::{Context, chart, num, page, pct, table, text};
use crate::performance::{GroupMonth, Level, PerformanceReport};

/// Rows a league table shows.
const LEAGUE_ROWS: usize = 40;

fn money(x: f64) -> Markup {
    text(format!("{x:.2}"))
}

fn open_cell(open: bool) -> Markup {
    text(if open { "in progress" } else { "closed" })
}

/// The league of `level` for `month`, best first.
fn league<'r>(report: &'r PerformanceReport, level: Level, month: &str) -> Vec<&'r GroupMonth> {
    let mut rows: Vec<&GroupMonth> = report.groups.iter().filter(|g| g.level == level && g.month == month && g.rank.is_some()).collect();
    rows.sort_by_key(|g| g.rank);
    rows
}

fn league_rows(rows: &[&GroupMonth], risk: bool) -> Vec<Vec<Markup>> {
    rows.iter()
        .take(LEAGUE_ROWS)
        .map(|g| {
            let mut cells = vec![
                text(g.rank.unwrap_or(0)),
                text(&g.key),
                text(g.renewals_due),
                money(g.premium_due),
                pct(g.collection_rate),
                pct(g.shrunk_collection_rate),
            ];
            if risk {
                cells.extend([
                    pct(g.expected_rate),
                    num(g.observed_to_expected, 3),
                    text(format!("{:.3} - {:.3}", g.oe_low.unwrap_or(f64::NAN), g.oe_high.unwrap_or(f64::NAN))),
                ]);
            }
            cells
        })
        .collect()
}

/// The page.
pub fn performance_page(context: &Context, report: &PerformanceReport) -> Markup {
    let all: Vec<&GroupMonth> = report.groups.iter().filter(|g| g.level == Level::All && !g.month.contains("..")).collect();
    let months: Vec<String> = all.iter().map(|g| g.month.clone()).collect();
    let lines = [
        CategorySeries { name: "collection rate (premium)".into(), values: all.iter().map(|g| g.collection_rate).collect(), color: BLUE },
        CategorySeries { name: "collection rate (count)".into(), values: all.iter().map(|g| g.count_rate).collect(), color: GREEN },
        CategorySeries { name: "expected (model)".into(), values: all.iter().map(|g| g.expected_rate).collect(), color: GREY },
    ];
    let low = lines.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(1.0, f64::min);
    let risk = report.risk_model.is_some();
    // The league tables' month: the latest closed month.
    let closed = all.iter().rev().find(|g| !g.open).map(|g| g.month.clone());
    let mut header = vec!["Rank", "Group", "Renewals due", "Premium due", "Collection rate", "Shrunk rate"];
    if risk {
        header.extend(["Expected rate", "Observed / expected", "95% interval"]);
    }
    let mut targeted: Vec<&GroupMonth> = report.groups.iter().filter(|g| g.target_rate.is_some()).collect();
    targeted.sort_by(|a, b| b.gap_premium.unwrap_or(0.0).total_cmp(&a.gap_premium.unwrap_or(0.0)));
    let body = html! {
        p { (report.definition) }
        @if !report.omitted_levels.is_empty() {
            p.note { "Not reported: " @for (level, why) in &report.omitted_levels { (level.as_str()) " (" (why) "). " } }
        }
        @if report.paid_without_amount > 0 {
            p.note { (report.paid_without_amount) " renewals paid in grace have no amount_paid: counted as collected with 0." }
        }
        h2 { "Collection rate by due month" }
        (chart(charts::category_lines("collection rate of the renewals due each month", "collection rate", &months, &lines, ((low - 0.05).max(0.0), 1.0))))
        (table(
            &["Due month", "Renewals due", "Premium due", "Premium collected", "Collection rate", "By count", "Status"],
            &all.iter().map(|g| vec![text(&g.month), text(g.renewals_due), money(g.premium_due), money(g.premium_collected), pct(g.collection_rate), pct(g.count_rate), open_cell(g.open)]).collect::<Vec<_>>(),
            1,
        ))
        p { "A month in progress (some renewal's grace is not over at " (report.as_of) ") is not a bad month: its renewals still in grace count as due and not yet collected." }
        @if let Some(model) = &report.risk_model {
            p {
                "Expected: what lapse model " (model.version) " predicted for each renewal at the start of its due month, with the agent's own record ("
                (model.neutralized.join(", ")) ") set to the book's typical value: what an average agent would collect from the same customers. Observed / expected above 1 is better than the book predicts."
                @if let Some(share) = model.fitted_share {
                    " The model was fitted on " (format!("{:.0}%", share * 100.0)) " of these renewals; there its expectation leans towards what happened."
                }
            }
        }
        @if let Some(month) = &closed {
            @for level in report.levels.iter().copied().filter(|l| *l != Level::All) {
                @let rows = league(report, level, month);
                @if !rows.is_empty() {
                    h2 { (format!("League table by {}", level.as_str())) }
                    p.note { (month) ", ranked by the shrunk " (if risk { "observed / expected" } else { "collection rate" }) " (empirical Bayes: a small group is pulled towards the level's mean); raw figures beside it." }
                    @if risk && level == Level::Agent {
                        @let shown: Vec<&&GroupMonth> = rows.iter().take(30).collect();
                        (chart(charts::intervals(
                            "observed / expected with 95% interval (best 30)",
                            "observed / expected",
                            &shown.iter().map(|g| g.key.clone()).collect::<Vec<_>>(),
                            &shown.iter().map(|g| (g.observed_to_expected.unwrap_or(f64::NAN), g.oe_low.unwrap_or(f64::NAN), g.oe_high.unwrap_or(f64::NAN))).collect::<Vec<_>>(),
                            &[(1.0, GREY)],
                        )))
                    }
                    (table(&header, &league_rows(&rows, risk), 2))
                }
            }
        }
        @if !targeted.is_empty() {
            h2 { "Against target" }
            p.note { "Gap = target rate x premium due - premium collected: the premium still short of target, largest first." }
            (table(
                &["Level", "Group", "Due month", "Target rate", "Collection rate", "Attainment", "Gap (premium)", "Status"],
                &targeted.iter().map(|g| vec![text(g.level.as_str()), text(&g.key), text(&g.month), pct(g.target_rate), pct(g.collection_rate), pct(g.attainment), text(format!("{:.2}", g.gap_premium.unwrap_or(0.0))), open_cell(g.open)]).collect::<Vec<_>>(),
                3,
            ))
        }
    };
    page("Renewal team performance", context, body)
}
