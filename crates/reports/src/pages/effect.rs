//! The campaign-effect page.

use maud::{Markup, html};

use super::charts;
use super::{Context, chart, num, page, pct, say, table, text, zh};
use crate::effect::{EffectReport, GroupEffect};

fn money(x: Option<f64>) -> Markup {
    num(x, 0)
}

fn rows(effects: &[GroupEffect], with_value: bool) -> Vec<Vec<Markup>> {
    effects
        .iter()
        .map(|e| {
            let mut row = vec![text(&e.action)];
            if with_value {
                row.push(text(&e.value));
            }
            row.extend([
                text(format!("{} / {}", e.treated_matured, e.treated)),
                text(format!("{} / {}", e.control_matured, e.control)),
                pct(e.lapse_rate_treated),
                pct(e.lapse_rate_control),
                pct(e.save_rate),
                html! { (pct(e.ci_low)) " – " (pct(e.ci_high)) },
                num(e.p_value, 3),
                pct(e.min_detectable_save_rate),
                html! { (pct(e.delivered_treated)) " / " (pct(e.delivered_control)) },
                pct(e.save_rate_per_delivered),
                num(e.lapses_prevented, 1),
                money(e.retained_premium),
                money(e.net_value),
            ]);
            row
        })
        .collect()
}

const HEADER: [&str; 14] = [
    "action",
    "treated (matured / all)",
    "control (matured / all)",
    "lapse rate treated",
    "lapse rate control",
    "save rate",
    "95% interval",
    "p",
    "detectable (80% power)",
    "delivered treated / control",
    "save rate per delivered",
    "lapses prevented",
    "retained premium",
    "net value",
];

fn interval_chart(context: &Context, title: &str, effects: &[GroupEffect], label: impl Fn(&GroupEffect) -> String) -> Markup {
    let labels: Vec<String> = effects.iter().map(label).collect();
    let estimates: Vec<(f64, f64, f64)> =
        effects.iter().map(|e| (e.save_rate.unwrap_or(f64::NAN), e.ci_low.unwrap_or(f64::NAN), e.ci_high.unwrap_or(f64::NAN))).collect();
    let axis = say(context, "save rate (1 - treated / control lapse rate), 95% interval", "相对流失降幅（1 - 实验组/对照组失效率），95%置信区间");
    chart(charts::intervals(title, axis, &labels, &estimates, &[]))
}

/// What a campaign saved, per action, segment and channel.
pub fn effect_page(context: &Context, report: &EffectReport) -> Markup {
    let mut segment_header = HEADER.to_vec();
    segment_header.insert(1, "group");
    let body = html! {
        @if zh(context) {
            p {
                "活动 " b { (report.campaign) } "（" (report.campaign_as_of) "，模型 " (report.model_version) "）："
                "续期 " (report.renewals) " 件，实验组（待联系）" (report.treated) " 件，对照组 " (report.control) " 件（实际抽取 "
                (format!("{:.1}%", 100.0 * report.holdout_drawn))
                @if let Some(asked) = report.holdout_asked { "，设定 " (format!("{:.1}%", 100.0 * asked)) }
                "）。结果截至 " (report.outcomes_as_of) "（宽限期 " (report.grace_days) " 天）："
                "已有结果 " (report.matured) " 件，待定 " (report.pending) " 件，数据中找不到 " (report.unknown) " 件。"
            }
            @if report.readable {
                p { "活动的所有续期都已有结果：结果为最终结果。" }
            } @else {
                p class="warn" {
                    "尚非最终结果：仍有续期在宽限期内。以下数字只比较已有结果的续期（这种比较是公平的，因为是否已有结果取决于应缴日而不取决于组别）；活动结果可读日期为 "
                    b { (report.readable_on) } "。"
                }
            }
            p { small { "方法：" (crate::effect::METHOD_ZH) "。" } }
        } @else {
        p {
            "Campaign " b { (report.campaign) } " of " (report.campaign_as_of) " (model " (report.model_version) "): "
            (report.renewals) " renewals, " (report.treated) " to contact and " (report.control) " held out as control ("
            (format!("{:.1}%", 100.0 * report.holdout_drawn)) " drawn"
            @if let Some(asked) = report.holdout_asked { ", " (format!("{:.1}%", 100.0 * asked)) " asked" }
            "). Outcomes as of " (report.outcomes_as_of) " (grace " (report.grace_days) " days): "
            (report.matured) " matured, " (report.pending) " pending, " (report.unknown) " unknown to the extract."
        }
        @if report.readable {
            p { "Every renewal of the campaign has matured: the result is final." }
        } @else {
            p class="warn" {
                "Not final: renewals are still inside their grace period. The figures compare the matured renewals only (a fair comparison, as maturity depends on the due date and not on the arm); the campaign is readable on "
                b { (report.readable_on) } "."
            }
        }
        p { small { "Method: " (report.method) "." } }
        }
        h2 { "Save rate per action" }
        (interval_chart(context, say(context, "save rate per action", "各行动的相对流失降幅"), &report.actions, |e| e.action.clone()))
        (table(&HEADER, &rows(&report.actions, false), 1))
        h2 { "By segment" }
        (interval_chart(context, say(context, "save rate per action and segment", "各行动和客群的相对流失降幅"), &report.by_segment, |e| format!("{} · {}", e.action, e.value)))
        (table(&segment_header, &rows(&report.by_segment, true), 2))
        h2 { "By channel" }
        (table(&segment_header, &rows(&report.by_channel, true), 2))
        @if !report.by_team.is_empty() {
            h2 { "By team" }
            (table(&segment_header, &rows(&report.by_team, true), 2))
        }
        @if !report.measured_economics.is_empty() {
            h2 { "Measured save rates for tomorrow's work list" }
            p { (say(context, "Each measured save rate is pulled toward its prior (the configured rate; for a segment, the action's measured rate) by its uncertainty: a precise measurement moves it far, a noisy one barely.", "每个实测相对流失降幅按其不确定性向先验值（配置的降幅；客群则为该行动的实测降幅）收缩：测得精确的移动得多，噪声大的几乎不动。")) }
            (table(&["action", "segment", "prior", "measured", "standard error", "used"], &report.measured_economics.iter().map(|m| vec![
                text(&m.action), text(&m.segment), pct(Some(m.prior)), pct(m.measured), pct(m.standard_error), pct(Some(m.shrunk)),
            ]).collect::<Vec<_>>(), 2))
            @if let Some(change) = &report.work_list_change {
                @if zh(context) {
                    p {
                        "在本活动的 " (change.renewals) " 件续期上，实测降幅改变了其中 " (change.changed)
                        " 件的最佳行动；按配置降幅的预期收益 " (format!("{:.0}", change.expected_gain_configured)) "，按实测降幅 "
                        (format!("{:.0}", change.expected_gain_measured)) "。"
                    }
                } @else {
                    p {
                        "On this campaign's " (change.renewals) " renewals, the measured rates change the best action of " (change.changed)
                        "; expected gain " (format!("{:.0}", change.expected_gain_configured)) " with the configured rates, "
                        (format!("{:.0}", change.expected_gain_measured)) " with the measured ones."
                    }
                }
                (table(&["from", "to", "renewals"], &change.moves.iter().map(|m| vec![text(&m.from), text(&m.to), text(m.renewals)]).collect::<Vec<_>>(), 2))
            }
        }
    };
    page(&format!("Campaign effect: {}", report.campaign), context, body)
}
