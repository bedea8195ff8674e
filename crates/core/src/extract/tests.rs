//! Every bad-input rule of the data contract: strict runs name the file, row, column, value and
//! reason of every broken row; skipping runs leave them out and say why; nothing is lost.

use std::fs;

use crate::extract::{ExtractError, IssueLog, OnError, RowIssue, load_book};

use crate::testkit::CsvBook;

/// A valid book: two annual policies with some renewals and an event.
fn valid_book() -> CsvBook {
    let mut book = CsvBook::new();
    book.annual_policy("P1", "2022-01-01").installment("P1", 2, "2023-01-01", "2023-01-05");
    book.annual_policy("P2", "2022-02-01").installment("P2", 2, "2023-02-01", "");
    book.events.push("P1,2023-03-01,complaint,".into());
    book
}

fn strict_issues(book: &CsvBook) -> Vec<RowIssue> {
    let dir = tempfile::tempdir().unwrap();
    book.write(dir.path());
    match load_book(dir.path(), OnError::Strict) {
        Err(ExtractError::Rejected { log }) => log.issues().to_vec(),
        Err(other) => panic!("expected row issues, got {other}"),
        Ok(_) => panic!("a broken book was accepted"),
    }
}

/// Asserts exactly one issue, at the given place, whose reason contains `reason`.
fn assert_one_issue(issues: &[RowIssue], file: &str, row: usize, column: &str, value: &str, reason: &str) {
    assert_eq!(issues.len(), 1, "expected one issue, got {issues:#?}");
    let issue = &issues[0];
    assert_eq!(issue.file.file_name().unwrap().to_str().unwrap(), file);
    assert_eq!((issue.row, issue.column.as_str(), issue.value.as_str()), (row, column, value));
    assert!(issue.reason.contains(reason), "reason {:?} should mention {reason:?}", issue.reason);
    let shown = issue.to_string();
    assert!(shown.contains(file) && shown.contains(&format!("row {row}")) && shown.contains(column), "{shown}");
}

#[test]
fn the_valid_book_loads() {
    let dir = tempfile::tempdir().unwrap();
    valid_book().write(dir.path());
    let loaded = load_book(dir.path(), OnError::Strict).unwrap();
    assert_eq!(loaded.book.policies.len(), 2);
    assert_eq!(loaded.book.installments.len(), 4);
    assert_eq!(loaded.book.events.len(), 1);
    assert!(loaded.rejected.is_empty());
}

#[test]
fn unparseable_date() {
    let mut book = valid_book();
    book.installment("P2", 3, "2024-02-30", "");
    assert_one_issue(&strict_issues(&book), "installments.csv", 5, "due_date", "2024-02-30", "not a valid date");
}

#[test]
fn negative_amount() {
    let mut book = valid_book();
    book.installments.push("P2,3,2024-02-01,-5,,,,".into());
    assert_one_issue(&strict_issues(&book), "installments.csv", 5, "amount_due", "-5", "negative amount");
}

#[test]
fn text_in_a_number_column_is_named_cell_by_cell() {
    let mut book = valid_book();
    book.policies[1] = book.policies[1].replace(",1000,20000,", ",abc,20000,");
    assert_one_issue(&strict_issues(&book), "policies.csv", 2, "modal_premium", "abc", "not a number");
}

#[test]
fn whole_numbers_must_be_whole_but_may_be_written_as_floats() {
    let mut book = valid_book();
    book.installments.push("P2,3.0,2024-02-01,1000,,,,".into()); // as pandas writes ints with NaN
    book.installments.push("P2,4.5,2025-02-01,1000,,,,".into());
    assert_one_issue(&strict_issues(&book), "installments.csv", 6, "installment_no", "4.5", "not a whole number");
}

#[test]
fn duplicate_policy_key() {
    let mut book = valid_book();
    let copy = book.policies[0].clone();
    book.policies.push(copy);
    assert_one_issue(&strict_issues(&book), "policies.csv", 3, "policy_id", "P1", "duplicate key (first at row 1)");
}

#[test]
fn duplicate_installment_key() {
    let mut book = valid_book();
    book.installment("P1", 2, "2023-01-01", "");
    assert_one_issue(&strict_issues(&book), "installments.csv", 5, "installment_no", "2", "duplicate key");
}

#[test]
fn duplicate_customer_key() {
    let mut book = valid_book();
    book.customers.push("C1,1990-01-01,M,,".into());
    assert_one_issue(&strict_issues(&book), "customers.csv", 2, "customer_id", "C1", "duplicate key");
}

#[test]
fn installment_of_an_unknown_policy() {
    let mut book = valid_book();
    book.installment("P9", 2, "2023-01-01", "");
    assert_one_issue(&strict_issues(&book), "installments.csv", 5, "policy_id", "P9", "unknown key: not in policies");
}

#[test]
fn event_of_an_unknown_policy_and_policy_of_an_unknown_customer() {
    let mut book = valid_book();
    book.events.push("P7,2023-03-01,claim,100".into());
    book.policies[1] = book.policies[1].replace(",C1,", ",C404,");
    let issues = strict_issues(&book);
    assert_eq!(issues.len(), 2, "{issues:#?}");
    assert!(issues.iter().any(|i| i.table == "policies" && i.column == "customer_id" && i.value == "C404"));
    assert!(issues.iter().any(|i| i.table == "events" && i.column == "policy_id" && i.value == "P7"));
}

