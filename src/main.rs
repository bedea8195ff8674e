//! The `lapse` binary: parses the command line, runs the library, turns errors into one clear
//! message and an exit code (0 done, 1 failed, 2 input rejected).

mod cli;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;

use cli::{CatalogFormat, Cli, Command, FeaturesArgs, GenerateArgs, TableFormat};
use lapse::dates::{date_series, format_day, parse_day, Day, Step};
use lapse::extract::read::FileFormat;
use lapse::extract::{load_book, ExtractError, OnError};
use lapse::features::{catalog, catalog_markdown, BuildPlan};
use lapse::generate::{generate, GenerateConfig};

// mimalloc: polars and the feature builder allocate many short-lived buffers from several
// threads, where glibc's allocator is measurably slower (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code when the input breaks the data contract.
const EXIT_INPUT_REJECTED: u8 = 2;

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.chain().any(|e| is_input_error(e)) {
                ExitCode::from(EXIT_INPUT_REJECTED)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn is_input_error(error: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        error.downcast_ref::<ExtractError>(),
        Some(ExtractError::Rejected { .. } | ExtractError::MissingColumns { .. } | ExtractError::MissingTable { .. } | ExtractError::AmbiguousTable { .. } | ExtractError::Unreadable { .. })
    )
}

/// Logs go to stderr; `LAPSE_LOG` (or `RUST_LOG`) sets the filter, default `info`.
fn init_tracing() {
    let filter = std::env::var("LAPSE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none())
        .init();
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Generate(args) => run_generate(args),
        Command::Features(args) => run_features(args),
        Command::Catalog(args) => {
            match args.format {
                CatalogFormat::Markdown => print!("{}", catalog_markdown()),
                CatalogFormat::Json => println!("{}", serde_json::to_string_pretty(&catalog())?),
            }
            Ok(())
        }
    }
}

fn day_arg(flag: &str, text: &str) -> Result<Day> {
    parse_day(text).with_context(|| format!("--{flag} {text:?} is not a date (expected YYYY-MM-DD)"))
}

fn run_generate(args: GenerateArgs) -> Result<()> {
    if args.policies == 0 {
        bail!("--policies must be at least 1");
    }
    let mut config = GenerateConfig::new(args.policies, args.seed);
    config.extract_date = day_arg("extract-date", &args.extract_date)?;
    config.start = day_arg("start", &args.start)?;
    if config.start >= config.extract_date {
        bail!("--start must be before --extract-date");
    }
    let format = match args.format {
        TableFormat::Csv => FileFormat::Csv,
        TableFormat::Parquet => FileFormat::Parquet,
    };
    let started = Instant::now();
    let book = generate(&config);
    book.write(&args.out, format).context("writing the generated book")?;
    tracing::info!(
        policies = book.policies.len(),
        customers = book.customers.len(),
        installments = book.installments.len(),
        events = book.events.len(),
        agents = book.agents.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        out = %args.out.display(),
        "generated book"
    );
    println!(
        "wrote {} policies, {} customers, {} installments, {} events, {} agents to {}",
        book.policies.len(),
        book.customers.len(),
        book.installments.len(),
        book.events.len(),
        book.agents.len(),
        args.out.display()
    );
    Ok(())
}

/// `<out stem>.rejects.csv` beside the output.
fn rejects_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "features".into());
    out.with_file_name(format!("{stem}.rejects.csv"))
}

fn snapshot_dates(as_of: &str, every: &str) -> Result<Vec<Day>> {
    match as_of.split_once("..") {
        None => Ok(vec![day_arg("as-of", as_of)?]),
        Some((from, to)) => {
            let (from, to) = (day_arg("as-of", from)?, day_arg("as-of", to)?);
            if from > to {
                bail!("--as-of {as_of}: the range ends before it starts");
            }
            let step = Step::parse(every).map_err(|e| anyhow::anyhow!("--every: {e}"))?;
            Ok(date_series(from, to, step))
        }
    }
}

fn run_features(args: FeaturesArgs) -> Result<()> {
    let as_of = snapshot_dates(&args.as_of, &args.every)?;
    if args.horizon_days < 0 || args.grace_days < 0 {
        bail!("--horizon-days and --grace-days must be >= 0");
    }
    if FileFormat::of(&args.out).is_none() {
        bail!("--out {}: use a .parquet or .csv file name", args.out.display());
    }
    let started = Instant::now();
    let loaded = load_book(&args.data, args.on_error)
        .with_context(|| format!("reading the extract in {}", args.data.display()))?;
    let book = &loaded.book;
    tracing::info!(
        policies = book.policies.len(),
        installments = book.installments.len(),
        events = book.events.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "extract loaded"
    );
    if !loaded.rejected.is_empty() {
        debug_assert_eq!(args.on_error, OnError::Skip);
        let path = rejects_path(&args.out);
        loaded.rejected.write_rejects(&path)?;
        eprintln!(
            "warning: skipped {} bad row(s) ({} issue(s)); they are in {} with their reasons:\n{}",
            loaded.rejected.bad_row_count(),
            loaded.rejected.len(),
            path.display(),
            loaded.rejected.report(10)
        );
    }
    let extract_date = match &args.extract_date {
        Some(text) => day_arg("extract-date", text)?,
        None => book.latest_observed.unwrap_or(*as_of.last().expect("at least one date")),
    };
    let plan = BuildPlan { as_of, horizon_days: args.horizon_days, grace_days: args.grace_days, extract_date };
    let summary = plan.write(book, &args.out).context("writing the feature table")?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "done");
    println!(
        "wrote {} renewal rows from {} snapshot(s) ({}..{}, extract date {}) to {}",
        summary.rows,
        summary.snapshots,
        format_day(plan.as_of[0]),
        format_day(*plan.as_of.last().expect("at least one date")),
        format_day(extract_date),
        args.out.display()
    );
    Ok(())
}
