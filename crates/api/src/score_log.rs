//! The score log: every score served, appended as JSON lines to daily files
//! (`<dir>/scores-YYYY-MM-DD.jsonl`, UTC days), so analysts can join scores with outcomes.
//!
//! Requests hand batches to one writer thread over a bounded channel (a full channel makes
//! requests wait: scores are never dropped to keep latency). The writer appends through a
//! buffer, flushes to the OS at least every 100 ms and fsyncs at least every second and at
//! shutdown. What a crash can lose: on a process crash, the batches not yet flushed (at most
//! ~100 ms of scores); on a power loss, at most ~1 s. A torn last line from a crash mid-write
//! is possible; readers skip a last line that does not parse.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use super::scorebook::Scorebook;
use super::telemetry::Metrics;
use lapse_core::dates::Day;
use lapse_model::score_log::{ScoreLine, file_name, timestamp};
use lapse_model::scoring::ScoredRows;

const FLUSH_EVERY: Duration = Duration::from_millis(100);
const SYNC_EVERY: Duration = Duration::from_secs(1);
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
    pub fn start(dir: &Path, economics_actions: Vec<String>, metrics: Arc<Metrics>) -> std::io::Result<ScoreLog> {
        std::fs::create_dir_all(dir)?;
        let (tx, rx) = sync_channel(QUEUE);
        let writer_dir = dir.to_path_buf();
        let writer = std::thread::Builder::new().name("score-log".into()).spawn(move || write_loop(&writer_dir, rx, &economics_actions, &metrics))?;
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
}

fn open_day(dir: &Path, day: Day) -> std::io::Result<DayFile> {
    let file = OpenOptions::new().create(true).append(true).open(dir.join(file_name(day)))?;
    Ok(DayFile { day, out: BufWriter::with_capacity(1 << 20, file) })
}

fn write_loop(dir: &Path, rx: Receiver<LogBatch>, actions: &[String], metrics: &Metrics) {
    let mut current: Option<DayFile> = None;
    let mut last_flush = Instant::now();
    let mut last_sync = Instant::now();
    let mut dirty = false;
    let mut line = Vec::with_capacity(512);
    loop {
        let received = rx.recv_timeout(FLUSH_EVERY);
        let closing = matches!(received, Err(RecvTimeoutError::Disconnected));
        if let Ok(batch) = received {
            let day = (batch.time_ms / 86_400_000) as Day;
            if current.as_ref().is_none_or(|f| f.day != day) {
                if let Some(mut old) = current.take() {
                    let _ = old.out.flush().and_then(|()| old.out.get_ref().sync_data());
                }
                match open_day(dir, day) {
                    Ok(file) => current = Some(file),
                    Err(e) => {
                        metrics.score_log_error();
                        tracing::error!(dir = %dir.display(), error = %e, "cannot open the score log; scores of this batch are not logged");
                        continue;
                    }
                }
            }
            let file = current.as_mut().expect("opened above");
            let time = timestamp(batch.time_ms);
            let rows = batch.rows.rows();
            line.clear();
            for &(r, rank) in &batch.picks {
                let x = &rows.renewals[r as usize];
                let action = actions.get(usize::from(x.action)).map_or("none", String::as_str);
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
                    expected_gain: x.gain,
                    rank,
                }
                .write_jsonl(&mut line);
            }
            if let Err(e) = file.out.write_all(&line) {
                metrics.score_log_error();
                tracing::error!(error = %e, "score log write failed; the scores of this response are not logged");
            }
            dirty = true;
        }
        if let Some(file) = current.as_mut()
            && dirty
            && (closing || last_flush.elapsed() >= FLUSH_EVERY)
        {
            if let Err(e) = file.out.flush() {
                metrics.score_log_error();
                tracing::error!(error = %e, "score log flush failed");
            }
            last_flush = Instant::now();
            if closing || last_sync.elapsed() >= SYNC_EVERY {
                if let Err(e) = file.out.get_ref().sync_data() {
                    metrics.score_log_error();
                    tracing::error!(error = %e, "score log fsync failed");
                }
                last_sync = Instant::now();
                dirty = false;
            }
        }
        if closing {
            return;
        }
    }
}
