//! Flags of the retention commands: queue (a work list, a campaign), effect, uplift, realised.

use std::path::PathBuf;

use clap::Args;

use super::*;
use lapse_core::dates::Day;
use lapse_core::features::SnapshotSpec;

/// The work list's filters (as `GET /v1/queue`).
#[derive(Debug, Args)]
pub struct WorkListFilters {
    /// Only renewals sold through this channel.
    #[arg(long)]
    pub channel: Option<String>,
    /// Only renewals of policyholders in this region.
    #[arg(long)]
    pub region: Option<String>,
    /// Only renewals serviced by this agent.
    #[arg(long)]
    pub agent_id: Option<String>,
    /// Product code or product type.
    #[arg(long)]
    pub product: Option<String>,
    /// Only renewals with at least this value at risk.
    #[arg(long)]
    pub min_value: Option<f64>,
    /// Only renewals due at most this many days after the snapshot date (overdue ones count).
    #[arg(long, allow_hyphen_values = true)]
    pub due_within_days: Option<i32>,
    /// true: only renewals past due; false: only those not yet due.
    #[arg(long)]
    pub overdue: Option<bool>,
    /// true: only orphan renewals (no servicing agent in service: the list of the team that
    /// takes them over); false: none of them.
    #[arg(long)]
    pub orphan: Option<bool>,
    /// Also renewals where no action pays (action `none`; only with a total capacity).
    #[arg(long)]
    pub include_no_action: bool,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Model registry directory (its champion scores the snapshot).
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// The scoring snapshot built by `lapse features --as-of T`.
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Contacts the team can make: one number (a total, best action each) or per action
    /// (`visit=300,call=800,sms=5000` or, as the API writes it, `visit:300,call:800,sms:5000`; an
    /// exact assignment). Default: 500 (a total), as the API.
    #[arg(long)]
    pub capacity: Option<String>,
    /// Share of the listed renewals held out as control (0 to 0.9), in every action x segment.
    /// Needs --campaign. Default with a campaign: 0.1, as the API.
    #[arg(long)]
    pub holdout: Option<f64>,
    /// The campaign's name (letters, digits, '-', '_', '.'): it keys the holdout draw and is
    /// bound to these settings in the campaigns directory. Default: worklist-<as_of>, which
    /// allows no holdout and is not recorded.
    #[arg(long)]
    pub campaign: Option<String>,
    /// The campaigns directory shared with `lapse serve`.
    #[arg(long, default_value = "campaigns")]
    pub campaigns: PathBuf,
    /// The campaign file to write: .csv or .parquet (atomically). With --plan: the plan as
    /// JSON (optional).
    #[arg(long, required_unless_present = "plan")]
    pub out: Option<PathBuf>,
    /// Plan before launch: per action, the contacts and renewals of each arm, the control lapse
    /// rate the model expects, the smallest save rate this list and holdout can detect (80%
    /// power, two-sided 5%: the effect report's equation), the holdout that would detect the
    /// economics' save rate, and the day the result can be read. Writes no campaign and records
    /// nothing.
    #[arg(long)]
    pub plan: bool,
    /// Also write the hand-out files into this directory: the treatment rows only (no control
    /// customer), one file per agent, orphan renewals in orphans.csv for the team that takes
    /// them over, no-agent.csv; with the reasons and labels in --lang; replaced whole.
    #[arg(long)]
    pub handout: Option<PathBuf>,
    /// The hand-out files' encoding: utf-8-bom (Excel on any Windows) or gb18030 (what Excel
    /// on Chinese Windows assumes for a CSV without a byte-order mark).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(lapse_retention::handout::Encoding::NAMES), default_value = "utf-8-bom", requires = "handout")]
    pub encoding: String,
    /// The hand-out files' language: en or zh-CN (headers, actions, reasons, channels).
    #[arg(long, value_parser = crate::flags::lang, default_value = "en", requires = "handout")]
    pub lang: lapse_model::scoring::lang::Lang,
    /// Value cap, actions (save rate, cost) and band thresholds as JSON (see docs/serving.md);
    /// a file written by `lapse effect --economics-out` uses measured save rates.
    #[arg(long)]
    pub economics: Option<PathBuf>,
    /// risk: expected gain p x save rate x value - cost from the economics. uplift: the lapses
    /// a contact prevents, from the uplift learner registered by `lapse uplift`, x value - cost.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(lapse_retention::RankBy::NAMES), default_value = "risk")]
    pub rank_by: String,
    /// The outcome store whose contact rules the list obeys (as `lapse serve --store`); none:
    /// the list ignores what agents recorded.
    #[arg(long)]
    pub store: Option<String>,
    /// The contact rules: a JSON file, or a lapse.toml with a [contact_rules] section (as
    /// `lapse serve --contact-rules`).
    #[arg(long)]
    pub contact_rules: Option<PathBuf>,
    #[command(flatten)]
    pub filters: WorkListFilters,
}

