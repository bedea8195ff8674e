use super::*;

/// A night's directory with a summary and a drift report.
fn night(root: &Path, night: &str, psi: f64, promoted: bool) {
    let dir = root.join(night);
    std::fs::create_dir_all(&dir).unwrap();
    let summary = serde_json::json!({
        "decision": {"promote": promoted, "reasons": ["better by the margin"], "reasons_zh": ["达到要求的改进幅度"]},
        "champion_after": "v0002", "challenger": {"version": "v0002", "roc_auc": 0.8}, "reports": []
    });
    std::fs::write(dir.join("nightly.json"), summary.to_string()).unwrap();
    let drift = serde_json::json!({
        "thresholds": {"watch": 0.1, "act": 0.25},
        "features": [{"feature": "premium", "psi": psi, "bins": []}, {"feature": "score", "psi": 0.01, "bins": [{"bin": "0-0.1", "current": 0.7}, {"bin": "0.1-1", "current": 0.3}]}]
    });
    std::fs::write(dir.join("drift.json"), drift.to_string()).unwrap();
}

#[test]
fn a_refresh_reads_only_new_and_changed_nights_and_forgets_the_gone() {
    let root = tempfile::tempdir().unwrap();
    night(root.path(), "2026-09-01", 0.05, true);
    night(root.path(), "2026-09-02", 0.30, false);
    std::fs::create_dir_all(root.path().join("fingerprints")).unwrap();
    std::fs::create_dir_all(root.path().join("2026-09-03")).unwrap(); // a night without its summary: not done
    let mut h = History::open(root.path());
    assert_eq!(h.nights().map(|n| n.night.as_str()).collect::<Vec<_>>(), ["2026-09-01", "2026-09-02"]);
    assert_eq!(h.latest().unwrap().psi[0], ("premium".to_string(), 0.30));
    assert_eq!(h.latest().unwrap().score_bins, [("0-0.1".to_string(), 0.7), ("0.1-1".to_string(), 0.3)]);
    assert_eq!(h.refresh(), 0, "nothing changed, nothing read");
    night(root.path(), "2026-09-03", 0.12, false);
    assert_eq!(h.refresh(), 1, "only the new night");
    // A rerun rewrites a night's summary: read again (mtime moves on; set it, not to depend on
    // the clock's resolution).
    let path = root.path().join("2026-09-01/nightly.json");
    night(root.path(), "2026-09-01", 0.07, true);
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
    assert_eq!(h.refresh(), 1);
    assert_eq!(h.nights().next().unwrap().psi[0].1, 0.07);
    std::fs::remove_dir_all(root.path().join("2026-09-02")).unwrap();
    assert_eq!(h.refresh(), 0);
    assert_eq!(h.nights().len(), 2, "the removed night is forgotten");
}
