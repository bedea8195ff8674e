//! The compact record of an extract that the next audit compares against: not a copy of the
//! book (no names, dates of birth, methods or events' contents), only keys, the four
//! installment fields the checks compare, and a hash per event.
//!
//! On disk: `LAPSEFP2`, a JSON header line (extract date, source, row counts), then the
//! policies, the installments column by column and the event hashes, as little-endian arrays of
//! differences (sorted keys against the one before; a schedule's dates and amounts against the
//! row before; a payment against its row's due date and amount), the whole zstd-compressed;
//! written to a temporary file and renamed, so a crash never leaves half a fingerprint.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dates::Day;
use crate::io_util::IoContext;

const MAGIC: &[u8; 8] = b"LAPSEFP2";

/// One installment as the checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InstallmentPrint {
    pub policy: u64,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub number: u32,
    pub due: i32,
    pub paid: i32,
}

impl InstallmentPrint {
    pub fn key(&self) -> (u64, u32) {
        (self.policy, self.number)
    }
}

/// What the header of a fingerprint says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FingerprintHeader {
    /// The extract's date (the latest date it records, or the one given).
    pub extract_date: Option<String>,
    /// Where the extract was read from.
    pub source: String,
    pub policies: usize,
    pub installments: usize,
    pub events: usize,
}

/// The previous extract, as the audit compares against it.
#[derive(Debug, Clone, Default)]
pub struct Fingerprint {
    pub extract_date: Option<Day>,
    pub source: String,
    /// Policy keys, sorted, with the index of each one's id in `ids`.
    pub(crate) policies: Vec<(u64, u32)>,
    /// Policy ids (for the examples), one after the other; `id_ends[i]` ends the i-th.
    pub(crate) ids: String,
    pub(crate) id_ends: Vec<u64>,
    /// Installments sorted by (policy key, installment_no).
    pub(crate) installments: Vec<InstallmentPrint>,
    /// Event hashes, sorted (repeats kept: two identical events are two events).
    pub(crate) events: Vec<u64>,
}

/// A fingerprint file that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error(transparent)]
    Io(#[from] IoContext),
    #[error("{}: not a lapse extract fingerprint ({reason})", path.display())]
    Invalid { path: PathBuf, reason: String },
}

