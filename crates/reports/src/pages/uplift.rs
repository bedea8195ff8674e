//! The uplift page.

use maud::{Markup, html};

use super::charts::{self, BLUE, GREY, ORANGE, Series};
use super::{Context, chart, num, page, pct, say, table, text, zh};
use crate::uplift::UpliftReport;

/// How well the uplift model ranks, against risk and chance.
pub fn uplift_page(context: &Context, report: &UpliftReport) -> Markup {
    let series = |name: &str, curve: &[lapse_retention::uplift::QiniPoint], color| Series {
        name: name.into(),
        points: curve.iter().map(|p| (p.share, p.prevented)).collect(),
        color,
    };
    let end = report.curve_uplift.last().map_or(0.0, |p| p.prevented);
    let random = Series { name: say(context, "random order", "随机顺序").into(), points: vec![(0.0, 0.0), (1.0, end)], color: GREY };
    let all = [
        series(say(context, "ranked by uplift", "按增益排序"), &report.curve_uplift, ORANGE),
        series(say(context, "ranked by risk", "按风险排序"), &report.curve_risk, BLUE),
        random,
    ];
    let registration = if zh(context) {
        match &report.registered {
            Some(p) => format!("已注册：{} 学习器（留出集 Qini {:.4}，按风险为 {:.4}）", p.learner, report.qini_uplift, report.qini_risk),
            None if report.beats_risk => "未注册（--no-register）".to_string(),
            None => format!(
                "未注册：{} 学习器在留出集 Qini 上不如按风险排序（{:.4} 对 {:.4}）；工作清单继续按风险排序",
                report.chosen, report.qini_uplift, report.qini_risk
            ),
        }
    } else {
        report.registration.clone()
    };
    let high = all.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(1.0, f64::max);
    let low = all.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::min);
    let body = html! {
        @if zh(context) {
            p {
                "活动 " b { (report.campaign) } "，结果截至 " (report.outcomes_as_of) "：已有结果的续期 " (report.renewals) " 件（待定 "
                (report.pending) " 件，不在快照中 " (report.not_in_snapshot) " 件，数据中找不到 " (report.unknown_to_extract) " 件）。"
            }
            p { small { "方法：" (crate::uplift::METHOD_ZH) "。" } }
        } @else {
            p {
                "Campaign " b { (report.campaign) } ", outcomes as of " (report.outcomes_as_of) ": " (report.renewals) " matured renewals ("
                (report.pending) " pending, " (report.not_in_snapshot) " not in the snapshot, " (report.unknown_to_extract) " unknown to the extract)."
            }
            p { small { "Method: " (report.method) "." } }
        }
        h2 { "Lapses prevented by contacting the top of each ranking (held out)" }
        (chart(charts::lines(
            say(context, "uplift curve", "增益曲线"),
            say(context, "share of the list contacted", "清单中已联系的占比"),
            say(context, "lapses prevented", "避免的失效件数"),
            &all,
            (0.0, 1.0),
            (low * 1.1, high * 1.1),
            None,
        )))
        @if zh(context) {
            p { "Qini 系数（高于随机的面积，按每件续期）：按增益（" (report.chosen) "）" (format!("{:.4}", report.qini_uplift)) "，按风险 " (format!("{:.4}", report.qini_risk)) "。" }
        } @else {
            p { "Qini coefficient (area above random, per renewal): by uplift (" (report.chosen) ") " (format!("{:.4}", report.qini_uplift)) ", by risk " (format!("{:.4}", report.qini_risk)) "." }
        }
        @if report.beats_risk { p.verdict.yes { (registration) "." } } @else { p.verdict.no { (registration) "." } }
        (table(&["learner", "held-out Qini", "kept"], &report.learners.iter().map(|l| vec![
            text(l.name), num(Some(l.qini), 4), text(if l.name == report.chosen { "yes" } else { "" }),
        ]).collect::<Vec<_>>(), 1))
        p { (say(context, "Estimated from outcomes, with standard errors: differences within about two standard errors are noise. A campaign measures a ranking's worth only as precisely as its size allows.", "由实际结果估计，附标准误：差异在约两个标准误以内的属于噪声。一次活动对排序价值的测量精度受其规模限制。")) }
        (table(&["share contacted", "by uplift", "± se", "by risk", "± se", "random"], &report.budgets.iter().map(|b| vec![
            pct(Some(b.share)), num(Some(b.by_uplift), 1), num(Some(b.by_uplift_se), 1), num(Some(b.by_risk), 1), num(Some(b.by_risk_se), 1), num(Some(b.random), 1),
        ]).collect::<Vec<_>>(), 1))
        h2 { "Uplift by decile of predicted uplift" }
        (table(&["decile", "treated", "control", "lapse rate treated", "lapse rate control", "observed uplift", "predicted uplift"], &report.deciles.iter().map(|d| vec![
            text(d.decile), text(d.treated), text(d.control), pct(d.lapse_rate_treated), pct(d.lapse_rate_control), pct(d.observed_uplift), pct(Some(d.mean_predicted_uplift)),
        ]).collect::<Vec<_>>(), 1))
        h2 { "The arms' models (out of fold)" }
        (table(&["arm", "renewals", "lapses", "ROC AUC", "log loss", "registered as"], &report.models.iter().map(|m| vec![
            text(m.arm), text(m.rows), text(m.lapses), num(m.roc_auc, 4), num(Some(m.log_loss), 4), text(m.version.clone().unwrap_or_else(|| "-".into())),
        ]).collect::<Vec<_>>(), 1))
    };
    page(&format!("Uplift: {}", report.campaign), context, body)
}
