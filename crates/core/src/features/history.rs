//! What is known about one policy at a snapshot date T: its payment history, events, customer
//! and agent, computed once and shared by all of the policy's renewals in the snapshot.
//!
//! The snapshot rule lives here: only installments due before T, payments made before T, the
//! failed debits of installments paid before T, events before T, agents' hire and leave dates
//! before T, and statuses whose status_date is before T are read.

use crate::dates::{Day, whole_years_between};
use crate::extract::schema::TERMINAL_STATUSES;
use crate::extract::{Book, Categories};

/// Snapshot parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotSpec {
    /// T: the snapshot sees only what happened before this day.
    pub as_of: Day,
    /// Renewals due up to T + horizon_days are scored.
    pub horizon_days: i32,
    /// A renewal due on D lapses when not paid by D + grace_days.
    pub grace_days: i32,
    /// The day the extract was taken: outcomes whose deadline is not before it are unknown.
    pub extract_date: Day,
}

impl SnapshotSpec {
    pub const DEFAULT_HORIZON_DAYS: i32 = 30;
    pub const DEFAULT_GRACE_DAYS: i32 = 60;
}

/// Codes of the category levels the builder looks for, resolved once per book.
#[derive(Debug, Clone)]
pub struct KnownCodes {
    pub auto_debit: Option<u32>,
    pub terminal_statuses: Vec<u32>,
    /// `events.kind` codes per [`EventKind`].
    pub event_kinds: Vec<(u32, EventKind)>,
}

/// The event types counted by the feature builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Complaint,
    Claim,
    PolicyLoan,
    PartialWithdrawal,
    BankAccountChange,
    AddressChange,
    /// A new phone number or other contact detail (`phone_change`, `contact_change`).
    PhoneChange,
    AgentChange,
    Reinstatement,
    Contact,
    DebitFailed,
}

impl EventKind {
    fn of(name: &str) -> Option<EventKind> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "complaint" => EventKind::Complaint,
            "claim" => EventKind::Claim,
            "policy_loan" => EventKind::PolicyLoan,
            "partial_withdrawal" => EventKind::PartialWithdrawal,
            "bank_account_change" => EventKind::BankAccountChange,
            "address_change" => EventKind::AddressChange,
            "phone_change" | "contact_change" => EventKind::PhoneChange,
            "agent_change" => EventKind::AgentChange,
            "reinstatement" => EventKind::Reinstatement,
            "contact_sms" | "contact_call" | "contact_visit" => EventKind::Contact,
            "debit_failed" => EventKind::DebitFailed,
            _ => return None,
        })
    }
}

impl KnownCodes {
    pub fn resolve(book: &Book) -> Self {
        let codes_where = |column: &Categories, keep: &dyn Fn(&str) -> bool| -> Vec<u32> {
            column.levels.iter().enumerate().filter(|(_, l)| keep(l)).map(|(i, _)| i as u32).collect()
        };
        KnownCodes {
            auto_debit: book.installments.method.levels.iter().position(|l| l.eq_ignore_ascii_case("auto_debit")).map(|p| p as u32),
            terminal_statuses: codes_where(&book.policies.status, &|l| TERMINAL_STATUSES.iter().any(|t| t.eq_ignore_ascii_case(l.trim()))),
            event_kinds: book.events.kind.levels.iter().enumerate().filter_map(|(i, l)| EventKind::of(l).map(|k| (i as u32, k))).collect(),
        }
    }

    fn event_kind(&self, code: u32) -> Option<EventKind> {
        self.event_kinds.iter().find(|(c, _)| *c == code).map(|(_, k)| *k)
    }
}

/// Counts of a policy's events in the 12 months before T (reinstatements: ever before T).
#[derive(Debug, Clone, Copy, Default)]
pub struct EventCounts {
    pub complaints: u32,
    pub claims: u32,
    pub policy_loans: u32,
    pub partial_withdrawals: u32,
    pub bank_account_changes: u32,
    pub address_changes: u32,
    pub agent_changes: u32,
    pub contacts: u32,
    pub debit_failures: u32,
    pub reinstatements_ever: u32,
    pub days_since_last_contact: Option<i32>,
    /// Days from the last policy loan before T (any time) to T.
    pub days_since_last_loan: Option<i32>,
    /// Contacts in the 90 days before T.
    pub contacts_90d: u32,
}

/// The usual payment day is the median over at most this many of the latest paid renewals: a
/// habit, not a lifetime average.
pub const USUAL_PAYMENT_RENEWALS: usize = 6;

