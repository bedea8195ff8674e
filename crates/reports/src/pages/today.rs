//! The console's Today page (issue 27): the day's work on the served list, drawn from the
//! outcome store by `lapse serve` (a [`TodayWork`]); the static export has no store and says so.

use maud::{Markup, html};

use super::charts::{self, BLUE};
use super::{Context, chart, num, page, pct, say, table, text, zh};
use lapse_core::dates::format_day;
use lapse_model::scoring::lang::{Lang, action_label};
use lapse_retention::contact::Rule;
use lapse_retention::outcomes::ContactResult;
use lapse_retention::worklist::today::{Team, TodayWork};

/// What the page was asked for (echoed in its form): the day and the capacity as given.
#[derive(Debug, Clone, Default)]
pub struct TodayAsked {
    pub day: String,
    pub capacity: String,
    /// A parameter that could not be read, and why (the page then shows the form and this).
    pub error: Option<String>,
}

fn lang(context: &Context) -> Lang {
    if zh(context) { Lang::ZhCn } else { Lang::En }
}

fn result_label(context: &Context, result: ContactResult) -> &'static str {
    let (en, zh_text) = match result {
        ContactResult::NoAnswer => ("no answer", "未接通"),
        ContactResult::WrongNumber => ("wrong number", "号码错误"),
        ContactResult::Reached => ("reached", "已接通"),
        ContactResult::Promised => ("promised to pay", "承诺缴费"),
        ContactResult::Refused => ("refused", "拒绝缴费"),
        ContactResult::DoNotContact => ("asked not to be contacted", "要求勿扰"),
        ContactResult::ContactAllowed => ("contact allowed again", "恢复联系"),
    };
    say(context, en, zh_text)
}

fn rule_label(context: &Context, rule: Rule) -> &'static str {
    let (en, zh_text) = match rule {
        Rule::DoNotContact => ("do not contact", "勿扰"),
        Rule::Refused => ("refused recently", "近期拒绝"),
        Rule::Promised => ("promise to pay open", "承诺缴费待兑现"),
        Rule::WrongNumber => ("wrong number", "号码错误"),
        Rule::FrequencyCap => ("contacted often enough", "联系频次已满"),
        Rule::Orphan => ("orphan: not this action", "孤儿单不适用该动作"),
        Rule::Holdout => ("campaign control group", "活动对照组"),
    };
    say(context, en, zh_text)
}

fn reason_label<'a>(context: &Context, reason: &'a str) -> &'a str {
    let zh_text = match reason {
        "cannot_afford" => "无力缴费",
        "dissatisfied" => "不满意",
        "bought_elsewhere" => "已在他处投保",
        "no_longer_needed" => "不再需要",
        "other" => "其他",
        "-" => "未说明",
        _ => return reason,
    };
    if zh(context) {
        zh_text
    } else if reason == "-" {
        "not given"
    } else {
        reason
    }
}

/// A refusal reason as a person reads it (`cannot_afford` -> cannot afford; Chinese for the
/// documented ones).
fn reason_text(context: &Context, reason: &str) -> String {
    let label = reason_label(context, reason);
    if zh(context) { label.to_string() } else { label.replace('_', " ") }
}

