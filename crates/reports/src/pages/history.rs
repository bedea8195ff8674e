//! The console's pages over time (issue 27): the model, drift, the book and the campaigns across
//! nights, drawn from the [`History`] every night's reports make. The same pages are served
//! under `/ui/` and exported as files (`lapse history`); a night's own pages are linked as
//! `nights/T/<page>.html` beside them.

use maud::{Markup, html};

use super::charts::{self, AMBER, BLUE, CategorySeries, GREEN, GREY, ORANGE, RED_};
use super::{Context, chart, num, page, pct, say, table, text, zh};
use crate::history::History;

/// The console's pages: (file, English title).
pub const PAGES: [(&str, &str); 6] = [
    ("index.html", "Console"),
    ("today.html", "Today"),
    ("model.html", "Model over time"),
    ("drift.html", "Drift over time"),
    ("book.html", "The book over time"),
    ("campaigns.html", "Campaigns"),
];

/// Nights a heat map shows (the latest ones): a laptop screen's width of columns.
pub const HEAT_NIGHTS: usize = 40;

/// Decisions the champion timeline lists besides every change of champion.
const TIMELINE_NIGHTS: usize = 30;

/// The console's links to its pages (every console page starts with them).
pub(super) fn console_nav(context: &Context) -> Markup {
    html! {
        p.meta {
            @for (i, (file, title)) in PAGES.iter().enumerate() {
                @if i > 0 { " · " }
                a href=(file) { (title_in(context, title)) }
            }
        }
    }
}

/// A console page title in the page's language (the nav is built before `zh::translate`).
fn title_in<'a>(context: &Context, title: &'a str) -> &'a str {
    if zh(context) { super::zh::phrase(title).unwrap_or(title) } else { title }
}

/// A heat-map cell: its colour by the drift status of `psi`, its value for screen readers and
/// as a tooltip.
fn heat_cell(psi: Option<f64>, watch: f64, act: f64) -> Markup {
    let Some(p) = psi.filter(|p| p.is_finite()) else {
        return html! { td.heat style="background:#f4f4f4" { span.sr { "–" } } };
    };
    let color = if p >= act {
        "#c82828"
    } else if p >= watch {
        "#e6aa00"
    } else if p >= watch / 2.0 {
        "#bfe3c8"
    } else {
        "#e9f5ec"
    };
    let label = format!("{p:.3}");
    html! { td.heat style=(format!("background:{color}")) title=(label) { span.sr { (label) } } }
}

/// A share cell, shaded by its size (the score distribution's heat map).
fn share_cell(share: f64, top: f64) -> Markup {
    let alpha = if top > 0.0 { (share / top).clamp(0.0, 1.0) } else { 0.0 };
    let label = format!("{:.1}%", 100.0 * share);
    html! { td.heat style=(format!("background:rgba(54,101,160,{alpha:.2})")) title=(label) { span.sr { (label) } } }
}

/// The console's home: where each page is, and the latest nights.
pub fn console_index(context: &Context, history: &History) -> Markup {
    let rows: Vec<Vec<Markup>> = history
        .nights()
        .rev()
        .take(TIMELINE_NIGHTS)
        .map(|n| {
            vec![
                html! { a href=(format!("nights/{}/index.html", n.night)) { (n.night) } },
                text(if n.promoted { say(context, "promoted", "上线") } else { say(context, "kept", "保留") }),
                text(n.champion_after.clone().unwrap_or_else(|| "-".into())),
                num(n.challenger_auc, 4),
                html! { a href=(format!("nights/{}/drift.html", n.night)) { (n.psi.iter().filter(|(f, p)| f != lapse_model::drift::SCORE && *p >= n.watch).count()) } },
            ]
        })
        .collect();
    let body = html! {
        (console_nav(context))
        @if zh(context) {
            p { "共 " (history.nights().len()) " 个批次，来自 " code { (history.root().display()) } "。每个页面由各批次已写出的报告汇总而成；点击批次日期查看当晚的页面。" }
        } @else {
            p { (history.nights().len()) " nights from " code { (history.root().display()) } ". Every page is drawn from the reports the nights wrote; a night's date opens that night's pages." }
        }
        h2 { "Latest nights" }
        (table(&["night", "decision", "champion", "challenger ROC AUC", "features past watch"], &rows, 3))
    };
    page("Console", context, body)
}

