//! The "why customers lapse" page.

use maud::{Markup, html};

use super::charts::{self, BLUE, ORANGE};
use super::{Context, chart, num, page, pct, say, table, text, zh};
use crate::why::{DIMENSIONS, WhyReport};

/// Headings of the dimensions, in report order.
const HEADINGS: [&str; 6] = ["By channel", "By product type", "By region", "By age band", "By policy year", "By segment"];

/// Per dimension: renewals, observed and predicted lapse rates, the top reasons, the change.
/// A group's label in the page's language (bands the report names; data values stay as they are).
fn label<'a>(context: &Context, value: &'a str) -> &'a str {
    if zh(context) { super::zh::phrase(value).unwrap_or(value) } else { value }
}

pub fn why_page(context: &Context, report: &WhyReport) -> Markup {
    let body = html! {
        @if zh(context) {
            p {
                @if report.table == crate::why::NIGHT_TRAINING_TABLE { "当晚训练表（批次结束后不保留）" } @else { code { (report.table) } }
                " 中的 " (report.renewals) " 件续期（快照 " (report.snapshots.join("、")) "），其中 "
                (report.labelled) " 件结果已知，由模型 " (report.model_version) " 评分。"
                "一件续期的首要原因是对其预测风险加分最多的输入特征；一个分组的原因是各输入特征在该组中作为首要原因的频率。"
            }
            @let version = &report.model_version;
            @match report.fitted_rows {
                Some(0) => p.note { "平均预测：留出集，模型 " (version) " 未在这 " (report.renewals) " 件续期中的任何一件上拟合。" },
                Some(k) => p.note { "平均预测：模型 " (version) " 在这 " (report.renewals) " 件续期中的 " (k) " 件上拟合过，其平均预测是样本内的（模型已知其结果），会美化其校准；留出集指标见评估报告。" },
                None => p.note { "平均预测：模型 " (version) " 没有保留其拟合续期的清单，平均预测可能是样本内的。" },
            }
            @if !report.explained { p.note { "该模型（随机森林）无法解释其评分：没有原因。" } }
        } @else {
            p {
                (report.renewals) " renewals of "
                @if report.table == crate::why::NIGHT_TRAINING_TABLE { (report.table) } @else { code { (report.table) } } " (snapshots " (report.snapshots.join(", ")) "), "
                (report.labelled) " with a known outcome, scored by model " (report.model_version) ". "
                "A renewal's top reason is the input that adds most to its predicted risk; a group's reasons are how often each input is the top reason there."
            }
            @if !report.predictions.is_empty() { p.note { "Mean predicted: " (report.predictions) "." } }
            @if !report.explained { p.note { "This model cannot explain its scores (random forest): no reasons." } }
        }
        @for (dimension, heading) in DIMENSIONS.iter().zip(HEADINGS) {
            h2 { (heading) }
            @let groups: Vec<_> = report.groups.iter().filter(|g| g.dimension == *dimension).collect();
            @let observed = groups.iter().all(|g| g.observed_lapse_rate.is_some());
            (chart(charts::horizontal_bars(
                if observed {
                    say(context, "observed lapse rate", "实际失效率")
                } else {
                    say(context, "mean predicted lapse probability (no outcomes known)", "平均预测失效概率（结果未知）")
                },
                say(context, "lapse rate", "失效率"),
                &groups.iter().map(|g| format!("{} ({})", label(context, &g.value), g.renewals)).collect::<Vec<_>>(),
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
                    html! { @for r in &g.top_reasons {
                        @let example = if zh(context) { lapse_model::promotion::zh_or_en(&r.example_zh, &r.example) } else { &r.example };
                        div { (format!("{:.0}%", 100.0 * r.share)) " " code { (r.feature) } " (+" (format!("{:.2}", r.mean_contribution)) ")" (say(context, ": ", "：")) (example) }
                    } },
                    match &g.change {
                        Some(c) if zh(context) => html! { div {
                            "预测 " (format!("{:.1}% -> {:.1}%", 100.0 * c.predicted_previous, 100.0 * c.predicted_latest))
                            @if let (Some(a), Some(b)) = (c.observed_previous, c.observed_latest) { "；实际 " (format!("{:.1}% -> {:.1}%", 100.0 * a, 100.0 * b)) }
                            "（续期 " (c.renewals_previous) " -> " (c.renewals_latest) " 件）"
                        } },
                        Some(c) => html! { div {
                            "predicted " (format!("{:.1}% -> {:.1}%", 100.0 * c.predicted_previous, 100.0 * c.predicted_latest))
                            @if let (Some(a), Some(b)) = (c.observed_previous, c.observed_latest) { "; observed " (format!("{:.1}% -> {:.1}%", 100.0 * a, 100.0 * b)) }
                            " (" (c.renewals_previous) " -> " (c.renewals_latest) " renewals)"
                        } },
                        None => num(None, 0),
                    },
                ]).collect::<Vec<_>>(),
                1,
            ))
        }
    };
    page("Why customers lapse", context, body)
}
