//! The score log: every score served, appended as JSON lines to daily files
//! (`<dir>/scores-YYYY-MM-DD.jsonl`, UTC days), so analysts can join scores with outcomes.
//!
//! Requests hand batches to one writer thread over a bounded channel (a full channel makes
//! requests wait: scores are never dropped to keep latency). The writer appends through a
//! buffer, flushes to the OS at least every 100 ms and fsyncs at least every second and at
//! shutdown. What a crash can lose: on a process crash, the batches not yet flushed (at most
//! ~100 ms of scores); on a power loss, at most ~1 s. A crash mid-write can tear the last line:
//! reopening the file closes it off (`open_day`), and readers skip lines that do not parse.

use lapse_retention::campaign::Arm;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use super::scorebook::Scorebook;
use super::telemetry::Metrics;
use lapse_core::dates::Day;
use lapse_model::score_log::{ScoreLine, file_name, log_file_day, log_file_part, part_file_name, timestamp};
use lapse_model::scoring::ScoredRows;

const FLUSH_EVERY: Duration = Duration::from_millis(100);
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// How long the writer naps after writing, so batches reach it in groups.
const GATHER: Duration = Duration::from_millis(2);
/// Batches waiting for the writer before requests wait for it.
const QUEUE: usize = 8192;

/// Where the scored rows of a batch live.
pub enum LoggedRows {
    Snapshot(Arc<Scorebook>),
    Inline(Arc<ScoredRows>),
}

impl LoggedRows {
    fn rows(&self) -> &ScoredRows {
        match self {
            LoggedRows::Snapshot(book) => &book.rows,
            LoggedRows::Inline(rows) => rows,
        }
    }
}

/// The scores of one response.
pub struct LogBatch {
    /// Milliseconds since the epoch, UTC.
    pub time_ms: u64,
    pub request_id: String,
    pub endpoint: &'static str,
    pub model_version: String,
    pub rows: LoggedRows,
    /// (row, rank) pairs.
    pub picks: Vec<(u32, u32)>,
    /// The action and expected gain given to each pick when the work list assigned them
    /// within per-action capacities (None: each renewal's best action).
    pub assigned: Option<Vec<(u8, f64)>>,
    /// The campaign of the picks and each one's arm, when listed in a campaign.
    pub campaign: Option<(Arc<str>, Vec<Arm>)>,
}

/// When the log's files are closed, compressed and deleted.
#[derive(Debug, Clone, Copy)]
pub struct LogPolicy {
    /// The day's file is closed (and compressed) once it holds this many bytes; a new part
    /// starts. Days close at UTC midnight in any case.
    pub max_file_bytes: u64,
    /// Files of days older than this many days are deleted (at start and at each day's change);
    /// None keeps everything.
    pub retention_days: Option<u32>,
    /// The log's files add up to at most this many bytes: after each part is compressed (and at
    /// start) the oldest closed files are deleted until they do, counted in
    /// `lapse_score_log_dropped_bytes`. None: no cap.
    pub max_total_bytes: Option<u64>,
}

impl Default for LogPolicy {
    fn default() -> Self {
        LogPolicy { max_file_bytes: 256 << 20, retention_days: Some(800), max_total_bytes: Some(50 << 30) }
    }
}

/// Closes a file of the log: renames it to the day's next part and compresses it (zstd, in a
/// thread of its own: a 256 MiB part takes about a second), then deletes the uncompressed part.
/// Every step is atomic and durable; a crash leaves the uncompressed part, compressed at the
/// next start.
fn close_file(dir: &Path, path: &Path, day: Day) -> std::io::Result<PathBuf> {
    let next = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().filter(|n| log_file_day(n) == Some(day)).and_then(log_file_part))
        .max()
        .unwrap_or(0)
        + 1;
    let part = dir.join(part_file_name(day, next));
    lapse_core::io_util::rename_durably(path, &part)?;
    Ok(part)
}

/// Compresses a closed part to `<part>.zst` (atomically) and removes the part. A `.zst` already
/// there is complete (it was renamed into place): only the part is left to remove.
fn compress(part: &Path) -> std::io::Result<()> {
    let target = PathBuf::from(format!("{}.zst", part.display()));
    if target.exists() {
        std::fs::remove_file(part)?;
        return lapse_core::io_util::sync_dir(part.parent().unwrap_or(Path::new(".")));
    }
    let input = File::open(part)?;
    lapse_core::io_util::atomic_write_with(&target, |out| {
        let mut encoder = zstd::stream::Encoder::new(out, 3)?;
        std::io::copy(&mut std::io::BufReader::new(input), &mut encoder)?;
        encoder.finish()?;
        Ok(())
    })
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::remove_file(part)?;
    lapse_core::io_util::sync_dir(part.parent().unwrap_or(Path::new(".")))
}