/// The model over time: realised and expected AUC, log loss and calibration per scoring month,
/// the champion timeline, the score distribution per night.
pub fn model_page(context: &Context, history: &History) -> Markup {
    let months = history.model_months();
    let labels: Vec<String> = months.iter().map(|m| m.month.clone()).collect();
    let auc = vec![
        CategorySeries { name: say(context, "realised AUC", "实际 AUC").into(), values: months.iter().map(|m| m.roc_auc).collect(), color: BLUE },
        CategorySeries {
            name: say(context, "expected AUC (before labels)", "预期 AUC（结果未知前）").into(),
            values: months.iter().map(|m| m.expected_auc).collect(),
            color: ORANGE,
        },
    ];
    let low = auc.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(1.0, f64::min);
    let calibration = vec![
        CategorySeries {
            name: say(context, "observed lapse rate", "实际失效率").into(),
            values: months.iter().map(|m| m.observed).collect(),
            color: BLUE,
        },
        CategorySeries {
            name: say(context, "mean predicted", "平均预测").into(),
            values: months.iter().map(|m| m.predicted).collect(),
            color: ORANGE,
        },
    ];
    let high = calibration.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(0.01, f64::max);
    let log_loss =
        vec![CategorySeries {
            name: say(context, "log loss", "对数损失").into(), values: months.iter().map(|m| m.log_loss).collect(), color: GREY
        }];
    let loss_high = log_loss[0].values.iter().flatten().copied().fold(0.01, f64::max);
    let month_rows: Vec<Vec<Markup>> = months
        .iter()
        .map(|m| {
            vec![
                text(&m.month),
                text(m.scored),
                text(m.labelled),
                num(m.roc_auc, 4),
                num(m.expected_auc, 4),
                num(m.log_loss, 4),
                pct(m.observed),
                pct(m.predicted),
            ]
        })
        .collect();
    // Every change of champion, and the latest decisions.
    let nights: Vec<_> = history.nights().collect();
    let timeline: Vec<Vec<Markup>> = nights
        .iter()
        .enumerate()
        .filter(|(i, n)| n.promoted || *i + TIMELINE_NIGHTS >= nights.len() || (*i > 0 && nights[i - 1].champion_after != n.champion_after))
        .rev()
        .map(|(_, n)| {
            let reasons = if zh(context) && !n.reasons_zh.is_empty() { &n.reasons_zh } else { &n.reasons };
            vec![
                html! { a href=(format!("nights/{}/evaluation.html", n.night)) { (n.night) } },
                text(&n.challenger),
                text(if n.promoted { say(context, "promoted", "上线") } else { say(context, "kept", "保留") }),
                text(n.champion_after.clone().unwrap_or_else(|| "-".into())),
                text(reasons.first().cloned().unwrap_or_default()),
            ]
        })
        .collect();
    let shown: Vec<_> = nights.iter().rev().take(HEAT_NIGHTS).rev().collect();
    let bins: Vec<String> =
        shown.iter().rev().find(|n| !n.score_bins.is_empty()).map(|n| n.score_bins.iter().map(|b| b.0.clone()).collect()).unwrap_or_default();
    let top = shown.iter().flat_map(|n| n.score_bins.iter().map(|b| b.1)).fold(0.0, f64::max);
    let body = html! {
        (console_nav(context))
        @if zh(context) {
            p { "每个评分月份的实际 ROC AUC、对数损失和校准（评分日志中的续期有结果后），以及结果未知月份的预期 AUC（CBPE）：一个月一个点，取最新一个批次的报告。" }
        } @else {
            p { "Realised ROC AUC, log loss and calibration per scoring month once outcomes are known (the score log's renewals), and the expected AUC (CBPE) of months not yet labelled: one point per scored month, as the latest night reported it." }
        }
        h2 { "AUC by scoring month" }
        (chart(charts::category_lines(say(context, "ROC AUC by scoring month", "各评分月份的 ROC AUC"), "ROC AUC", &labels, &auc, ((low - 0.05).max(0.0), 1.0))))
        (chart(charts::category_lines(say(context, "log loss by scoring month", "各评分月份的对数损失"), say(context, "log loss", "对数损失"), &labels, &log_loss, (0.0, loss_high * 1.2))))
        (chart(charts::category_lines(say(context, "observed vs predicted lapse rate (matured renewals)", "实际与预测失效率（已有结果的续期）"), say(context, "lapse rate", "失效率"), &labels, &calibration, (0.0, (high * 1.2).min(1.0)))))
        (table(&["month", "scored", "matured", "AUC", "expected AUC", "log loss", "observed", "predicted"], &month_rows, 1))
        h2 { "Champion timeline" }
        (table(&["night", "challenger", "decision", "champion", "reason"], &timeline, 5))
        h2 { "Score distribution per night" }
        @if bins.is_empty() {
            p.note { (say(context, "No night has a score distribution yet.", "尚无批次有评分分布。")) }
        } @else {
            table.heatmap {
                tr { th.l { (say(context, "score bin", "评分区间")) } @for n in &shown { th { a href=(format!("nights/{}/drift.html", n.night)) title=(n.night) { (&n.night[8..]) } } } }
                @for (b, bin) in bins.iter().enumerate() {
                    tr { th.l { (bin) } @for n in &shown { (share_cell(n.score_bins.get(b).map_or(0.0, |x| x.1), top)) } }
                }
            }
        }
    };
    page("Model over time", context, body)
}

