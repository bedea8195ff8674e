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
    /// Agents differ in how well they collect: each agent's skill is drawn N(0, sd) and lowers
    /// the lapse log-odds of the renewals they serve (team-performance tests; 0: no skill).
    pub agent_skill_sd: f64,
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
            agent_skill_sd: 0.0,
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

/// Customers hold 1-3 policies; sizes are drawn first so policy numbers are known up front:
/// (first policy, policies) per customer.
fn customer_sizes(config: &GenerateConfig) -> Vec<(usize, usize)> {
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
    sizes
}

/// Simulates customers `range` (each on its own ChaCha stream, in parallel), in order.
fn simulate_customers(
    config: &GenerateConfig,
    agents: &[AgentRow],
    sizes: &[(usize, usize)],
    range: std::ops::Range<usize>,
) -> Vec<simulate::CustomerBook> {
    sizes[range.clone()]
        .par_iter()
        .zip(range)
        .map(|(&(first_policy, size), c)| {
            let mut rng = rng(config.seed, FIRST_CUSTOMER_STREAM + c as u64);
            simulate::customer(config, agents, c, first_policy, size, &mut rng)
        })
        .collect()
}

/// Simulates a book.
pub fn generate(config: &GenerateConfig) -> GeneratedBook {
    let agents = simulate::agents(config, &mut rng(config.seed, AGENT_STREAM));
    let sizes = customer_sizes(config);
    let parts = simulate_customers(config, &agents, &sizes, 0..sizes.len());
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
        self.frames_from(0, 0)
    }

    /// [`GeneratedBook::frames`] of a chunk of a book whose first customer and policy are the
    /// book's `customer_base` and `policy_base` (rows refer to customers and policies by their
    /// index in the whole book).
    fn frames_from(&self, customer_base: usize, policy_base: usize) -> PolarsResult<Vec<(&'static str, DataFrame)>> {
        let a = &self.agents;
        let agents = DataFrame::new(
            a.len(),
            vec![
                Column::new("agent_id".into(), a.iter().map(|r| r.agent_id.as_str()).collect::<Vec<_>>()),
                dates("hire_date", a.iter().map(|r| Some(r.hire_date))),
                dates("leave_date", a.iter().map(|r| r.leave_date)),
                Column::new("team".into(), a.iter().map(|r| r.team.as_str()).collect::<Vec<_>>()),
                Column::new("branch".into(), a.iter().map(|r| r.branch.as_str()).collect::<Vec<_>>()),
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
                Column::new("customer_id".into(), p.iter().map(|r| c[r.customer as usize - customer_base].customer_id.as_str()).collect::<Vec<_>>()),
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
                Column::new("policy_id".into(), i.iter().map(|r| p[r.policy as usize - policy_base].policy_id.as_str()).collect::<Vec<_>>()),
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
                Column::new("policy_id".into(), e.iter().map(|r| p[r.policy as usize - policy_base].policy_id.as_str()).collect::<Vec<_>>()),
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

/// Customers simulated and written at a time by [`write_streamed`].
pub const STREAM_CUSTOMERS: usize = 200_000;

/// How much [`write_streamed`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamSummary {
    pub agents: usize,
    pub customers: usize,
    pub policies: usize,
    pub installments: usize,
    pub events: usize,
}

/// One table's file being written chunk by chunk (a temp file renamed into place at the end).
struct TableWriter {
    path: std::path::PathBuf,
    temp: std::path::PathBuf,
    kind: TableSink,
}

enum TableSink {
    Csv { file: std::fs::File, rows: usize },
    Parquet(polars::io::parquet::write::BatchedWriter<std::fs::File>),
}

impl TableWriter {
    fn write(&mut self, frame: &mut DataFrame) -> PolarsResult<()> {
        match &mut self.kind {
            TableSink::Csv { file, rows } => {
                CsvWriter::new(file).include_header(*rows == 0).with_float_precision(Some(2)).finish(frame)?;
                *rows += frame.height();
                Ok(())
            }
            TableSink::Parquet(writer) => writer.write_batch(frame),
        }
    }

    fn finish(self) -> Result<(), GenerateError> {
        let io = |e: std::io::Error| IoContext::new("writing", &self.path, e);
        let file = match self.kind {
            TableSink::Csv { file, .. } => file,
            TableSink::Parquet(writer) => {
                writer.finish()?;
                std::fs::File::options().read(true).open(&self.temp).map_err(io)?
            }
        };
        file.sync_all().map_err(io)?;
        crate::io_util::rename_durably(&self.temp, &self.path).map_err(io)?;
        Ok(())
    }
}

/// Simulates a book and writes it into `dir` `chunk_customers` customers at a time, so the
/// peak memory is one chunk's rows, not the whole book (2.2 GB per million policies held
/// whole). The files are the ones [`GeneratedBook::write`] writes for the same config (CSV byte
/// for byte; Parquet with one row group or more per chunk); each is written to a temp file and
/// renamed into place when complete. Campaign replays and true lapse probabilities need the
/// whole book: use [`generate`].
pub fn write_streamed(config: &GenerateConfig, dir: &Path, format: FileFormat, chunk_customers: usize) -> Result<StreamSummary, GenerateError> {
    std::fs::create_dir_all(dir).map_err(|e| IoContext::new("creating directory", dir, e))?;
    let mut temps = Vec::new();
    let result = stream_into(config, dir, format, chunk_customers, &mut temps);
    if result.is_err() {
        // Nothing half written is left behind.
        for temp in temps {
            let _ = std::fs::remove_file(temp);
        }
    }
    result
}

fn stream_into(
    config: &GenerateConfig,
    dir: &Path,
    format: FileFormat,
    chunk_customers: usize,
    temps: &mut Vec<std::path::PathBuf>,
) -> Result<StreamSummary, GenerateError> {
    let agents = simulate::agents(config, &mut rng(config.seed, AGENT_STREAM));
    let sizes = customer_sizes(config);
    let ext = match format {
        FileFormat::Csv => "csv",
        FileFormat::Parquet => "parquet",
    };
    let mut writers: Vec<(&'static str, Option<TableWriter>)> = Vec::new();
    let mut summary = StreamSummary { agents: agents.len(), ..StreamSummary::default() };
    let chunk = chunk_customers.max(1);
    let mut start = 0;
    while start < sizes.len() || writers.is_empty() {
        let end = (start + chunk).min(sizes.len());
        let (customer_base, policy_base) = (start, sizes.get(start).map_or(0, |s| s.0));
        // Every chunk's policies name their agents; the agents table is written once.
        let mut part = GeneratedBook { agents: agents.clone(), ..Default::default() };
        for c in simulate_customers(config, &agents, &sizes, start..end) {
            part.customers.push(c.customer);
            part.policies.extend(c.policies);
            part.installments.extend(c.installments);
            part.events.extend(c.events);
        }
        summary.customers += part.customers.len();
        summary.policies += part.policies.len();
        summary.installments += part.installments.len();
        summary.events += part.events.len();
        for (name, mut frame) in part.frames_from(customer_base, policy_base)? {
            // The agents table is whole in the first chunk and empty after it.
            if name == "agents" && start > 0 {
                continue;
            }
            let slot = match writers.iter_mut().position(|(n, _)| *n == name) {
                Some(i) => &mut writers[i].1,
                None => {
                    let path = dir.join(format!("{name}.{ext}"));
                    let temp = crate::io_util::temp_path_for(&path);
                    temps.push(temp.clone());
                    let file = std::fs::File::create(&temp).map_err(|e| IoContext::new("creating", &temp, e))?;
                    let kind = match format {
                        FileFormat::Csv => TableSink::Csv { file, rows: 0 },
                        FileFormat::Parquet => TableSink::Parquet(ParquetWriter::new(file).batched(frame.schema())?),
                    };
                    writers.push((name, Some(TableWriter { path, temp, kind })));
                    &mut writers.last_mut().expect("just pushed").1
                }
            };
            slot.as_mut().expect("open until the end").write(&mut frame)?;
        }
        if end == start {
            break;
        }
        start = end;
    }
    for (_, writer) in writers {
        writer.expect("open until the end").finish()?;
    }
    Ok(summary)
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
