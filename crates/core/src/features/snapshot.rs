//! Building a snapshot: the renewals at risk at T (the contract's snapshot rule), their
//! features and labels, as typed columns.

use rayon::prelude::*;

pub use super::aggregates::AgentRecord;
use super::history::{KnownCodes, PolicyHistory, SnapshotSpec, lapse_label};
use crate::dates::{Day, whole_years_between};
use crate::extract::schema::Frequency;
use crate::extract::{Book, Categories, Customers, Policies};

/// Pseudo-renewals at the book's rate added to each agent's record (shrinks small books).
const AGENT_PRIOR_WEIGHT: f64 = 10.0;

/// One renewal in a snapshot.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotRow {
    pub policy: u32,
    /// Row in `book.installments`.
    pub installment: u32,
    /// Index of the policy's [`PolicyHistory`] in the snapshot.
    pub history: u32,
    /// 1 lapsed, 0 paid in grace, None unknown at the extract date.
    pub label: Option<u8>,
}

/// The renewals at risk at T and what is known about their policies.
pub struct Snapshot<'a> {
    pub book: &'a Book,
    pub spec: SnapshotSpec,
    pub rows: Vec<SnapshotRow>,
    pub histories: Vec<PolicyHistory>,
    /// Per agent (row of `book.agents`).
    pub agents: Vec<AgentRecord>,
    /// Lapse rate of all renewals whose grace ended in the 12 months before T.
    pub book_lapse_rate: f64,
}

/// What a feature function sees: one renewal of a snapshot.
#[derive(Clone, Copy)]
pub struct RenewalCtx<'a> {
    snapshot: &'a Snapshot<'a>,
    row: &'a SnapshotRow,
}

impl<'a> RenewalCtx<'a> {
    fn policies(self) -> &'a Policies {
        &self.snapshot.book.policies
    }
    fn policy(self) -> usize {
        self.row.policy as usize
    }
    fn customers(self) -> &'a Customers {
        &self.snapshot.book.customers
    }
    fn customer(self) -> usize {
        self.policies().customer[self.policy()] as usize
    }
    fn installment(self) -> usize {
        self.row.installment as usize
    }
    /// The state of this renewal's promise to pay at T (None: no outcomes attached).
    pub fn promise(self) -> Option<crate::contacts::PromiseState> {
        let book = self.snapshot.book;
        book.contacts.attached.then(|| crate::contacts::PromiseState::of(&book.contacts, self.policy(), self.installment_no(), self.as_of()))
    }

    /// The reason of the customer's last refusal before T, when it is within `days` of T.
    pub fn refusal_reason_within(self, days: i32) -> Option<&'a str> {
        let summary = self.history().contacts.as_ref()?;
        Some(match summary.last_refusal {
            Some((day, code)) if self.as_of() - day <= days => self.snapshot.book.contacts.reason.level(code).unwrap_or("unknown"),
            _ => "none",
        })
    }

    /// The policy's state at T.
    pub fn history(self) -> &'a PolicyHistory {
        &self.snapshot.histories[self.row.history as usize]
    }
    pub fn as_of(self) -> Day {
        self.snapshot.spec.as_of
    }
    pub fn due(self) -> Day {
        self.snapshot.book.installments.due[self.installment()]
    }
    pub fn installment_no(self) -> u32 {
        self.snapshot.book.installments.number[self.installment()]
    }
    pub fn issue_date(self) -> Day {
        self.policies().issue_date[self.policy()]
    }
    pub fn birth_date(self) -> Day {
        self.customers().birth_date[self.customer()]
    }
    pub fn frequency(self) -> Frequency {
        self.policies().frequency[self.policy()]
    }
    pub fn modal_premium(self) -> f64 {
        self.policies().modal_premium[self.policy()]
    }
    pub fn annualized_premium(self) -> f64 {
        self.modal_premium() * f64::from(self.frequency().per_year())
    }
    pub fn sum_assured(self) -> Option<f64> {
        self.policies().sum_assured[self.policy()]
    }
    pub fn payment_term_years(self) -> u32 {
        self.policies().payment_term_years[self.policy()]
    }
    /// 1 + whole years from issue to the renewal's due date.
    pub fn policy_year(self) -> i32 {
        whole_years_between(self.issue_date(), self.due()).max(0) + 1
    }
    /// Years of premiums due from this renewal on, this policy year included.
    pub fn remaining_payment_years(self) -> f64 {
        (f64::from(self.payment_term_years()) - f64::from(self.policy_year() - 1)).max(0.0)
    }
    pub fn has_agent(self) -> bool {
        self.policies().agent_id.codes[self.policy()] != Categories::MISSING
    }
    /// A category column of the policy.
    pub fn policy_cat(self, column: fn(&Policies) -> &Categories) -> Option<&'a str> {
        column(self.policies()).get(self.policy())
    }
    /// A category column of the policyholder.
    pub fn customer_cat(self, column: fn(&Customers) -> &Categories) -> Option<&'a str> {
        column(self.customers()).get(self.customer())
    }
    pub fn region(self) -> Option<&'a str> {
        self.policy_cat(|p| &p.region).or_else(|| self.customer_cat(|c| &c.region))
    }
    pub fn last_payment_method(self) -> Option<&'a str> {
        let code = self.history().last_payment_method;
        (code != Categories::MISSING).then(|| self.snapshot.book.installments.method.levels[code as usize].as_str())
    }
    fn agent_record(self) -> Option<AgentRecord> {
        self.policies().agent[self.policy()].map(|a| self.snapshot.agents[a as usize])
    }
    /// The agent's recent lapse rate, shrunk towards the book's.
    pub fn agent_lapse_rate(self) -> Option<f64> {
        self.agent_record()
            .map(|a| (f64::from(a.lapses) + AGENT_PRIOR_WEIGHT * self.snapshot.book_lapse_rate) / (f64::from(a.renewals) + AGENT_PRIOR_WEIGHT))
    }
    pub fn agent_renewals(self) -> Option<f64> {
        self.agent_record().map(|a| f64::from(a.renewals))
    }
}

