//! The `lapse` binary: parses the command line, runs the library, turns the outcome into one
//! clear message and an exit code (0 done, 1 failed, 2 input rejected; `nightly` also 3, done
//! without promotion). Flags live in `flags`, what each command does in `commands` (a file
//! each), exit codes in `exit`; everything else is in the crates under `crates/`.

mod commands;
mod config_file;
mod exit;
mod flags;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use exit::{Exit, Failure};
use flags::{CatalogFormat, Cli, Command};
use lapse_core::features::{catalog, catalog_markdown};

// mimalloc: polars and the feature builder allocate many short-lived buffers from several
// threads, where glibc's allocator is measurably slower (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    init_tracing();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `lapse config show serve|nightly ...`: the effective settings and their sources.
    if argv.get(1).is_some_and(|a| a == "config") && argv.get(2).is_some_and(|a| a == "show") {
        return match config_file::show(argv) {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => {
                eprintln!("error: {:#}", failure.error);
                ExitCode::from(failure.exit().code())
            }
        };
    }
    let argv = match config_file::layered(argv) {
        Ok((argv, _)) => argv,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            return ExitCode::from(failure.exit().code());
        }
    };
    // For the layered commands a later flag overrides an earlier one: the command line's win
    // over the file's and the environment's (placed first by `config_file::layered`). Other
    // commands keep clap's rules (a repeated `lapse train --exclude` accumulates).
    let layered = argv.get(1).and_then(|a| a.to_str()).is_some_and(|a| config_file::LAYERED.contains(&a));
    let cli = match Cli::from_arg_matches_mut(&mut Cli::command().args_override_self(layered).get_matches_from(argv)) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if !matches!(cli.command, Command::Serve(_)) {
        restore_sigpipe();
    }
    let exit = match run(cli.command) {
        Ok(exit) => exit,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            failure.exit()
        }
    };
    ExitCode::from(exit.code())
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`lapse nightly | head`) would panic; a
/// command-line tool should just stop. The server keeps it ignored: a client that hangs up must
/// never kill it.
#[allow(unsafe_code)]
fn restore_sigpipe() {
    // SAFETY: called once at start-up, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Logs go to stderr; `LAPSE_LOG` (or `RUST_LOG`) sets the filter, default `info`;
/// `LAPSE_LOG_FORMAT=json` writes one JSON object per line (for log collectors).
fn init_tracing() {
    let filter = std::env::var("LAPSE_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter)).with_writer(std::io::stderr);
    if std::env::var("LAPSE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().with_current_span(true).init();
    } else {
        builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none()).init();
    }
}

/// Runs a command.
fn run(command: Command) -> Result<Exit, Failure> {
    match command {
        Command::Nightly(args) => return commands::nightly::run_nightly(args),
        Command::Generate(args) => commands::generate::run_generate(args)?,
        Command::Features(args) => commands::features::run_features(args)?,
        Command::Train(args) => commands::train::run_train(args)?,
        Command::Models(args) => commands::models::run_models(args)?,
        Command::Evaluate(args) => commands::evaluate::run_evaluate(args)?,
        Command::Serve(args) => commands::serve::run_serve(args)?,
        Command::Drift(args) => commands::drift::run_drift(args)?,
        Command::Persistency(args) => commands::persistency::run_persistency(args)?,
        Command::Performance(args) => commands::performance::run_performance(args)?,
        Command::Realised(args) => commands::realised::run_realised(args)?,
        Command::Why(args) => commands::why::run_why(args)?,
        Command::Aggregates(args) => commands::aggregates::run_aggregates(args)?,
        Command::Winback(args) => commands::winback::run_winback(args)?,
        Command::WinbackTable(args) => commands::winback_table::run_winback_table(args)?,
        Command::Funnel(args) => commands::funnel::run_funnel(args)?,
        Command::Audit(args) => commands::audit::run_audit(args)?,
        Command::History(args) => commands::history::run_history(args)?,
        Command::Queue(args) => commands::queue::run_queue(args)?,
        Command::Outcomes(args) => commands::outcomes::run_outcomes(args)?,
        Command::Effect(args) => commands::effect::run_effect(args)?,
        Command::Uplift(args) => commands::uplift::run_uplift(args)?,
        Command::Openapi => print!("{}", lapse_api::openapi_document()),
        Command::Catalog(args) if args.metrics => print!("{}", lapse_reports::pages::metrics::document()),
        Command::Catalog(args) => match args.format {
            CatalogFormat::Markdown => print!("{}", catalog_markdown()),
            CatalogFormat::Json => println!("{}", serde_json::to_string_pretty(&catalog())?),
        },
    }
    Ok(Exit::Done)
}
