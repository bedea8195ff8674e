//! What can stop a night, typed: the binary turns [`NightlyError::is_input`] into exit code 2
//! and anything else into 1.

use std::path::{Path, PathBuf};

use lapse_core::extract::ExtractError;
use lapse_core::features::WriteError;
use lapse_core::io_util::IoContext;
use lapse_core::table::TableError;
use lapse_model::registry::RegistryError;
use lapse_model::train::{DatasetError, TrainError};
use lapse_reports::ExportError;
use lapse_reports::realised::RealisedError;

/// Why a night failed.
#[derive(Debug, thiserror::Error)]
pub enum NightlyError {
    /// A setting the night cannot run with.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The extract was refused before anything was done (stale, empty).
    #[error("input rejected: {0}")]
    InputRejected(String),
    /// A step failed; the step is named.
    #[error("nightly step {step:?}: {source}")]
    Step { step: &'static str, source: Box<NightlyError> },
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    FeatureTable(#[from] WriteError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Realised(#[from] RealisedError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Io(#[from] IoContext),
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// Another run holds the lock.
    #[error("another nightly run holds {} (two runs never overlap); try again when it ends", path.display())]
    Locked { path: PathBuf },
    /// The night's plan cannot be carried out (its staged files are gone).
    #[error("{0}")]
    Plan(String),
}

impl NightlyError {
    /// Whether the input (the extract or a table made from it) is at fault: exit code 2.
    pub fn is_input(&self) -> bool {
        match self {
            NightlyError::InputRejected(_) | NightlyError::Config(_) => true,
            NightlyError::Step { source, .. } => source.is_input(),
            NightlyError::Extract(e) => e.is_input(),
            NightlyError::Dataset(e) => e.is_input(),
            NightlyError::Train(e) => e.is_input(),
            _ => false,
        }
    }

    /// A file operation that failed.
    pub(crate) fn file(path: &Path, error: impl std::fmt::Display) -> Self {
        NightlyError::File { path: path.to_path_buf(), message: error.to_string() }
    }
}

pub type Result<T, E = NightlyError> = std::result::Result<T, E>;