/// Drift over time: PSI per feature and night as a heat map, features sorted by recent drift.
pub fn drift_over_time_page(context: &Context, history: &History) -> Markup {
    let nights: Vec<_> = history.nights().collect();
    let shown: Vec<_> = nights.iter().rev().take(HEAT_NIGHTS).rev().copied().collect();
    let (watch, act) = shown.last().map_or((0.1, 0.25), |n| (n.watch, n.act));
    // Features sorted by their PSI over the latest seven nights shown (recent drift first).
    let mut features: Vec<(String, f64)> = Vec::new();
    for n in &shown {
        for (f, _) in &n.psi {
            if !features.iter().any(|(g, _)| g == f) {
                features.push((f.clone(), 0.0));
            }
        }
    }
    for (f, score) in features.iter_mut() {
        *score = shown.iter().rev().take(7).filter_map(|n| n.psi.iter().find(|(g, _)| g == f).map(|x| x.1)).filter(|p| p.is_finite()).sum();
    }
    features.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let body = html! {
        (console_nav(context))
        @if zh(context) {
            p {
                "各特征在各批次的 PSI（今日快照对比当时服务模型的训练参照），最近 " (shown.len()) " 个批次；特征按最近7个批次的 PSI 之和排序。"
                "颜色：PSI 达到 " (watch) " 为关注（黄），达到 " (act) " 为行动（红）。列标题为批次日期（日），点击查看当晚的数据漂移页面。"
            }
        } @else {
            p {
                "PSI per feature and night (today's snapshot against the serving model's training reference), the latest " (shown.len()) " nights; features sorted by their PSI summed over the latest seven. "
                "Colour: watch (amber) from PSI " (watch) ", act (red) from " (act) ". A column's day opens that night's drift page."
            }
        }
        @if shown.is_empty() {
            p.note { (say(context, "No night yet.", "尚无批次。")) }
        } @else {
            table.heatmap {
                tr { th.l { (say(context, "feature", "特征")) } @for n in &shown { th { a href=(format!("nights/{}/drift.html", n.night)) title=(n.night) { (&n.night[8..]) } } } }
                @for (feature, _) in &features {
                    tr {
                        th.l { (feature) }
                        @for n in &shown { (heat_cell(n.psi.iter().find(|(g, _)| g == feature).map(|x| x.1), n.watch, n.act)) }
                    }
                }
            }
            p.note { (say(context, "Nights: ", "批次：")) (shown.first().map_or("", |n| n.night.as_str())) " .. " (shown.last().map_or("", |n| n.night.as_str())) }
        }
    };
    page("Drift over time", context, body)
}

