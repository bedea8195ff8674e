//! A synthetic renewal book of a Chinese life insurer, written as the contract's five tables.
//!
//! Same configuration, same bytes: every customer draws from its own ChaCha stream (seeded by the
//! seed and the customer's index), so customers are simulated in parallel and the output does not
//! depend on thread scheduling. What drives lapse is in [`drivers`].

pub mod campaign;
pub mod drivers;
mod simulate;

use std::path::Path;

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::dates::{Day, parse_day};
use crate::extract::read::FileFormat;
use crate::io_util::{IoContext, atomic_write_with};
pub use simulate::{AgentRow, CustomerRow, EventRow, InstallmentRow, PolicyRow};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    pub policies: usize,
    pub seed: u64,
    /// First possible issue date.
    pub start: Day,
    /// The day the extract is taken: nothing after it is recorded (bar installments already
    /// scheduled in the next 45 days).
    pub extract_date: Day,
    pub grace_days: i32,
    pub format: FileFormat,
    /// A campaign to replay in the book ([`campaign`]); None: no campaign.
    pub campaign: Option<campaign::CampaignPlan>,
    /// Keep each drawn renewal's lapse probability ([`GeneratedBook::lapse_probabilities`]).
    pub record_lapse_probabilities: bool,
}

impl GenerateConfig {
    /// The defaults: a book issued from 2016 and extracted on 2026-09-30, as CSV.
    pub fn new(policies: usize, seed: u64) -> Self {
        GenerateConfig {
            policies,
            seed,
            start: parse_day("2016-01-01").expect("valid date"),
            extract_date: parse_day("2026-09-30").expect("valid date"),
            grace_days: 60,
            format: FileFormat::Csv,
            campaign: None,
            record_lapse_probabilities: false,
        }
    }
}

/// A generated book, row by row.
#[derive(Debug, Clone, Default)]
pub struct GeneratedBook {
    pub agents: Vec<AgentRow>,
    pub customers: Vec<CustomerRow>,
    pub policies: Vec<PolicyRow>,
    pub installments: Vec<InstallmentRow>,
    pub events: Vec<EventRow>,
    /// What the replayed campaign really did, one row per listed renewal the book reached.
    pub campaign_truth: Vec<campaign::TruthRow>,
    /// (policy row, installment_no, lapse probability) of every renewal whose lapse was drawn.
    pub lapse_probabilities: Vec<(u32, u32, f64)>,
}

/// ChaCha stream numbers: agents, the customer-size draw, then one per customer.
const AGENT_STREAM: u64 = 0;
const SIZE_STREAM: u64 = 1;
const FIRST_CUSTOMER_STREAM: u64 = 2;

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Simulates a book.
pub fn generate(config: &GenerateConfig) -> GeneratedBook {
    let agents = simulate::agents(config, &mut rng(config.seed, AGENT_STREAM));
    // Customers hold 1-3 policies; sizes are drawn first so policy numbers are known up front.
    let mut sizes = Vec::new();
    let mut total = 0usize;
    let mut size_rng = rng(config.seed, SIZE_STREAM);
    while total < config.policies {
        let u: f64 = size_rng.random();
        let size = if u < 0.62 {
            1
        } else if u < 0.89 {
            2
        } else {
            3
        };
        let size = size.min(config.policies - total);
        sizes.push((total, size));
        total += size;
    }
    let parts: Vec<simulate::CustomerBook> = sizes
        .par_iter()
        .enumerate()
        .map(|(c, &(first_policy, size))| {
            let mut rng = rng(config.seed, FIRST_CUSTOMER_STREAM + c as u64);
            simulate::customer(config, &agents, c, first_policy, size, &mut rng)
        })
        .collect();
    let mut book = GeneratedBook { agents, ..Default::default() };
    for part in parts {
        book.customers.push(part.customer);
        book.policies.extend(part.policies);
        book.installments.extend(part.installments);
        book.events.extend(part.events);
        book.campaign_truth.extend(part.truth);
        book.lapse_probabilities.extend(part.lapse_probabilities);
    }
    book
}