/// One policy's state at T.
#[derive(Debug, Clone, Default)]
pub struct PolicyHistory {
    /// Renewals (installment_no >= 2) due before T.
    pub renewals_due: u32,
    /// Renewals paid before T.
    pub renewals_paid: u32,
    pub paid_late_1_30: u32,
    pub paid_late_31_60: u32,
    pub paid_late_over_60: u32,
    /// Renewals whose grace period ended before T unpaid, or which were paid after it.
    pub lapses: u32,
    pub max_days_late: Option<i32>,
    pub mean_days_late: Option<f64>,
    /// Days late of the most recently due renewal paid before T.
    pub last_days_late: Option<i32>,
    /// Renewals paid before T ahead of their due date.
    pub paid_early: u32,
    /// The customer's usual payment day on this policy, in days from the due date (negative:
    /// before it): the median over the last [`USUAL_PAYMENT_RENEWALS`] renewals paid before T,
    /// each clipped to [-30, grace].
    pub usual_payment_offset: Option<f64>,
    /// Most recent settled renewals in a row paid by their due date.
    pub on_time_streak: u32,
    pub failed_debits_total: u32,
    /// Failed debits on installments due in the 365 days before T.
    pub failed_debits_12m: u32,
    /// Share of installments paid before T (with a known method) paid by auto-debit.
    pub auto_debit_share: Option<f64>,
    /// Installments due before T, unpaid at T and still inside their grace period.
    pub overdue_in_grace: u32,
    pub days_since_last_payment: Option<i32>,
    /// Code in `installments.method` of the last payment before T.
    pub last_payment_method: u32,
    pub events: EventCounts,
    /// The customer's other policies issued before T and not visibly ended before T.
    pub other_inforce_policies: u32,
    /// The customer's other policies visibly ended (lapsed, surrendered, ...) before T.
    pub other_ended_policies: u32,
    /// Years since the customer's first policy was issued.
    pub customer_tenure_years: Option<f64>,
    /// The servicing agent's leave date, when it is before T.
    pub agent_left: Option<Day>,
    /// Whole years from the agent's hire date to T, when hired before T.
    pub agent_tenure_years: Option<f64>,
    /// This policy's renewals due in the 365 days before T and settled by T, and how many of
    /// them were paid late or lapsed.
    pub renewals_settled_12m: u32,
    pub late_12m: u32,
    /// The customer's other policies' renewals whose grace ended unpaid in the 365 days
    /// before T: a lapse elsewhere in the household.
    pub household_lapses_12m: u32,
    /// The last day before T on which any of the customer's policies recorded a change of
    /// address or phone (`address_change`, `phone_change`, `contact_change`): a wrong number
    /// recorded before it no longer holds.
    pub contact_changed: Option<Day>,
    /// What agents recorded about the customer before T (any of their policies); None when no
    /// outcomes are attached to the book. Boxed: a history is kept for every policy of a
    /// snapshot, and a book without outcomes should not pay for the summary's 40 bytes.
    pub contacts: Option<Box<crate::contacts::ContactSummary>>,
}

