//! The human-readable model card written beside each model version.

use std::fmt::Write;

use super::Manifest;
use crate::train::TrainReport;

fn num(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.4}"))
}

/// The kept setting's row of the report (a blend's is its own row).
fn kept_report(report: &TrainReport) -> Option<&crate::train::FamilyReport> {
    report.families.iter().find(|f| f.family == report.chosen && (f.family == crate::train::Family::Blend || f.setting == report.chosen_setting))
}

/// What the importance figure of a family's model is.
pub fn importance_measure(family: crate::train::Family) -> &'static str {
    match family {
        crate::train::Family::Logistic => "coefficient (standardized)",
        crate::train::Family::Spline | crate::train::Family::Blend => "spread of its contribution to the log-odds (sd)",
        _ => "share of total split gain",
    }
}

/// Renders `card.md`.
pub fn render(manifest: &Manifest, report: &TrainReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Lapse model {} ({})\n", manifest.version, manifest.family);
    let _ = writeln!(out, "Predicts the probability that a renewal premium is not paid within its grace period (label `{}`).", manifest.label);
    let _ = writeln!(
        out,
        "Probabilities are calibrated ({:?}) on held-out rows, so they can be multiplied by the value at risk.\n",
        kept_report(report).map(|f| f.calibration).unwrap_or(crate::calibrate::Method::Identity)
    );
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| trained | {} |", manifest.created_at);
    let _ = writeln!(out, "| data | `{}` (sha256 {}) |", manifest.source, &manifest.source_sha256[..16.min(manifest.source_sha256.len())]);
    let gap = manifest.rows_labelled.saturating_sub(manifest.rows_train + manifest.rows_validation);
    let gap_note = if gap > 0 { format!("; {gap} left out because their outcome was not known before validation starts") } else { String::new() };
    let _ = writeln!(
        out,
        "| rows | {} labelled ({} unlabelled not used); {} train, {} held out{gap_note} |",
        manifest.rows_labelled, manifest.rows_unlabelled, manifest.rows_train, manifest.rows_validation
    );
    if report.rows_fitted > 0 {
        let seen = if report.rows_fitted == manifest.rows_labelled {
            "every labelled row, refit after validation chose the family, settings and calibration (the metrics below are held-out)".to_string()
        } else if report.rows_fitted == manifest.rows_train {
            "the training rows".to_string()
        } else {
            format!("a seeded sample of the rows (the linear families fit at most {} rows)", report.params.linear_max_rows)
        };
        let _ = writeln!(out, "| served model fitted on | {} rows: {seen} |", report.rows_fitted);
    }
    if let Some(n) = manifest.fitted_renewals {
        let _ = writeln!(out, "| renewals learnt from | {n} distinct (listed in `fitted.keys`: a comparison with another model leaves them out) |");
    }
    if !report.immature_snapshots.is_empty() {
        let _ = writeln!(
            out,
            "| snapshots left out | {} (outcomes not all known at the table's extract date) |",
            crate::dataset::describe_immature(&report.immature_snapshots)
        );
    }
    let _ = writeln!(out, "| lapse rate | {:.2}% |", 100.0 * report.lapse_rate);
    let _ = writeln!(out, "| validation | {} |", manifest.validation);
    if let Some((a, b)) = &manifest.training_window {
        let _ = writeln!(out, "| training window | {a} .. {b} |");
    }
    let _ = writeln!(out, "| value at risk | {} |", report.value_source);
    let _ = writeln!(out, "| artifact sha256 | `{}` |\n", manifest.artifact_sha256);

    let _ = writeln!(
        out,
        "## Held-out performance\n\nMeans over validation folds, calibrated (raw in brackets). The setting (or blend) with the lowest held-out log loss is kept.\n"
    );
    if let Some(selection) = &report.selection {
        let _ = writeln!(
            out,
            "Kept: {}. {} settings were tried in {:.1} s. Judged on rows that did not make the choice ({}): ROC AUC {}, log loss {:.4}; the picks were: {}.\n",
            report.chosen_setting,
            selection.candidates_tried,
            selection.search_seconds,
            selection.method,
            num(selection.roc_auc),
            selection.log_loss,
            selection.group_picks.join("; ")
        );
    }
    let _ = writeln!(
        out,
        "| family | setting | ROC AUC | PR AUC | log loss | Brier | ECE | top-decile lift | calibration | fit s |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    let kept = kept_report(report);
    for f in &report.families {
        let mark = if kept.is_some_and(|k| std::ptr::eq(k, f)) { " (kept)" } else { "" };
        let _ = writeln!(
            out,
            "| {}{mark} | {} | {} ({}) | {} | {:.4} ({:.4}) | {:.4} | {:.4} ({:.4}) | {} | {:?} | {:.1} |",
            f.family.as_str(),
            f.setting,
            num(f.roc_auc),
            num(f.raw_roc_auc),
            num(f.pr_auc),
            f.log_loss,
            f.raw_log_loss,
            f.brier,
            f.ece,
            f.raw_ece,
            num(f.top_decile_lift),
            f.calibration,
            f.fit_seconds
        );
    }
    if let Some(kept) = kept {
        let _ = writeln!(
            out,
            "\n## Ranking\n\n| top k% of renewals | share of lapses caught | share of lapsed premium caught (ranked by p x value) |\n|---|---|---|"
        );
        for k in [5, 10, 20, 30, 50] {
            let _ =
                writeln!(out, "| {k}% | {:.1}% | {:.1}% |", 100.0 * kept.calibrated.gains[k - 1], 100.0 * kept.calibrated.retained_premium[k - 1]);
        }
        let _ = writeln!(out, "\n## Calibration (held out, pooled)\n\n| predicted | rows | mean predicted | observed |\n|---|---|---|---|");
        for b in &kept.calibrated.reliability {
            let _ = writeln!(out, "| {:.1}-{:.1} | {} | {:.4} | {:.4} |", b.lower, b.upper, b.count, b.mean_predicted, b.observed_rate);
        }
    }
    if let Some(importance) = &report.importance {
        let _ = writeln!(out, "\n## Most influential inputs\n\n| input | {} |\n|---|---|", importance_measure(report.chosen));
        for (name, v) in importance.iter().take(15) {
            let _ = writeln!(out, "| `{name}` | {v:.4} |");
        }
    }
    if !report.partial_dependence.is_empty() {
        let _ = writeln!(
            out,
            "\n## What the model learnt (partial dependence)\n\nMean predicted lapse probability over sampled rows when one input is set to each of its deciles.\n"
        );
        for pd in &report.partial_dependence {
            let values: Vec<String> = pd.points.iter().map(|(x, _)| crate::scoring::reasons::fmt_number(*x)).collect();
            let probs: Vec<String> = pd.points.iter().map(|(_, p)| format!("{:.1}%", 100.0 * p)).collect();
            let _ = writeln!(
                out,
                "| `{}` | {} |\n|---|{}\n| P(lapse) | {} |\n",
                pd.feature,
                values.join(" | "),
                "---|".repeat(values.len()),
                probs.join(" | ")
            );
        }
    }
    let _ = writeln!(
        out,
        "\n## Use and limits\n\n- Use: rank renewals coming due (and those overdue inside grace) for retention contact.\n\
         - Scores are valid for tables built by the same feature builder with the same schema; loading refuses a table missing a feature.\n\
         - Unseen category values are scored as the pooled `__other__` level.\n\
         - Performance is measured on held-out rows only; watch the drift and realised-performance reports before trusting it on a changed book."
    );
    out
}
