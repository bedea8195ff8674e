//! `lapse generate`: a synthetic renewal book, streamed, or with a campaign replayed.

use std::time::Instant;

use crate::exit::Context;
use crate::exit::Failure;
use crate::exit::fail;
use crate::flags::{GenerateArgs, TableFormat};

use lapse_core::extract::read::FileFormat;
use lapse_core::generate::GenerateConfig;
use lapse_core::generate::generate;

pub fn run_generate(args: GenerateArgs) -> Result<(), Failure> {
    if args.policies == 0 {
        fail!("--policies must be at least 1");
    }
    if let Some(path) = &args.outcomes
        && lapse_core::extract::read::FileFormat::of(path).is_none()
    {
        fail!("--outcomes {}: expected a .csv or .parquet file", path.display());
    }
    let outcomes = args.outcomes.clone();
    let (seed, extract_date, out) = (args.seed, args.extract_date, args.out.clone());
    generate_book(args)?;
    // The call centre's outcomes, drawn from the written book (its contacts and payments).
    if let Some(path) = outcomes {
        let loaded = lapse_core::extract::load_book(&out, lapse_core::extract::OnError::Strict).context("reading the generated book back")?;
        let all = lapse_retention::outcome_file::simulated_outcomes(
            &loaded.book,
            seed,
            extract_date,
            lapse_core::features::SnapshotSpec::DEFAULT_GRACE_DAYS,
        );
        let written = lapse_retention::outcome_file::write_outcomes_file(&path, &all).map_err(anyhow::Error::from)?;
        println!("{written} simulated call-centre outcomes -> {} (lapse outcomes import)", path.display());
    }
    Ok(())
}

fn generate_book(args: GenerateArgs) -> Result<(), Failure> {
    let mut config = GenerateConfig::new(args.policies, args.seed);
    if !(args.agent_skill_sd.is_finite() && (0.0..=3.0).contains(&args.agent_skill_sd)) {
        fail!("--agent-skill-sd {}: give a standard deviation in [0, 3] (log-odds)", args.agent_skill_sd);
    }
    config.agent_skill_sd = args.agent_skill_sd;
    config.extract_date = args.extract_date;
    config.start = args.start;
    if config.start >= config.extract_date {
        fail!("--start must be before --extract-date");
    }
    let format = match args.format {
        TableFormat::Csv => FileFormat::Csv,
        TableFormat::Parquet => FileFormat::Parquet,
    };
    if let Some(path) = &args.campaign {
        config.campaign = Some(campaign_plan(path)?);
    }
    config.record_lapse_probabilities = args.truth;
    let started = Instant::now();
    if config.campaign.is_none() && !args.truth {
        // Streamed: a chunk of customers at a time, so a 10M-policy book fits in a few GB.
        let s = lapse_core::generate::write_streamed(&config, &args.out, format, lapse_core::generate::STREAM_CUSTOMERS)
            .context("writing the generated book")?;
        tracing::info!(policies = s.policies, elapsed_ms = started.elapsed().as_millis() as u64, out = %args.out.display(), "generated book (streamed)");
        println!(
            "wrote {} policies, {} customers, {} installments, {} events, {} agents to {}",
            s.policies,
            s.customers,
            s.installments,
            s.events,
            s.agents,
            args.out.display()
        );
        return Ok(());
    }
    let book = generate(&config);
    book.write(&args.out, format).context("writing the generated book")?;
    if args.truth {
        let path = args.out.join("lapse_probabilities.csv");
        book.write_lapse_probabilities(&path).context("writing the true lapse probabilities")?;
        println!("true lapse probabilities of {} renewals -> {}", book.lapse_probabilities.len(), path.display());
    }
    if config.campaign.is_some() {
        let truth = args.out.join("campaign_truth.csv");
        book.write_campaign_truth(&truth).context("writing the campaign truth")?;
        println!("replayed the campaign on {} listed renewals the book reached; truth -> {}", book.campaign_truth.len(), truth.display());
    }
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

/// A campaign file as the generator replays it.
fn campaign_plan(path: &std::path::Path) -> Result<lapse_core::generate::campaign::CampaignPlan, Failure> {
    let file = super::read_campaign_file(path)?;
    Ok(lapse_retention::campaign::file::generator_plan(file))
}
