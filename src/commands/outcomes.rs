//! `lapse outcomes import|export`: call-centre exports into the outcome store, and the store out
//! to a file.

use super::{contact_rules_arg, economics_arg};
use crate::exit::Failure;
use crate::flags::{OutcomesAction, OutcomesArgs};

use lapse_retention::outcome_file::{read_outcomes_file, write_outcomes_file};
use lapse_retention::outcomes::{Outcome, OutcomeRules, check_batch};

/// The outcomes a feature build reads: the store's (`--store`), or a file's (`--outcomes`,
/// checked as `lapse outcomes import` checks it, but with the action and refusal-reason names
/// the file uses: the store accepted them under its own configuration). None: neither given.
pub fn outcomes_for_features(store: Option<&str>, file: Option<&std::path::Path>) -> Result<Option<Vec<Outcome>>, Failure> {
    if let Some(url) = store {
        let all = lapse_store::with_store_blocking(url, async |store| store.recorded_since(0).await).map_err(anyhow::Error::from)?;
        return Ok(Some(all));
    }
    let Some(file) = file else { return Ok(None) };
    let raw = read_outcomes_file(file).map_err(|e| Failure::input(e.into()))?;
    let mut actions: Vec<&str> = raw.iter().filter_map(|o| o.action.as_deref()).collect();
    actions.sort_unstable();
    actions.dedup();
    let mut reasons: Vec<String> = raw.iter().filter_map(|o| o.reason.clone()).collect();
    reasons.sort_unstable();
    reasons.dedup();
    let check = OutcomeRules { actions: &actions, refusal_reasons: &reasons };
    let outcomes = check_batch(&raw, &check, |_| Some(String::new())).map_err(|e| {
        Failure::input(anyhow::anyhow!(
            "--outcomes {}: row {} (line {} with the header), {}: {}",
            file.display(),
            e.index + 1,
            e.index + 2,
            e.field,
            e.reason
        ))
    })?;
    Ok(Some(outcomes))
}

pub fn run_outcomes(args: OutcomesArgs) -> Result<(), Failure> {
    match args.action {
        OutcomesAction::Import { file, snapshot, economics, contact_rules } => {
            let economics = economics_arg(economics.as_deref())?;
            let rules = contact_rules_arg(contact_rules.as_deref())?;
            let raw = read_outcomes_file(&file).map_err(|e| Failure::input(e.into()))?;
            // Each policy's customer, from the snapshot when a row gives none.
            let customers = match &snapshot {
                Some(path) => {
                    lapse_retention::outcome_file::customers_of_snapshot(path).map_err(|e| Failure::input(anyhow::anyhow!("--snapshot: {e}")))?
                }
                None => Default::default(),
            };
            let actions: Vec<&str> = economics.actions.iter().map(|a| a.name.as_str()).collect();
            let check = OutcomeRules { actions: &actions, refusal_reasons: &rules.refusal_reasons };
            let batch = check_batch(&raw, &check, |policy| customers.get(policy).cloned()).map_err(|e| {
                Failure::input(anyhow::anyhow!(
                    "{}: row {} (line {} with the header), {}: {}; nothing imported",
                    file.display(),
                    e.index + 1,
                    e.index + 2,
                    e.field,
                    e.reason
                ))
            })?;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
            let recorded = lapse_store::with_store_blocking(&args.store, async |store| store.record(&batch, now).await).map_err(|e| {
                if let lapse_store::StoreError::Conflict { index, id } = &e {
                    Failure::input(anyhow::anyhow!(
                        "{}: row {}: id {id:?} is already stored with other content; nothing imported",
                        file.display(),
                        index + 1
                    ))
                } else {
                    Failure::from(anyhow::Error::from(e))
                }
            })?;
            println!("{}: {} outcomes recorded, {} already stored (duplicates)", file.display(), recorded.recorded, recorded.duplicates);
        }
        OutcomesAction::Export { out } => {
            let all = lapse_store::with_store_blocking(&args.store, async |store| store.recorded_since(0).await).map_err(anyhow::Error::from)?;
            let written = write_outcomes_file(&out, &all).map_err(|e| Failure::input(e.into()))?;
            println!("{written} outcomes -> {}", out.display());
        }
    }
    Ok(())
}
