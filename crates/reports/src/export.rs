//! The one way a report reaches disk: pretty JSON for machines, an HTML page for people, each
//! written atomically (temp file, sync, rename), so a reader never sees half a report.

use std::path::{Path, PathBuf};

use maud::Markup;
use serde::Serialize;

use lapse_core::io_util::{IoContext, atomic_write};

/// A report that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Io(#[from] IoContext),
    #[error("{}: cannot serialize the report: {source}", path.display())]
    Json { path: PathBuf, source: serde_json::Error },
}

/// Writes `report` as pretty JSON at `path`.
pub fn write_json(path: &Path, report: &impl Serialize) -> Result<(), ExportError> {
    let json = serde_json::to_vec_pretty(report).map_err(|source| ExportError::Json { path: path.to_path_buf(), source })?;
    atomic_write(path, |w| w.write_all(&json))?;
    Ok(())
}

/// Writes a page at `path`.
pub fn write_html(path: &Path, page: &Markup) -> Result<(), ExportError> {
    atomic_write(path, |w| w.write_all(page.0.as_bytes()))?;
    Ok(())
}

/// Writes reports into one directory and remembers their file names (the night's list).
#[derive(Debug)]
pub struct Exporter {
    dir: PathBuf,
    files: Vec<String>,
}

impl Exporter {
    pub fn new(dir: &Path) -> Self {
        Exporter { dir: dir.to_path_buf(), files: Vec::new() }
    }

    /// The path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `NAME.json` and `NAME.html`.
    pub fn report(&mut self, name: &str, report: &impl Serialize, page: &Markup) -> Result<(), ExportError> {
        self.json(&format!("{name}.json"), report)?;
        self.html(&format!("{name}.html"), page)
    }

    pub fn json(&mut self, file: &str, report: &impl Serialize) -> Result<(), ExportError> {
        write_json(&self.dir.join(file), report)?;
        self.files.push(file.to_string());
        Ok(())
    }

    pub fn html(&mut self, file: &str, page: &Markup) -> Result<(), ExportError> {
        write_html(&self.dir.join(file), page)?;
        self.files.push(file.to_string());
        Ok(())
    }

    /// A file another writer made in the directory, listed with the reports.
    pub fn add(&mut self, file: &str) {
        self.files.push(file.to_string());
    }

    /// The files written, in order.
    pub fn files(&self) -> &[String] {
        &self.files
    }
}