impl PolicyHistory {
    /// Computes the state of `policy` at `spec.as_of`.
    pub fn at(book: &Book, codes: &KnownCodes, policy: usize, spec: &SnapshotSpec) -> Self {
        let t = spec.as_of;
        let inst = &book.installments;
        let mut h = PolicyHistory { last_payment_method: Categories::MISSING, ..Default::default() };
        let mut late_sum = 0i64;
        let mut paid_with_method = 0u32;
        let mut paid_auto = 0u32;
        let mut last_paid: Option<Day> = None;
        // Settled renewals in due order: Some(on_time) for each, to count the trailing streak.
        let mut streak = 0u32;
        // Signed days from due to payment of the latest paid renewals (oldest first).
        let mut offsets: std::collections::VecDeque<i32> = std::collections::VecDeque::with_capacity(USUAL_PAYMENT_RENEWALS);
        for i in inst.of_policy(policy) {
            let due = inst.due[i];
            if due >= t {
                break; // rows are in due order: nothing later is visible
            }
            let paid = inst.paid[i].filter(|&p| p < t);
            let deadline = due + spec.grace_days;
            if let Some(p) = paid {
                if last_paid.is_none_or(|l| p > l) {
                    last_paid = Some(p);
                    h.last_payment_method = inst.method.codes[i];
                }
                let method = inst.method.codes[i];
                if method != Categories::MISSING {
                    paid_with_method += 1;
                    if Some(method) == codes.auto_debit {
                        paid_auto += 1;
                    }
                }
                let failed = inst.failed_debits[i].unwrap_or(0);
                h.failed_debits_total += failed;
                if due >= t - 365 {
                    h.failed_debits_12m += failed;
                }
            }
            if inst.number[i] < 2 {
                continue;
            }
            h.renewals_due += 1;
            if due >= t - 365 {
                match paid {
                    Some(p) => {
                        h.renewals_settled_12m += 1;
                        h.late_12m += u32::from(p > due);
                    }
                    None if deadline < t => {
                        h.renewals_settled_12m += 1;
                        h.late_12m += 1;
                    }
                    None => {}
                }
            }
            match paid {
                Some(p) => {
                    h.renewals_paid += 1;
                    h.paid_early += u32::from(p < due);
                    if offsets.len() == USUAL_PAYMENT_RENEWALS {
                        offsets.pop_front();
                    }
                    offsets.push_back((p - due).clamp(-30, spec.grace_days));
                    let late = (p - due).max(0);
                    late_sum += i64::from(late);
                    h.max_days_late = Some(h.max_days_late.map_or(late, |m| m.max(late)));
                    h.last_days_late = Some(late);
                    match late {
                        0 => streak += 1,
                        1..=30 => {
                            h.paid_late_1_30 += 1;
                            streak = 0;
                        }
                        31.. if p <= deadline => {
                            h.paid_late_31_60 += 1;
                            streak = 0;
                        }
                        _ => {
                            h.paid_late_over_60 += 1;
                            streak = 0;
                        }
                    }
                    if p > deadline {
                        h.lapses += 1;
                    }
                }
                None if deadline < t => {
                    h.lapses += 1;
                    streak = 0;
                }
                None => h.overdue_in_grace += 1,
            }
        }
        h.on_time_streak = streak;
        if !offsets.is_empty() {
            let mut sorted: Vec<i32> = offsets.into_iter().collect();
            sorted.sort_unstable();
            let mid = sorted.len() / 2;
            h.usual_payment_offset =
                Some(if sorted.len() % 2 == 1 { f64::from(sorted[mid]) } else { f64::from(sorted[mid - 1] + sorted[mid]) / 2.0 });
        }
        if h.renewals_paid > 0 {
            h.mean_days_late = Some(late_sum as f64 / f64::from(h.renewals_paid));
        }
        if paid_with_method > 0 {
            h.auto_debit_share = Some(f64::from(paid_auto) / f64::from(paid_with_method));
        }
        h.days_since_last_payment = last_paid.map(|p| t - p);
        h.events = event_counts(book, codes, policy, t);
        h.customer(book, codes, policy, t, spec.grace_days);
        if let Some(agent) = book.policies.agent[policy] {
            let agent = agent as usize;
            h.agent_left = book.agents.leave_date[agent].filter(|&d| d < t);
            h.agent_tenure_years =
                book.agents.hire_date[agent].filter(|&d| d < t).map(|d| f64::from(whole_years_between(d, h.agent_left.unwrap_or(t))));
        }
        h
    }

    /// Adds `other`'s renewals whose grace ended unpaid in the 365 days before T.
    fn household_lapses_of(&mut self, book: &Book, other: usize, t: Day, grace_days: i32) {
        let inst = &book.installments;
        for i in inst.of_policy(other) {
            let deadline = inst.due[i] + grace_days;
            if deadline >= t {
                break; // rows are in due order
            }
            if inst.number[i] >= 2 && deadline >= t - 365 && inst.paid[i].is_none_or(|p| p > deadline || p >= t) {
                self.household_lapses_12m += 1;
            }
        }
    }

    /// Moves `contact_changed` to `other`'s last contact-detail change before T.
    fn contact_changes_of(&mut self, book: &Book, codes: &KnownCodes, other: usize, t: Day) {
        let events = &book.events;
        for e in events.of_policy(other) {
            let date = events.date[e];
            if date >= t {
                break; // events are in date order
            }
            if matches!(codes.event_kind(events.kind.codes[e]), Some(EventKind::AddressChange | EventKind::PhoneChange)) {
                self.contact_changed = Some(self.contact_changed.map_or(date, |d| d.max(date)));
            }
        }
    }