#[test]
fn missing_required_value_and_unknown_frequency() {
    let mut book = valid_book();
    book.policies[0] = book.policies[0].replace(",whole_life,", ",,");
    book.policies[1] = book.policies[1].replace(",annual,", ",fortnightly,");
    let issues = strict_issues(&book);
    assert_eq!(issues.len(), 2, "{issues:#?}");
    assert_eq!((issues[0].row, issues[0].column.as_str()), (1, "product_type"));
    assert!(issues[0].reason.contains("required value is missing"));
    assert_eq!((issues[1].row, issues[1].column.as_str(), issues[1].value.as_str()), (2, "premium_frequency", "fortnightly"));
}

#[test]
fn paid_amount_without_a_paid_date() {
    let mut book = valid_book();
    book.installments.push("P2,3,2024-02-01,1000,,1000,,".into());
    assert_one_issue(&strict_issues(&book), "installments.csv", 5, "amount_paid", "1000", "paid_date is empty");
}

#[test]
fn missing_required_column_names_the_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    valid_book().write(dir.path());
    let path = dir.path().join("installments.csv");
    let text = fs::read_to_string(&path).unwrap().replacen("due_date,", "due,", 1);
    fs::write(&path, text).unwrap();
    let error = load_book(dir.path(), OnError::Skip).unwrap_err();
    assert!(matches!(&error, ExtractError::MissingColumns { columns, .. } if columns == &["due_date"]), "{error}");
    assert!(error.to_string().contains("installments.csv"));
}

#[test]
fn missing_required_table_and_ambiguous_table() {
    let dir = tempfile::tempdir().unwrap();
    valid_book().write(dir.path());
    fs::copy(dir.path().join("events.csv"), dir.path().join("events.parquet")).unwrap();
    assert!(matches!(load_book(dir.path(), OnError::Strict), Err(ExtractError::AmbiguousTable { table: "events", .. })));
    fs::remove_file(dir.path().join("events.parquet")).unwrap();
    fs::remove_file(dir.path().join("customers.csv")).unwrap();
    assert!(matches!(load_book(dir.path(), OnError::Strict), Err(ExtractError::MissingTable { table: "customers", .. })));
}

#[test]
fn optional_tables_may_be_absent_and_unknown_categories_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = valid_book();
    book.policies[0] = book.policies[0].replace(",agent,", ",carrier_pigeon,");
    book.write(dir.path());
    fs::remove_file(dir.path().join("events.csv")).unwrap();
    fs::remove_file(dir.path().join("agents.csv")).unwrap();
    let loaded = load_book(dir.path(), OnError::Strict).unwrap();
    assert_eq!(loaded.book.policies.channel.get(0), Some("carrier_pigeon"));
    assert_eq!(loaded.book.events.len(), 0);
    assert_eq!(loaded.book.policies.agent, vec![None, None], "no agents table: no agent rows");
}

#[test]
fn garbage_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    valid_book().write(dir.path());
    fs::write(dir.path().join("policies.csv"), [0xff_u8, 0xfe, 0x00, 0x13, b'\n', 0x80]).unwrap();
    assert!(load_book(dir.path(), OnError::Strict).is_err());
    fs::write(dir.path().join("policies.csv"), "").unwrap();
    assert!(load_book(dir.path(), OnError::Strict).is_err());
}

#[test]
fn strict_report_lists_every_broken_row_and_caps_the_printout() {
    let mut book = valid_book();
    for i in 0..120 {
        book.installments.push(format!("P2,{},2030-13-01,1000,,,,", 10 + i));
    }
    let issues = strict_issues(&book);
    assert_eq!(issues.len(), 120);
    let mut log = IssueLog::default();
    log.extend(issues);
    let report = log.report(50);
    assert_eq!(report.lines().filter(|l| l.contains("not a valid date")).count(), 51, "50 listed + 1 summary line:\n{report}");
    assert!(report.contains("and 70 more"));
    assert!(report.contains("120  installments.due_date: not a valid date"));
}

#[test]
fn skip_mode_leaves_out_bad_rows_and_their_dependants_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = valid_book();
    book.policies[1] = book.policies[1].replace("2022-02-01", "2022-02-31"); // P2 rejected
    book.installments.push("P1,3,2024-01-01,-1,,,,".into()); // rejected on its own
    book.write(dir.path());
    let loaded = load_book(dir.path(), OnError::Skip).unwrap();
    let book = &loaded.book;
    assert_eq!(book.policies.id, ["P1"]);
    assert_eq!(book.installments.len(), 2, "P1's two good installments");
    let issues = loaded.rejected.issues();
    // The bad policy, its two installments (cascaded), and the negative amount.
    assert_eq!(loaded.rejected.bad_row_count(), 4, "{issues:#?}");
    let cascaded: Vec<&RowIssue> = issues.iter().filter(|i| i.reason.contains("its policies row 2 was rejected")).collect();
    assert_eq!(cascaded.len(), 2);

    let rejects = dir.path().join("rejects.csv");
    loaded.rejected.write_rejects(&rejects).unwrap();
    let text = fs::read_to_string(&rejects).unwrap();
    assert_eq!(text.lines().count(), 1 + issues.len());
    assert!(text.starts_with("table,file,row,column,value,reason,record\n"));
    assert!(text.contains("issue_date=2022-02-31"), "the whole bad row is kept:\n{text}");
}