#[derive(Debug, Args)]
pub struct EffectArgs {
    #[command(flatten)]
    pub extract: Extract,
    /// The campaign file written by `lapse queue` (.csv or .parquet).
    #[arg(long)]
    pub campaign: PathBuf,
    /// Outcomes known as of this date. Default: the extract date.
    #[arg(long, value_parser = day)]
    pub as_of: Option<Day>,
    /// A premium due on D lapses when unpaid by D + grace days (the outcome of a renewal is
    /// read once its grace has ended).
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    /// The outcome store (`lapse serve --store`): contact attempts agents recorded count as
    /// delivered contacts, besides the extract's contact events.
    #[arg(long)]
    pub store: Option<String>,
    /// The economics the campaign ran with (contact costs, and the prior save rates of
    /// --economics-out). Default: the built-in economics.
    #[arg(long)]
    pub economics: Option<PathBuf>,
    /// Write the economics with the measured save rates (shrunk toward the priors) here, for
    /// `lapse queue --economics` and `lapse serve --economics`.
    #[arg(long)]
    pub economics_out: Option<PathBuf>,
    /// The prior's standard deviation: how far a measured save rate may move its prior.
    #[arg(long, default_value_t = lapse_reports::effect::DEFAULT_PRIOR_SD)]
    pub prior_sd: f64,
    /// Fewest control lapses for a segment to get a measured save rate of its own.
    #[arg(long, default_value_t = lapse_reports::effect::DEFAULT_MIN_SEGMENT_CONTROL_LAPSES)]
    pub min_segment_control_lapses: usize,
    #[command(flatten)]
    pub report: ReportFiles,
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
}

#[derive(Debug, Args)]
pub struct UpliftArgs {
    #[command(flatten)]
    pub extract: Extract,
    /// The campaign file written by `lapse queue`.
    #[arg(long)]
    pub campaign: PathBuf,
    /// The snapshot the campaign was planned on (`lapse features --as-of` the campaign date).
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Outcomes known as of this date. Default: the extract date.
    #[arg(long, value_parser = day)]
    pub as_of: Option<Day>,
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    /// Model registry directory (the uplift pair goes to DIR/uplift).
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// Judge only; register nothing.
    #[arg(long)]
    pub no_register: bool,
    /// Boosting rounds of each arm's model.
    #[arg(long, default_value_t = 100)]
    pub rounds: usize,
    /// Also write every matured renewal's held-out uplift (both learners) as CSV here.
    #[arg(long)]
    pub rows_out: Option<PathBuf>,
    /// Write the economics (from --economics, else the defaults) with the stratified learner's
    /// save rates here: `lapse serve --economics FILE` then ranks the API's work list by it.
    #[arg(long)]
    pub economics_out: Option<PathBuf>,
    /// The economics the work list runs with (costs, value cap, bands).
    #[arg(long)]
    pub economics: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportFiles,
    #[arg(long, value_enum, default_value_t = BadRows::Strict)]
    pub on_error: BadRows,
}

#[derive(Debug, Args)]
pub struct RealisedArgs {
    #[command(flatten)]
    pub extract: Extract,
    /// The score log directory of `lapse serve`.
    #[arg(long)]
    pub score_log: PathBuf,
    /// Outcomes known as of this date. Default: the extract date.
    #[arg(long, value_parser = day)]
    pub as_of: Option<Day>,
    #[arg(long, default_value_t = SnapshotSpec::DEFAULT_GRACE_DAYS)]
    pub grace_days: i32,
    #[command(flatten)]
    pub report: ReportFiles,
}

#[derive(Debug, Args)]
pub struct OutcomesArgs {
    /// The outcome store (as `lapse serve --store`).
    #[arg(long, default_value = super::DEFAULT_STORE, global = true)]
    pub store: String,
    #[command(subcommand)]
    pub action: OutcomesAction,
}

#[derive(Debug, Subcommand)]
pub enum OutcomesAction {
    /// Record a call-centre export (CSV or Parquet) of outcomes: the columns of `POST
    /// /v1/outcomes` (id, policy_id, installment_no, action, result, at, reason, promised_date,
    /// agent_id, note, and customer_id unless --snapshot gives it). All rows or none: a bad row
    /// is named (row, field, why) and nothing is stored; an id already stored is a duplicate.
    Import {
        /// The file to import (.csv or .parquet).
        file: PathBuf,
        /// A scoring snapshot to take each policy's customer from when a row has none.
        #[arg(long)]
        snapshot: Option<PathBuf>,
        /// The economics (their action names are the actions an outcome may name).
        #[arg(long)]
        economics: Option<PathBuf>,
        /// The contact rules (their refusal reasons are the reasons a refusal may give).
        #[arg(long)]
        contact_rules: Option<PathBuf>,
    },
    /// Write every stored outcome, oldest first, to a CSV or Parquet file (atomically).
    Export {
        #[arg(long)]
        out: PathBuf,
    },
}
