//! The reports in Simplified Chinese (`--lang zh-CN`). Two mechanisms:
//! - sentences (paragraphs, decision reasons, guard rails, the why page's reasons, chart titles
//!   and legends) are written in both languages where they are built: the templates branch on
//!   the page's language, and the reports carry `*_zh` twins of the sentences they store;
//! - headings, table headers and short labels are replaced in the rendered page where a text
//!   node is exactly one of [`PHRASES`] (never inside an attribute).
//!
//! [`english_sentences`] is what the zh-CN pages are tested against (`tests/nightly.rs`,
//! `tests/campaign.rs`): a page in Chinese prints no English sentence. Data values (regions,
//! channels, product codes), feature names and file paths stay as the extract and the code
//! spell them.

/// English heading or label -> Chinese.
pub const PHRASES: &[(&str, &str)] = &[
    ("Today", "今日工作"),
    ("By action", "按动作"),
    ("Outcomes recorded on the day", "当日记录的联系结果"),
    ("Refusal reasons", "拒绝原因"),
    ("Held back by the contact rules", "联系规则挡下的续期"),
    ("capacity", "联系容量"),
    ("listed", "名单内"),
    ("capacity used", "容量使用率"),
    ("contacted", "已联系"),
    ("value at risk", "风险价值"),
    ("expected gain", "预期收益"),
    ("result", "联系结果"),
    ("outcomes", "结果条数"),
    ("refusals", "拒绝次数"),
    ("when the day began", "当日开始时"),
    ("now", "现在"),
    ("team", "团队"),
    ("13th: by count", "第13个月：按件数"),
    ("13th: by premium", "第13个月：按保费"),
    ("13th: policies", "第13个月：保单数"),
    ("25th: by count", "第25个月：按件数"),
    ("25th: by premium", "第25个月：按保费"),
    ("25th: policies", "第25个月：保单数"),
    ("95% interval", "95%置信区间"),
    ("AUC over time", "AUC 随时间变化"),
    ("By age band", "按年龄段"),
    ("By days before due of the first contact", "按首次联系距应缴日天数"),
    ("By due month", "按应缴月份"),
    ("By first contact's action", "按首次联系方式"),
    ("Contacted", "已联系"),
    ("Lapsed", "失效"),
    ("Open", "未结"),
    ("Paid before due", "应缴日前缴费"),
    ("Paid in grace", "宽限期内缴费"),
    ("Reminded", "已提醒"),
    ("Renewal funnel", "续期漏斗"),
    ("By channel", "按渠道"),
    ("By team", "按团队"),
    ("By policy year", "按保单年度"),
    ("Change (latest vs previous snapshot)", "变化（最新快照对比上一快照）"),
    ("Group", "分组"),
    ("Mean predicted", "平均预测失效率"),
    ("Observed lapse rate", "实际失效率"),
    ("Renewals", "续期件数"),
    ("Top reasons", "主要原因"),
    ("Why customers lapse", "客户为何失效"),
    ("By issue cohort", "按承保批次"),
    ("By issue year", "按承保年度"),
    ("By product type", "按产品类型"),
    ("By region", "按地区"),
    ("By segment", "按客群"),
    ("Calibration", "校准"),
    ("Champion and challenger", "冠军模型与挑战模型"),
    ("Drift", "数据漂移"),
    ("Drift report", "数据漂移报告"),
    ("Every feature", "全部特征"),
    ("Every renewal", "全部续期"),
    ("Guard rails (challenger)", "护栏检查（挑战模型）"),
    ("Guard rails (champion, on the renewals it never saw)", "护栏检查（冠军模型，仅用其未见过的续期）"),
    ("What the challenger learnt", "挑战模型学到了什么"),
    ("input", "输入特征"),
    ("Held-out metrics", "留出集指标"),
    ("Inputs", "输入"),
    ("Lapses prevented by contacting the top of each ranking (held out)", "按各排序联系前列客户可避免的失效件数（留出集）"),
    ("Measured save rates for tomorrow's work list", "用于明日工作清单的实测相对流失降幅"),
    ("Models", "模型"),
    ("Overall", "总体"),
    ("PSI by feature", "各特征 PSI"),
    ("PSI noise", "PSI 噪声"),
    ("Persistency", "继续率"),
    ("ROC AUC", "ROC AUC"),
    ("Realised performance", "实际表现"),
    ("Reports", "报告"),
    ("Save rate per action", "各行动的相对流失降幅"),
    ("Score distribution", "评分分布"),
    ("The arms' models (out of fold)", "两组的模型（交叉拟合）"),
    ("Uplift by decile of predicted uplift", "按预测增益十分位的实际增益"),
    ("Whom to call first", "优先联系谁"),
    ("action", "行动"),
    ("all", "全部"),
    ("arm", "组别"),
    ("by risk", "按风险"),
    ("by uplift", "按增益"),
    ("channel", "渠道"),
    ("control", "对照组"),
    ("control (matured / all)", "对照组（已有结果/全部）"),
    ("decile", "十分位"),
    ("delivered treated / control", "送达率 实验组/对照组"),
    ("detectable (80% power)", "可检测效果（80%功效）"),
    ("By the action the work list gave (score log)", "按工作清单给出的行动（评分日志）"),
    ("Data-quality audit", "数据质量审计"),
    ("Console", "控制台"),
    ("Model over time", "模型随时间变化"),
    ("Drift over time", "数据漂移随时间变化"),
    ("The book over time", "业务随时间变化"),
    ("Campaigns", "活动"),
    ("Latest nights", "最近批次"),
    ("AUC by scoring month", "各评分月份的 AUC"),
    ("Champion timeline", "冠军模型时间线"),
    ("Score distribution per night", "各批次的评分分布"),
    ("By night", "按批次"),
    ("Lapse rate by channel", "各渠道失效率"),
    ("Persistency by region", "各地区继续率"),
    ("night", "批次"),
    ("decision", "决定"),
    ("champion", "冠军模型"),
    ("challenger", "挑战模型"),
    ("challenger ROC AUC", "挑战模型 ROC AUC"),
    ("features past watch", "超过关注阈值的特征数"),
    ("month", "月份"),
    ("scored", "已评分"),
    ("matured", "已有结果"),
    ("expected AUC", "预期 AUC"),
    ("log loss", "对数损失"),
    ("observed", "实际"),
    ("predicted", "预测"),
    ("reason", "原因"),
    ("region", "地区"),
    ("13th month", "第13个月"),
    ("25th month", "第25个月"),
    ("campaign", "活动"),
    ("date", "日期"),
    ("status", "状态"),
    ("save rate", "相对流失降幅"),
    ("net value", "净价值"),
    ("Data quality", "数据质量"),
    ("Checks", "检查项"),
    ("Over the last nights", "近期各批次趋势"),
    ("Examples", "示例"),
    ("Unreadable cells", "无法读取的单元格"),
    ("what it counts", "检查内容"),
    ("check", "检查"),
    ("table", "表"),
    ("file", "文件"),
    ("key", "键"),
    ("column", "字段"),
    ("old", "原值"),
    ("new", "新值"),
    ("note", "说明"),
    ("value", "值"),
    ("rows", "行数"),
    ("share", "占比"),
    ("in progress", "进行中"),
    ("closed", "已结束"),
    ("not contacted", "未联系"),
    ("not listed", "未列入"),
    ("15-30 days before due", "应缴日前15-30天"),
    ("1-14 days before due", "应缴日前1-14天"),
    ("on or after due", "应缴日当天或之后"),
    ("pass", "通过"),
    ("fail", "未通过"),
    ("stable", "稳定"),
    ("watch", "关注"),
    ("act", "行动"),
    ("share of total split gain", "占全部分裂增益的比例"),
    ("coefficient (standardized)", "系数（标准化）"),
    ("categorical", "类别型"),
    ("numeric", "数值型"),
    ("missing", "缺失"),
    ("unseen", "未见取值"),
    ("no agent", "无业务员"),
    ("under 25", "25岁以下"),
    ("65 and over", "65岁及以上"),
    ("10 and later", "第10年及以后"),
    ("spread of its contribution to the log-odds (sd)", "对对数几率贡献的离散度（标准差）"),
    ("(chart not drawn: nothing to draw)", "（未绘制图表：没有数据）"),
    ("family", "模型族"),
    ("feature", "特征"),
    ("from", "从"),
    ("group", "分组"),
    ("guard rail", "护栏"),
    ("held-out Qini", "留出集 Qini"),
    ("issue_year", "承保年度"),
    ("kept", "选用"),
    ("kind", "类型"),
    ("labelled", "已有结果"),
    ("still in grace", "仍在宽限期内"),
    ("still in grace (paid)", "仍在宽限期内（已缴）"),
    ("lapse rate control", "对照组失效率"),
    ("lapse rate treated", "实验组失效率"),
    ("lapsed premium in top 10%", "前10%覆盖的失效保费"),
    ("lapses", "失效件数"),
    ("lapses prevented", "避免的失效件数"),
    ("learner", "学习器"),
    ("mean predicted", "平均预测值"),
    ("measured", "实测"),
    ("missing (reference)", "缺失率（参照）"),
    ("missing (today)", "缺失率（今日）"),
    ("model", "模型"),
    ("observed uplift", "实际增益"),
    ("predicted uplift", "预测增益"),
    ("prior", "先验"),
    ("product_type", "产品类型"),
    ("random", "随机"),
    ("registered as", "注册版本"),
    ("renewals", "续期件数"),
    ("retained premium", "保住的保费"),
    ("rule", "规则"),
    ("save rate per delivered", "每次送达的相对流失降幅"),
    ("segment", "客群"),
    ("share contacted", "联系比例"),
    ("standard error", "标准误"),
    ("to", "至"),
    ("top-decile lift", "前10%提升度"),
    ("treated", "实验组"),
    ("treated (matured / all)", "实验组（已有结果/全部）"),
    ("unseen levels", "未见过的取值"),
    ("used", "采用"),
    ("verdict", "结论"),
    ("Campaign effect", "活动效果"),
    ("Uplift", "增益模型"),
    ("policies", "保单数"),
    ("persisting", "继续有效"),
    ("by count", "按件数"),
    ("by premium", "按保费"),
    // Renewal team performance (续期考核).
    ("Renewal team performance", "续期考核"),
    ("Collection rate by due month", "各应缴月份续期保费达成率"),
    ("Due month", "应缴月份"),
    ("Renewals due", "应收件数"),
    ("Premium due", "应收续期保费"),
    ("Premium collected", "实收续期保费"),
    ("Collection rate", "达成率（保费）"),
    ("By count", "达成率（件数）"),
    ("Status", "状态"),
    ("Rank", "排名"),
    ("Shrunk rate", "收缩后达成率"),
    ("Expected rate", "预期达成率"),
    ("Observed / expected", "实际/预期"),
    ("League table by agent", "业务员排名"),
    ("League table by team", "团队排名"),
    ("League table by branch", "机构排名"),
    ("League table by region", "地区排名"),
    ("League table by channel", "渠道排名"),
    ("League table by product", "产品类型排名"),
    ("Against target", "目标达成"),
    ("Level", "层级"),
    ("Target rate", "目标达成率"),
    ("Attainment", "目标完成度"),
    ("Gap (premium)", "差额（保费）"),
    ("Orphan policies", "孤儿单"),
    ("Servicing state", "服务状态"),
    ("serviced", "正常服务"),
    ("orphan", "孤儿单"),
    ("before reassignment", "重新分配前"),
    ("after reassignment", "重新分配后"),
    ("Persistency by agent", "业务员继续率"),
    ("Persistency by team", "团队继续率"),
    ("Persistency by branch", "机构继续率"),
    ("The work behind it", "续期过程"),
    ("Work by all", "全部工作量"),
    ("Work by agent", "业务员工作量"),
    ("Work by team", "团队工作量"),
    ("Work by branch", "机构工作量"),
    ("Listed", "列入名单"),
    ("List worked", "名单跟进率"),
    ("Attempted", "已尝试联系"),
    ("Reached", "已联系上"),
    ("Reach rate", "联系上比例"),
    ("Promises", "承诺缴费"),
    ("Kept", "已兑现"),
    ("Broken", "未兑现"),
    ("Visit rate", "面访率"),
    ("Campaign save rates by team", "各团队活动的相对流失降幅"),
    ("Campaign", "活动"),
    ("Action", "行动"),
    ("Team", "团队"),
    ("Treated", "实验组"),
    ("Control", "对照组"),
    ("Save rate", "相对流失降幅"),
    ("Readable on", "结果可读日期"),
    ("extract", "数据"),
    ("snapshot", "快照"),
    ("training", "训练"),
    (": this run, for machines", "：本次运行记录（供程序读取）"),
    // One line per metric (pages/metrics.rs).
    (
        "ROC AUC: the chance that a renewal which lapsed is ranked above one which was paid (0.5 is a coin toss, 1 is perfect; higher is better).",
        "ROC AUC：任取一件失效的续期和一件已缴费的续期，前者排序更靠前的概率（0.5相当于随机，1为完美；越高越好）。",
    ),
    (
        "Log loss: the average penalty of the predicted probabilities against what happened (lower is better; it punishes confident mistakes most).",
        "对数损失：预测概率相对实际结果的平均惩罚（越低越好；对有把握却判断错误的预测惩罚最重）。",
    ),
    (
        "ECE (expected calibration error): the average gap between the predicted lapse probability and the lapse rate observed at that probability (lower is better).",
        "ECE（期望校准误差）：预测失效概率与该概率下实际失效率之间的平均差距（越低越好）。",
    ),
    (
        "PSI (population stability index): how far a feature's distribution today moved from the model's training data (below 0.1 stable, 0.1-0.25 watch, above 0.25 act).",
        "PSI（群体稳定性指数）：某特征今日分布相对模型训练数据的偏移程度（低于0.1为稳定，0.1-0.25需关注，高于0.25需处理）。",
    ),
    (
        "Qini: the lapses a ranking prevents beyond contacting the same number of renewals at random, summed down the list (higher is better).",
        "Qini：按该排序联系比随机联系同样数量的续期多避免的失效件数，沿名单累加（越高越好）。",
    ),
    (
        "A reason's number, e.g. (+0.50): how much that input raises this renewal's log-odds of lapse; +0.7 roughly doubles the odds.",
        "原因后的数字，如(+0.50)：该输入使这件续期失效的对数几率升高多少；+0.7约使几率翻倍。",
    ),
    (
        "Save rate: 1 - lapse rate of the contacted arm / lapse rate of the control arm, on renewals whose grace has ended: the relative cut in lapses (a good call campaign saves 10-30%; not the share of customers kept).",
        "相对流失降幅：1 - 实验组失效率 / 对照组失效率，仅计宽限期已结束的续期：失效相对减少的比例（电话活动的良好水平为10-30%；不是保住客户的比例）。",
    ),
    (
        "Detectable: the smallest save rate this campaign's size could tell from zero (80% power, two-sided 5%); a smaller true effect may be real but unmeasured.",
        "最小可检测降幅：按本次活动规模能与零区分的最小相对流失降幅（80%功效，双侧5%）；更小的真实效果可能存在但测不出。",
    ),
    (
        "Lapse rate here: of the renewals due in the month, those unpaid when their grace ended (most customers pay: a few percent).",
        "此处的失效率：当月应缴续期中，宽限期结束仍未缴费的比例（大多数客户会缴费：仅几个百分点）。",
    ),
    (
        "Lapse rate of the training table: of the renewals at risk on each snapshot date (due within 30 days or overdue in grace, so unpaid at the snapshot), those that lapsed: higher than a month's lapse rate, because renewals already paid are not at risk.",
        "训练表的失效率：各快照日处于风险中的续期（30天内应缴或已逾期仍在宽限期内，快照时尚未缴费）中最终失效的比例：高于月度失效率，因为已缴费的续期不在风险中。",
    ),
    (
        "Persistency: of the policies whose 13th (25th) month premium fell due with its grace over, the share that paid it (a policy, not a renewal, is counted).",
        "继续率：第13（25）个月保费已应缴且宽限期已过的保单中，缴纳了该期保费的比例（按保单计，不按续期计）。",
    ),
    (
        "Collection rate: premium collected within grace / premium due of the renewals due in the month (达成率).",
        "达成率：当月应缴续期在宽限期内的实收续期保费 / 应收续期保费。",
    ),
    (
        "Observed / expected: the premium collected over what an average agent was expected to collect from the same customers (above 1 is better than the book predicts).",
        "实际/预期：实收保费与一般业务员在同样客户上预期可收保费之比（大于1表示好于预期）。",
    ),
    (
        "Win-back candidate: a policy lapsed at the report date, within 730 days of its lapse, not surrendered, matured, cancelled or ended by death: it can still be reinstated by paying the arrears.",
        "复效名单对象：统计日已失效、失效不满730天、且未退保、满期、撤销或因身故终止的保单：补缴欠缴保费后仍可复效。",
    ),
];

