//! The reinstatement model's inputs: one row per win-back candidate at T, computed only from
//! what the extract knew before T (the snapshot rule of the renewal features), and its label
//! when the outcome is known: reinstated within N days of T.
//!
//! The label: the candidate's lapsed renewal (the earliest unpaid one whose grace ended before
//! T) is paid on a day in [T, T + N): a reinstatement, as `DATA_CONTRACT.md` marks it. It is
//! known when T + N <= the extract date, and null otherwise (the trainer leaves those rows out).
//! A policy surrendered or claimed in the window did not come back: 0.

use polars::prelude::*;

use super::Candidate;
use crate::dates::{Day, Step, format_day, whole_years_between};
use crate::extract::Book;
use crate::features::output::{WriteError, write_frames};

/// The label column of a reinstatement table with horizon N: `reinstated_<N>d` (the model
/// keeps its label's name, so a ranked list can say what its probability is of).
/// The reinstatement label's window by default: reinstated within this many days of the
/// snapshot date (`lapse winback-table --horizon-days`).
pub const DEFAULT_LABEL_DAYS: i32 = 90;

pub fn label_column(horizon_days: i32) -> String {
    format!("reinstated_{horizon_days}d")
}

/// The horizon of a label named by [`label_column`].
pub fn horizon_of_label(label: &str) -> Option<i32> {
    label.strip_prefix("reinstated_")?.strip_suffix('d')?.parse().ok()
}

/// Columns of the table that are keys or bookkeeping, never model inputs.
pub const KEY_COLUMNS: [&str; 6] = ["as_of", "policy_id", "customer_id", "agent_id", "lapse_date", "value_if_reinstated"];

/// Win-back contacts counted since the lapse.
const CONTACT_KINDS: [&str; 3] = ["contact_sms", "contact_call", "contact_visit"];

/// How a reinstatement table is labelled: the horizon N and the day the extract was taken.
#[derive(Debug, Clone, Copy)]
pub struct LabelPlan {
    pub horizon_days: i32,
    pub extract_date: Day,
}

/// The model's inputs for `candidates` at `as_of`, with the label when `label` is given (null
/// where the outcome is not known yet). Row order follows `candidates`.
pub fn frame(book: &Book, candidates: &[Candidate], as_of: Day, label: Option<LabelPlan>) -> PolarsResult<DataFrame> {
    let p = &book.policies;
    let inst = &book.installments;
    let events = &book.events;
    let n = candidates.len();
    let kind_codes: Vec<Option<u32>> = CONTACT_KINDS.iter().map(|k| events.kind.levels.iter().position(|l| l == k).map(|i| i as u32)).collect();
    let reinstatement_code = events.kind.levels.iter().position(|l| l == "reinstatement").map(|i| i as u32);
    let mut contacts = [vec![0u32; n], vec![0u32; n], vec![0u32; n]];
    let mut last_contact = vec![f64::NAN; n];
    let mut past_reinstatements = vec![0u32; n];
    let mut labels: Vec<Option<i32>> = Vec::with_capacity(n);
    for (row, c) in candidates.iter().enumerate() {
        for e in events.of_policy(c.policy) {
            let day = events.date[e];
            if day >= as_of {
                break; // date order
            }
            let code = events.kind.codes[e];
            if Some(code) == reinstatement_code {
                past_reinstatements[row] += 1;
            }
            if day < c.lapse_date {
                continue;
            }
            if let Some(k) = kind_codes.iter().position(|&kc| kc == Some(code)) {
                contacts[k][row] += 1;
                last_contact[row] = f64::from(as_of - day);
            }
        }
        labels.push(label.and_then(|plan| {
            let end = as_of + plan.horizon_days;
            (end <= plan.extract_date).then(|| i32::from(inst.paid[c.lapsed_installment].is_some_and(|d| d >= as_of && d < end)))
        }));
    }
    let text = |f: &dyn Fn(&Candidate) -> Option<String>| -> Vec<Option<String>> { candidates.iter().map(f).collect() };
    let category = |column: &crate::extract::Categories, c: &Candidate| column.get(c.policy).map(str::to_string);
    let numbers = |f: &dyn Fn(&Candidate) -> f64| -> Vec<f64> { candidates.iter().map(f).collect() };
    let annual = |c: &Candidate| p.modal_premium[c.policy] * f64::from(p.frequency[c.policy].per_year());
    let mut columns = vec![
        Column::new("as_of".into(), vec![as_of; n]).cast(&DataType::Date)?,
        Column::new("policy_id".into(), text(&|c| Some(p.id[c.policy].clone()))),
        Column::new("customer_id".into(), text(&|c| Some(book.customers.id[p.customer[c.policy] as usize].clone()))),
        Column::new("agent_id".into(), text(&|c| category(&p.agent_id, c))),
        Column::new("lapse_date".into(), candidates.iter().map(|c| c.lapse_date).collect::<Vec<Day>>()).cast(&DataType::Date)?,
        Column::new("value_if_reinstated".into(), numbers(&|c| c.value_if_reinstated)),
        Column::new("channel".into(), text(&|c| category(&p.channel, c))),
        Column::new("product_type".into(), text(&|c| category(&p.product_type, c))),
        Column::new("region".into(), text(&|c| category(&p.region, c))),
        Column::new("payment_frequency".into(), text(&|c| Some(p.frequency[c.policy].as_str().to_string()))),
        Column::new("payment_method".into(), text(&|c| category(&p.payment_method, c))),
        Column::new("days_since_lapse".into(), numbers(&|c| f64::from(c.days_since_lapse))),
        Column::new("days_left_to_reinstate".into(), numbers(&|c| f64::from(c.days_left))),
        Column::new("unpaid_renewals".into(), numbers(&|c| f64::from(c.unpaid_renewals))),
        Column::new("arrears".into(), numbers(&|c| c.arrears)),
        Column::new("arrears_to_annual_premium".into(), numbers(&|c| c.arrears / annual(c).max(1e-9))),
        Column::new("annualized_premium".into(), numbers(&annual)),
        Column::new("remaining_payment_years".into(), numbers(&|c| c.premium_years_left)),
        Column::new("policy_year_at_lapse".into(), numbers(&|c| f64::from(whole_years_between(p.issue_date[c.policy], c.lapse_date) + 1))),
        Column::new("age".into(), numbers(&|c| f64::from(whole_years_between(book.customers.birth_date[p.customer[c.policy] as usize], as_of)))),
        Column::new("has_agent".into(), numbers(&|c| f64::from(u8::from(p.agent[c.policy].is_some())))),
        Column::new("agent_left".into(), numbers(&|c| f64::from(u8::from(c.agent_left)))),
        Column::new("sms_since_lapse".into(), contacts[0].iter().map(|&v| f64::from(v)).collect::<Vec<f64>>()),
        Column::new("calls_since_lapse".into(), contacts[1].iter().map(|&v| f64::from(v)).collect::<Vec<f64>>()),
        Column::new("visits_since_lapse".into(), contacts[2].iter().map(|&v| f64::from(v)).collect::<Vec<f64>>()),
        Column::new("days_since_last_contact".into(), last_contact),
        Column::new("past_reinstatements".into(), past_reinstatements.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>()),
    ];
    if label.is_some() {
        columns.push(Column::new(label_column(label.map_or(0, |l| l.horizon_days)).into(), labels));
    }
    DataFrame::new(n, columns)
}