/// The book over time: lapse rate and collection rate per due month, persistency and win-back
/// candidates per night, by channel and region.
pub fn book_page(context: &Context, history: &History) -> Markup {
    let latest = history.latest();
    let nights: Vec<_> = history.nights().collect();
    let due_months: Vec<String> = {
        let mut m: Vec<String> = latest.map(|n| n.funnel.iter().filter(|r| r.0 == "all").map(|r| r.2.clone()).collect()).unwrap_or_default();
        m.sort();
        m.dedup();
        m
    };
    let lapse_rate = |dimension: &str, group: &str, month: &str| -> Option<f64> {
        let r = latest?.funnel.iter().find(|r| r.0 == dimension && r.1 == group && r.2 == month)?;
        let closed = r.3.saturating_sub(r.5);
        (closed > 0).then(|| r.4 as f64 / closed as f64)
    };
    let collection: Vec<Option<f64>> = due_months.iter().map(|m| latest.and_then(|n| n.collection.iter().find(|c| &c.0 == m).map(|c| c.1))).collect();
    let month_series = vec![
        CategorySeries {
            name: say(context, "lapse rate", "失效率").into(),
            values: due_months.iter().map(|m| lapse_rate("all", "all", m)).collect(),
            color: RED_,
        },
        CategorySeries { name: say(context, "collection rate", "达成率").into(), values: collection, color: GREEN },
    ];
    let night_labels: Vec<String> = nights.iter().map(|n| n.night.clone()).collect();
    let persist = |month: u32| -> Vec<Option<f64>> {
        nights.iter().map(|n| n.persistency.iter().find(|p| p.0 == "all" && p.2 == month).map(|p| p.3)).collect()
    };
    let persistency = vec![
        CategorySeries { name: say(context, "13th month", "第13个月").into(), values: persist(13), color: ORANGE },
        CategorySeries { name: say(context, "25th month", "第25个月").into(), values: persist(25), color: BLUE },
    ];
    let low = persistency.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(1.0, f64::min);
    let winback = vec![CategorySeries {
        name: say(context, "win-back candidates", "复效名单件数").into(),
        values: nights.iter().map(|n| n.winback.map(|w| w as f64)).collect(),
        color: AMBER,
    }];
    let winback_high = winback[0].values.iter().flatten().copied().fold(1.0, f64::max);
    let groups = |dimension: &str| -> Vec<String> {
        let mut g: Vec<String> = latest.map(|n| n.funnel.iter().filter(|r| r.0 == dimension).map(|r| r.1.clone()).collect()).unwrap_or_default();
        g.sort();
        g.dedup();
        g
    };
    let recent: Vec<&String> = due_months.iter().rev().take(6).rev().collect();
    let channel_rows: Vec<Vec<Markup>> =
        groups("channel").iter().map(|g| std::iter::once(text(g)).chain(recent.iter().map(|m| pct(lapse_rate("channel", g, m)))).collect()).collect();
    let mut header: Vec<&str> = vec!["channel"];
    header.extend(recent.iter().map(|m| m.as_str()));
    let region_rows: Vec<Vec<Markup>> = latest
        .map(|n| {
            let mut regions: Vec<&String> = n.persistency.iter().filter(|p| p.0 == "region").map(|p| &p.1).collect();
            regions.sort();
            regions.dedup();
            regions
                .into_iter()
                .map(|r| {
                    let at = |month: u32| n.persistency.iter().find(|p| p.0 == "region" && &p.1 == r && p.2 == month).map(|p| p.3);
                    vec![text(r), pct(at(13)), pct(at(25))]
                })
                .collect()
        })
        .unwrap_or_default();
    let body = html! {
        (console_nav(context))
        @if zh(context) {
            p { "失效率和达成率按应缴月份（最新批次的续期漏斗和续期考核报告）；继续率和复效名单件数按批次。失效率的基数是当月应缴且宽限期已过的续期。" }
        } @else {
            p { "Lapse rate and collection rate per due month (the latest night's funnel and team-performance reports); persistency and win-back candidates per night. The lapse rate's base: the renewals due in the month whose grace has ended." }
        }
        h2 { "By due month" }
        (chart(charts::category_lines(say(context, "lapse rate and collection rate by due month", "各应缴月份的失效率和达成率"), say(context, "rate", "比率"), &due_months, &month_series, (0.0, 1.0))))
        h2 { "By night" }
        (chart(charts::category_lines(say(context, "persistency by night (by count)", "各批次的继续率（按件数）"), say(context, "persistency", "继续率"), &night_labels, &persistency, ((low - 0.05).max(0.0), 1.0))))
        (chart(charts::category_lines(say(context, "win-back candidates by night", "各批次的复效名单件数"), say(context, "policies", "保单数"), &night_labels, &winback, (0.0, winback_high * 1.1))))
        h2 { "Lapse rate by channel" }
        (table(&header, &channel_rows, 1))
        h2 { "Persistency by region" }
        (table(&["region", "13th month", "25th month"], &region_rows, 1))
    };
    page("The book over time", context, body)
}

/// Every campaign with its status and save rates per action.
pub fn campaigns_page(context: &Context, history: &History) -> Markup {
    let campaigns = history.campaigns();
    let today = context.night.as_str();
    let rows: Vec<Vec<Markup>> = campaigns
        .iter()
        .flat_map(|c| {
            let status = if c.readable {
                say(context, "read", "已读出").to_string()
            } else if c.readable_on.as_str() <= today {
                say(context, "readable", "可读出").to_string()
            } else {
                format!("{}{}", say(context, "running, readable on ", "进行中，结果可读日期 "), c.readable_on)
            };
            c.actions.iter().map(move |a| {
                vec![
                    text(&c.name),
                    text(&c.campaign_as_of),
                    text(status.clone()),
                    text(&a.action),
                    pct(a.save_rate),
                    html! { (pct(a.ci_low)) " – " (pct(a.ci_high)) },
                    num(a.net_value, 0),
                ]
            })
        })
        .collect();
    let body = html! {
        (console_nav(context))
        @if zh(context) {
            p { "每个活动取最近一次报告的效果：相对流失降幅 = 1 - 实验组失效率 / 对照组失效率（已有结果的续期），95%置信区间；净价值扣除联系成本。" }
        } @else {
            p { "Each campaign as last reported: save rate = 1 - lapse rate treated / lapse rate control on matured renewals, with its 95% interval; net value after contact costs." }
        }
        @if rows.is_empty() {
            p.note { (say(context, "No campaign has been reported yet (lapse nightly --campaigns).", "尚无活动报告（lapse nightly --campaigns）。")) }
        } @else {
            (table(&["campaign", "date", "status", "action", "save rate", "95% interval", "net value"], &rows, 4))
        }
    };
    page("Campaigns", context, body)
}
