//! The languages the people who read reasons, segments and actions work in: English and
//! Simplified Chinese (the renewal and collection teams of Chinese insurers). One table per
//! language, written by hand like the English sentences (they are read to customers); a test
//! checks every catalog feature has its own sentence in both.

use super::reasons::{PAYMENT_HABIT_FEATURES, ReasonValue, fmt_number, sentence};
use lapse_core::features::catalog;

/// A language for reasons and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    /// Simplified Chinese (zh-CN).
    ZhCn,
}

impl Lang {
    /// The language of a tag (`zh-CN`, `zh`, `zh-Hans`, `en`, `en-US`...); None for others.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        if tag == "zh" || tag.starts_with("zh-cn") || tag.starts_with("zh-hans") || tag == "zh-sg" {
            Some(Lang::ZhCn)
        } else if tag == "en" || tag.starts_with("en-") || tag == "*" {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The preferred supported language of an `Accept-Language` header (q-values honoured);
    /// None when it names none we speak.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("");
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            if let Some(lang) = Lang::from_tag(tag)
                && q > 0.0
                && best.is_none_or(|(b, _)| q > b)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// The tag of this language.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }
}

/// The sentence for `feature` having `value`, in `lang`.
pub fn sentence_in(lang: Lang, feature: &str, value: ReasonValue<'_>) -> String {
    match lang {
        Lang::En => sentence(feature, value),
        Lang::ZhCn => zh_sentence(feature, value),
    }
}

/// A category value as Chinese teams write it (channels, product types, payment methods and
/// frequencies the generator and common core systems use); other values as they are.
/// A refusal reason of the default list in Chinese (a configured one is shown as given).
fn zh_refusal_reason(reason: &str) -> &str {
    match reason {
        "cannot_afford" => "经济困难，无力缴费",
        "dissatisfied" => "对产品或服务不满",
        "bought_elsewhere" => "已在他处投保",
        "no_longer_needed" => "不再需要保障",
        "other" => "其他",
        other => other,
    }
}

pub fn zh_value(value: &str) -> &str {
    match value {
        "agent" => "个险渠道",
        "bancassurance" => "银保",
        "telemarketing" => "电销",
        "online" => "网销",
        "broker" => "经纪",
        "whole_life" => "终身寿险",
        "term_life" => "定期寿险",
        "endowment" => "两全保险",
        "critical_illness" => "重大疾病保险",
        "annuity" => "年金保险",
        "health" => "健康保险",
        "universal_life" => "万能险",
        "unit_linked" => "投连险",
        "accident" => "意外险",
        "auto_debit" => "自动扣款",
        "bank_transfer" => "银行转账",
        "cash" => "现金",
        "card" => "银行卡",
        "mobile_wallet" => "移动支付",
        "annual" => "年缴",
        "semiannual" => "半年缴",
        "quarterly" => "季缴",
        "monthly" => "月缴",
        "F" => "女",
        "M" => "男",
        other => other,
    }
}

/// A share as a whole percentage; a share that would round to 0% is "不足1%" (a rounded zero
/// reads as none at all).
fn pct(x: f64) -> String {
    if x > 0.0 && x < 0.005 { "不足1%".to_string() } else { format!("{:.0}%", x * 100.0) }
}

