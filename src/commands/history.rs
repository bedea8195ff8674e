//! `lapse history`: the console's pages over time as a static site.

use std::path::Path;

use super::html_context;
use crate::exit::{Failure, fail};
use crate::flags::HistoryArgs;
use lapse_reports::history::History;
use lapse_reports::pages::history::{book_page, campaigns_page, console_index, drift_over_time_page, model_page};

pub fn run_history(args: HistoryArgs) -> Result<(), Failure> {
    let history = History::open(&args.reports);
    let Some(latest) = history.latest() else {
        fail!("{}: no night there (a `lapse nightly --out` directory holds one folder per night with its nightly.json)", args.reports.display());
    };
    let context = html_context(&latest.night, args.lang);
    let pages = [
        ("index.html", console_index(&context, &history)),
        ("model.html", model_page(&context, &history)),
        ("drift.html", drift_over_time_page(&context, &history)),
        ("book.html", book_page(&context, &history)),
        ("campaigns.html", campaigns_page(&context, &history)),
        // Today's work is live (the outcome store): the export says where to see it.
        ("today.html", lapse_reports::pages::today::today_unavailable_page(&context)),
    ];
    for (file, page) in &pages {
        lapse_reports::write_html(&args.out.join(file), page)?;
    }
    // Each night's own pages (and the JSON they link) beside them, so the site opens from disk.
    let mut copied = 0;
    for night in history.nights() {
        copied += copy_night(&args.reports.join(&night.night), &args.out.join("nights").join(&night.night))?;
    }
    println!(
        "{} nights ({}..{}) -> {}: index, model, drift, book, campaigns and (live only) today pages; {copied} night files under nights/",
        history.nights().len(),
        history.nights().next().map_or("", |n| n.night.as_str()),
        latest.night,
        args.out.display()
    );
    Ok(())
}

/// Copies a night's pages and reports (HTML and JSON; not its Parquet tables) into `to`.
fn copy_night(from: &Path, to: &Path) -> Result<usize, Failure> {
    std::fs::create_dir_all(to).map_err(|e| Failure { input: false, error: anyhow::anyhow!("creating {}: {e}", to.display()) })?;
    let mut n = 0;
    let entries = std::fs::read_dir(from).map_err(|e| Failure { input: false, error: anyhow::anyhow!("reading {}: {e}", from.display()) })?;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "html" || e == "json") {
            let target = to.join(entry.file_name());
            lapse_core::io_util::atomic_write_with(&target, |file| std::io::copy(&mut std::fs::File::open(&path)?, file).map(|_| ()))
                .map_err(|e| Failure { input: false, error: anyhow::anyhow!("writing {}: {e}", target.display()) })?;
            n += 1;
        }
    }
    Ok(n)
}