/// Page-title prefixes followed by a name (`Campaign effect: june`).
const PREFIXES: &[(&str, &str)] = &[
    ("Campaign effect: ", "活动效果："),
    ("Uplift: ", "增益模型："),
    ("Nightly run ", "夜间批次 "),
    ("Champion kept: champion now ", "保留冠军模型，当前冠军模型为 "),
    ("Challenger promoted: champion now ", "挑战模型上线，当前冠军模型为 "),
    ("Promoted: ", "上线："),
];

/// The Chinese of one phrase of [`PHRASES`], if it has one.
pub fn phrase(en: &str) -> Option<&'static str> {
    PHRASES.iter().find(|(e, _)| *e == en).map(|(_, zh)| *zh)
}

/// The page in Chinese: exact text nodes replaced, the document's language set.
pub fn translate(html: &str) -> String {
    let mut out = html.replacen("<html lang=\"en\">", "<html lang=\"zh-CN\">", 1);
    for (en, zh) in PHRASES {
        out = out.replace(&format!(">{en}<"), &format!(">{zh}<"));
    }
    for (en, zh) in PREFIXES {
        out = out.replace(&format!(">{en}"), &format!(">{zh}"));
    }
    out
}

/// The English sentences a page prints: runs of three or more English words in its text
/// (chart text included), outside `<style>`, `<script>` and `<code>` (feature names, file
/// names and error details are machine text). A word is two or more ASCII letters; a token with
/// a digit or an underscore (a feature name, a product code, a version) is not a word, and
/// breaks a run. What the zh-CN pages are checked against: a page in Chinese prints none.
pub fn english_sentences(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut skip = 0usize;
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open], skip, &mut found);
        let Some(close) = rest[open..].find('>') else { break };
        let tag = &rest[open + 1..open + close];
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
        if matches!(name.as_str(), "style" | "script" | "code") {
            if tag.starts_with('/') {
                skip = skip.saturating_sub(1);
            } else if !tag.ends_with('/') {
                skip += 1;
            }
        }
        rest = &rest[open + close + 1..];
    }
    check_text(rest, skip, &mut found);
    found
}