/// Deletes the oldest closed files of the log (earliest day first, a day's parts before its
/// open file; never today's open file) until the log's files add up to at most `cap` bytes.
fn enforce_total_cap(dir: &Path, cap: u64, metrics: &Metrics) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let today = (now_ms() / 86_400_000) as Day;
    let mut files: Vec<(Day, u32, String, u64)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let day = log_file_day(&name).filter(|_| lapse_model::score_log::is_log_file(&name))?;
            Some((day, log_file_part(&name).unwrap_or(u32::MAX), name, e.metadata().ok()?.len()))
        })
        .collect();
    files.sort();
    let mut total: u64 = files.iter().map(|f| f.3).sum();
    for (day, part, name, bytes) in files {
        if total <= cap {
            break;
        }
        if day == today && part == u32::MAX {
            continue;
        }
        match std::fs::remove_file(dir.join(&name)) {
            Ok(()) => {
                total -= bytes;
                metrics.score_log_dropped(bytes);
                tracing::warn!(file = %name, bytes, cap, "score-log file deleted to keep the log within its size cap");
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => total -= bytes,
            Err(e) => tracing::warn!(file = %name, error = %e, "cannot delete a score-log file over the size cap"),
        }
    }
}

/// Compresses `part` on a thread of its own, then keeps the log within its size cap; the
/// writer joins it before it exits.
fn compress_in_background(part: PathBuf, cap: Option<(u64, Arc<Metrics>)>) -> Option<std::thread::JoinHandle<()>> {
    let spawned = std::thread::Builder::new().name("score-log-zstd".into()).spawn(move || {
        if let Err(e) = compress(&part) {
            tracing::error!(file = %part.display(), error = %e, "compressing a closed score-log part failed; it stays uncompressed");
        }
        if let (Some((cap, metrics)), Some(dir)) = (cap, part.parent()) {
            enforce_total_cap(dir, cap, &metrics);
        }
    });
    spawned.map_err(|e| tracing::error!(error = %e, "cannot start the score-log compressor")).ok()
}

/// Deletes files past the retention; at start (`leftovers`) also closes and compresses the
/// files a previous run left (earlier days' open files, parts not yet compressed).
fn sweep(dir: &Path, today: Day, policy: &LogPolicy, leftovers: bool, metrics: &Arc<Metrics>) -> Vec<std::thread::JoinHandle<()>> {
    let mut compressors = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return compressors };
    let mut names: Vec<String> = entries.filter_map(|e| e.ok()).filter_map(|e| e.file_name().to_str().map(str::to_string)).collect();
    names.sort();
    for name in names {
        let Some(day) = log_file_day(&name) else { continue };
        let path = dir.join(&name);
        if policy.retention_days.is_some_and(|keep| today - day > keep as i32) {
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::info!(file = %name, "score-log file past retention deleted"),
                Err(e) => tracing::warn!(file = %name, error = %e, "cannot delete a score-log file past retention"),
            }
            continue;
        }
        if !leftovers || !name.ends_with(".jsonl") {
            continue;
        }
        let part = match log_file_part(&name) {
            Some(_) => Some(path),
            // An earlier day's open file: closed now.
            None if day < today => close_file(dir, &path, day).map_err(|e| tracing::warn!(file = %name, error = %e, "cannot close")).ok(),
            None => None,
        };
        if let Some(handle) = part.and_then(|part| compress_in_background(part, policy.max_total_bytes.map(|c| (c, Arc::clone(metrics))))) {
            compressors.push(handle);
        }
    }
    compressors
}