fn dates(name: &str, values: impl Iterator<Item = Option<Day>>) -> Column {
    Int32Chunked::from_iter_options(name.into(), values).into_date().into_column()
}

impl GeneratedBook {
    /// The five tables as polars frames, with the contract's column names.
    pub fn frames(&self) -> PolarsResult<Vec<(&'static str, DataFrame)>> {
        let a = &self.agents;
        let agents = DataFrame::new(
            a.len(),
            vec![
                Column::new("agent_id".into(), a.iter().map(|r| r.agent_id.as_str()).collect::<Vec<_>>()),
                dates("hire_date", a.iter().map(|r| Some(r.hire_date))),
                dates("leave_date", a.iter().map(|r| r.leave_date)),
            ],
        )?;
        let c = &self.customers;
        let customers = DataFrame::new(
            c.len(),
            vec![
                Column::new("customer_id".into(), c.iter().map(|r| r.customer_id.as_str()).collect::<Vec<_>>()),
                dates("birth_date", c.iter().map(|r| Some(r.birth_date))),
                Column::new("gender".into(), c.iter().map(|r| r.gender).collect::<Vec<_>>()),
                Column::new("region".into(), c.iter().map(|r| r.region).collect::<Vec<_>>()),
                Column::new("occupation_class".into(), c.iter().map(|r| r.occupation_class).collect::<Vec<_>>()),
            ],
        )?;
        let p = &self.policies;
        let policies = DataFrame::new(
            p.len(),
            vec![
                Column::new("policy_id".into(), p.iter().map(|r| r.policy_id.as_str()).collect::<Vec<_>>()),
                Column::new("customer_id".into(), p.iter().map(|r| c[r.customer as usize].customer_id.as_str()).collect::<Vec<_>>()),
                Column::new("product_code".into(), p.iter().map(|r| r.product_code).collect::<Vec<_>>()),
                Column::new("product_type".into(), p.iter().map(|r| r.product_type).collect::<Vec<_>>()),
                Column::new("channel".into(), p.iter().map(|r| r.channel).collect::<Vec<_>>()),
                Column::new("agent_id".into(), p.iter().map(|r| r.agent.map(|i| a[i as usize].agent_id.as_str())).collect::<Vec<_>>()),
                dates("issue_date", p.iter().map(|r| Some(r.issue_date))),
                Column::new("premium_frequency".into(), p.iter().map(|r| r.frequency.as_str()).collect::<Vec<_>>()),
                Column::new("modal_premium".into(), p.iter().map(|r| r.modal_premium).collect::<Vec<_>>()),
                Column::new("sum_assured".into(), p.iter().map(|r| r.sum_assured).collect::<Vec<_>>()),
                Column::new("payment_term_years".into(), p.iter().map(|r| r.payment_term_years as i32).collect::<Vec<_>>()),
                Column::new("payment_method".into(), p.iter().map(|r| r.payment_method).collect::<Vec<_>>()),
                Column::new("region".into(), p.iter().map(|r| r.region).collect::<Vec<_>>()),
                Column::new("status".into(), p.iter().map(|r| r.status).collect::<Vec<_>>()),
                dates("status_date", p.iter().map(|r| r.status_date)),
            ],
        )?;
        let i = &self.installments;
        let installments = DataFrame::new(
            i.len(),
            vec![
                Column::new("policy_id".into(), i.iter().map(|r| p[r.policy as usize].policy_id.as_str()).collect::<Vec<_>>()),
                Column::new("installment_no".into(), i.iter().map(|r| r.installment_no as i32).collect::<Vec<_>>()),
                dates("due_date", i.iter().map(|r| Some(r.due_date))),
                Column::new("amount_due".into(), i.iter().map(|r| r.amount_due).collect::<Vec<_>>()),
                dates("paid_date", i.iter().map(|r| r.paid_date)),
                Column::new("amount_paid".into(), i.iter().map(|r| r.paid_date.map(|_| r.amount_due)).collect::<Vec<_>>()),
                Column::new("payment_method".into(), i.iter().map(|r| r.payment_method).collect::<Vec<_>>()),
                Column::new("failed_debits".into(), i.iter().map(|r| r.failed_debits.map(|f| f as i32)).collect::<Vec<_>>()),
            ],
        )?;
        let e = &self.events;
        let events = DataFrame::new(
            e.len(),
            vec![
                Column::new("policy_id".into(), e.iter().map(|r| p[r.policy as usize].policy_id.as_str()).collect::<Vec<_>>()),
                dates("event_date", e.iter().map(|r| Some(r.event_date))),
                Column::new("event_type".into(), e.iter().map(|r| r.event_type).collect::<Vec<_>>()),
                Column::new("amount".into(), e.iter().map(|r| r.amount).collect::<Vec<_>>()),
            ],
        )?;
        Ok(vec![("policies", policies), ("customers", customers), ("installments", installments), ("events", events), ("agents", agents)])
    }

