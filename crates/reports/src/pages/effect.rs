//! The campaign-effect page.

use maud::{Markup, html};

use super::charts;
use super::{Context, chart, num, page, pct, table, text};
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
                html! { (pct(e.ci_low)) " to " (pct(e.ci_high)) },
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

fn interval_chart(title: &str, effects: &[GroupEffect], label: impl Fn(&GroupEffect) -> String) -> Markup {
    let labels: Vec<String> = effects.iter().map(label).collect();
    let estimates: Vec<(f64, f64, f64)> =
        effects.iter().map(|e| (e.save_rate.unwrap_or(f64::NAN), e.ci_low.unwrap_or(f64::NAN), e.ci_high.unwrap_or(f64::NAN))).collect();
    chart(charts::intervals(title, "save rate (1 - treated / control lapse rate), 95% interval", &labels, &estimates, &[]))
}

/// What a campaign saved, per action, segment and channel.
pub fn effect_page(context: &Context, report: &EffectReport) -> Markup {
    let mut segment_header = HEADER.to_vec();
    segment_header.insert(1, "group");
    let body = html! {
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
        h2 { "Save rate per action" }
        (interval_chart("save rate per action", &report.actions, |e| e.action.clone()))
        (table(&HEADER, &rows(&report.actions, false), 1))
        h2 { "By segment" }
        (interval_chart("save rate per action and segment", &report.by_segment, |e| format!("{} · {}", e.action, e.value)))
        (table(&segment_header, &rows(&report.by_segment, true), 2))
        h2 { "By channel" }
        (table(&segment_header, &rows(&report.by_channel, true), 2))
        @if !report.by_team.is_empty() {
            h2 { "By team" }
            (table(&segment_header, &rows(&report.by_team, true), 2))
        }
        @if !report.measured_economics.is_empty() {
            h2 { "Measured save rates for tomorrow's work list" }
            p { "Each measured save rate is pulled toward its prior (the configured rate; for a segment, the action's measured rate) by its uncertainty: a precise measurement moves it far, a noisy one barely." }
            (table(&["action", "segment", "prior", "measured", "standard error", "used"], &report.measured_economics.iter().map(|m| vec![
                text(&m.action), text(&m.segment), pct(Some(m.prior)), pct(m.measured), pct(m.standard_error), pct(Some(m.shrunk)),
            ]).collect::<Vec<_>>(), 2))
            @if let Some(change) = &report.work_list_change {
                p {
                    "On this campaign's " (change.renewals) " renewals, the measured rates change the best action of " (change.changed)
                    "; expected gain " (format!("{:.0}", change.expected_gain_configured)) " with the configured rates, "
                    (format!("{:.0}", change.expected_gain_measured)) " with the measured ones."
                }
                (table(&["from", "to", "renewals"], &change.moves.iter().map(|m| vec![text(&m.from), text(&m.to), text(m.renewals)]).collect::<Vec<_>>(), 2))
            }
        }
    };
    page(&format!("Campaign effect: {}", report.campaign), context, body)
}