/// The metadata a reinstatement table carries: its label, keys and horizon (the trainer keeps
/// training rows whose window [T, T + N) ends before validation starts).
pub fn metadata(horizon_days: i32, grace_days: i32, reinstatement_days: i32, extract_date: Day) -> Vec<(String, String)> {
    vec![
        ("lapse.table".into(), "winback".into()),
        ("lapse.label_column".into(), label_column(horizon_days)),
        ("lapse.key_columns".into(), KEY_COLUMNS.join(",")),
        ("lapse.outcome_lag_days".into(), horizon_days.to_string()),
        ("lapse.horizon_days".into(), horizon_days.to_string()),
        ("lapse.grace_days".into(), grace_days.to_string()),
        ("lapse.reinstatement_days".into(), reinstatement_days.to_string()),
        // The trainer keeps a snapshot when its window [T, T + N) ends by this date.
        ("lapse.extract_date".into(), format_day(extract_date)),
    ]
}

/// What a stacked reinstatement table is built from.
#[derive(Debug, Clone)]
pub struct TablePlan {
    /// Snapshot dates, oldest first.
    pub dates: Vec<Day>,
    pub label: LabelPlan,
    pub grace_days: i32,
    pub reinstatement_days: i32,
    pub value_cap_years: f64,
}

impl TablePlan {
    /// `snapshots` dates ending at `last`, `step` apart.
    pub fn dates_back(last: Day, step: Step, snapshots: usize) -> Vec<Day> {
        let mut dates: Vec<Day> = (0..snapshots as i32).map(|k| step.nth_from(last, -k)).collect();
        dates.sort_unstable();
        dates.dedup();
        dates
    }

    /// Writes the stacked table (one snapshot at a time) to `path`, atomically; returns the rows
    /// and the labelled rows.
    pub fn write(&self, book: &Book, path: &std::path::Path) -> Result<(usize, usize), WriteError> {
        let mut labelled = 0usize;
        let frames = self.dates.iter().map(|&t| {
            let list = super::candidates(book, t, self.grace_days, self.reinstatement_days, self.value_cap_years);
            let df = frame(book, &list, t, Some(self.label))?;
            let label = df.column(&label_column(self.label.horizon_days))?;
            labelled += label.len() - label.null_count();
            Ok(df)
        });
        let rows = write_frames(path, metadata(self.label.horizon_days, self.grace_days, self.reinstatement_days, self.label.extract_date), frames)?;
        Ok((rows, labelled))
    }
}

