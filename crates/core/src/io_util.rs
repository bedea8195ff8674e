//! Writing files so that a reader never sees half of one: write a temp file beside the target,
//! flush and sync it, then rename it over the target, then sync the directory (a rename lives
//! in the directory: without that fsync a power cut can undo it).

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// An I/O error with the path it happened on. The OS error is part of the message and not the
/// error's `source()`: the binary prints an error with its chain, which would say it twice
/// ("opening x.csv: No such file or directory (os error 2): No such file or directory ...").
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {error}", path.display())]
pub struct IoContext {
    pub action: &'static str,
    pub path: PathBuf,
    pub error: io::Error,
}

impl IoContext {
    pub fn new(action: &'static str, path: &Path, error: io::Error) -> Self {
        IoContext { action, path: path.to_path_buf(), error }
    }
}

/// The temp path a file is written to before it is renamed to `path`.
pub fn temp_path_for(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Creates `path` atomically: `write` fills a buffered temp file, which is synced and renamed
/// over `path` only if `write` succeeds. On failure the temp file is removed and `path` is
/// untouched.
pub fn atomic_write(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), IoContext> {
    atomic_write_with(path, |file| {
        let mut buffered = BufWriter::new(file);
        write(&mut buffered)?;
        buffered.flush()?;
        Ok(())
    })
}

/// Like [`atomic_write`], with the raw temp file (for writers that buffer themselves).
pub fn atomic_write_with(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> Result<(), IoContext> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| IoContext::new("creating directory", dir, e))?;
    }
    let temp = temp_path_for(path);
    let result = (|| -> io::Result<()> {
        let mut file = File::create(&temp)?;
        write(&mut file)?;
        file.sync_all()?;
        rename_durably(&temp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&temp);
        IoContext::new("writing", path, e)
    })
}

/// Fsyncs a directory, so that the entries created, renamed or removed in it survive a power
/// cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    File::open(dir)?.sync_all()
}

/// Renames `from` to `to` (a file or a directory) and fsyncs the directory it landed in (and
/// the one it left, when another): the publishing step of every atomic write.
pub fn rename_durably(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    let parent = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    let (into, out_of) = (parent(to), parent(from));
    sync_dir(&into)?;
    if out_of != into {
        sync_dir(&out_of)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_io_error_names_its_path_and_the_os_reason_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agents.csv");
        let error = IoContext::new("opening", &path, File::open(&path).unwrap_err());
        let text = error.to_string();
        assert!(text.starts_with("opening ") && text.contains("agents.csv"), "{text}");
        assert!(text.contains("No such file or directory"), "{text}");
        // No source: a printer of the error chain does not say the OS reason a second time.
        assert!(std::error::Error::source(&error).is_none());
    }
}