    /// Writes the five tables into `dir` (each atomically), as CSV or Parquet.
    pub fn write(&self, dir: &Path, format: FileFormat) -> Result<(), GenerateError> {
        std::fs::create_dir_all(dir).map_err(|e| IoContext::new("creating directory", dir, e))?;
        for (name, mut frame) in self.frames()? {
            let ext = match format {
                FileFormat::Csv => "csv",
                FileFormat::Parquet => "parquet",
            };
            let path = dir.join(format!("{name}.{ext}"));
            atomic_write_with(&path, |file| {
                match format {
                    FileFormat::Csv => CsvWriter::new(file).with_float_precision(Some(2)).finish(&mut frame),
                    FileFormat::Parquet => ParquetWriter::new(file).finish(&mut frame).map(|_| ()),
                }
                .map_err(|e| std::io::Error::other(e.to_string()))
            })?;
        }
        Ok(())
    }
}

impl GeneratedBook {
    /// Writes each drawn renewal's true lapse probability as CSV (atomically): policy_id,
    /// installment_no, lapse_probability. A model's gap to these probabilities on held-out
    /// renewals is the headroom left (`benches/bound.py`).
    pub fn write_lapse_probabilities(&self, path: &Path) -> Result<(), GenerateError> {
        use std::fmt::Write as _;
        let mut text = String::from("policy_id,installment_no,lapse_probability\n");
        for &(policy, k, p) in &self.lapse_probabilities {
            let _ = writeln!(text, "{},{k},{p}", self.policies[policy as usize].policy_id);
        }
        crate::io_util::atomic_write(path, |w| w.write_all(text.as_bytes()))?;
        Ok(())
    }

    /// Writes the campaign truth as CSV (atomically): policy_id, installment_no, action, arm,
    /// segment, lapse_untreated, delivered_if_treated, save_probability, lapse_treated.
    pub fn write_campaign_truth(&self, path: &Path) -> Result<(), GenerateError> {
        use std::fmt::Write as _;
        let mut text =
            String::from("policy_id,installment_no,action,arm,segment,lapse_untreated,delivered_if_treated,save_probability,lapse_treated\n");
        for t in &self.campaign_truth {
            let _ = writeln!(
                text,
                "{},{},{},{},{},{},{},{},{}",
                t.policy_id,
                t.installment_no,
                t.action,
                t.arm,
                t.segment,
                u8::from(t.lapse_untreated),
                u8::from(t.delivered_if_treated),
                t.save_probability,
                u8::from(t.lapse_treated)
            );
        }
        crate::io_util::atomic_write(path, |w| w.write_all(text.as_bytes()))?;
        Ok(())
    }
}

/// Why a book could not be written.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Io(#[from] IoContext),
    #[error("building the tables: {0}")]
    Frame(#[from] PolarsError),
}

#[cfg(test)]
mod tests;
