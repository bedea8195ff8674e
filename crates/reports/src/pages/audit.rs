//! The data-quality audit page (数据质量): what changed in the extract since the previous one,
//! per check and table with examples, the thresholds' verdict, and the counts over the last
//! nights.

use maud::{Markup, html};

use super::charts::{self, AMBER, BLUE, CategorySeries, GREEN, GREY, ORANGE, RED_};
use super::{Context, chart, page, table, text, zh};
use crate::audit::NightCounts;
use lapse_core::audit::{AuditReport, CHECK_TABLES};

/// A check's name in the page's language.
fn check_name(context: &Context, check: &str) -> &'static str {
    match (check, zh(context)) {
        ("late_entry", false) => "late entry",
        ("late_entry", true) => "补录",
        ("changed_after_the_fact", false) => "changed after the fact",
        ("changed_after_the_fact", true) => "事后更改",
        ("vanished", false) => "vanished",
        ("vanished", true) => "消失",
        ("status_inconsistent", false) => "status inconsistent",
        ("status_inconsistent", true) => "状态不一致",
        ("amount_mismatch", false) => "amount mismatch",
        ("amount_mismatch", true) => "金额不符",
        (_, _) => "?",
    }
}

/// What each check counts, in a line.
fn check_meaning(context: &Context, check: &str) -> &'static str {
    match (check, zh(context)) {
        ("late_entry", false) => "a payment (or an event) dated on or before the previous extract's date that the previous extract did not show",
        ("late_entry", true) => "缴费日期（或事件日期）在上一份数据日期当天或之前、但上一份数据中没有的记录",
        ("changed_after_the_fact", false) => "a due date, amount due, payment date or paid amount the previous extract already held, now different",
        ("changed_after_the_fact", true) => "上一份数据中已有的应缴日、应缴金额、缴费日期或实缴金额，现在变了",
        ("vanished", false) => "a policy or installment of the previous extract that today's lacks",
        ("vanished", true) => "上一份数据中有、今天的数据中没有的保单或缴费期次",
        ("status_inconsistent", false) => "in force with a renewal unpaid past its grace period, or lapsed with every renewal paid",
        ("status_inconsistent", true) => "有效状态但有续期已过宽限期未缴，或失效状态但所有续期都已缴",
        ("amount_mismatch", false) => "an amount due more than 1% off the policy's modal premium, or a payment more than 1% over the amount due",
        ("amount_mismatch", true) => "应缴金额与保单期缴保费相差超过1%，或实缴金额超过应缴金额1%以上",
        _ => "",
    }
}

fn table_name(context: &Context, name: &str) -> String {
    if !zh(context) {
        return name.to_string();
    }
    match name {
        "policies" => "保单表".into(),
        "installments" => "缴费期次表".into(),
        "events" => "事件表".into(),
        other => other.into(),
    }
}

