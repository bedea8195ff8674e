//! The feature catalog: every feature's name, family, meaning and computation, in one place.
//!
//! Training and scoring both evaluate [`FEATURES`] through [`super::snapshot`]; nothing else
//! defines a feature. `lapse catalog` renders this table, and `features/CATALOG.md` is generated
//! from it (a test fails when the committed copy is stale).

use serde::Serialize;

use super::snapshot::RenewalCtx;
use crate::dates::{whole_months_between, whole_years_between};

/// A feature family, as the catalog groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureFamily {
    PaymentHistory,
    Age,
    Product,
    Channel,
    CustomerEvents,
    Renewal,
    /// The customer's other policies.
    Household,
    /// What agents recorded about contacts (the outcome store), when attached.
    ContactOutcomes,
}

impl FeatureFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureFamily::PaymentHistory => "payment history",
            FeatureFamily::Age => "age",
            FeatureFamily::Product => "product",
            FeatureFamily::Channel => "channel",
            FeatureFamily::CustomerEvents => "customer and events",
            FeatureFamily::Renewal => "renewal",
            FeatureFamily::Household => "household",
            FeatureFamily::ContactOutcomes => "recorded contact outcomes",
        }
    }
}

/// How a feature is computed: a number or a category value, or missing.
#[derive(Clone, Copy)]
pub enum Compute {
    Numeric(for<'a> fn(RenewalCtx<'a>) -> Option<f64>),
    Categorical(for<'a> fn(RenewalCtx<'a>) -> Option<&'a str>),
}

/// One feature.
#[derive(Clone, Copy)]
pub struct Feature {
    pub name: &'static str,
    pub family: FeatureFamily,
    pub meaning: &'static str,
    pub compute: Compute,
}

impl Feature {
    /// `numeric` or `categorical`.
    pub fn kind(&self) -> &'static str {
        match self.compute {
            Compute::Numeric(_) => "numeric",
            Compute::Categorical(_) => "categorical",
        }
    }
}

const fn num(name: &'static str, family: FeatureFamily, meaning: &'static str, f: for<'a> fn(RenewalCtx<'a>) -> Option<f64>) -> Feature {
    Feature { name, family, meaning, compute: Compute::Numeric(f) }
}

const fn cat(name: &'static str, family: FeatureFamily, meaning: &'static str, f: for<'a> fn(RenewalCtx<'a>) -> Option<&'a str>) -> Feature {
    Feature { name, family, meaning, compute: Compute::Categorical(f) }
}

fn count(n: u32) -> Option<f64> {
    Some(f64::from(n))
}

use FeatureFamily::*;