/// The handle requests use; dropping the last one (and calling [`ScoreLog::close`]) drains
/// and syncs the log.
pub struct ScoreLog {
    tx: std::sync::Mutex<Option<SyncSender<LogBatch>>>,
    writer: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
    pub dir: PathBuf,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl ScoreLog {
    /// Starts the writer for `dir` (created if needed).
    pub fn start(dir: &Path, economics_actions: Vec<String>, metrics: Arc<Metrics>, policy: LogPolicy) -> std::io::Result<ScoreLog> {
        std::fs::create_dir_all(dir)?;
        let compressors = sweep(dir, (now_ms() / 86_400_000) as Day, &policy, true, &metrics);
        if let Some(cap) = policy.max_total_bytes {
            enforce_total_cap(dir, cap, &metrics);
        }
        let (tx, rx) = sync_channel(QUEUE);
        let writer_dir = dir.to_path_buf();
        let writer = std::thread::Builder::new()
            .name("score-log".into())
            .spawn(move || write_loop(&writer_dir, rx, &economics_actions, &metrics, policy, compressors))?;
        Ok(ScoreLog { tx: std::sync::Mutex::new(Some(tx)), writer: std::sync::Mutex::new(Some(writer)), dir: dir.to_path_buf() })
    }

    /// Queues a batch; waits (off the async workers) only when the writer is behind.
    pub fn append(&self, batch: LogBatch) {
        let Some(tx) = self.tx.lock().expect("not poisoned").clone() else { return };
        match tx.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(batch)) => {
                let send = move || {
                    let _ = tx.send(batch);
                };
                if tokio::runtime::Handle::try_current().is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread) {
                    tokio::task::block_in_place(send);
                } else {
                    send();
                }
            }
            Err(TrySendError::Disconnected(_)) => tracing::error!("score log writer is gone; scores are not being logged"),
        }
    }

    /// Stops accepting batches, writes everything queued, fsyncs and waits for the writer.
    pub fn close(&self) {
        self.tx.lock().expect("not poisoned").take();
        if let Some(writer) = self.writer.lock().expect("not poisoned").take() {
            let _ = writer.join();
        }
    }
}

struct DayFile {
    day: Day,
    out: BufWriter<File>,
    /// Bytes in the file (for size-based rotation).
    bytes: u64,
}

/// Opens `day`'s file for appending. A file that does not end in a newline was torn by a crash
/// mid-write: its last line is closed off with a newline first (kept for the record; readers
/// skip it as malformed), so the next score starts a line of its own instead of merging into
/// the torn one. Returns whether it repaired.
fn open_day(dir: &Path, day: Day) -> std::io::Result<(DayFile, bool)> {
    use std::io::{Read, Seek, SeekFrom};
    let path = dir.join(file_name(day));
    let new = !path.exists();
    let mut file = OpenOptions::new().create(true).read(true).append(true).open(&path)?;
    if new {
        // The new day's file is an entry of the directory: make it durable.
        lapse_core::io_util::sync_dir(dir)?;
    }
    let len = file.metadata()?.len();
    let mut torn = false;
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            file.write_all(b"\n")?;
            file.sync_data()?;
            torn = true;
        }
    }
    let bytes = file.metadata()?.len();
    Ok((DayFile { day, out: BufWriter::with_capacity(1 << 20, file), bytes }, torn))
}

/// The writer's state: the open day file and what it has not flushed or synced yet.
struct Writer<'a> {
    dir: &'a Path,
    policy: LogPolicy,
    /// Compressions under way (joined before the writer exits).
    compressors: Vec<std::thread::JoinHandle<()>>,
    actions: &'a [String],
    metrics: &'a Arc<Metrics>,
    current: Option<DayFile>,
    line: Vec<u8>,
    dirty: bool,
    last_flush: Instant,
    last_sync: Instant,
}

