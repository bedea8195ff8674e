//! Reasons an agent can say out loud: a sentence for a feature's value, and the top features
//! pushing one renewal's risk up (from the model's exact per-feature contributions).
//!
//! The sentences are written here by hand, one per catalog feature, because they are the words
//! agents read to customers; a test checks every catalog feature has its own sentence.

use lapse_core::features::catalog;

/// A feature's value as the reason reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReasonValue<'a> {
    Number(f64),
    Category(&'a str),
    Missing,
}

/// The features read from paid renewals: missing, they all mean "no renewal premium paid yet"
/// (one sentence in each language).
pub(crate) const PAYMENT_HABIT_FEATURES: &[&str] = &[
    "last_renewal_days_late",
    "max_days_late",
    "mean_days_late",
    "share_renewals_paid_late",
    "share_paid_early",
    "usual_payment_day",
    "days_past_usual_payment",
];

fn plural(n: f64, one: &str, many: &str) -> String {
    if n == 1.0 { format!("1 {one}") } else { format!("{} {many}", fmt_number(n)) }
}

/// A number without a trailing `.0`, with at most 2 decimals.
pub fn fmt_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A share as a whole percentage; one that would round to 0% is "under 1%".
fn pct(x: f64) -> String {
    if x > 0.0 && x < 0.005 { "under 1%".to_string() } else { format!("{:.0}%", x * 100.0) }
}