/// Every feature, in output column order.
pub static FEATURES: &[Feature] = &[
    // Payment history.
    num("prior_renewals", PaymentHistory, "Renewal installments (installment_no >= 2) due before T.", |r| count(r.history().renewals_due)),
    num("renewals_paid_late_1_30", PaymentHistory, "Renewals paid before T, 1-30 days after their due date.", |r| count(r.history().paid_late_1_30)),
    num("renewals_paid_late_31_60", PaymentHistory, "Renewals paid before T, from 31 days late to the end of grace (day 60 by default).", |r| {
        count(r.history().paid_late_31_60)
    }),
    num("renewals_paid_after_grace", PaymentHistory, "Renewals paid before T but after their grace period (lapsed, then paid to reinstate).", |r| {
        count(r.history().paid_late_over_60)
    }),
    num("share_renewals_paid_late", PaymentHistory, "Share of renewals paid before T that were paid after their due date.", |r| {
        let h = r.history();
        (h.renewals_paid > 0).then(|| f64::from(h.paid_late_1_30 + h.paid_late_31_60 + h.paid_late_over_60) / f64::from(h.renewals_paid))
    }),
    num("max_days_late", PaymentHistory, "Most days late of any renewal paid before T (early counts as 0).", |r| {
        r.history().max_days_late.map(f64::from)
    }),
    num("mean_days_late", PaymentHistory, "Mean days late of renewals paid before T (early counts as 0).", |r| r.history().mean_days_late),
    num("last_renewal_days_late", PaymentHistory, "Days late of the most recently due renewal paid before T.", |r| {
        r.history().last_days_late.map(f64::from)
    }),
    num("on_time_streak", PaymentHistory, "Most recent settled renewals in a row paid by their due date.", |r| count(r.history().on_time_streak)),
    num("earlier_lapses", PaymentHistory, "Renewals whose grace period ended before T without payment in grace.", |r| count(r.history().lapses)),
    num("reinstatements", PaymentHistory, "Reinstatement events before T.", |r| count(r.history().events.reinstatements_ever)),
    num("failed_debits_total", PaymentHistory, "Failed automatic-debit attempts on installments paid before T.", |r| {
        count(r.history().failed_debits_total)
    }),
    num(
        "failed_debits_12m",
        PaymentHistory,
        "Failed automatic-debit attempts on installments due in the 12 months before T and paid before T, plus dated debit_failed events in those 12 months.",
        |r| {
            let h = r.history();
            count(h.failed_debits_12m + h.events.debit_failures)
        },
    ),
    num("auto_debit_share", PaymentHistory, "Share of installments paid before T (with a recorded method) paid by auto_debit.", |r| {
        r.history().auto_debit_share
    }),
    cat("last_payment_method", PaymentHistory, "Method of the last payment before T.", |r| r.last_payment_method()),
    num("days_since_last_payment", PaymentHistory, "Days from the last payment before T to T.", |r| {
        r.history().days_since_last_payment.map(f64::from)
    }),
    num(
        "overdue_installments",
        PaymentHistory,
        "Installments of this policy due before T, unpaid at T and still inside grace (this renewal included).",
        |r| count(r.history().overdue_in_grace),
    ),
    num(
        "late_share_12m",
        PaymentHistory,
        "Share of this policy's renewals due in the 365 days before T and settled by T (paid, or grace ended) that were paid late or lapsed.",
        |r| {
            let h = r.history();
            (h.renewals_settled_12m > 0).then(|| f64::from(h.late_12m) / f64::from(h.renewals_settled_12m))
        },
    ),
    num("share_paid_early", PaymentHistory, "Share of renewals paid before T that were paid ahead of their due date.", |r| {
        let h = r.history();
        (h.renewals_paid > 0).then(|| f64::from(h.paid_early) / f64::from(h.renewals_paid))
    }),
    num(
        "usual_payment_day",
        PaymentHistory,
        "The customer's usual payment day on this policy, in days from the due date (negative: before it): the median of the latest six renewals paid before T, each clipped to -30..grace.",
        |r| r.history().usual_payment_offset,
    ),
    // The renewal itself.
    num(
        "days_past_usual_payment",
        Renewal,
        "Days from the renewal's usual payment day (its due date plus usual_payment_day) to T: above 0, later than this customer usually pays, even before the due date.",
        |r| r.history().usual_payment_offset.map(|usual| f64::from(r.as_of() - r.due()) - usual),
    ),
    num("days_overdue", Renewal, "Days from the renewal's due date to T, when it is already due (0 when not yet due).", |r| {
        Some(f64::from((r.as_of() - r.due()).max(0)))
    }),
    num("days_until_due", Renewal, "Days from T to the renewal's due date (0 when already due).", |r| Some(f64::from((r.due() - r.as_of()).max(0)))),
    // Age.
    num("customer_age", Age, "The policyholder's age in whole years at T.", |r| Some(f64::from(whole_years_between(r.birth_date(), r.as_of())))),
    num("policy_year", Age, "Policy year the renewal falls in (1 + whole years from issue to its due date).", |r| Some(f64::from(r.policy_year()))),
    num("months_since_issue", Age, "Whole months from the issue date to T.", |r| Some(f64::from(whole_months_between(r.issue_date(), r.as_of())))),
    num("remaining_payment_years", Age, "Years of premiums still due from this renewal on, this year included (value field).", |r| {
        Some(r.remaining_payment_years())
    }),
    num("payment_term_years", Age, "Years over which premiums are due.", |r| count(r.payment_term_years())),
    num("term_progress", Age, "Share of the payment term elapsed at the renewal (policy years completed / term).", |r| {
        Some(f64::from(r.policy_year() - 1) / f64::from(r.payment_term_years().max(1)))
    }),
    // Product.
    cat("product_type", Product, "The policy's product type.", |r| r.policy_cat(|p| &p.product_type)),
    cat("product_code", Product, "The insurer's product code.", |r| r.policy_cat(|p| &p.product_code)),
    cat("premium_frequency", Product, "annual, semiannual, quarterly or monthly.", |r| Some(r.frequency().as_str())),
    cat("payment_method", Product, "The policy's payment method as of the extract (the contract gives no history of it).", |r| {
        r.policy_cat(|p| &p.payment_method)
    }),
    num("modal_premium", Product, "Amount of one installment.", |r| Some(r.modal_premium())),
    num("annualized_premium", Product, "Modal premium x installments per year (value field).", |r| Some(r.annualized_premium())),
    num("sum_assured", Product, "Sum assured, when given.", |r| r.sum_assured()),
    num("premium_to_sum_assured", Product, "Annualized premium / sum assured, when the sum assured is positive.", |r| {
        r.sum_assured().filter(|s| *s > 0.0).map(|s| r.annualized_premium() / s)
    }),
    // Channel.
    cat("channel", Channel, "Sales channel.", |r| r.policy_cat(|p| &p.channel)),
    cat("region", Channel, "The policy's sales region (the customer's when the policy has none).", |r| r.region()),
    num("has_agent", Channel, "1 when the policy has a servicing agent.", |r| Some(if r.has_agent() { 1.0 } else { 0.0 })),
    num("orphan_policy", Channel, "1 when the servicing agent left before T.", |r| Some(if r.history().agent_left.is_some() { 1.0 } else { 0.0 })),
    num("months_since_agent_left", Channel, "Whole months since the servicing agent left, when they left before T.", |r| {
        r.history().agent_left.map(|d| f64::from(whole_months_between(d, r.as_of())))
    }),
    num("agent_tenure_years", Channel, "The servicing agent's whole years of service at T (to their leave date if they left).", |r| {
        r.history().agent_tenure_years
    }),
    num(
        "agent_lapse_rate_12m",
        Channel,
        "Share of the agent's renewals whose grace ended in the 12 months before T that lapsed, shrunk towards the book's rate (10 pseudo-renewals).",
        |r| r.agent_lapse_rate(),
    ),
    num("agent_renewals_12m", Channel, "Renewals of the agent's policies whose grace ended in the 12 months before T.", |r| r.agent_renewals()),
    // Customer and events.
    cat("gender", CustomerEvents, "The policyholder's gender.", |r| r.customer_cat(|c| &c.gender)),
    cat("occupation_class", CustomerEvents, "The policyholder's occupation class.", |r| r.customer_cat(|c| &c.occupation_class)),
    num("other_inforce_policies", CustomerEvents, "The customer's other policies issued before T and not visibly ended before T.", |r| {
        count(r.history().other_inforce_policies)
    }),
    num(
        "other_ended_policies",
        CustomerEvents,
        "The customer's other policies whose status shows them ended (lapsed, surrendered, ...) before T.",
        |r| count(r.history().other_ended_policies),
    ),
    num("customer_tenure_years", CustomerEvents, "Years since the customer's first policy was issued.", |r| r.history().customer_tenure_years),
    num("complaints_12m", CustomerEvents, "Complaint events in the 12 months before T.", |r| count(r.history().events.complaints)),
    num("claims_12m", CustomerEvents, "Claim events in the 12 months before T.", |r| count(r.history().events.claims)),
    num("policy_loans_12m", CustomerEvents, "Policy loan events in the 12 months before T.", |r| count(r.history().events.policy_loans)),
    num("partial_withdrawals_12m", CustomerEvents, "Partial withdrawal events in the 12 months before T.", |r| {
        count(r.history().events.partial_withdrawals)
    }),
    num("bank_account_changes_12m", CustomerEvents, "Bank account change events in the 12 months before T.", |r| {
        count(r.history().events.bank_account_changes)
    }),
    num("address_changes_12m", CustomerEvents, "Address change events in the 12 months before T.", |r| count(r.history().events.address_changes)),
    num("agent_changes_12m", CustomerEvents, "Agent change events in the 12 months before T.", |r| count(r.history().events.agent_changes)),
    num("contacts_12m", CustomerEvents, "Contacts (sms, call, visit) in the 12 months before T.", |r| count(r.history().events.contacts)),
    num("days_since_last_contact", CustomerEvents, "Days from the last contact before T to T.", |r| {
        r.history().events.days_since_last_contact.map(f64::from)
    }),
    num("days_since_last_loan", CustomerEvents, "Days from the policy's last policy loan before T to T.", |r| {
        r.history().events.days_since_last_loan.map(f64::from)
    }),
    num(
        "days_since_contact_change",
        CustomerEvents,
        "Days from the last change of the customer's address or phone (any of their policies) before T to T.",
        |r| r.history().contact_changed.map(|d| f64::from(r.as_of() - d)),
    ),
    num("contacts_90d", CustomerEvents, "Contacts (sms, call, visit) in the 90 days before T.", |r| count(r.history().events.contacts_90d)),
    // The customer's other policies.
    num("household_lapses_12m", Household, "The customer's other policies' renewals whose grace ended unpaid in the 365 days before T.", |r| {
        count(r.history().household_lapses_12m)
    }),
    // What agents recorded (the outcome store; all missing when no outcomes are attached).
    num("days_since_refusal", ContactOutcomes, "Days from the customer's last recorded refusal to pay before T to T.", |r| {
        r.history().contacts.as_ref().and_then(|c| c.last_refusal).map(|(day, _)| f64::from(r.as_of() - day))
    }),
    cat("refusal_reason_90d", ContactOutcomes, "The reason of the customer's last refusal in the 90 days before T (`none` if none).", |r| {
        r.refusal_reason_within(90)
    }),
    cat(
        "promise_to_pay",
        ContactOutcomes,
        "This renewal's last promise to pay recorded before T: `open` (for T or later), `broken` (for a day before T, still unpaid) or `none`.",
        |r| r.promise().map(|p| p.as_str()),
    ),
    num(
        "unreached_attempts_30d",
        ContactOutcomes,
        "Contact attempts in the 30 days before T that did not reach the customer (no answer, wrong number).",
        |r| r.history().contacts.as_ref().map(|c| f64::from(c.unreached_30d)),
    ),
    num("reached_90d", ContactOutcomes, "Contacts in the 90 days before T that reached the customer (reached, promised, refused).", |r| {
        r.history().contacts.as_ref().map(|c| f64::from(c.reached_90d))
    }),
    num("do_not_contact", ContactOutcomes, "1 when the customer's last word on contact before T was \"do not contact\".", |r| {
        r.history().contacts.as_ref().map(|c| if c.do_not_contact { 1.0 } else { 0.0 })
    }),
];

/// The feature named `name`.
pub fn feature(name: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.name == name)
}

/// One catalog row, as `lapse catalog --format json` prints it.
#[derive(Debug, Serialize)]
pub struct CatalogEntry {
    pub name: &'static str,
    pub family: FeatureFamily,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub meaning: &'static str,
}

/// The catalog as data.
pub fn catalog() -> Vec<CatalogEntry> {
    FEATURES.iter().map(|f| CatalogEntry { name: f.name, family: f.family, kind: f.kind(), meaning: f.meaning }).collect()
}

/// The catalog as the Markdown committed in `features/CATALOG.md`.
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "# Feature catalog\n\nGenerated by `lapse catalog` from `crates/core/src/features/catalog.rs`; do not edit by hand.\n\
         T is the snapshot date: every feature uses only what was known before T (see `DATA_CONTRACT.md`).\n\n\
         | name | family | type | meaning |\n|---|---|---|---|\n",
    );
    for f in FEATURES {
        out.push_str(&format!("| `{}` | {} | {} | {} |\n", f.name, f.family.as_str(), f.kind(), f.meaning));
    }
    out
}