/// The audit page; `history` the counts of earlier nights (oldest first; today's is added).
pub fn audit_page(context: &Context, report: &AuditReport, history: &[NightCounts]) -> Markup {
    let zh = zh(context);
    let mut points: Vec<NightCounts> = history.iter().filter(|n| n.night != context.night).cloned().collect();
    points.push(crate::audit::counts(context.night.clone(), report));
    let nights: Vec<String> = points.iter().map(|n| n.night.clone()).collect();
    let colors = [ORANGE, AMBER, BLUE, RED_, GREY, GREEN, BLUE];
    let series: Vec<CategorySeries> = CHECK_TABLES
        .iter()
        .enumerate()
        .map(|(k, (check, t))| CategorySeries {
            name: format!("{} ({})", check_name(context, check), table_name(context, t)),
            values: points.iter().map(|n| Some(n.rows[k] as f64)).collect(),
            color: colors[k % colors.len()],
        })
        .collect();
    let top = series.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(1.0, f64::max);
    let rows: Vec<Vec<Markup>> = report
        .checks
        .iter()
        .map(|c| {
            vec![
                text(check_name(context, &c.check)),
                text(table_name(context, &c.table)),
                text(check_meaning(context, &c.check)),
                text(c.rows),
                text(format!("{:.3}%", 100.0 * c.share)),
            ]
        })
        .collect();
    let examples: Vec<Vec<Markup>> = report
        .checks
        .iter()
        .flat_map(|c| {
            c.examples.iter().map(move |e| {
                vec![
                    text(check_name(context, &c.check)),
                    text(&e.file),
                    html! { code { (e.key) } },
                    html! { code { (e.column) } },
                    text(&e.old),
                    text(&e.new),
                    html! { code { (e.note) } },
                ]
            })
        })
        .collect();
    let (cur, prev) = (&report.current, &report.previous);
    let dash = |d: &Option<String>| d.clone().unwrap_or_else(|| "-".into());
    let body = html! {
        @if zh {
            p {
                "今日数据（" (dash(&cur.extract_date)) "，保单 " (cur.policies) " 件，缴费期次 " (cur.installments) " 条，事件 " (cur.events) " 条）"
                "对比上一份数据（" (dash(&prev.extract_date)) "，保单 " (prev.policies) " 件，缴费期次 " (prev.installments) " 条，事件 " (prev.events) " 条）。"
                "宽限期 " (report.grace_days) " 天。占比 = 检出行数 / 该表行数（“消失”以上一份数据的表为基数）。"
            }
        } @else {
            p {
                "Today's extract (" (dash(&cur.extract_date)) ": " (cur.policies) " policies, " (cur.installments) " installments, " (cur.events) " events) "
                "against the previous one (" (dash(&prev.extract_date)) ": " (prev.policies) " policies, " (prev.installments) " installments, " (prev.events) " events). "
                "Grace " (report.grace_days) " days. Share = rows found / rows of the table (the previous extract's table for vanished rows)."
            }
        }
        @if let Some(v) = &report.verdict {
            @if !v.stops.is_empty() {
                p.verdict.no {
                    (if zh { "数据被拒收：以下检查超过停止阈值，本批次不使用这份数据（冠军模型、快照和清单保持不变）。" } else { "Extract refused: these checks are above their stop threshold; the night does not use it (champion, snapshot and lists untouched)." })
                }
                ul { @for s in &v.stops { li { code { (s) } } } }
            } @else if !v.warnings.is_empty() {
                p.verdict.no { (if zh { "警告：以下检查超过警告阈值，本批次继续运行。" } else { "Warning: these checks are above their warn threshold; the night goes on." }) }
                ul { @for s in &v.warnings { li { code { (s) } } } }
            } @else {
                p.verdict.yes { (if zh { "所有检查都在阈值以内。" } else { "Every check is within its thresholds." }) }
            }
        }
        @if let Some(n) = report.training_labels_changed {
            p.note {
                @if zh { "自模型训练以来，事后更改改变了 " (n) " 个已用于训练的标签（该续期是否失效）。" }
                @else { (n) " training labels changed since the model was trained (a change after the fact moved whether the renewal lapsed)." }
            }
        }
        h2 { "Checks" }
        (table(&["check", "table", "what it counts", "rows", "share"], &rows, 3))
        @for c in report.checks.iter().filter(|c| !c.by_column.is_empty()) {
            p.note {
                (if zh { "事后更改，按字段：" } else { "Changed after the fact, by column: " })
                @for (i, (column, n)) in c.by_column.iter().enumerate() {
                    @if i > 0 { ", " }
                    code { (column) } " " (n)
                }
            }
        }
        h2 { "Over the last nights" }
        (chart(charts::category_lines(
            if zh { "各检查的检出行数（按批次）" } else { "rows found per check, by night" },
            if zh { "行数" } else { "rows" },
            &nights,
            &series,
            (0.0, top * 1.1),
        )))
        h2 { "Examples" }
        @if examples.is_empty() {
            p { (if zh { "没有检出任何行。" } else { "No check found a row." }) }
        } @else {
            (table(&["check", "file", "key", "column", "old", "new", "note"], &examples, 7))
        }
        @if report.unreadable_cells > 0 {
            h2 { "Unreadable cells" }
            p.note {
                @if zh { "今日数据中有 " (report.unreadable_cells) " 个单元格不符合数据约定（日期不是日期、金额不是数字），该行不参与它无法参与的比较。" }
                @else { (report.unreadable_cells) " cells of today's extract are not what the contract says (a date that is not a date, an amount that is not a number); their rows are left out of the comparisons they cannot take." }
            }
            (table(&["file", "key", "column", "value"], &report.unreadable_examples.iter().map(|e| vec![text(&e.file), html! { code { (e.key) } }, html! { code { (e.column) } }, text(&e.new)]).collect::<Vec<_>>(), 4))
        }
    };
    page("Data-quality audit", context, body)
}
