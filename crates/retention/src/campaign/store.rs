//! The campaigns directory: `NAME.json` (the settings, counts, when) and `NAME.parquet` (the
//! assignment) per campaign, shared by `lapse queue` and `lapse serve`. A name is bound to its
//! settings for good: asking again with the same settings returns the stored campaign, asking
//! with other settings is refused, so a control group can never be redrawn under the same name.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::file::{CampaignFileError, read_campaign, write_campaign};
use super::{Arm, Campaign, Settings, check_name};
use lapse_core::io_util::{IoContext, atomic_write};

/// What the store knows of a campaign besides its rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub settings: Settings,
    pub created_at: String,
    pub treatment: usize,
    pub control: usize,
}

/// Whether a campaign was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Created,
    /// Stored before with the same settings (nothing rewritten).
    Existing,
}

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("campaign {name:?} exists with other settings ({differences}); choose a new name")]
    Conflict { name: String, differences: String },
    #[error("no campaign {0:?}")]
    NotFound(String),
    #[error("campaign name: {0}")]
    Name(#[from] super::SettingsError),
    #[error("{0}")]
    Io(#[from] IoContext),
    #[error("{}: {message}", path.display())]
    Record { path: PathBuf, message: String },
    #[error("{0}")]
    File(#[from] CampaignFileError),
}

impl StoreError {
    /// Whether the caller's input is at fault: a name bound to other settings or not allowed,
    /// or no such campaign (the API answers these 409, 422 and 404; the CLI exits 2).
    pub fn is_input(&self) -> bool {
        matches!(self, StoreError::Conflict { .. } | StoreError::NotFound(_) | StoreError::Name(_))
    }
}

/// A campaigns directory.
#[derive(Debug, Clone)]
pub struct CampaignStore {
    dir: PathBuf,
}

/// The settings fields that differ, named (empty: the same campaign).
pub fn differences(old: &Settings, new: &Settings) -> String {
    let mut out = Vec::new();
    if old.as_of != new.as_of {
        out.push(format!("as_of {} vs {}", lapse_core::dates::format_day(old.as_of), lapse_core::dates::format_day(new.as_of)));
    }
    if old.model_version != new.model_version {
        out.push(format!("model {} vs {}", old.model_version, new.model_version));
    }
    if old.holdout != new.holdout {
        out.push(format!("holdout {} vs {}", old.holdout, new.holdout));
    }
    if old.capacity != new.capacity {
        out.push(format!("capacity {:?} vs {:?}", old.capacity, new.capacity));
    }
    if old.filters != new.filters {
        out.push(format!("filters {:?} vs {:?}", old.filters, new.filters));
    }
    if old.ranking != new.ranking {
        out.push(format!("ranking {} vs {}", old.ranking, new.ranking));
    }
    if old.economics != new.economics {
        out.push("economics differ".into());
    }
    if out.is_empty() && old.list_digest != new.list_digest {
        out.push("the work list differs (another snapshot?)".into());
    }
    out.join("; ")
}

impl CampaignStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CampaignStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Where the assignment of `name` is kept.
    pub fn file_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.parquet"))
    }

    /// The record of `name`, if stored.
    pub fn record(&self, name: &str) -> Result<Option<Record>, StoreError> {
        check_name(name)?;
        let path = self.record_path(name);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| StoreError::Record { path, message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IoContext::new("reading", &path, e).into()),
        }
    }

    /// Checks `settings` against what is stored under its name: Ok(None) when the name is new,
    /// Ok(Some(record)) when stored with the same settings, a conflict otherwise.
    pub fn check(&self, settings: &Settings) -> Result<Option<Record>, StoreError> {
        match self.record(&settings.name)? {
            None => Ok(None),
            Some(record) if record.settings == *settings => Ok(Some(record)),
            Some(record) => Err(StoreError::Conflict { name: settings.name.clone(), differences: differences(&record.settings, settings) }),
        }
    }

    /// Stores `campaign` (the assignment first, then the record that makes it visible), or
    /// confirms it is stored with the same settings.
    ///
    /// Under an exclusive lock on the directory's `.lock` file, so the check and the save are
    /// one step for every process sharing the directory (`lapse queue` and servers): before it,
    /// a CLI and a server creating one name at the same moment both accepted it with different
    /// holdouts (34 of 72 races).
    pub fn save(&self, campaign: &Campaign) -> Result<Stored, StoreError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| IoContext::new("creating directory", &self.dir, e))?;
        let lock_path = self.dir.join(".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| IoContext::new("opening", &lock_path, e))?;
        lock.lock().map_err(|e| IoContext::new("locking", &lock_path, e))?;
        if self.check(&campaign.settings)?.is_some() && self.file_path(&campaign.settings.name).exists() {
            return Ok(Stored::Existing);
        }
        write_campaign(&self.file_path(&campaign.settings.name), campaign)?;
        let record = Record {
            settings: campaign.settings.clone(),
            created_at: lapse_core::dates::now_utc_rfc3339(),
            treatment: campaign.count(Arm::Treatment),
            control: campaign.count(Arm::Control),
        };
        let path = self.record_path(&campaign.settings.name);
        let bytes = serde_json::to_vec_pretty(&record).map_err(|e| StoreError::Record { path: path.clone(), message: e.to_string() })?;
        atomic_write(&path, |w| w.write_all(&bytes))?;
        Ok(Stored::Created)
    }

    /// The names of the stored campaigns, sorted (none when the directory does not exist).
    pub fn names(&self) -> Result<Vec<String>, StoreError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(IoContext::new("listing", &self.dir, e).into()),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
            .filter(|n| check_name(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// A stored campaign, rows and all.
    pub fn load(&self, name: &str) -> Result<(Record, Campaign), StoreError> {
        let record = self.record(name)?.ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        let file = read_campaign(&self.file_path(name))?;
        let campaign = Campaign { settings: record.settings.clone(), rows: file.rows };
        Ok((record, campaign))
    }
}
