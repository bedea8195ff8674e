//! The model registry: one directory per version under the models directory, each with the
//! artifact and its SHA-256, metrics, schema, manifest and a model card; and a champion
//! pointer (`CHAMPION`) replaced atomically.
//!
//! A version directory is written whole under a temp name and renamed into place, so a reader
//! never sees half a version. Loading verifies the checksum and the schema and refuses a
//! corrupt, truncated or incompatible artifact with the reason.

mod card;
pub use card::importance_measure;

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::artifact::LapseModel;
use crate::encode::FeatureSchema;
pub use crate::fitted::FITTED;
use crate::fitted::FittedRenewals;
use crate::train::TrainReport;
use lapse_core::io_util::{IoContext, atomic_write};

pub const ARTIFACT: &str = "model.json";
pub const CHECKSUM: &str = "model.sha256";
pub const METRICS: &str = "metrics.json";
pub const SCHEMA: &str = "schema.json";
pub const MANIFEST: &str = "manifest.json";
pub const CARD: &str = "card.md";
/// The training table's feature distributions and the model's score distribution on it,
/// the reference for drift (`drift::Reference`).
pub const REFERENCE: &str = "reference.json";
pub const CHAMPION: &str = "CHAMPION";

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Io(#[from] IoContext),
    #[error("model version {version:?} does not exist in {}", dir.display())]
    NoSuchVersion { version: String, dir: PathBuf },
    #[error("model {version}: {reason}; refusing to load it")]
    Corrupt { version: String, reason: String },
    #[error("{} has no champion model yet (train one, or `lapse models promote VERSION`)", dir.display())]
    NoChampion { dir: PathBuf },
}

/// Where a model came from, as `manifest.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub version: String,
    pub family: String,
    pub created_at: String,
    pub source: String,
    /// SHA-256 of the training table file.
    pub source_sha256: String,
    pub label: String,
    pub rows_labelled: usize,
    pub rows_unlabelled: usize,
    pub rows_train: usize,
    pub rows_validation: usize,
    pub training_window: Option<(String, String)>,
    pub validation_window: Option<(String, String)>,
    pub validation: String,
    pub artifact_sha256: String,
    pub lapse_version: String,
    /// Distinct renewals the model was fitted or calibrated on ([`crate::fitted`]), and the
    /// SHA-256 of the file listing them (`fitted.keys`); None for a table without renewal keys
    /// or a version registered before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitted_renewals: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitted_sha256: Option<String>,
}

/// A loaded, verified model.
pub struct LoadedModel {
    pub version: String,
    pub model: LapseModel,
    pub manifest: Manifest,
}

/// A registry rooted at a models directory.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, IoContext> {
    let mut file = fs::File::open(path).map_err(|e| IoContext::new("opening", path, e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| IoContext::new("reading", path, e))?;
    Ok(hex(&hasher.finalize()))
}

fn version_number(name: &str) -> Option<u32> {
    name.strip_prefix('v').filter(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit())).and_then(|n| n.parse().ok())
}

