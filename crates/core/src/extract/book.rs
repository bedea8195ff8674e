//! The validated book: every table as typed columns, keys resolved to row indices, and the
//! installments and events grouped per policy (compressed sparse rows) for the feature builder.

pub use crate::categories::Categories;
use crate::dates::Day;
use crate::extract::schema::Frequency;

/// `customers`: one row per policyholder.
#[derive(Debug, Clone, Default)]
pub struct Customers {
    pub id: Vec<String>,
    pub birth_date: Vec<Day>,
    pub gender: Categories,
    pub region: Categories,
    pub occupation_class: Categories,
}

/// `agents`: the sales force (empty when the extract has no agents table).
#[derive(Debug, Clone, Default)]
pub struct Agents {
    pub id: Vec<String>,
    pub hire_date: Vec<Option<Day>>,
    pub leave_date: Vec<Option<Day>>,
    /// The agent's team and branch (optional columns; all missing when the table lacks them).
    pub team: Categories,
    pub branch: Categories,
}

/// `policies`: one row per policy, with keys resolved.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    pub id: Vec<String>,
    /// Row of the policyholder in [`Customers`].
    pub customer: Vec<u32>,
    pub product_code: Categories,
    pub product_type: Categories,
    pub channel: Categories,
    /// The servicing agent's id as written (kept even when the extract has no agents table).
    pub agent_id: Categories,
    /// Row of the servicing agent in [`Agents`], when there is one and the table has it.
    pub agent: Vec<Option<u32>>,
    pub issue_date: Vec<Day>,
    pub frequency: Vec<Frequency>,
    pub modal_premium: Vec<f64>,
    pub sum_assured: Vec<Option<f64>>,
    pub payment_term_years: Vec<u32>,
    pub payment_method: Categories,
    pub region: Categories,
    pub status: Categories,
    pub status_date: Vec<Option<Day>>,
}

impl Policies {
    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }
}

/// `installments`, grouped by policy and ordered by due date (then number) within a policy.
#[derive(Debug, Clone, Default)]
pub struct Installments {
    pub policy: Vec<u32>,
    pub number: Vec<u32>,
    pub due: Vec<Day>,
    pub amount_due: Vec<f64>,
    pub paid: Vec<Option<Day>>,
    pub amount_paid: Vec<Option<f64>>,
    pub method: Categories,
    pub failed_debits: Vec<Option<u32>>,
    /// Rows of policy `p` are `offsets[p]..offsets[p + 1]`.
    pub offsets: Vec<usize>,
}

impl Installments {
    pub fn len(&self) -> usize {
        self.due.len()
    }

    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }

    /// The row range of one policy's installments.
    pub fn of_policy(&self, policy: usize) -> std::ops::Range<usize> {
        self.offsets[policy]..self.offsets[policy + 1]
    }
}

/// `events`, grouped by policy and ordered by date within a policy.
#[derive(Debug, Clone, Default)]
pub struct Events {
    pub policy: Vec<u32>,
    pub date: Vec<Day>,
    pub kind: Categories,
    pub amount: Vec<Option<f64>>,
    /// Rows of policy `p` are `offsets[p]..offsets[p + 1]`.
    pub offsets: Vec<usize>,
}

impl Events {
    pub fn len(&self) -> usize {
        self.date.len()
    }

    pub fn is_empty(&self) -> bool {
        self.date.is_empty()
    }

    /// The row range of one policy's events.
    pub fn of_policy(&self, policy: usize) -> std::ops::Range<usize> {
        self.offsets[policy]..self.offsets[policy + 1]
    }
}

/// A many-to-one index: the rows of group `g` are `rows[offsets[g]..offsets[g + 1]]`.
#[derive(Debug, Clone, Default)]
pub struct GroupIndex {
    pub offsets: Vec<usize>,
    pub rows: Vec<u32>,
}

impl GroupIndex {
    /// Groups row indices by `group_of[row]` (None: in no group), keeping row order.
    pub fn build(groups: usize, group_of: impl Iterator<Item = Option<u32>> + Clone) -> Self {
        let mut offsets = vec![0usize; groups + 1];
        for g in group_of.clone().flatten() {
            offsets[g as usize + 1] += 1;
        }
        for g in 0..groups {
            offsets[g + 1] += offsets[g];
        }
        let mut next = offsets.clone();
        let mut rows = vec![0u32; offsets[groups]];
        for (row, g) in group_of.enumerate() {
            if let Some(g) = g {
                rows[next[g as usize]] = row as u32;
                next[g as usize] += 1;
            }
        }
        GroupIndex { offsets, rows }
    }

    /// The rows of group `g`.
    pub fn of(&self, g: usize) -> &[u32] {
        &self.rows[self.offsets[g]..self.offsets[g + 1]]
    }
}

/// The whole validated extract.
#[derive(Debug, Clone, Default)]
pub struct Book {
    pub customers: Customers,
    pub agents: Agents,
    pub policies: Policies,
    pub installments: Installments,
    pub events: Events,
    /// Policies of each customer.
    pub customer_policies: GroupIndex,
    /// Policies serviced by each agent.
    pub agent_policies: GroupIndex,
    /// The latest date the extract records as having happened (a payment, an event, a status
    /// change, an agent hire or leave, an issue): the default extract date.
    pub latest_observed: Option<Day>,
    /// What agents recorded about contacts (the outcome store's rows), when the caller attached
    /// them ([`Book::attach_contacts`]); not part of the extract.
    pub contacts: crate::contacts::ContactHistory,
}

impl Book {
    /// Attaches the recorded contact outcomes (only those dated before a snapshot's T are read
    /// by its features); returns how many name a policy the book does not hold.
    pub fn attach_contacts<'a>(&mut self, outcomes: impl IntoIterator<Item = crate::contacts::RecordedContact<'a>>) -> usize {
        self.contacts = crate::contacts::ContactHistory::build(&self.policies.id, outcomes);
        self.contacts.unmatched
    }

    /// Orders rows by policy, then by `key` within a policy (stable), returning the permutation
    /// and the per-policy offsets.
    pub(crate) fn group_order(policies: usize, policy: &[u32], key: &[Day]) -> (Vec<u32>, Vec<usize>) {
        let index = GroupIndex::build(policies, policy.iter().map(|&p| Some(p)));
        let mut order = index.rows;
        for p in 0..policies {
            let rows = &mut order[index.offsets[p]..index.offsets[p + 1]];
            if !rows.is_sorted_by_key(|&r| key[r as usize]) {
                rows.sort_by_key(|&r| key[r as usize]);
            }
        }
        (order, index.offsets)
    }
}

/// Keeps `values[i]` for each `i` in `order`.
pub(crate) fn select<T: Copy>(values: &[T], order: &[u32]) -> Vec<T> {
    order.iter().map(|&i| values[i as usize]).collect()
}