fn team_label(context: &Context, team: &Team) -> String {
    match team {
        Team::Named(name) => name.clone(),
        Team::Unknown => say(context, "team not known", "团队未知").into(),
        Team::Orphans => say(context, "orphan policies (no agent in service)", "孤儿单（无在职业务员）").into(),
    }
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The form that picks the day and the capacity (a plain GET form: no script).
fn form(context: &Context, asked: &TodayAsked) -> Markup {
    html! {
        form method="get" action="today.html" {
            label for="day" { (say(context, "Day", "日期")) } " "
            input id="day" name="day" type="date" value=(asked.day);
            " "
            label for="capacity" { (say(context, "Capacity (e.g. call=200,sms=5000)", "联系容量（如 call=200,sms=5000）")) } " "
            input id="capacity" name="capacity" type="text" value=(asked.capacity);
            @if zh(context) { input type="hidden" name="lang" value="zh-CN"; }
            " "
            button type="submit" { (say(context, "Show", "查看")) }
        }
    }
}

/// The day's work on the served list.
pub fn today_page(context: &Context, work: &TodayWork, model_version: &str, teams_known: bool, asked: &TodayAsked) -> Markup {
    let l = lang(context);
    let listed = work.listed();
    let contacted = work.contacted();
    let action_rows: Vec<Vec<Markup>> = work
        .actions
        .iter()
        .map(|a| {
            let capacity = a.capacity;
            vec![
                text(action_label(l, &a.action)),
                capacity.map_or_else(|| text("–"), text),
                text(a.listed),
                capacity.map_or_else(|| text("–"), |c| pct(share(a.listed, c))),
                text(a.contacted),
                pct(share(a.contacted, a.listed)),
                text(a.renewals),
                num(Some(a.value_at_risk), 0),
                num(Some(a.expected_gain), 0),
            ]
        })
        .collect();
    let total_row = vec![
        text(say(context, "all actions", "全部动作")),
        work.total_capacity.or_else(|| Some(work.actions.iter().filter_map(|a| a.capacity).sum())).map_or_else(|| text("–"), text),
        text(listed),
        pct(share(listed, work.total_capacity.unwrap_or_else(|| work.actions.iter().filter_map(|a| a.capacity).sum()))),
        text(contacted),
        pct(share(contacted, listed)),
        text(work.actions.iter().map(|a| a.renewals).sum::<usize>()),
        num(Some(work.actions.iter().map(|a| a.value_at_risk).sum()), 0),
        num(Some(work.actions.iter().map(|a| a.expected_gain).sum()), 0),
    ];
    let mut action_rows = action_rows;
    action_rows.push(total_row);

    let action_names: Vec<String> = work.actions.iter().map(|a| action_label(l, &a.action).into_owned()).collect();
    let mut team_header: Vec<&str> = vec![say(context, "team", "团队")];
    team_header.extend(action_names.iter().map(String::as_str));
    team_header.extend([say(context, "listed", "名单内"), say(context, "contacted", "已联系"), say(context, "share contacted", "已联系占比")]);
    let team_rows: Vec<Vec<Markup>> = work
        .teams
        .iter()
        .map(|t| {
            let mut row = vec![text(team_label(context, &t.team))];
            row.extend(t.listed.iter().map(|n| text(*n)));
            row.extend([text(t.listed_total()), text(t.contacted), pct(share(t.contacted, t.listed_total()))]);
            row
        })
        .collect();
    let team_labels: Vec<String> = work.teams.iter().map(|t| team_label(context, &t.team)).collect();
    let team_shares: Vec<f64> = work.teams.iter().map(|t| share(t.contacted, t.listed_total()).unwrap_or(0.0)).collect();

    let outcomes = work.outcomes();
    let result_rows: Vec<Vec<Markup>> =
        work.results.iter().map(|(r, n)| vec![text(result_label(context, *r)), text(n), pct(share(*n, outcomes))]).collect();
    let refusals: usize = work.refusal_reasons.iter().map(|r| r.1).sum();
    let reason_rows: Vec<Vec<Markup>> =
        work.refusal_reasons.iter().map(|(r, n)| vec![text(reason_text(context, r)), text(n), pct(share(*n, refusals))]).collect();
    let held_rows: Vec<Vec<Markup>> =
        work.held.iter().map(|(rule, start, now)| vec![text(rule_label(context, *rule)), text(start), text(now)]).collect();

    let body = html! {
        (super::history::console_nav(context))
        (form(context, asked))
        @if let Some(error) = &asked.error {
            p.note role="alert" { (error) }
        }
        @if zh(context) {
            p { "名单为快照日 " (format_day(work.as_of)) " 的续期（模型 " code { (model_version) } "），按当日开始时的联系规则（不含当日记录的联系结果）排出："
                (listed) " 位客户在名单内，其中 " (contacted) " 位当日已有联系结果（" (pct(share(contacted, listed))) "）。当日共记录 " (outcomes) " 条联系结果，其中 "
                (work.off_list) " 条针对名单外的客户。" }
        } @else {
            p { "The list is the snapshot of " (format_day(work.as_of)) "'s (model " code { (model_version) } ") under the contact rules as they stood when the day began (without the day's outcomes): "
                (listed) " customers listed, " (contacted) " of them with an outcome recorded on the day (" (pct(share(contacted, listed))) "). "
                (outcomes) " outcomes were recorded on the day, " (work.off_list) " of them about customers not on the list." }
        }
        h2 { "By action" }
        (table(&["action", "capacity", "listed", "capacity used", "contacted", "share contacted", "renewals", "value at risk", "expected gain"], &action_rows, 1))
        h2 { "By team" }
        @if !teams_known {
            @if zh(context) {
                p.note { "团队未知：启动服务时加上 " code { "--agents" } "（数据提取中的业务员表）即可按业务员所属团队查看。" }
            } @else {
                p.note { "Teams are not known: start the server with " code { "--agents" } " (the extract's agents table) to see each servicing agent's team." }
            }
        }
        @if team_rows.is_empty() {
            p.note { (say(context, "Nothing is listed today.", "今日名单为空。")) }
        } @else {
            (chart(charts::horizontal_bars(say(context, "share of each team's list contacted", "各团队名单已联系占比"), say(context, "share contacted", "已联系占比"), &team_labels, &team_shares, &vec![BLUE; team_labels.len()], &[])))
            (table(&team_header, &team_rows, 1))
        }
        h2 { "Outcomes recorded on the day" }
        (table(&["result", "outcomes", "share"], &result_rows, 1))
        @if !reason_rows.is_empty() {
            h2 { "Refusal reasons" }
            (table(&["reason", "refusals", "share"], &reason_rows, 1))
        }
        h2 { "Held back by the contact rules" }
        @if zh(context) {
            p { "各规则挡下的续期件数：当日开始时和现在（含当日记录的联系结果）。活动对照组挡下的客户：开始时 " (work.held_out_customers.0) " 位，现在 " (work.held_out_customers.1) " 位。" }
        } @else {
            p { "Renewals each rule keeps off the list: when the day began and now (with the day's outcomes). Customers held out by campaigns: " (work.held_out_customers.0) " then, " (work.held_out_customers.1) " now." }
        }
        (table(&["rule", "when the day began", "now"], &held_rows, 1))
    };
    // The page belongs to the night whose snapshot is served; the day is in the form.
    let title_context = Context { night: format_day(work.as_of), ..context.clone() };
    page("Today", &title_context, body)
}

/// The Today page where there is no outcome store (the static export, a server without one).
pub fn today_unavailable_page(context: &Context) -> Markup {
    let body = html! {
        (super::history::console_nav(context))
        @if zh(context) {
            p.note { "今日工作实时取自联系结果库：请在 " code { "lapse serve --reports DIR" } "（带联系结果库）提供的控制台中打开此页（此副本没有联系结果库）。" }
        } @else {
            p.note { "Today's work is drawn live from the outcome store: open this page on the console served by " code { "lapse serve --reports DIR" } " with its store (this copy has none)." }
        }
    };
    page("Today", context, body)
}