/// The dates of a snapshot series as text (for messages).
pub fn describe_dates(dates: &[Day]) -> String {
    match (dates.first(), dates.last()) {
        (Some(a), Some(b)) => format!("{} snapshot(s) {}..{}", dates.len(), format_day(*a), format_day(*b)),
        _ => "no snapshot".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{OnError, load_book};
    use crate::testkit::{CsvBook, day};

    fn value(df: &DataFrame, column: &str, row: usize) -> AnyValue<'static> {
        df.column(column).unwrap().get(row).unwrap().into_static()
    }

    #[test]
    fn inputs_are_known_at_t_and_the_label_is_reinstated_within_n_days_when_known() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = CsvBook::new();
        // Lapse date 2025-03-11 for each (renewal due 2025-01-10 + 60 days grace).
        // P1: reinstated on 2025-07-01, inside [T, T + 90) for T = 2025-06-01.
        book.annual_policy("P1", "2024-01-10").installment("P1", 2, "2025-01-10", "2025-07-01");
        // P2: reinstated on 2025-09-15, after the horizon: 0.
        book.annual_policy("P2", "2024-01-10").installment("P2", 2, "2025-01-10", "2025-09-15");
        // P3: never reinstated; a call after the lapse and before T, a visit after T (unknown at T),
        // an SMS before the lapse (not a win-back contact).
        book.annual_policy("P3", "2024-01-10").installment("P3", 2, "2025-01-10", "");
        book.events.push("P3,2025-02-01,contact_sms,".into());
        book.events.push("P3,2025-05-02,contact_call,".into());
        book.events.push("P3,2025-06-10,contact_visit,".into());
        let dir = book.write(dir.path());
        let loaded = load_book(&dir, OnError::Strict).unwrap();
        let t = day("2025-06-01");
        let list = super::super::candidates(&loaded.book, t, 60, 730, 5.0);
        let known = LabelPlan { horizon_days: 90, extract_date: day("2025-12-31") };
        let df = frame(&loaded.book, &list, t, Some(known)).unwrap();
        let row_of = |id: &str| list.iter().position(|c| loaded.book.policies.id[c.policy] == id).unwrap();
        let label = label_column(90);
        assert_eq!(label, "reinstated_90d");
        assert_eq!(horizon_of_label(&label), Some(90));
        assert_eq!(value(&df, &label, row_of("P1")), AnyValue::Int32(1));
        assert_eq!(value(&df, &label, row_of("P2")), AnyValue::Int32(0));
        assert_eq!(value(&df, &label, row_of("P3")), AnyValue::Int32(0));
        let p3 = row_of("P3");
        assert_eq!(value(&df, "calls_since_lapse", p3), AnyValue::Float64(1.0));
        assert_eq!(value(&df, "visits_since_lapse", p3), AnyValue::Float64(0.0), "a visit after T is not known at T");
        assert_eq!(value(&df, "sms_since_lapse", p3), AnyValue::Float64(0.0), "an SMS before the lapse is not a win-back contact");
        assert_eq!(value(&df, "days_since_last_contact", p3), AnyValue::Float64(f64::from(t - day("2025-05-02"))));
        assert_eq!(value(&df, "days_since_lapse", p3), AnyValue::Float64(f64::from(t - day("2025-03-11"))));
        assert_eq!(value(&df, "arrears_to_annual_premium", p3), AnyValue::Float64(1.0));
        // Not known yet: the window ends after the extract date.
        let unknown = LabelPlan { horizon_days: 90, extract_date: day("2025-08-01") };
        let df = frame(&loaded.book, &list, t, Some(unknown)).unwrap();
        assert_eq!(df.column(&label).unwrap().null_count(), list.len());
        // No label asked: no label column (what scoring builds).
        assert!(frame(&loaded.book, &list, t, None).unwrap().column(&label).is_err());
    }

    #[test]
    fn the_stacked_table_carries_its_label_keys_and_horizon() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = CsvBook::new();
        book.annual_policy("P1", "2024-01-10").installment("P1", 2, "2025-01-10", "2025-07-01");
        let dir = book.write(dir.path());
        let loaded = load_book(&dir, OnError::Strict).unwrap();
        let plan = TablePlan {
            dates: TablePlan::dates_back(day("2025-06-30"), Step::Months(1), 3),
            label: LabelPlan { horizon_days: 30, extract_date: day("2025-07-15") },
            grace_days: 60,
            reinstatement_days: 730,
            value_cap_years: 5.0,
        };
        assert_eq!(plan.dates, [day("2025-04-30"), day("2025-05-30"), day("2025-06-30")]);
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join("t.parquet");
        // One candidate per date; the last date's window ends after the extract: unlabelled.
        assert_eq!(plan.write(&loaded.book, &path).unwrap(), (3, 2));
        let (df, metadata) = crate::table::read_frame(&path).unwrap();
        assert_eq!(df.height(), 3);
        let meta = |k: &str| metadata.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(meta("lapse.label_column").as_deref(), Some("reinstated_30d"));
        assert_eq!(meta("lapse.outcome_lag_days").as_deref(), Some("30"));
        assert!(meta("lapse.key_columns").unwrap().split(',').any(|k| k == "value_if_reinstated"));
    }
}