/// The sentence for `feature` having `value`; a catalog-based fallback for features without
/// their own sentence (tables that do not come from the feature builder).
pub fn sentence(feature: &str, value: ReasonValue<'_>) -> String {
    use ReasonValue::*;
    // A category with numeric codes (occupation class 1-4) is read back as a number.
    if let (Number(x), Some(f)) = (value, catalog::feature(feature))
        && f.kind() == "categorical"
    {
        return sentence(feature, Category(&fmt_number(x)));
    }
    let text = match (feature, value) {
        ("agent_lapse_rate_12m" | "agent_renewals_12m", Missing) => Some("the agent's recent lapse record is not known".to_string()),
        ("agent_tenure_years", Missing) => Some("the servicing agent's service is not known".to_string()),
        ("days_since_last_payment", Missing) => Some("no payment on record".to_string()),
        (f, Missing) if PAYMENT_HABIT_FEATURES.contains(&f) => Some("no renewal premium paid yet: no payment habit to go by".to_string()),
        ("auto_debit_share", Missing) => Some("no payment method on record".to_string()),
        ("days_since_last_contact", Missing) => Some("never contacted".to_string()),
        ("late_share_12m", Missing) => Some("no renewal premium settled in the last 12 months".to_string()),
        ("days_since_last_loan", Missing) => Some("no policy loan on record".to_string()),
        ("days_since_contact_change", Missing) => Some("no change of address or phone on record".to_string()),
        ("days_since_refusal", Missing) => Some("no refusal to pay recorded".to_string()),
        ("sum_assured" | "premium_to_sum_assured", Missing) => Some("the sum assured is not recorded".to_string()),
        (_, Missing) => None,
        ("prior_renewals", Number(n)) => Some(format!("{} due so far", plural(n, "renewal premium", "renewal premiums"))),
        ("renewals_paid_late_1_30", Number(n)) => {
            Some(format!("{} paid up to 30 days late", plural(n, "renewal premium was", "renewal premiums were")))
        }
        ("renewals_paid_late_31_60", Number(n)) => {
            Some(format!("{} paid more than 30 days late, near the end of grace", plural(n, "renewal premium was", "renewal premiums were")))
        }
        ("renewals_paid_after_grace", Number(n)) => {
            Some(format!("{} paid only after the grace period ended", plural(n, "renewal premium was", "renewal premiums were")))
        }
        ("share_renewals_paid_late", Number(x)) => Some(format!("{} of renewal premiums were paid late", pct(x))),
        ("max_days_late", Number(n)) => Some(format!("a premium was once paid {} late", plural(n, "day", "days"))),
        ("mean_days_late", Number(n)) => Some(format!("premiums are paid {} late on average", plural(n, "day", "days"))),
        ("share_paid_early", Number(x)) => Some(format!("{} of renewal premiums were paid ahead of their due date", pct(x))),
        ("usual_payment_day", Number(n)) if n < 0.0 => Some(format!("premiums are usually paid {} before the due date", plural(-n, "day", "days"))),
        ("usual_payment_day", Number(n)) if n > 0.0 => Some(format!("premiums are usually paid {} after the due date", plural(n, "day", "days"))),
        ("usual_payment_day", Number(_)) => Some("premiums are usually paid on the due date".to_string()),
        ("days_past_usual_payment", Number(n)) if n > 0.0 => {
            Some(format!("{} past the day this customer usually pays, still unpaid", plural(n, "day", "days")))
        }
        ("days_past_usual_payment", Number(n)) => Some(format!("{} before the day this customer usually pays", plural(-n, "day", "days"))),
        ("last_renewal_days_late", Number(n)) => Some(format!("the last renewal premium was paid {} late", plural(n, "day", "days"))),
        ("on_time_streak", Number(n)) => Some(format!("only {} in a row paid on time lately", plural(n, "premium", "premiums"))),
        ("earlier_lapses", Number(n)) => Some(format!("the policy has lapsed {} before", plural(n, "time", "times"))),
        ("reinstatements", Number(n)) => Some(format!("the policy was reinstated {} after lapsing", plural(n, "time", "times"))),
        ("failed_debits_total", Number(n)) => Some(format!("{} failed over the policy's life", plural(n, "automatic debit", "automatic debits"))),
        ("failed_debits_12m", Number(n)) => Some(format!("{} failed in the last 12 months", plural(n, "automatic debit", "automatic debits"))),
        ("auto_debit_share", Number(x)) if x <= 0.0 => Some("no premium was paid by automatic debit".to_string()),
        ("auto_debit_share", Number(x)) => Some(format!("only {} of premiums were paid by automatic debit", pct(x))),
        ("last_payment_method", Category(m)) => Some(format!("the last premium was paid by {m}")),
        ("days_since_last_payment", Number(n)) => Some(format!("no payment for {}", plural(n, "day", "days"))),
        ("overdue_installments", Number(n)) => Some(format!("{} overdue and unpaid", plural(n, "premium is", "premiums are"))),
        ("days_overdue", Number(n)) => Some(format!("this premium is {} overdue", plural(n, "day", "days"))),
        ("days_until_due", Number(n)) => Some(format!("this premium falls due in {}", plural(n, "day", "days"))),
        ("customer_age", Number(n)) => Some(format!("the policyholder is {n:.0} years old")),
        ("policy_year", Number(n)) => Some(format!("the policy is in its policy year {n:.0}, when lapses are common")),
        ("months_since_issue", Number(n)) => Some(format!("the policy was issued {} ago", plural(n, "month", "months"))),
        ("remaining_payment_years", Number(n)) => Some(format!("{} of premiums are still to pay", plural(n, "year", "years"))),
        ("payment_term_years", Number(n)) => Some(format!("premiums are due over {}", plural(n, "year", "years"))),
        ("term_progress", Number(x)) => Some(format!("{} of the payment term is behind", pct(x))),
        ("product_type", Category(c)) => Some(format!("the product type is {c}")),
        ("product_code", Category(c)) => Some(format!("the product is {c}")),
        ("premium_frequency", Category(c)) => Some(format!("premiums are paid {c}")),
        ("payment_method", Category(c)) => Some(format!("the policy pays by {c}")),
        ("modal_premium", Number(x)) => Some(format!("each premium is {}", fmt_number(x))),
        ("annualized_premium", Number(x)) => Some(format!("the premium is {} a year", fmt_number(x))),
        ("sum_assured", Number(x)) => Some(format!("the sum assured is {}", fmt_number(x))),
        ("premium_to_sum_assured", Number(x)) => Some(format!("the yearly premium is {} of the sum assured", pct(x))),
        ("channel", Category(c)) => Some(format!("the policy was sold through {c}")),
        ("region", Category(c)) => Some(format!("the policy is in region {c}")),
        ("has_agent", Number(x)) => {
            Some(if x == 0.0 { "the policy has no servicing agent".into() } else { "the policy has a servicing agent".into() })
        }
        ("orphan_policy", Number(x)) => {
            Some(if x == 1.0 { "the servicing agent has left".into() } else { "the servicing agent is still active".into() })
        }
        ("months_since_agent_left", Number(n)) => Some(format!("the servicing agent left {} ago", plural(n, "month", "months"))),
        ("agent_tenure_years", Number(n)) => Some(format!("the servicing agent has {} of service", plural(n, "year", "years"))),
        ("agent_lapse_rate_12m", Number(x)) => Some(format!("{} of the agent's renewals lapsed in the last 12 months", pct(x))),
        ("agent_renewals_12m", Number(n)) => Some(format!("the agent had {} in the last 12 months", plural(n, "renewal", "renewals"))),
        ("gender", Category(c)) => Some(format!("gender {c}")),
        ("occupation_class", Category(c)) => Some(format!("occupation class {c}")),
        ("other_inforce_policies", Number(n)) => Some(format!("the customer has {} in force", plural(n, "other policy", "other policies"))),
        ("other_ended_policies", Number(n)) => Some(format!("the customer has ended {} before", plural(n, "other policy", "other policies"))),
        ("customer_tenure_years", Number(n)) => Some(format!("the customer has been with us {}", plural(n, "year", "years"))),
        ("complaints_12m", Number(n)) => Some(format!("the customer complained {} in the last 12 months", plural(n, "time", "times"))),
        ("claims_12m", Number(n)) => Some(format!("{} in the last 12 months", plural(n, "claim", "claims"))),
        ("policy_loans_12m", Number(n)) => Some(format!("{} taken in the last 12 months", plural(n, "policy loan", "policy loans"))),
        ("partial_withdrawals_12m", Number(n)) => Some(format!("{} in the last 12 months", plural(n, "partial withdrawal", "partial withdrawals"))),
        ("bank_account_changes_12m", Number(n)) => Some(format!("the bank account changed {} in the last 12 months", plural(n, "time", "times"))),
        ("address_changes_12m", Number(n)) => Some(format!("the address changed {} in the last 12 months", plural(n, "time", "times"))),
        ("agent_changes_12m", Number(n)) => Some(format!("the agent changed {} in the last 12 months", plural(n, "time", "times"))),
        ("contacts_12m", Number(n)) => Some(format!("{} in the last 12 months", plural(n, "contact", "contacts"))),
        ("days_since_last_contact", Number(n)) => Some(format!("no contact for {}", plural(n, "day", "days"))),
        ("late_share_12m", Number(x)) => Some(format!("{} of the renewal premiums of the last 12 months were late or lapsed", pct(x))),
        ("days_since_last_loan", Number(n)) => Some(format!("a policy loan {} ago", plural(n, "day", "days"))),
        ("days_since_contact_change", Number(n)) => Some(format!("the address or phone changed {} ago", plural(n, "day", "days"))),
        ("contacts_90d", Number(n)) => Some(format!("{} in the last 90 days", plural(n, "contact", "contacts"))),
        ("days_since_refusal", Number(n)) => Some(format!("the customer refused to pay {} ago", plural(n, "day", "days"))),
        ("refusal_reason_90d", Category("none")) => Some("no refusal to pay in the last 90 days".to_string()),
        ("refusal_reason_90d", Category(c)) => Some(format!("refused to pay in the last 90 days: {}", c.replace('_', " "))),
        ("promise_to_pay", Category("open")) => Some("promised to pay; the promised day has not come".to_string()),
        ("promise_to_pay", Category("broken")) => Some("promise to pay broken: the promised day passed unpaid".to_string()),
        ("promise_to_pay", Category(_)) => Some("no promise to pay recorded for this premium".to_string()),
        ("unreached_attempts_30d", Number(n)) => {
            Some(format!("{} without reaching the customer in the last 30 days", plural(n, "attempt", "attempts")))
        }
        ("reached_90d", Number(n)) => Some(format!("reached {} in the last 90 days", plural(n, "time", "times"))),
        ("do_not_contact", Number(x)) => {
            Some(if x == 1.0 { "the customer asked not to be contacted".to_string() } else { "the customer accepts contact".to_string() })
        }
        ("household_lapses_12m", Number(n)) => {
            Some(format!("the customer let {} on other policies lapse in the last 12 months", plural(n, "renewal premium", "renewal premiums")))
        }
        _ => None,
    };
    text.unwrap_or_else(|| fallback(feature, value))
}

