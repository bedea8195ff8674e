//! Persistency KPIs on a hand-made extract: every case of the definition.

use lapse::extract::{load_book, OnError};
use lapse::persistency::{persists, report};

use crate::common::{day, CsvBook};

#[test]
fn thirteenth_month_persistency_follows_its_definition() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = CsvBook::new();
    // Issued 2024-01-15, annual: the month-13 premium is installment 2, due 2025-01-15.
    book.annual_policy("ON_TIME", "2024-01-15").installment("ON_TIME", 2, "2025-01-15", "2025-01-20");
    book.annual_policy("IN_GRACE", "2024-01-15").installment("IN_GRACE", 2, "2025-01-15", "2025-03-16"); // day 60
    book.annual_policy("AFTER_GRACE", "2024-01-15").installment("AFTER_GRACE", 2, "2025-01-15", "2025-03-17"); // day 61
    book.annual_policy("UNPAID", "2024-01-15").installment("UNPAID", 2, "2025-01-15", "");
    book.annual_policy("NO_ROW", "2024-01-15"); // lapsed before: no month-13 installment in the extract
    book.annual_policy("NOT_DUE", "2025-06-01"); // its month-13 premium is not due by the as-of date
    book.annual_policy("DIED", "2024-01-15");
    let died = book.policies.last_mut().unwrap();
    *died = died.replace("in_force,", "death_claim,2024-11-01");
    let loaded = load_book(&book.write(dir.path()), OnError::Strict).unwrap();
    let b = &loaded.book;
    let as_of = day("2025-12-31");
    let id = |name: &str| b.policies.id.iter().position(|p| p == name).unwrap();
    assert_eq!(persists(b, id("ON_TIME"), 13, as_of, 60), Some(true));
    assert_eq!(persists(b, id("IN_GRACE"), 13, as_of, 60), Some(true));
    assert_eq!(persists(b, id("AFTER_GRACE"), 13, as_of, 60), Some(false));
    assert_eq!(persists(b, id("UNPAID"), 13, as_of, 60), Some(false));
    assert_eq!(persists(b, id("NO_ROW"), 13, as_of, 60), Some(false));
    assert_eq!(persists(b, id("NOT_DUE"), 13, as_of, 60), None);
    assert_eq!(persists(b, id("DIED"), 13, as_of, 60), None);
    // Not observed yet: the grace of the month-25 premium (2026-01-15) is not over.
    assert_eq!(persists(b, id("ON_TIME"), 25, as_of, 60), None);

    let r = report(b, as_of, 60);
    let all = r.kpis.iter().find(|k| k.month == 13 && k.dimension == "all").unwrap();
    assert_eq!((all.policies, all.persisting), (5, 2));
    assert_eq!(all.ratio_by_count, Some(0.4));
    assert_eq!(all.ratio_by_premium, Some(0.4), "equal premiums");
    let cohort = r.kpis.iter().find(|k| k.month == 13 && k.dimension == "issue_year" && k.group == "2024").unwrap();
    assert_eq!(cohort.policies, 5);
    assert!(r.definition.contains("grace"));
}
