//! The renewal funnel page.

use maud::{Markup, html};

use super::charts::{self, AMBER, BLUE, CategorySeries, GREEN, RED_};
use super::{Context, chart, page, pct, say, table, text, zh};
use crate::funnel::{FunnelReport, FunnelRow};

/// Headings of the breakdowns, by dimension.
const BREAKDOWNS: [(&str, &str); 4] = [
    ("channel", "By channel"),
    ("first_action", "By first contact's action"),
    ("first_contact", "By days before due of the first contact"),
    ("listed_action", "By the action the work list gave (score log)"),
];

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A funnel row as table cells: renewals and each step's share (listed when the score log was
/// read).
fn cells(label: &str, r: &FunnelRow, with_listed: bool, with_outcomes: bool) -> Vec<Markup> {
    let mut cells = vec![text(label), text(r.renewals)];
    if with_listed {
        cells.push(pct(share(r.listed.unwrap_or(0), r.renewals)));
    }
    cells.extend([pct(share(r.reminded, r.renewals)), pct(share(r.contacted, r.renewals))]);
    if with_outcomes {
        cells.extend([
            pct(share(r.reached.unwrap_or(0), r.renewals)),
            pct(share(r.promised.unwrap_or(0), r.renewals)),
            pct(share(r.promise_kept.unwrap_or(0), r.promised.unwrap_or(0))),
        ]);
    }
    cells.extend([
        pct(share(r.paid_before_due, r.renewals)),
        pct(share(r.paid_in_grace, r.renewals)),
        pct(share(r.lapsed, r.renewals)),
        pct(share(r.open, r.renewals)),
    ]);
    cells
}

const HEADER: [&str; 8] = ["Group", "Renewals", "Reminded", "Contacted", "Paid before due", "Paid in grace", "Lapsed", "Open"];

fn header(with_listed: bool, with_outcomes: bool) -> Vec<&'static str> {
    let mut header = HEADER.to_vec();
    if with_outcomes {
        header.splice(4..4, ["Reached", "Promised", "Promise kept (of promised)"]);
    }
    if with_listed {
        header.insert(2, "Listed");
    }
    header
}

/// Per due month and per group: reminded, contacted, paid before due, paid in grace, lapsed.
/// A group's label: in Chinese pages, an action by its name (电话, 短信...) rather than its code.
fn group_label(context: &Context, dimension: &str, group: &str) -> String {
    match dimension {
        "first_action" | "listed_action" if zh(context) && matches!(group, "sms" | "call" | "visit" | "none") => {
            lapse_model::scoring::lang::action_label(lapse_model::scoring::lang::Lang::ZhCn, group).into_owned()
        }
        _ => group.to_string(),
    }
}

pub fn funnel_page(context: &Context, report: &FunnelReport) -> Markup {
    let all: Vec<&FunnelRow> = report.rows.iter().filter(|r| r.dimension == "all").collect();
    let with_listed = report.score_log_lines.is_some();
    let with_outcomes = report.renewals_with_outcomes.is_some();
    let months: Vec<String> = all.iter().map(|r| r.due_month.clone()).collect();
    let series = |name: &str, pick: fn(&FunnelRow) -> usize, color| CategorySeries {
        name: name.into(),
        values: all.iter().map(|r| share(pick(r), r.renewals)).collect(),
        color,
    };
    let lines = [
        series(say(context, "reminded", "已提醒"), |r| r.reminded, BLUE),
        series(say(context, "paid before due", "应缴日前缴费"), |r| r.paid_before_due, GREEN),
        series(say(context, "paid in grace", "宽限期内缴费"), |r| r.paid_in_grace, AMBER),
        series(say(context, "lapsed", "失效"), |r| r.lapsed, RED_),
    ];
    // A group over every due month.
    let total = |dimension: &str, group: &str| -> FunnelRow {
        let mut sum = FunnelRow::default();
        for r in report.rows.iter().filter(|r| r.dimension == dimension && r.group == group) {
            sum.renewals += r.renewals;
            if let Some(n) = r.listed {
                *sum.listed.get_or_insert(0) += n;
            }
            sum.reminded += r.reminded;
            sum.contacted += r.contacted;
            for (total, n) in [(&mut sum.reached, r.reached), (&mut sum.promised, r.promised), (&mut sum.promise_kept, r.promise_kept)] {
                if let Some(n) = n {
                    *total.get_or_insert(0) += n;
                }
            }
            sum.paid_before_due += r.paid_before_due;
            sum.paid_in_grace += r.paid_in_grace;
            sum.lapsed += r.lapsed;
            sum.open += r.open;
        }
        sum
    };
    let body = html! {
        @if zh(context) {
            p { "截至 " (report.as_of) " 按应缴月份统计的续期（宽限期 " (report.grace_days) " 天）：已提醒 = 应缴日前30天内发过短信；已联系 = 应缴日前30天至宽限期结束之间有电话或面访；未结 = 既未缴费也未过宽限期。" }
        } @else {
            p { "Renewals by due month up to " (report.as_of) " (grace " (report.grace_days) " days): reminded = an SMS in the 30 days before due; contacted = a call or visit from 30 days before due to the end of grace; open = neither paid nor past grace yet." }
        }
        h2 { "By due month" }
        (chart(charts::category_lines(
            say(context, "share of the month's renewals at each step", "当月续期在各步骤的占比"),
            say(context, "share of renewals", "续期占比"),
            &months,
            &lines,
            (0.0, 1.0),
        )))
        @if let Some(lines) = report.score_log_lines {
            @if zh(context) {
                p { "已列入 = 报告日前被放入工作清单（GET /v1/queue，或活动的实验组），来自 " (lines) " 行评分日志。" }
            } @else {
                p { "Listed = put on a work list (GET /v1/queue, or a campaign's treatment arm) before the report date, from " (lines) " score-log lines." }
            }
        }
        @if let Some(n) = report.renewals_with_outcomes {
            @if zh(context) {
                p { "已联系上、承诺缴费和承诺已兑现来自业务员记录的联系结果（报告日前有结果的续期 " (n) " 件）：已联系上 = 就该续期与客户通上话（已联系上、承诺缴费、拒绝缴费或要求勿再联系）；承诺已兑现 = 在承诺日期加 " (crate::funnel::PROMISE_KEPT_DAYS) " 天内缴费，占承诺缴费的比例。" }
            } @else {
                p { "Reached, promised and promise kept come from the outcomes agents recorded (" (n) " renewals with an outcome before the report date): reached = spoke to the customer about the renewal (reached, promised, refused or asked not to be contacted); promise kept = paid by the promised date + " (crate::funnel::PROMISE_KEPT_DAYS) " days, as a share of the promised." }
            }
        }
        (table(&header(with_listed, with_outcomes), &all.iter().map(|r| cells(&r.due_month, r, with_listed, with_outcomes)).collect::<Vec<_>>(), 1))
        @for (dimension, heading) in BREAKDOWNS {
            @let groups: std::collections::BTreeSet<&str> = report.rows.iter().filter(|r| r.dimension == dimension).map(|r| r.group.as_str()).collect();
            @if !groups.is_empty() {
                h2 { (heading) }
                (table(&header(with_listed, with_outcomes), &groups.iter().map(|g| cells(&group_label(context, dimension, g), &total(dimension, g), with_listed, with_outcomes)).collect::<Vec<_>>(), 1))
            }
        }
    };
    page("Renewal funnel", context, body)
}
