//! The contract's tables and columns (`DATA_CONTRACT.md`), as data the readers check against.

/// What a contract column holds, and so how its cells are parsed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Free text or an open category set.
    Text,
    /// ISO `YYYY-MM-DD`.
    Date,
    /// A decimal number >= 0 (money).
    Money,
    /// A decimal number of any sign.
    Decimal,
    /// A whole number >= 0.
    Count,
    /// A whole number >= 1.
    PositiveInt,
}

impl ColumnKind {
    /// Whether the column is parsed as a number.
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnKind::Money | ColumnKind::Decimal | ColumnKind::Count | ColumnKind::PositiveInt)
    }
}

/// One column of a contract table.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: ColumnKind,
    pub required: bool,
}

/// One contract table: its file stem and columns.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// File stem: `policies` is read from `policies.csv` or `policies.parquet`.
    pub name: &'static str,
    /// Whether the extract must contain this table.
    pub required: bool,
    pub columns: &'static [ColumnSpec],
}

impl TableSpec {
    /// The spec of the named column; panics on a name the contract does not define (a bug).
    pub fn column(&self, name: &str) -> &ColumnSpec {
        self.columns.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("{} has no contract column {name}", self.name))
    }
}

const fn col(name: &'static str, kind: ColumnKind, required: bool) -> ColumnSpec {
    ColumnSpec { name, kind, required }
}

use ColumnKind::*;

pub const POLICIES: TableSpec = TableSpec {
    name: "policies",
    required: true,
    columns: &[
        col("policy_id", Text, true),
        col("customer_id", Text, true),
        col("product_code", Text, true),
        col("product_type", Text, true),
        col("channel", Text, true),
        col("agent_id", Text, false),
        col("issue_date", Date, true),
        col("premium_frequency", Text, true),
        col("modal_premium", Money, true),
        col("sum_assured", Money, false),
        col("payment_term_years", PositiveInt, true),
        col("payment_method", Text, true),
        col("region", Text, false),
        col("status", Text, true),
        col("status_date", Date, false),
    ],
};

pub const CUSTOMERS: TableSpec = TableSpec {
    name: "customers",
    required: true,
    columns: &[
        col("customer_id", Text, true),
        col("birth_date", Date, true),
        col("gender", Text, false),
        col("region", Text, false),
        col("occupation_class", Text, false),
    ],
};

pub const INSTALLMENTS: TableSpec = TableSpec {
    name: "installments",
    required: true,
    columns: &[
        col("policy_id", Text, true),
        col("installment_no", PositiveInt, true),
        col("due_date", Date, true),
        col("amount_due", Money, true),
        col("paid_date", Date, false),
        col("amount_paid", Money, false),
        col("payment_method", Text, false),
        col("failed_debits", Count, false),
    ],
};

pub const EVENTS: TableSpec = TableSpec {
    name: "events",
    required: false,
    columns: &[col("policy_id", Text, true), col("event_date", Date, true), col("event_type", Text, true), col("amount", Decimal, false)],
};

pub const AGENTS: TableSpec = TableSpec {
    name: "agents",
    required: false,
    columns: &[
        col("agent_id", Text, true),
        col("hire_date", Date, false),
        col("leave_date", Date, false),
        col("team", Text, false),
        col("branch", Text, false),
    ],
};

/// Every table of the contract, in the order they are read (keys before the rows that use them).
pub const TABLES: [&TableSpec; 5] = [&CUSTOMERS, &AGENTS, &POLICIES, &INSTALLMENTS, &EVENTS];

/// How often a premium falls due. The contract lists exactly these four (unlike product types
/// and channels, which are open sets), and the annualized premium depends on knowing which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    Annual,
    Semiannual,
    Quarterly,
    Monthly,
}

impl Frequency {
    pub const ALL: [Frequency; 4] = [Frequency::Annual, Frequency::Semiannual, Frequency::Quarterly, Frequency::Monthly];

    /// Installments per year.
    pub fn per_year(self) -> u32 {
        match self {
            Frequency::Annual => 1,
            Frequency::Semiannual => 2,
            Frequency::Quarterly => 4,
            Frequency::Monthly => 12,
        }
    }

    /// Months between two installments.
    pub fn months(self) -> i32 {
        12 / self.per_year() as i32
    }

    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Annual => "annual",
            Frequency::Semiannual => "semiannual",
            Frequency::Quarterly => "quarterly",
            Frequency::Monthly => "monthly",
        }
    }

    /// Parses the contract's spelling, ignoring case and `-`/`_` (`Semi-Annual` is semiannual).
    pub fn parse(text: &str) -> Option<Frequency> {
        if let Some(exact) = Frequency::ALL.into_iter().find(|f| f.as_str() == text) {
            return Some(exact);
        }
        let folded: String = text.trim().chars().filter(|c| *c != '-' && *c != '_' && *c != ' ').flat_map(char::to_lowercase).collect();
        match folded.as_str() {
            "annual" | "annually" | "yearly" => Some(Frequency::Annual),
            "semiannual" | "semiannually" | "halfyearly" => Some(Frequency::Semiannual),
            "quarterly" => Some(Frequency::Quarterly),
            "monthly" => Some(Frequency::Monthly),
            _ => None,
        }
    }
}

/// Policy statuses that end cover: once visible, the policy no longer counts as in force.
pub const TERMINAL_STATUSES: [&str; 5] = ["lapsed", "surrendered", "matured", "death_claim", "cancelled"];