/// The Chinese sentence for `feature` having `value`, with a catalog-based fallback.
pub fn zh_sentence(feature: &str, value: ReasonValue<'_>) -> String {
    use ReasonValue::*;
    if let (Number(x), Some(f)) = (value, catalog::feature(feature))
        && f.kind() == "categorical"
    {
        return zh_sentence(feature, Category(&fmt_number(x)));
    }
    let n = |x: f64| fmt_number(x);
    let text: Option<String> = match (feature, value) {
        ("agent_lapse_rate_12m" | "agent_renewals_12m", Missing) => Some("业务员近期的失效记录未知".into()),
        ("agent_tenure_years", Missing) => Some("服务业务员的司龄未知".into()),
        ("days_since_last_payment", Missing) => Some("无缴费记录".into()),
        (f, Missing) if PAYMENT_HABIT_FEATURES.contains(&f) => Some("尚未缴过续期保费，没有缴费习惯可参考".into()),
        ("auto_debit_share", Missing) => Some("无缴费方式记录".into()),
        ("days_since_last_contact", Missing) => Some("从未联系过".into()),
        ("late_share_12m", Missing) => Some("近12个月没有已结清的续期保费".into()),
        ("days_since_last_loan", Missing) => Some("无保单贷款记录".into()),
        ("days_since_contact_change", Missing) => Some("无地址或电话变更记录".into()),
        ("days_since_refusal", Missing) => Some("无拒缴记录".into()),
        ("sum_assured" | "premium_to_sum_assured", Missing) => Some("未记录保额".into()),
        (_, Missing) => None,
        ("prior_renewals", Number(x)) => Some(format!("至今已有{}期续期保费应缴", n(x))),
        ("renewals_paid_late_1_30", Number(x)) => Some(format!("有{}期续期保费逾期30天内缴纳", n(x))),
        ("renewals_paid_late_31_60", Number(x)) => Some(format!("有{}期续期保费逾期30天以上、临近宽限期末才缴纳", n(x))),
        ("renewals_paid_after_grace", Number(x)) => Some(format!("有{}期续期保费在宽限期结束后才缴纳", n(x))),
        ("share_renewals_paid_late", Number(x)) => Some(format!("{}的续期保费逾期缴纳", pct(x))),
        ("max_days_late", Number(x)) => Some(format!("曾有一期保费逾期{}天缴纳", n(x))),
        ("mean_days_late", Number(x)) => Some(format!("保费平均逾期{}天缴纳", n(x))),
        ("share_paid_early", Number(x)) => Some(format!("{}的续期保费在应缴日前缴纳", pct(x))),
        ("usual_payment_day", Number(x)) if x < 0.0 => Some(format!("通常在应缴日前{}天缴费", n(-x))),
        ("usual_payment_day", Number(x)) if x > 0.0 => Some(format!("通常在应缴日后{}天缴费", n(x))),
        ("usual_payment_day", Number(_)) => Some("通常在应缴日当天缴费".into()),
        ("days_past_usual_payment", Number(x)) if x > 0.0 => Some(format!("已超过该客户惯常缴费日{}天仍未缴费", n(x))),
        ("days_past_usual_payment", Number(x)) => Some(format!("距该客户惯常缴费日还有{}天", n(-x))),
        ("last_renewal_days_late", Number(x)) => Some(format!("上一期续期保费逾期{}天缴纳", n(x))),
        ("on_time_streak", Number(x)) => Some(format!("近期仅连续{}期按时缴费", n(x))),
        ("earlier_lapses", Number(x)) => Some(format!("保单此前已失效{}次", n(x))),
        ("reinstatements", Number(x)) => Some(format!("保单失效后复效{}次", n(x))),
        ("failed_debits_total", Number(x)) => Some(format!("保单期内自动扣款失败{}次", n(x))),
        ("failed_debits_12m", Number(x)) => Some(format!("近12个月自动扣款失败{}次", n(x))),
        ("auto_debit_share", Number(x)) if x <= 0.0 => Some("保费从未通过自动扣款缴纳".into()),
        ("auto_debit_share", Number(x)) => Some(format!("仅{}的保费通过自动扣款缴纳", pct(x))),
        ("last_payment_method", Category(m)) => Some(format!("上一期保费的缴费方式为{}", zh_value(m))),
        ("days_since_last_payment", Number(x)) => Some(format!("已{}天未缴费", n(x))),
        ("overdue_installments", Number(x)) => Some(format!("有{}期保费逾期未缴", n(x))),
        ("days_overdue", Number(x)) => Some(format!("本期保费已逾期{}天", n(x))),
        ("days_until_due", Number(x)) => Some(format!("本期保费{}天后应缴", n(x))),
        ("customer_age", Number(x)) => Some(format!("投保人{x:.0}岁")),
        ("policy_year", Number(x)) => Some(format!("保单处于第{x:.0}个保单年度，属失效高发期")),
        ("months_since_issue", Number(x)) => Some(format!("保单生效已{}个月", n(x))),
        ("remaining_payment_years", Number(x)) => Some(format!("还有{}年保费待缴", n(x))),
        ("payment_term_years", Number(x)) => Some(format!("缴费期为{}年", n(x))),
        ("term_progress", Number(x)) => Some(format!("缴费期已过{}", pct(x))),
        ("product_type", Category(c)) => Some(format!("产品类型为{}", zh_value(c))),
        ("product_code", Category(c)) => Some(format!("产品为{c}")),
        ("premium_frequency", Category(c)) => Some(format!("缴费频率为{}", zh_value(c))),
        ("payment_method", Category(c)) => Some(format!("保单缴费方式为{}", zh_value(c))),
        ("modal_premium", Number(x)) => Some(format!("每期保费{}元", n(x))),
        ("annualized_premium", Number(x)) => Some(format!("年缴保费{}元", n(x))),
        ("sum_assured", Number(x)) => Some(format!("保额{}元", n(x))),
        ("premium_to_sum_assured", Number(x)) => Some(format!("年保费占保额的{}", pct(x))),
        ("channel", Category(c)) => Some(format!("保单销售渠道为{}", zh_value(c))),
        ("region", Category(c)) => Some(format!("保单所在地区为{c}")),
        ("has_agent", Number(x)) => Some(if x == 0.0 { "保单没有服务业务员".into() } else { "保单有服务业务员".into() }),
        ("orphan_policy", Number(x)) => {
            Some(if x == 1.0 { "服务业务员已离职（孤儿单）".into() } else { "服务业务员仍在职".into() })
        }
        ("months_since_agent_left", Number(x)) => Some(format!("服务业务员已离职{}个月", n(x))),
        ("agent_tenure_years", Number(x)) => Some(format!("服务业务员司龄{}年", n(x))),
        ("agent_lapse_rate_12m", Number(x)) => Some(format!("该业务员近12个月的续期保单有{}失效", pct(x))),
        ("agent_renewals_12m", Number(x)) => Some(format!("该业务员近12个月有{}期续期保费", n(x))),
        ("gender", Category(c)) => Some(format!("性别{}", zh_value(c))),
        ("occupation_class", Category(c)) => Some(format!("职业类别{c}")),
        ("other_inforce_policies", Number(x)) => Some(format!("客户另有{}张有效保单", n(x))),
        ("other_ended_policies", Number(x)) => Some(format!("客户此前已终止{}张其他保单", n(x))),
        ("customer_tenure_years", Number(x)) => Some(format!("客户已在本公司投保{}年", n(x))),
        ("complaints_12m", Number(x)) => Some(format!("客户近12个月投诉{}次", n(x))),
        ("claims_12m", Number(x)) => Some(format!("近12个月理赔{}次", n(x))),
        ("policy_loans_12m", Number(x)) => Some(format!("近12个月保单贷款{}次", n(x))),
        ("partial_withdrawals_12m", Number(x)) => Some(format!("近12个月部分领取{}次", n(x))),
        ("bank_account_changes_12m", Number(x)) => Some(format!("近12个月变更银行账户{}次", n(x))),
        ("address_changes_12m", Number(x)) => Some(format!("近12个月变更地址{}次", n(x))),
        ("agent_changes_12m", Number(x)) => Some(format!("近12个月更换业务员{}次", n(x))),
        ("contacts_12m", Number(x)) => Some(format!("近12个月联系{}次", n(x))),
        ("days_since_last_contact", Number(x)) => Some(format!("已{}天未联系", n(x))),
        ("late_share_12m", Number(x)) => Some(format!("近12个月的续期保费中{}逾期缴纳或失效", pct(x))),
        ("days_since_last_loan", Number(x)) => Some(format!("{}天前办理过保单贷款", n(x))),
        ("days_since_contact_change", Number(x)) => Some(format!("{}天前变更过地址或电话", n(x))),
        ("contacts_90d", Number(x)) => Some(format!("近90天联系{}次", n(x))),
        ("days_since_refusal", Number(x)) => Some(format!("客户{}天前明确拒绝缴费", n(x))),
        ("refusal_reason_90d", Category("none")) => Some("近90天无拒缴记录".into()),
        ("refusal_reason_90d", Category(c)) => Some(format!("近90天拒绝缴费，原因：{}", zh_refusal_reason(c))),
        ("promise_to_pay", Category("open")) => Some("已承诺缴费，承诺日期未到".into()),
        ("promise_to_pay", Category("broken")) => Some("承诺缴费未兑现：承诺日期已过仍未缴费".into()),
        ("promise_to_pay", Category(_)) => Some("本期保费无承诺缴费记录".into()),
        ("unreached_attempts_30d", Number(x)) => Some(format!("近30天联系{}次未能联系上客户", n(x))),
        ("reached_90d", Number(x)) => Some(format!("近90天联系上客户{}次", n(x))),
        ("do_not_contact", Number(x)) => Some(if x == 1.0 { "客户要求不再联系".into() } else { "客户接受联系".into() }),
        ("household_lapses_12m", Number(x)) => Some(format!("客户名下其他保单近12个月有{}期续期保费失效", n(x))),
        _ => None,
    };
    text.unwrap_or_else(|| {
        let shown = match value {
            Number(x) => n(x),
            Category(c) => zh_value(c).to_string(),
            Missing => "未知".to_string(),
        };
        format!("{}为{shown}", feature.replace('_', " "))
    })
}