fn check_text(text: &str, skip: usize, found: &mut Vec<String>) {
    if skip > 0 || text.trim().is_empty() {
        return;
    }
    let mut run = 0;
    for token in text.split(|c: char| c.is_whitespace() || ",;:()'\"/.!?-".contains(c)) {
        if token.is_empty() {
            continue;
        }
        if token.len() >= 2 && token.chars().all(|c| c.is_ascii_alphabetic()) {
            run += 1;
            if run == 3 {
                found.push(text.trim().to_string());
                return;
            }
        } else {
            run = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quoted strings of `source` between `open` and the next `close`.
    fn quoted_after(source: &str, open: &str, close: char) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find(open) {
            let after = &rest[at + open.len()..];
            let end = after.find(close).unwrap_or(after.len());
            let mut inside = &after[..end];
            while let Some(q) = inside.find('"') {
                let tail = &inside[q + 1..];
                let Some(e) = tail.find('"') else { break };
                out.push(tail[..e].to_string());
                inside = &tail[e + 1..];
            }
            rest = &after[end..];
        }
        out
    }

    #[test]
    fn every_metric_line_has_a_chinese_entry() {
        for m in super::super::metrics::ALL {
            assert!(PHRASES.iter().any(|(en, _)| *en == m.line()), "no Chinese for {m:?}");
        }
    }

    #[test]
    fn every_heading_and_table_header_has_a_chinese_entry() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("effect.rs"),
            include_str!("uplift.rs"),
            include_str!("why.rs"),
            include_str!("funnel.rs"),
            include_str!("performance.rs"),
            include_str!("audit.rs"),
            include_str!("history.rs"),
            include_str!("today.rs"),
        ];
        let symbols = [", ", "AUC", "PSI", "KS", "ECE", "Brier", "p", "± se"];
        let mut missing = Vec::new();
        for source in sources {
            let mut phrases = quoted_after(source, "table(&[", ']');
            phrases.extend(quoted_after(source, "h2 { \"", '}'));
            phrases.extend(quoted_after(source, "const HEADER", ';'));
            for phrase in phrases {
                if !phrase.is_empty() && !symbols.contains(&phrase.as_str()) && !PHRASES.iter().any(|(en, _)| *en == phrase) {
                    missing.push(phrase);
                }
            }
        }
        assert!(missing.is_empty(), "no Chinese for: {missing:?}");
    }

    #[test]
    fn english_sentences_are_found_in_text_and_charts_not_in_code_or_names() {
        let page = "<html><style>body{font-family:system-ui}</style><h1>漂移报告</h1><p>PSI 达到 0.1 为关注</p>\
            <td>agent_lapse_rate_12m</td><td>whole life</td><code>cannot read the file</code><p>v0001 对比 UK02 ROC AUC</p>\
            <svg><text>share of the list contacted</text></svg><p>No feature drifted past the watch threshold.</p>";
        assert_eq!(english_sentences(page), ["share of the list contacted", "No feature drifted past the watch threshold."]);
    }

    #[test]
    fn only_whole_text_nodes_are_translated() {
        let html = "<html lang=\"en\"><h2>Drift</h2><th class=\"l\">feature</th><p>Drift is measured</p><text>feature</text>";
        let zh = translate(html);
        assert!(zh.contains("<html lang=\"zh-CN\">") && zh.contains("<h2>数据漂移</h2>") && zh.contains(">特征</th>"), "{zh}");
        assert!(zh.contains("<p>Drift is measured</p>"), "a sentence is not a label: {zh}");
    }
}
