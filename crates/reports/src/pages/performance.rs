//! The renewal team performance page (续期考核): the book's collection rate by due month, the
//! league tables (risk-adjusted and shrunk when a model was given), and the gaps to target.

use maud::{Markup, html};

use super::charts::{self, BLUE, CategorySeries, GREEN, GREY};
use super::{Context, chart, num, page, pct, say, table, text, zh};
use crate::performance::{GroupMonth, Level, PerformanceReport};

/// Rows a league table shows.
const LEAGUE_ROWS: usize = 40;

fn money(x: f64) -> Markup {
    text(format!("{x:.2}"))
}

fn open_cell(open: bool) -> Markup {
    text(if open { "in progress" } else { "closed" })
}

/// A level's name in the page's language (for headings built from it).
fn level_name(context: &Context, level: Level) -> &'static str {
    if !zh(context) {
        return level.as_str();
    }
    match level {
        Level::All => "全部",
        Level::Agent => "业务员",
        Level::Team => "团队",
        Level::Branch => "机构",
        Level::Region => "地区",
        Level::Channel => "渠道",
        Level::Product => "产品",
        Level::Servicing => "服务状态",
    }
}

/// "Persistency by team" / "按团队的继续率".
fn by_level(context: &Context, en: &str, zh_text: &str, level: Level) -> String {
    if zh(context) { format!("按{}{zh_text}", level_name(context, level)) } else { format!("{en} by {}", level.as_str()) }
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

/// The label of the report's whole period (its one month, or FROM..TO).
fn period(report: &PerformanceReport) -> String {
    match report.months.as_slice() {
        [one] => one.clone(),
        [first, .., last] => format!("{first}..{last}"),
        [] => String::new(),
    }
}

/// The period's rows of `level`, largest first by `size`, at most [`LEAGUE_ROWS`].
fn period_rows(report: &PerformanceReport, level: Level, size: impl Fn(&GroupMonth) -> u64) -> Vec<&GroupMonth> {
    let label = period(report);
    let mut rows: Vec<&GroupMonth> = report.groups.iter().filter(|g| g.level == level && g.month == label).collect();
    rows.sort_by(|a, b| size(b).cmp(&size(a)).then(a.key.cmp(&b.key)));
    rows.truncate(LEAGUE_ROWS);
    rows
}

/// Orphan policies apart, persistency by agent, team and branch, the work and the campaigns'
/// save rates by team.
fn beside_the_rates(context: &Context, report: &PerformanceReport) -> Markup {
    let label = period(report);
    let servicing: Vec<&GroupMonth> = report.groups.iter().filter(|g| g.level == Level::Servicing && g.month == label).collect();
    let people = [Level::Team, Level::Branch, Level::Agent];
    let levels: Vec<Level> = people.into_iter().filter(|l| report.levels.contains(l)).collect();
    let rate_pair = |n: u64, count: Option<f64>, premium: Option<f64>| [text(n), pct(count), pct(premium)];
    html! {
        @if !servicing.is_empty() {
            h2 { "Orphan policies" }
            @if zh(context) {
                p.note { "每件续期按其应缴日的服务状态（" (label) "）：孤儿单 = 记录的业务员已离职且此后没有 agent_change；重新分配前 / 后 = agent_change 事件（收展团队接手保单）前后各一年。" }
            } @else {
                p.note { "Each renewal by its servicing state at its due date, " (label) ": orphan = the recorded agent had left and no agent_change since; before / after reassignment = the year either side of an agent_change event (a 收展 team took the policy over)." }
            }
            (table(
                &["Servicing state", "Renewals due", "Premium due", "Collection rate", "By count", "Status"],
                &servicing.iter().map(|g| vec![text(&g.key), text(g.renewals_due), money(g.premium_due), pct(g.collection_rate), pct(g.count_rate), open_cell(g.open)]).collect::<Vec<_>>(),
                1,
            ))
        }
        @for level in &levels {
            @let rows = period_rows(report, *level, |g| g.persistency_13_policies + g.persistency_25_policies);
            @if rows.iter().any(|g| g.persistency_13_policies + g.persistency_25_policies > 0) {
                h2 { (by_level(context, "Persistency", "的继续率", *level)) }
                @if zh(context) {
                    p.note { "第13（25）个月保费在 " (label) " 应缴且宽限期已过的保单；定义同继续率报告。按规模从大到小。" }
                } @else {
                    p.note { "Policies whose 13th (25th) month premium fell due in " (label) " with its grace over; the persistency report's definition. Largest groups first." }
                }
                (table(
                    &["Group", "13th: policies", "13th: by count", "13th: by premium", "25th: policies", "25th: by count", "25th: by premium"],
                    &rows.iter().map(|g| {
                        let mut cells = vec![text(&g.key)];
                        cells.extend(rate_pair(g.persistency_13_policies, g.persistency_13, g.persistency_13_premium));
                        cells.extend(rate_pair(g.persistency_25_policies, g.persistency_25, g.persistency_25_premium));
                        cells
                    }).collect::<Vec<_>>(),
                    1,
                ))
            }
        }
        @if let Some(source) = &report.work {
            h2 { "The work behind it" }
            @if zh(context) {
                p.note {
                    "来自联系结果库：" (report.as_of) " 前就数据中的续期记录的联系结果 " (source.outcomes_used) " 条（另有 "
                    (source.outcomes_unmatched) " 条指向数据中没有的续期）；已列入 = 在库中 " (source.campaigns) " 个活动之一的实验组"
                    @if let Some(lines) = source.score_log_lines { "，或在评分日志（" (lines) " 行）的工作清单上" }
                    "。面访率 = 面访过的续期 / 应缴续期；清单处理率 = 有联系结果的已列入续期 / 已列入续期；在承诺日期加3天内缴费即为承诺已兑现。"
                }
            } @else {
                p.note {
                    "From the outcome store: " (source.outcomes_used) " outcomes recorded before " (report.as_of) " on renewals of the extract ("
                    (source.outcomes_unmatched) " name a renewal the extract does not have); listed = in the treatment arm of one of "
                    (source.campaigns) " stored campaigns"
                    @if let Some(lines) = source.score_log_lines { " or on a work list in the score log (" (lines) " lines)" }
                    ". Visit rate (面访率) = renewals visited / renewals due; list worked = listed renewals with an outcome / listed; a promise is kept when paid by the promised date + 3 days."
                }
            }
            @for level in std::iter::once(Level::All).chain(levels.iter().copied()) {
                @let rows = period_rows(report, level, |g| g.renewals_due);
                @if !rows.is_empty() {
                    h3 { (by_level(context, "Work", "的工作量", level)) }
                    (table(
                        &["Group", "Renewals due", "Listed", "List worked", "Attempted", "Reached", "Reach rate", "Promises", "Kept", "Broken", "Visit rate", "Collection rate"],
                        &rows.iter().filter_map(|g| g.work.map(|w| (g, w))).map(|(g, w)| vec![
                            text(&g.key), text(g.renewals_due), text(w.renewals_listed), pct(w.list_worked_share), text(w.renewals_attempted),
                            text(w.renewals_reached), pct(w.reach_rate), text(w.promises_made), text(w.promises_kept), text(w.promises_broken),
                            pct(w.visit_rate), pct(g.collection_rate),
                        ]).collect::<Vec<_>>(),
                        1,
                    ))
                }
            }
        }
        @if !report.campaign_save_rates.is_empty() {
            h2 { "Campaign save rates by team" }
            @if zh(context) {
                p.note { "有对照组的活动：相对流失降幅 = 1 - 实验组失效率 / 对照组失效率（已有结果的续期，意向处理分析），95%置信区间按客户计算；活动结果可读日期之前不是最终结果。" }
            } @else {
                p.note { "Campaigns with a control arm: save rate = 1 - lapse rate treated / lapse rate control on matured renewals (intention to treat), 95% interval by customer; not final before the campaign is readable." }
            }
            (table(
                &["Campaign", "Action", "Team", "Treated", "Control", "Save rate", "95% interval", "Readable on"],
                &report.campaign_save_rates.iter().map(|r| vec![
                    text(&r.campaign), text(&r.effect.action), text(&r.effect.value), text(r.effect.treated_matured), text(r.effect.control_matured),
                    pct(r.effect.save_rate),
                    text(match (r.effect.ci_low, r.effect.ci_high) { (Some(a), Some(b)) => format!("{:.1}% - {:.1}%", a * 100.0, b * 100.0), _ => "-".into() }),
                    text(if r.readable { format!("{}{}", r.readable_on, say(context, " (final)", "（最终）")) } else { r.readable_on.clone() }),
                ]).collect::<Vec<_>>(),
                3,
            ))
        }
    }
}

/// The page.
pub fn performance_page(context: &Context, report: &PerformanceReport) -> Markup {
    let all: Vec<&GroupMonth> = report.groups.iter().filter(|g| g.level == Level::All && !g.month.contains("..")).collect();
    let months: Vec<String> = all.iter().map(|g| g.month.clone()).collect();
    let lines = [
        CategorySeries {
            name: say(context, "collection rate (premium)", "达成率（按保费）").into(),
            values: all.iter().map(|g| g.collection_rate).collect(),
            color: BLUE,
        },
        CategorySeries {
            name: say(context, "collection rate (count)", "达成率（按件数）").into(),
            values: all.iter().map(|g| g.count_rate).collect(),
            color: GREEN,
        },
        CategorySeries {
            name: say(context, "expected (model)", "预期（模型）").into(),
            values: all.iter().map(|g| g.expected_rate).collect(),
            color: GREY,
        },
    ];
    let low = lines.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(1.0, f64::min);
    let risk = report.risk_model.is_some();
    // The league tables' period: the closed months together (else the latest closed month).
    let closed = report.league_period.clone();
    let mut header = vec!["Rank", "Group", "Renewals due", "Premium due", "Collection rate", "Shrunk rate"];
    if risk {
        header.extend(["Expected rate", "Observed / expected", "95% interval"]);
    }
    let mut targeted: Vec<&GroupMonth> = report.groups.iter().filter(|g| g.target_rate.is_some()).collect();
    targeted.sort_by(|a, b| b.gap_premium.unwrap_or(0.0).total_cmp(&a.gap_premium.unwrap_or(0.0)));
    let body = html! {
        @if zh(context) {
            p { (crate::performance::DEFINITION_ZH) }
            @if !report.omitted_levels.is_empty() {
                p.note { "未报告：" @for (level, why) in &report.omitted_levels { (level_name(context, *level)) "（" code { (why) } "）。" } }
            }
            @if report.paid_without_amount > 0 {
                p.note { "宽限期内已缴的续期中有 " (report.paid_without_amount) " 件没有 amount_paid：按实收 0 计入。" }
            }
        } @else {
            p { (report.definition) }
            @if !report.omitted_levels.is_empty() {
                p.note { "Not reported: " @for (level, why) in &report.omitted_levels { (level.as_str()) " (" (why) "). " } }
            }
            @if report.paid_without_amount > 0 {
                p.note { (report.paid_without_amount) " renewals paid in grace have no amount_paid: counted as collected with 0." }
            }
        }
        h2 { "Collection rate by due month" }
        (chart(charts::category_lines(
            say(context, "collection rate of the renewals due each month", "各月应缴续期的达成率"),
            say(context, "collection rate", "达成率"),
            &months,
            &lines,
            ((low - 0.05).max(0.0), 1.0),
        )))
        (table(
            &["Due month", "Renewals due", "Premium due", "Premium collected", "Collection rate", "By count", "Status"],
            &all.iter().map(|g| vec![text(&g.month), text(g.renewals_due), money(g.premium_due), money(g.premium_collected), pct(g.collection_rate), pct(g.count_rate), open_cell(g.open)]).collect::<Vec<_>>(),
            1,
        ))
        @if zh(context) {
            p { "进行中的月份（" (report.as_of) " 时仍有续期未过宽限期）不是差月份：仍在宽限期内的续期计入应收而尚未实收。" }
        } @else {
            p { "A month in progress (some renewal's grace is not over at " (report.as_of) ") is not a bad month: its renewals still in grace count as due and not yet collected." }
        }
        @if let Some(model) = &report.risk_model {
            @if zh(context) {
                p {
                    "预期：失效模型 " (model.version) " 在每件续期应缴月份第一天的预测，其中业务员自身的记录（"
                    (model.neutralized.join("、")) "）设为全体的典型值：即一般业务员在同样客户上预期的达成情况。实际/预期大于1表示好于预期。"
                    @if let Some(share) = model.fitted_share {
                        "模型曾在其中 " (format!("{:.0}%", share * 100.0)) " 的续期上拟合；在这些续期上其预期偏向实际发生的结果。"
                    }
                }
            } @else {
            p {
                "Expected: what lapse model " (model.version) " predicted for each renewal at the start of its due month, with the agent's own record ("
                (model.neutralized.join(", ")) ") set to the book's typical value: what an average agent would collect from the same customers. Observed / expected above 1 is better than the book predicts."
                @if let Some(share) = model.fitted_share {
                    " The model was fitted on " (format!("{:.0}%", share * 100.0)) " of these renewals; there its expectation leans towards what happened."
                }
            }
            }
        }
        @if let Some(month) = &closed {
            @for level in report.levels.iter().copied().filter(|l| !matches!(l, Level::All | Level::Servicing)) {
                @let rows = league(report, level, month);
                @if !rows.is_empty() {
                    h2 { (by_level(context, "League table", "的排名", level)) }
                    @if zh(context) {
                        p.note { (month) "，按收缩后的" (if risk { "实际/预期" } else { "达成率" }) "排名（经验贝叶斯：小组被拉向该层级的均值）；旁列原始数值。" }
                        @if rows.len() > 1 && rows.iter().all(|g| g.rank == Some(1)) {
                            p.note { "这些分组之间的差异在纯随机波动范围内：所有分组并列第一（按原始数值排序）。" }
                        }
                    } @else {
                        p.note { (month) ", ranked by the shrunk " (if risk { "observed / expected" } else { "collection rate" }) " (empirical Bayes: a small group is pulled towards the level's mean); raw figures beside it." }
                        @if rows.len() > 1 && rows.iter().all(|g| g.rank == Some(1)) {
                            p.note { "The differences between these groups are within what chance alone gives: every group shares the first place (rows ordered by the raw figure)." }
                        }
                    }
                    @if risk && level == Level::Agent {
                        @let shown: Vec<&&GroupMonth> = rows.iter().take(30).collect();
                        (chart(charts::intervals(
                            say(context, "observed / expected with 95% interval (best 30)", "实际/预期及95%置信区间（前30名）"),
                            say(context, "observed / expected", "实际/预期"),
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
            p.note { (say(context, "Gap = target rate x premium due - premium collected: the premium still short of target, largest first.", "差额 = 目标达成率 x 应收续期保费 - 实收续期保费：距目标仍差的保费，从大到小。")) }
            (table(
                &["Level", "Group", "Due month", "Target rate", "Collection rate", "Attainment", "Gap (premium)", "Status"],
                &targeted.iter().map(|g| vec![text(level_name(context, g.level)), text(&g.key), text(&g.month), pct(g.target_rate), pct(g.collection_rate), pct(g.attainment), text(format!("{:.2}", g.gap_premium.unwrap_or(0.0))), open_cell(g.open)]).collect::<Vec<_>>(),
                3,
            ))
        }
        (beside_the_rates(context, report))
    };
    page("Renewal team performance", context, body)
}