/// An action's label (`sms` -> 短信提醒); an action without one is shown by its name.
pub fn action_label(lang: Lang, action: &str) -> std::borrow::Cow<'static, str> {
    let known = match (lang, action) {
        (Lang::En, "sms") => "SMS reminder",
        (Lang::En, "call") => "phone call",
        (Lang::En, "visit") => "visit by the agent",
        (Lang::En, "none") => "no action",
        (Lang::ZhCn, "sms") => "短信提醒",
        (Lang::ZhCn, "call") => "电话催缴",
        (Lang::ZhCn, "visit") => "业务员上门拜访",
        (Lang::ZhCn, "none") => "不值得联系",
        _ => return std::borrow::Cow::Owned(action.replace('_', " ")),
    };
    std::borrow::Cow::Borrowed(known)
}

/// A risk band x value band segment's label (`high_risk_high_value` -> 高风险·高价值).
pub fn segment_label(lang: Lang, risk: u8, value: u8) -> &'static str {
    const EN: [[&str; 3]; 3] = [
        ["low risk, low value", "low risk, medium value", "low risk, high value"],
        ["medium risk, low value", "medium risk, medium value", "medium risk, high value"],
        ["high risk, low value", "high risk, medium value", "high risk, high value"],
    ];
    const ZH: [[&str; 3]; 3] = [
        ["低风险·低价值", "低风险·中价值", "低风险·高价值"],
        ["中风险·低价值", "中风险·中价值", "中风险·高价值"],
        ["高风险·低价值", "高风险·中价值", "高风险·高价值"],
    ];
    let (r, v) = (usize::from(risk.min(2)), usize::from(value.min(2)));
    match lang {
        Lang::En => EN[r][v],
        Lang::ZhCn => ZH[r][v],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_feature_has_its_own_sentence_in_both_languages() {
        for f in catalog::FEATURES {
            for value in [if f.kind() == "categorical" { ReasonValue::Category("agent") } else { ReasonValue::Number(2.0) }, ReasonValue::Number(1.0)]
            {
                let (en, zh) = (sentence_in(Lang::En, f.name, value), sentence_in(Lang::ZhCn, f.name, value));
                assert!(!zh.contains(&f.name.replace('_', " ")), "{} has no Chinese sentence of its own: {zh}", f.name);
                assert!(!en.is_empty() && zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{}: {en} / {zh}", f.name);
            }
        }
    }

    #[test]
    fn a_missing_payment_habit_says_no_renewal_was_paid_yet_in_both_languages() {
        for &f in super::super::reasons::PAYMENT_HABIT_FEATURES {
            assert!(catalog::feature(f).is_some(), "{f} is not in the catalog");
            assert_eq!(sentence_in(Lang::En, f, ReasonValue::Missing), "no renewal premium paid yet: no payment habit to go by", "{f}");
            assert_eq!(sentence_in(Lang::ZhCn, f, ReasonValue::Missing), "尚未缴过续期保费，没有缴费习惯可参考", "{f}");
        }
    }

    #[test]
    fn chinese_sentences_and_labels_read_naturally() {
        assert_eq!(zh_sentence("renewals_paid_late_31_60", ReasonValue::Number(2.0)), "有2期续期保费逾期30天以上、临近宽限期末才缴纳");
        assert_eq!(zh_sentence("channel", ReasonValue::Category("bancassurance")), "保单销售渠道为银保");
        assert_eq!(zh_sentence("region", ReasonValue::Category("上海")), "保单所在地区为上海");
        assert_eq!(zh_sentence("vehicle_age", ReasonValue::Number(7.5)), "vehicle age为7.5");
        assert_eq!(action_label(Lang::ZhCn, "visit"), "业务员上门拜访");
        assert_eq!(segment_label(Lang::ZhCn, 2, 0), "高风险·低价值");
        assert_eq!(segment_label(Lang::En, 2, 0), "high risk, low value");
    }

    #[test]
    fn accept_language_picks_the_preferred_language_we_speak() {
        assert_eq!(Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_accept_language("en-US,zh-CN;q=0.5"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr-FR, zh-Hans;q=0.7"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_accept_language("fr-FR"), None);
        assert_eq!(Lang::from_accept_language("zh-CN;q=0, en"), Some(Lang::En));
        assert_eq!(Lang::from_tag("zh-TW"), None);
    }
}