impl Fingerprint {
    /// The i-th policy id kept.
    pub(crate) fn id(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.id_ends[i - 1] as usize };
        &self.ids[start..self.id_ends[i] as usize]
    }

    /// The id of the policy with key `key`, when it is in the policies table.
    pub(crate) fn policy_id(&self, key: u64) -> Option<&str> {
        let at = self.policies.binary_search_by_key(&key, |p| p.0).ok()?;
        Some(self.id(self.policies[at].1))
    }

    /// Rows per table.
    pub fn header(&self) -> FingerprintHeader {
        FingerprintHeader {
            extract_date: self.extract_date.map(crate::dates::format_day),
            source: self.source.clone(),
            policies: self.policies.len(),
            installments: self.installments.len(),
            events: self.events.len(),
        }
    }

    /// Sorts what was gathered in reading order (ids stay where they are: see
    /// [`FingerprintBuilder::finish`]).
    fn seal(&mut self) {
        self.policies.sort_unstable_by_key(|p| p.0);
        self.installments.sort_unstable_by_key(|i| i.key());
        self.events.sort_unstable();
    }

    /// Writes the fingerprint to `path` (through a temporary file and a rename).
    pub fn write(&self, path: &Path) -> Result<(), FingerprintError> {
        let tmp = path.with_extension("fp.tmp");
        let io = |e: std::io::Error| FingerprintError::from(IoContext::new("writing", &tmp, e));
        {
            let file = std::fs::File::create(&tmp).map_err(io)?;
            let mut z = zstd::Encoder::new(BufWriter::with_capacity(1 << 20, file), 3).map_err(io)?;
            z.write_all(MAGIC).map_err(io)?;
            let header = serde_json::to_string(&self.header()).expect("plain fields serialize");
            z.write_all(header.as_bytes()).map_err(io)?;
            z.write_all(b"\n").map_err(io)?;
            write_u64(&mut z, self.ids.len() as u64).map_err(io)?;
            z.write_all(self.ids.as_bytes()).map_err(io)?;
            // Sealed: the i-th policy's id is the i-th in `ids`. Keys and id ends ascend: their
            // differences are written (small, and zstd packs them).
            let n = self.policies.len();
            write_u64(&mut z, n as u64).map_err(io)?;
            column(&mut z, n, |i| self.policies[i].0.wrapping_sub(if i == 0 { 0 } else { self.policies[i - 1].0 }).to_le_bytes()).map_err(io)?;
            column(&mut z, n, |i| (self.id_ends[i] - if i == 0 { 0 } else { self.id_ends[i - 1] }).to_le_bytes()).map_err(io)?;
            // Installments column by column, each value against its neighbour or its row: the
            // policy key against the row before (0 within a policy), the due date and amount
            // against the row before within a policy, the payment against the row's due date and
            // amount. A book's schedule is regular, so the columns are mostly small repeats.
            let rows = &self.installments;
            let n = rows.len();
            write_u64(&mut z, n as u64).map_err(io)?;
            let same = |i: usize| i > 0 && rows[i - 1].policy == rows[i].policy;
            column(&mut z, n, |i| rows[i].policy.wrapping_sub(if i == 0 { 0 } else { rows[i - 1].policy }).to_le_bytes()).map_err(io)?;
            column(&mut z, n, |i| rows[i].number.to_le_bytes()).map_err(io)?;
            column(&mut z, n, |i| rows[i].due.wrapping_sub(if same(i) { rows[i - 1].due } else { 0 }).to_le_bytes()).map_err(io)?;
            column(&mut z, n, |i| rows[i].paid.wrapping_sub(rows[i].due).to_le_bytes()).map_err(io)?;
            column(&mut z, n, |i| rows[i].amount_due.wrapping_sub(if same(i) { rows[i - 1].amount_due } else { 0 }).to_le_bytes()).map_err(io)?;
            column(&mut z, n, |i| rows[i].amount_paid.wrapping_sub(rows[i].amount_due).to_le_bytes()).map_err(io)?;
            let n = self.events.len();
            write_u64(&mut z, n as u64).map_err(io)?;
            column(&mut z, n, |i| self.events[i].wrapping_sub(if i == 0 { 0 } else { self.events[i - 1] }).to_le_bytes()).map_err(io)?;
            let mut inner = z.finish().map_err(io)?;
            inner.flush().map_err(io)?;
            inner.get_ref().sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(|e| IoContext::new("renaming", path, e))?;
        if let Some(dir) = path.parent() {
            crate::io_util::sync_dir(dir).map_err(|e| IoContext::new("syncing", dir, e))?;
        }
        Ok(())
    }

    /// Reads a fingerprint written by [`Fingerprint::write`].
    pub fn read(path: &Path) -> Result<Fingerprint, FingerprintError> {
        let io = |e: std::io::Error| FingerprintError::from(IoContext::new("reading", path, e));
        let invalid = |reason: &str| FingerprintError::Invalid { path: path.to_path_buf(), reason: reason.to_string() };
        let file = std::fs::File::open(path).map_err(|e| IoContext::new("opening", path, e))?;
        let mut z = BufReader::with_capacity(1 << 20, zstd::Decoder::new(file).map_err(|_| invalid("not zstd"))?);
        let mut magic = [0u8; 8];
        z.read_exact(&mut magic).map_err(|_| invalid("too short"))?;
        if &magic != MAGIC {
            return Err(invalid("wrong magic"));
        }
        let mut line = Vec::new();
        std::io::BufRead::read_until(&mut z, b'\n', &mut line).map_err(io)?;
        let header: FingerprintHeader = serde_json::from_slice(&line).map_err(|e| invalid(&format!("header: {e}")))?;
        let truncated = |_| invalid("truncated");
        let ids_len = read_u64(&mut z).map_err(truncated)? as usize;
        if ids_len > 1 << 40 {
            return Err(invalid("an impossible length"));
        }
        let mut ids = vec![0u8; ids_len];
        z.read_exact(&mut ids).map_err(truncated)?;
        let ids = String::from_utf8(ids).map_err(|_| invalid("ids are not UTF-8"))?;
        let n = read_u64(&mut z).map_err(truncated)? as usize;
        let mut keys = Vec::with_capacity(n.min(1 << 32));
        let mut key = 0u64;
        read_column(&mut z, n, |b: [u8; 8]| {
            key = key.wrapping_add(u64::from_le_bytes(b));
            keys.push(key);
        })
        .map_err(truncated)?;
        let mut id_ends = Vec::with_capacity(n.min(1 << 32));
        let mut end = 0u64;
        read_column(&mut z, n, |b: [u8; 8]| {
            end = end.wrapping_add(u64::from_le_bytes(b));
            id_ends.push(end);
        })
        .map_err(truncated)?;
        if id_ends.iter().any(|&e| e as usize > ids.len() || !ids.is_char_boundary(e as usize)) || !id_ends.windows(2).all(|w| w[0] <= w[1]) {
            return Err(invalid("an id past the end"));
        }
        let policies: Vec<(u64, u32)> = keys.into_iter().enumerate().map(|(i, k)| (k, i as u32)).collect();
        let n = read_u64(&mut z).map_err(truncated)? as usize;
        let blank = InstallmentPrint { policy: 0, amount_due: 0, amount_paid: 0, number: 0, due: 0, paid: 0 };
        let mut installments = vec![blank; n.min(1 << 34)];
        if installments.len() != n {
            return Err(invalid("an impossible row count"));
        }
        let mut i = 0;
        let mut policy = 0u64;
        read_column(&mut z, n, |b: [u8; 8]| {
            policy = policy.wrapping_add(u64::from_le_bytes(b));
            installments[i].policy = policy;
            i += 1;
        })
        .map_err(truncated)?;
        let same = |rows: &[InstallmentPrint], i: usize| i > 0 && rows[i - 1].policy == rows[i].policy;
        i = 0;
        read_column(&mut z, n, |b: [u8; 4]| {
            installments[i].number = u32::from_le_bytes(b);
            i += 1;
        })
        .map_err(truncated)?;
        i = 0;
        read_column(&mut z, n, |b: [u8; 4]| {
            let base = if same(&installments, i) { installments[i - 1].due } else { 0 };
            installments[i].due = base.wrapping_add(i32::from_le_bytes(b));
            i += 1;
        })
        .map_err(truncated)?;
        i = 0;
        read_column(&mut z, n, |b: [u8; 4]| {
            installments[i].paid = installments[i].due.wrapping_add(i32::from_le_bytes(b));
            i += 1;
        })
        .map_err(truncated)?;
        i = 0;
        read_column(&mut z, n, |b: [u8; 8]| {
            let base = if same(&installments, i) { installments[i - 1].amount_due } else { 0 };
            installments[i].amount_due = base.wrapping_add(i64::from_le_bytes(b));
            i += 1;
        })
        .map_err(truncated)?;
        i = 0;
        read_column(&mut z, n, |b: [u8; 8]| {
            installments[i].amount_paid = installments[i].amount_due.wrapping_add(i64::from_le_bytes(b));
            i += 1;
        })
        .map_err(truncated)?;
        let n = read_u64(&mut z).map_err(truncated)? as usize;
        let mut events = Vec::with_capacity(n.min(1 << 34));
        let mut hash = 0u64;
        read_column(&mut z, n, |b: [u8; 8]| {
            hash = hash.wrapping_add(u64::from_le_bytes(b));
            events.push(hash);
        })
        .map_err(truncated)?;
        let extract_date = match &header.extract_date {
            Some(d) => Some(crate::dates::parse_day(d).ok_or_else(|| invalid("bad extract date"))?),
            None => None,
        };
        let print = Fingerprint { extract_date, source: header.source, policies, ids, id_ends, installments, events };
        if !print.policies.windows(2).all(|w| w[0].0 <= w[1].0) || !print.installments.windows(2).all(|w| w[0].key() <= w[1].key()) {
            return Err(invalid("rows out of order"));
        }
        Ok(print)
    }
}