/// Policies processed per parallel task.
const CHUNK: usize = 4096;

struct ChunkOut {
    rows: Vec<SnapshotRow>,
    histories: Vec<PolicyHistory>,
    agents: Vec<(u32, AgentRecord)>,
    renewals: u32,
    lapses: u32,
}

impl<'a> Snapshot<'a> {
    /// The renewals at risk at `spec.as_of`: installment_no >= 2, not paid before T, due in
    /// [T - grace_days, T + horizon_days]; ordered by policy, then due date.
    pub fn build(book: &'a Book, codes: &KnownCodes, spec: SnapshotSpec) -> Self {
        Self::build_with(book, codes, spec, None)
    }

    /// [`Snapshot::build`] for a part of a book split by customer: the agents' and the book's
    /// lapse records come from `aggregates` (computed over the whole book) instead of from the
    /// part's own policies, so every row is the one the whole book gives.
    pub fn build_with(book: &'a Book, codes: &KnownCodes, spec: SnapshotSpec, aggregates: Option<&super::aggregates::DateAggregates>) -> Self {
        let t = spec.as_of;
        let inst = &book.installments;
        let n = book.policies.len();
        let chunk = |c: usize| {
            let mut out = ChunkOut { rows: Vec::new(), histories: Vec::new(), agents: Vec::new(), renewals: 0, lapses: 0 };
            for p in c * CHUNK..((c + 1) * CHUNK).min(n) {
                let range = inst.of_policy(p);
                let due = &inst.due[range.clone()];
                // Rows are in due order: binary-search the window.
                let start = range.start + due.partition_point(|&d| d < t - spec.grace_days);
                let end = range.start + due.partition_point(|&d| d <= t + spec.horizon_days);
                let first_row = out.rows.len();
                // A policy issued on or after T did not exist at T.
                let issued = book.policies.issue_date[p] < t;
                for i in start..end {
                    if issued && inst.number[i] >= 2 && inst.paid[i].is_none_or(|paid| paid >= t) {
                        out.rows.push(SnapshotRow {
                            policy: p as u32,
                            installment: i as u32,
                            history: out.histories.len() as u32,
                            label: lapse_label(inst.due[i], inst.paid[i], &spec),
                        });
                    }
                }
                if out.rows.len() > first_row {
                    out.histories.push(PolicyHistory::at(book, codes, p, &spec));
                }
                // Renewals whose grace ended in the 12 months before T: their outcome is known.
                let record = super::aggregates::policy_record(book, p, t, spec.grace_days);
                out.renewals += record.renewals;
                out.lapses += record.lapses;
                if let Some(agent) = book.policies.agent[p].filter(|_| record.renewals > 0) {
                    out.agents.push((agent, record));
                }
            }
            out
        };
        // One chunk (a scoring request's few policies) on the calling thread: handing it to the
        // pool would cost more than building it.
        let chunks: Vec<ChunkOut> =
            if n <= CHUNK { (0..n.div_ceil(CHUNK)).map(chunk).collect() } else { (0..n.div_ceil(CHUNK)).into_par_iter().map(chunk).collect() };

        let mut snapshot = Snapshot {
            book,
            spec,
            rows: Vec::with_capacity(chunks.iter().map(|c| c.rows.len()).sum()),
            histories: Vec::with_capacity(chunks.iter().map(|c| c.histories.len()).sum()),
            agents: vec![AgentRecord::default(); book.agents.id.len()],
            book_lapse_rate: 0.0,
        };
        let (mut renewals, mut lapses) = (0u64, 0u64);
        for chunk in chunks {
            let offset = snapshot.histories.len() as u32;
            snapshot.rows.extend(chunk.rows.into_iter().map(|r| SnapshotRow { history: r.history + offset, ..r }));
            snapshot.histories.extend(chunk.histories);
            for (agent, record) in chunk.agents {
                let a = &mut snapshot.agents[agent as usize];
                a.renewals += record.renewals;
                a.lapses += record.lapses;
            }
            renewals += u64::from(chunk.renewals);
            lapses += u64::from(chunk.lapses);
        }
        if let Some(whole) = aggregates {
            (renewals, lapses) = (whole.renewals, whole.lapses);
            for (a, id) in book.agents.id.iter().enumerate() {
                snapshot.agents[a] = whole.agents.get(id).copied().unwrap_or_default();
            }
        }
        snapshot.book_lapse_rate = if renewals > 0 { lapses as f64 / renewals as f64 } else { 0.0 };
        snapshot
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The context a feature function sees for row `i`.
    pub fn ctx(&'a self, i: usize) -> RenewalCtx<'a> {
        RenewalCtx { snapshot: self, row: &self.rows[i] }
    }
}