fn fallback(feature: &str, value: ReasonValue<'_>) -> String {
    let shown = match value {
        ReasonValue::Number(x) => fmt_number(x),
        ReasonValue::Category(c) => c.to_string(),
        ReasonValue::Missing => "not known".to_string(),
    };
    format!("{} is {shown}", feature.replace('_', " "))
}

/// The indices of the (at most) `k` largest positive values of `contributions`, largest first
/// (ties by index, so the order is deterministic).
pub fn top_positive(contributions: &[f64], k: usize) -> Vec<usize> {
    let mut top: Vec<usize> = Vec::with_capacity(k + 1);
    for (i, &c) in contributions.iter().enumerate() {
        // Only features pushing the risk up (NaN never does).
        if c.is_nan() || c <= 0.0 {
            continue;
        }
        let at = top.iter().position(|&j| contributions[j] < c).unwrap_or(top.len());
        if at < k {
            top.insert(at, i);
            top.truncate(k);
        }
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_feature_has_its_own_sentence() {
        for f in catalog::FEATURES {
            let value = match f.kind() {
                "categorical" => ReasonValue::Category("x"),
                _ => ReasonValue::Number(2.0),
            };
            let text = sentence(f.name, value);
            assert_ne!(text, fallback(f.name, value), "{} has no sentence of its own", f.name);
        }
    }

    #[test]
    fn sentences_read_naturally() {
        assert_eq!(
            sentence("renewals_paid_late_31_60", ReasonValue::Number(2.0)),
            "2 renewal premiums were paid more than 30 days late, near the end of grace"
        );
        assert_eq!(sentence("months_since_agent_left", ReasonValue::Number(5.0)), "the servicing agent left 5 months ago");
        assert_eq!(sentence("failed_debits_12m", ReasonValue::Number(1.0)), "1 automatic debit failed in the last 12 months");
        assert_eq!(sentence("vehicle_age", ReasonValue::Number(7.5)), "vehicle age is 7.5");
        assert_eq!(sentence("occupation_class", ReasonValue::Number(3.0)), "occupation class 3");
        assert_eq!(sentence("agent_lapse_rate_12m", ReasonValue::Missing), "the agent's recent lapse record is not known");
        assert_eq!(sentence("complaints_12m", ReasonValue::Missing), "complaints 12m is not known");
    }

    #[test]
    fn top_positive_takes_the_largest_pushes_up() {
        assert_eq!(top_positive(&[0.1, -2.0, 0.5, 0.3, 0.0, 0.5], 3), vec![2, 5, 3]);
        assert_eq!(top_positive(&[-0.1, 0.0], 3), Vec::<usize>::new());
        assert_eq!(top_positive(&[f64::NAN, 0.2], 3), vec![1]);
    }
}