    fn customer(&mut self, book: &Book, codes: &KnownCodes, policy: usize, t: Day, grace_days: i32) {
        let policies = &book.policies;
        let customer = policies.customer[policy] as usize;
        let mut first_issue: Option<Day> = None;
        self.contacts = book.contacts.attached.then(Box::default);
        for &other in book.customer_policies.of(customer) {
            let other = other as usize;
            let issued = policies.issue_date[other];
            if issued >= t {
                continue;
            }
            first_issue = Some(first_issue.map_or(issued, |f| f.min(issued)));
            self.contact_changes_of(book, codes, other, t);
            if let Some(summary) = &mut self.contacts {
                summary.add_policy(&book.contacts, other, t);
            }
            if other == policy {
                continue;
            }
            let ended = policies.status_date[other].is_some_and(|d| d < t) && codes.terminal_statuses.contains(&policies.status.codes[other]);
            if ended {
                self.other_ended_policies += 1;
            } else {
                self.other_inforce_policies += 1;
            }
            self.household_lapses_of(book, other, t, grace_days);
        }
        self.customer_tenure_years = first_issue.map(|f| f64::from(t - f) / 365.25);
    }
}

fn event_counts(book: &Book, codes: &KnownCodes, policy: usize, t: Day) -> EventCounts {
    let events = &book.events;
    let mut counts = EventCounts::default();
    for i in events.of_policy(policy) {
        let date = events.date[i];
        if date >= t {
            break; // events are in date order
        }
        let Some(kind) = codes.event_kind(events.kind.codes[i]) else { continue };
        if kind == EventKind::Reinstatement {
            counts.reinstatements_ever += 1;
        }
        match kind {
            EventKind::Contact => counts.days_since_last_contact = Some(t - date),
            EventKind::PolicyLoan => counts.days_since_last_loan = Some(t - date),
            _ => {}
        }
        if date >= t - 90 && kind == EventKind::Contact {
            counts.contacts_90d += 1;
        }
        if date < t - 365 {
            continue;
        }
        match kind {
            EventKind::Complaint => counts.complaints += 1,
            EventKind::Claim => counts.claims += 1,
            EventKind::PolicyLoan => counts.policy_loans += 1,
            EventKind::PartialWithdrawal => counts.partial_withdrawals += 1,
            EventKind::BankAccountChange => counts.bank_account_changes += 1,
            EventKind::AddressChange => counts.address_changes += 1,
            EventKind::AgentChange => counts.agent_changes += 1,
            EventKind::Contact => counts.contacts += 1,
            EventKind::DebitFailed => counts.debit_failures += 1,
            EventKind::Reinstatement | EventKind::PhoneChange => {}
        }
    }
    counts
}

/// A renewal's outcome as the extract knows it: 1 lapsed, 0 paid by its deadline, None not yet
/// known. The extract holds what is dated before its extract date E, so a payment dated on or
/// after E is not used (a table built with an earlier `--extract-date` sees no later payment),
/// and an unpaid renewal has lapsed only once its deadline (due + grace, the last day a payment
/// still counts) is before E.
pub fn lapse_label(due: Day, paid: Option<Day>, spec: &SnapshotSpec) -> Option<u8> {
    let deadline = due + spec.grace_days;
    match paid.filter(|&p| p < spec.extract_date) {
        Some(p) if p <= deadline => Some(0),
        Some(_) => Some(1),
        None if deadline < spec.extract_date => Some(1),
        None => None,
    }
}

/// Whether every renewal of a snapshot taken at `as_of` has a known outcome at `extract_date`:
/// the last renewal it holds is due at `as_of + horizon_days`, its deadline is that plus
/// `grace_days`, and the extract knows it once that day is before the extract date. Only such
/// snapshots are trained, validated or calibrated on: in a later one the early payers are
/// labelled and the likely lapses are not yet, so its labelled rows under-state the lapse rate.
pub fn snapshot_matured(as_of: Day, horizon_days: i32, grace_days: i32, extract_date: Day) -> bool {
    as_of + horizon_days + grace_days < extract_date
}

/// A renewal's outcome as known on `known_at` (the contract's definition): 1 lapsed (not paid
/// by due + grace), 0 paid by then, None while its grace has not ended unpaid. Payments after
/// `known_at` are not known yet (`lapse effect --as-of` reads an extract as of an earlier day).
pub fn outcome_known_at(due: Day, paid: Option<Day>, grace_days: i32, known_at: Day) -> Option<u8> {
    let deadline = due + grace_days;
    match paid.filter(|&p| p <= known_at) {
        Some(p) if p <= deadline => Some(0),
        Some(_) => Some(1),
        None if deadline < known_at => Some(1),
        None => None,
    }
}