impl Writer<'_> {
    /// Appends a batch's lines to its day's file (opened, and the previous day's closed, when
    /// the day changes).
    fn write(&mut self, batch: LogBatch) {
        let day = (batch.time_ms / 86_400_000) as Day;
        if self.current.as_ref().is_none_or(|f| f.day != day) {
            if let Some(old) = self.current.take() {
                self.close(old);
                self.compressors.extend(sweep(self.dir, day, &self.policy, false, self.metrics));
            }
            match open_day(self.dir, day) {
                Ok((file, torn)) => {
                    if torn {
                        self.metrics.score_log_repaired();
                        tracing::warn!(file = %self.dir.join(file_name(day)).display(), "the score log's last line was torn (a crash mid-write): closed it off; readers skip it");
                    }
                    self.current = Some(file);
                }
                Err(e) => {
                    self.metrics.score_log_error();
                    tracing::error!(dir = %self.dir.display(), error = %e, "cannot open the score log; scores of this batch are not logged");
                    return;
                }
            }
        }
        let file = self.current.as_mut().expect("opened above");
        let time = timestamp(batch.time_ms);
        let rows = batch.rows.rows();
        self.line.clear();
        for (i, &(r, rank)) in batch.picks.iter().enumerate() {
            let x = &rows.renewals[r as usize];
            let (action, gain) = batch.assigned.as_ref().map_or((x.action, x.gain), |assigned| assigned[i]);
            let action = self.actions.get(usize::from(action)).map_or("none", String::as_str);
            ScoreLine {
                time: time.as_str().into(),
                request_id: batch.request_id.as_str().into(),
                endpoint: batch.endpoint.into(),
                model_version: batch.model_version.as_str().into(),
                policy_id: (*rows.policy_id[r as usize]).into(),
                installment_no: x.installment_no,
                due_date: x.due,
                probability: x.probability,
                value: x.value,
                action: action.into(),
                expected_gain: gain,
                rank,
                campaign: batch.campaign.as_ref().map(|(name, _)| (**name).into()),
                arm: batch.campaign.as_ref().map(|(_, arms)| arms[i].as_str().into()),
            }
            .write_jsonl(&mut self.line);
        }
        if let Err(e) = file.out.write_all(&self.line) {
            self.metrics.score_log_error();
            tracing::error!(error = %e, "score log write failed; the scores of this response are not logged");
        }
        file.bytes += self.line.len() as u64;
        self.dirty = true;
        if file.bytes >= self.policy.max_file_bytes
            && let Some(full) = self.current.take()
        {
            self.close(full);
        }
    }

    /// Flushes, syncs and closes a file, then compresses it in the background.
    fn close(&mut self, mut file: DayFile) {
        if let Err(e) = file.out.flush().and_then(|()| file.out.get_ref().sync_data()) {
            self.metrics.score_log_error();
            tracing::error!(error = %e, "score log flush failed while closing a file");
        }
        self.dirty = false;
        let path = self.dir.join(file_name(file.day));
        drop(file.out);
        self.compressors.retain(|c| !c.is_finished());
        match close_file(self.dir, &path, file.day) {
            Ok(part) => self.compressors.extend(compress_in_background(part, self.policy.max_total_bytes.map(|c| (c, Arc::clone(self.metrics))))),
            Err(e) => {
                self.metrics.score_log_error();
                tracing::error!(file = %path.display(), error = %e, "cannot close a score-log file; it is appended to again");
            }
        }
    }

    /// Flushes every [`FLUSH_EVERY`] and syncs every [`SYNC_EVERY`] (both at once when closing).
    fn settle(&mut self, closing: bool) {
        let Some(file) = self.current.as_mut() else { return };
        if !(self.dirty && (closing || self.last_flush.elapsed() >= FLUSH_EVERY)) {
            return;
        }
        if let Err(e) = file.out.flush() {
            self.metrics.score_log_error();
            tracing::error!(error = %e, "score log flush failed");
        }
        self.last_flush = Instant::now();
        if closing || self.last_sync.elapsed() >= SYNC_EVERY {
            if let Err(e) = file.out.get_ref().sync_data() {
                self.metrics.score_log_error();
                tracing::error!(error = %e, "score log fsync failed");
            }
            self.last_sync = Instant::now();
            self.dirty = false;
        }
    }
}

fn write_loop(
    dir: &Path,
    rx: Receiver<LogBatch>,
    actions: &[String],
    metrics: &Arc<Metrics>,
    policy: LogPolicy,
    compressors: Vec<std::thread::JoinHandle<()>>,
) {
    let now = Instant::now();
    let mut writer = Writer {
        dir,
        policy,
        compressors,
        actions,
        metrics,
        current: None,
        line: Vec::with_capacity(512),
        dirty: false,
        last_flush: now,
        last_sync: now,
    };
    loop {
        let received = rx.recv_timeout(FLUSH_EVERY);
        let mut closing = matches!(received, Err(RecvTimeoutError::Disconnected));
        let wrote = received.is_ok();
        if let Ok(batch) = received {
            writer.write(batch);
            // Whatever else has arrived, without waiting.
            loop {
                match rx.try_recv() {
                    Ok(batch) => writer.write(batch),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        closing = true;
                        break;
                    }
                }
            }
        }
        writer.settle(closing);
        if closing {
            for compressor in writer.compressors.drain(..) {
                let _ = compressor.join();
            }
            return;
        }
        if wrote {
            // Let the next batches gather: a writer that waits on the channel is woken by every
            // response (a thread wake-up each request pays); one that naps is not. The queue
            // holds thousands of batches, far more than arrive in a nap.
            std::thread::sleep(GATHER);
        }
    }
}