impl Registry {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Registry { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Version names (`v0001`, ...) in ascending order.
    pub fn versions(&self) -> Result<Vec<String>, RegistryError> {
        if !self.dir.exists() {
            return Ok(Vec::new());
        }
        let entries = fs::read_dir(&self.dir).map_err(|e| IoContext::new("listing", &self.dir, e))?;
        let mut versions: Vec<(u32, String)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                version_number(&name).map(|n| (n, name))
            })
            .collect();
        versions.sort();
        Ok(versions.into_iter().map(|(_, n)| n).collect())
    }

    /// Registers a trained model as the next version; returns its name.
    pub fn register(&self, model: &LapseModel, report: &TrainReport, source: &Path, created_at: &str) -> Result<String, RegistryError> {
        self.register_with_reference(model, report, None, source, created_at)
    }

    /// [`Registry::register`], storing the drift reference with the model.
    pub fn register_with_reference(
        &self,
        model: &LapseModel,
        report: &TrainReport,
        reference: Option<&crate::drift::Reference>,
        source: &Path,
        created_at: &str,
    ) -> Result<String, RegistryError> {
        let source_sha256 = sha256_file(source)?;
        self.register_described(model, report, reference, None, &source.display().to_string(), &source_sha256, created_at)
    }

    /// [`Registry::register_with_reference`] with the training data described by the caller
    /// (the nightly job's table lives in a staging directory that is removed afterwards), and
    /// the renewals it was fitted on when the table named them.
    #[allow(clippy::too_many_arguments)]
    pub fn register_described(
        &self,
        model: &LapseModel,
        report: &TrainReport,
        reference: Option<&crate::drift::Reference>,
        fitted: Option<&FittedRenewals>,
        source: &str,
        source_sha256: &str,
        created_at: &str,
    ) -> Result<String, RegistryError> {
        fs::create_dir_all(&self.dir).map_err(|e| IoContext::new("creating directory", &self.dir, e))?;
        let artifact = model.to_json();
        let artifact_sha256 = sha256_hex(&artifact);
        let fitted_bytes = fitted.map(FittedRenewals::to_bytes);
        loop {
            let next = self.versions()?.last().and_then(|v| version_number(v)).unwrap_or(0) + 1;
            let version = format!("v{next:04}");
            let manifest = Manifest {
                version: version.clone(),
                family: model.family.as_str().to_string(),
                created_at: created_at.to_string(),
                source: source.to_string(),
                source_sha256: source_sha256.to_string(),
                label: model.label.clone(),
                rows_labelled: report.rows_labelled,
                rows_unlabelled: report.rows_unlabelled,
                rows_train: report.rows_train,
                rows_validation: report.rows_validation,
                training_window: report.training_window.clone(),
                validation_window: report.validation_window.clone(),
                validation: report.validation_detail.clone(),
                artifact_sha256: artifact_sha256.clone(),
                lapse_version: env!("CARGO_PKG_VERSION").to_string(),
                fitted_renewals: fitted.map(FittedRenewals::len),
                fitted_sha256: fitted_bytes.as_deref().map(sha256_hex),
            };
            let temp = self.dir.join(format!(".{version}.tmp-{}", std::process::id()));
            let _ = fs::remove_dir_all(&temp);
            fs::create_dir_all(&temp).map_err(|e| IoContext::new("creating directory", &temp, e))?;
            let write = |name: &str, bytes: &[u8]| atomic_write(&temp.join(name), |w| w.write_all(bytes));
            write(ARTIFACT, &artifact)?;
            write(CHECKSUM, format!("{artifact_sha256}  {ARTIFACT}\n").as_bytes())?;
            write(METRICS, &serde_json::to_vec_pretty(report).expect("report serializes"))?;
            write(SCHEMA, &serde_json::to_vec_pretty(&model.schema).expect("schema serializes"))?;
            write(MANIFEST, &serde_json::to_vec_pretty(&manifest).expect("manifest serializes"))?;
            write(CARD, card::render(&manifest, report).as_bytes())?;
            if let Some(bytes) = &fitted_bytes {
                write(FITTED, bytes)?;
            }
            if let Some(reference) = reference {
                write(REFERENCE, &serde_json::to_vec(reference).expect("reference serializes"))?;
            }
            let target = self.dir.join(&version);
            match lapse_core::io_util::rename_durably(&temp, &target) {
                Ok(()) => return Ok(version),
                // Another trainer took this number first: try the next one.
                Err(_) if target.exists() => {
                    let _ = fs::remove_dir_all(&temp);
                }
                Err(e) => {
                    let _ = fs::remove_dir_all(&temp);
                    return Err(IoContext::new("renaming", &temp, e).into());
                }
            }
        }
    }

    fn version_dir(&self, version: &str) -> Result<PathBuf, RegistryError> {
        let dir = self.dir.join(version);
        if version_number(version).is_none() || !dir.is_dir() {
            return Err(RegistryError::NoSuchVersion { version: version.to_string(), dir: self.dir.clone() });
        }
        Ok(dir)
    }

    /// Loads a version, verifying its checksum, format and schema.
    pub fn load(&self, version: &str) -> Result<LoadedModel, RegistryError> {
        let dir = self.version_dir(version)?;
        let corrupt = |reason: String| RegistryError::Corrupt { version: version.to_string(), reason };
        let read = |name: &str| fs::read(dir.join(name)).map_err(|e| corrupt(format!("cannot read {name}: {e}")));
        let artifact = read(ARTIFACT)?;
        let recorded = String::from_utf8_lossy(&read(CHECKSUM)?).split_whitespace().next().unwrap_or_default().to_string();
        let actual = sha256_hex(&artifact);
        if recorded != actual {
            return Err(corrupt(format!("{ARTIFACT} has SHA-256 {actual} but {CHECKSUM} records {recorded} (truncated or modified)")));
        }
        let model = LapseModel::from_json(&artifact).map_err(|e| corrupt(e.to_string()))?;
        let schema: FeatureSchema = serde_json::from_slice(&read(SCHEMA)?).map_err(|e| corrupt(format!("{SCHEMA} is not a feature schema: {e}")))?;
        if schema != model.schema {
            return Err(corrupt(format!("{SCHEMA} does not match the schema inside {ARTIFACT}")));
        }
        let manifest: Manifest = serde_json::from_slice(&read(MANIFEST)?).map_err(|e| corrupt(format!("{MANIFEST}: {e}")))?;
        Ok(LoadedModel { version: version.to_string(), model, manifest })
    }

    /// The version whose artifact has this SHA-256, if one was registered (the nightly job
    /// re-run for the same night finds its challenger instead of registering it twice).
    pub fn find_artifact(&self, artifact_sha256: &str) -> Result<Option<String>, RegistryError> {
        for version in self.versions()? {
            let path = self.dir.join(&version).join(MANIFEST);
            let Ok(bytes) = fs::read(&path) else { continue };
            if serde_json::from_slice::<Manifest>(&bytes).is_ok_and(|m| m.artifact_sha256 == artifact_sha256) {
                return Ok(Some(version));
            }
        }
        Ok(None)
    }

    /// The champion's version, if one was promoted.
    pub fn champion(&self) -> Result<Option<String>, RegistryError> {
        let path = self.dir.join(CHAMPION);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim().to_string()).filter(|v| !v.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IoContext::new("reading", &path, e).into()),
        }
    }

    /// Loads the champion.
    pub fn load_champion(&self) -> Result<LoadedModel, RegistryError> {
        let version = self.champion()?.ok_or_else(|| RegistryError::NoChampion { dir: self.dir.clone() })?;
        self.load(&version)
    }

    /// Makes `version` the champion, after checking that it loads. The pointer file is
    /// replaced atomically: readers see the old champion or the new one.
    pub fn promote(&self, version: &str) -> Result<(), RegistryError> {
        self.load(version)?;
        atomic_write(&self.dir.join(CHAMPION), |w| writeln!(w, "{version}"))?;
        Ok(())
    }

    /// The metrics report of a version.
    pub fn report(&self, version: &str) -> Result<TrainReport, RegistryError> {
        let dir = self.version_dir(version)?;
        let bytes = fs::read(dir.join(METRICS)).map_err(|e| IoContext::new("reading", &dir.join(METRICS), e))?;
        serde_json::from_slice(&bytes).map_err(|e| RegistryError::Corrupt { version: version.to_string(), reason: format!("{METRICS}: {e}") })
    }

    /// The drift reference stored with a version (None for models registered without one).
    pub fn reference(&self, version: &str) -> Result<Option<crate::drift::Reference>, RegistryError> {
        let path = self.version_dir(version)?.join(REFERENCE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| RegistryError::Corrupt { version: version.to_string(), reason: format!("{REFERENCE}: {e}") }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IoContext::new("reading", &path, e).into()),
        }
    }

    /// The renewals a version was fitted on, verified against the checksum its manifest
    /// records; None when the version has no such list (a table without renewal keys, or a
    /// version registered before the lists were kept).
    pub fn fitted(&self, version: &str) -> Result<Option<FittedRenewals>, RegistryError> {
        let dir = self.version_dir(version)?;
        let corrupt = |reason: String| RegistryError::Corrupt { version: version.to_string(), reason };
        let bytes = fs::read(dir.join(MANIFEST)).map_err(|e| corrupt(format!("cannot read {MANIFEST}: {e}")))?;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("{MANIFEST}: {e}")))?;
        let Some(recorded) = manifest.fitted_sha256 else { return Ok(None) };
        let bytes = fs::read(dir.join(FITTED)).map_err(|e| corrupt(format!("cannot read {FITTED}: {e}")))?;
        let actual = sha256_hex(&bytes);
        if actual != recorded {
            return Err(corrupt(format!("{FITTED} has SHA-256 {actual} but {MANIFEST} records {recorded} (truncated or modified)")));
        }
        FittedRenewals::from_bytes(&bytes).map(Some).map_err(|e| corrupt(format!("{FITTED}: {}", e.reason)))
    }

    /// The model card of a version.
    pub fn card(&self, version: &str) -> Result<String, RegistryError> {
        let path = self.version_dir(version)?.join(CARD);
        fs::read_to_string(&path).map_err(|e| IoContext::new("reading", &path, e).into())
    }
}