/// Writes `n` fixed-size values, `value(i)` each, in blocks.
fn column<const B: usize>(w: &mut impl Write, n: usize, value: impl Fn(usize) -> [u8; B]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(B * 8192);
    for start in (0..n).step_by(8192) {
        buf.clear();
        for i in start..(start + 8192).min(n) {
            buf.extend_from_slice(&value(i));
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Reads `n` fixed-size values written by [`column`], in order.
fn read_column<const B: usize>(r: &mut impl Read, n: usize, mut each: impl FnMut([u8; B])) -> std::io::Result<()> {
    let mut buf = vec![0u8; B * 8192];
    let mut left = n;
    while left > 0 {
        let k = left.min(8192);
        r.read_exact(&mut buf[..k * B])?;
        for chunk in buf[..k * B].chunks_exact(B) {
            each(chunk.try_into().expect("B bytes"));
        }
        left -= k;
    }
    Ok(())
}

fn write_u64(w: &mut impl Write, v: u64) -> std::io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Gathers a fingerprint row by row (any order); [`Fingerprint::seal`] sorts it.
#[derive(Debug, Default)]
pub(crate) struct FingerprintBuilder {
    pub print: Fingerprint,
}

impl FingerprintBuilder {
    /// Room for the rows the tables hold (hints: a vector doubling past a hundred million rows
    /// would briefly hold one and a half times its size).
    pub fn with_capacity(policies: usize, installments: usize, events: usize) -> Self {
        let mut b = FingerprintBuilder::default();
        b.print.policies.reserve_exact(policies);
        b.print.id_ends.reserve_exact(policies);
        b.print.ids.reserve(policies * 10);
        b.print.installments.reserve_exact(installments);
        b.print.events.reserve_exact(events);
        b
    }

    pub fn policy(&mut self, key: u64, id: &str) {
        let index = self.print.id_ends.len() as u32;
        self.print.ids.push_str(id.trim());
        self.print.id_ends.push(self.print.ids.len() as u64);
        self.print.policies.push((key, index));
    }

    pub fn installment(&mut self, row: InstallmentPrint) {
        self.print.installments.push(row);
    }

    pub fn event(&mut self, hash: u64) {
        self.print.events.push(hash);
    }

    /// The sorted fingerprint, ids stored in key order.
    pub fn finish(mut self, extract_date: Option<Day>, source: String) -> Fingerprint {
        self.print.extract_date = extract_date;
        self.print.source = source;
        self.print.seal();
        // Ids in key order, so the file needs no separate index.
        let mut ids = String::with_capacity(self.print.ids.len());
        let mut ends = Vec::with_capacity(self.print.policies.len());
        for p in self.print.policies.iter_mut() {
            let i = p.1 as usize;
            let start = if i == 0 { 0 } else { self.print.id_ends[i - 1] as usize };
            ids.push_str(&self.print.ids[start..self.print.id_ends[i] as usize]);
            ends.push(ids.len() as u64);
        }
        for (i, p) in self.print.policies.iter_mut().enumerate() {
            p.1 = i as u32;
        }
        self.print.ids = ids;
        self.print.id_ends = ends;
        self.print
    }
}
