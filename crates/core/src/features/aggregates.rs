//! What a snapshot needs from the whole book beyond one customer's policies: each agent's lapse
//! record, and the book's, over the renewals whose grace ended in the 12 months before T.
//!
//! Everything else a renewal's features read belongs to its customer (the policy, its
//! installments and events, the household's other policies) or is small and shared (the agents
//! table). So a book split by customer (shards on one machine, partitions on Spark) gives the
//! same rows as the whole book when every part is handed these aggregates, computed once over
//! the whole book (or summed over the parts: they are counts). The file is CSV,
//! `as_of,agent_id,renewals,lapses`, one row per agent with a record and one book row per date
//! (`agent_id` empty); `spark/lapse_features.py` writes the same file from a Spark stage.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::dates::{Day, format_day, parse_day};
use crate::extract::Book;

/// Lapse record of an agent's (or a policy's) renewals whose grace ended in the 12 months
/// before T.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentRecord {
    pub renewals: u32,
    pub lapses: u32,
}

/// The book-wide records of one snapshot date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DateAggregates {
    /// Agent id -> its renewals and lapses in the 12 months before T.
    pub agents: HashMap<String, AgentRecord>,
    /// Every renewal of the book (with or without an agent) in those 12 months, and its lapses.
    pub renewals: u64,
    pub lapses: u64,
}

/// The records of every snapshot date of a build.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BookAggregates {
    pub dates: BTreeMap<Day, DateAggregates>,
}

/// The lapse record of one policy over the renewals whose grace ended in [T - 365, T): the rule
/// the snapshot builder uses (renewals only, lapsed when unpaid or paid after grace).
pub fn policy_record(book: &Book, policy: usize, as_of: Day, grace_days: i32) -> AgentRecord {
    let inst = &book.installments;
    let range = inst.of_policy(policy);
    let due = &inst.due[range.clone()];
    let lo = range.start + due.partition_point(|&d| d + grace_days < as_of - 365);
    let hi = range.start + due.partition_point(|&d| d + grace_days < as_of);
    let mut record = AgentRecord::default();
    for i in lo..hi {
        if inst.number[i] >= 2 {
            record.renewals += 1;
            if inst.paid[i].is_none_or(|paid| paid > inst.due[i] + grace_days) {
                record.lapses += 1;
            }
        }
    }
    record
}

impl BookAggregates {
    /// The records of `book` at each of `dates`.
    pub fn compute(book: &Book, dates: &[Day], grace_days: i32) -> Self {
        use rayon::prelude::*;
        let dates = dates
            .par_iter()
            .map(|&t| {
                let mut out = DateAggregates::default();
                let mut by_agent = vec![AgentRecord::default(); book.agents.id.len()];
                for p in 0..book.policies.len() {
                    let record = policy_record(book, p, t, grace_days);
                    out.renewals += u64::from(record.renewals);
                    out.lapses += u64::from(record.lapses);
                    if let Some(a) = book.policies.agent[p] {
                        by_agent[a as usize].renewals += record.renewals;
                        by_agent[a as usize].lapses += record.lapses;
                    }
                }
                for (a, record) in by_agent.into_iter().enumerate() {
                    if record.renewals > 0 {
                        out.agents.insert(book.agents.id[a].clone(), record);
                    }
                }
                (t, out)
            })
            .collect();
        BookAggregates { dates }
    }

    /// Adds another part's records (the parts of a book split by customer).
    pub fn add(&mut self, other: &BookAggregates) {
        for (t, theirs) in &other.dates {
            let ours = self.dates.entry(*t).or_default();
            ours.renewals += theirs.renewals;
            ours.lapses += theirs.lapses;
            for (agent, record) in &theirs.agents {
                let a = ours.agents.entry(agent.clone()).or_default();
                a.renewals += record.renewals;
                a.lapses += record.lapses;
            }
        }
    }

    /// Writes the CSV file (agents sorted by id, so the same book gives the same bytes).
    pub fn write(&self, path: &Path) -> Result<(), crate::io_util::IoContext> {
        crate::io_util::atomic_write(path, |out| {
            writeln!(out, "as_of,agent_id,renewals,lapses")?;
            for (t, date) in &self.dates {
                let day = format_day(*t);
                writeln!(out, "{day},,{},{}", date.renewals, date.lapses)?;
                let mut agents: Vec<(&String, &AgentRecord)> = date.agents.iter().collect();
                agents.sort_by(|a, b| a.0.cmp(b.0));
                for (agent, record) in agents {
                    writeln!(out, "{day},{},{},{}", crate::extract::csv_field(agent), record.renewals, record.lapses)?;
                }
            }
            Ok(())
        })
    }

    /// Reads a file written by [`BookAggregates::write`] (or by the Spark job); an error names
    /// the line and the field.
    pub fn read(path: &Path) -> Result<Self, crate::error::InvalidInput> {
        Self::read_text(path).map_err(crate::error::InvalidInput)
    }

    fn read_text(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().trim().trim_start_matches('\u{feff}');
        if header != "as_of,agent_id,renewals,lapses" {
            return Err(format!("{}: the header is {header:?}, expected as_of,agent_id,renewals,lapses", path.display()));
        }
        let mut out = BookAggregates::default();
        for (n, line) in lines.enumerate() {
            let at = |what: &str| format!("{}, line {}: {what}", path.display(), n + 2);
            if line.trim().is_empty() {
                continue;
            }
            // An odd number of quotes cannot close: the record is cut or mistyped.
            if line.matches('"').count() % 2 == 1 {
                return Err(at("unbalanced quotes"));
            }
            let fields = crate::extract::read::csv_fields(line);
            let [as_of, agent, renewals, lapses] = fields.as_slice() else {
                return Err(at(&format!("{} fields, expected 4", fields.len())));
            };
            let t = parse_day(as_of).ok_or_else(|| at(&format!("as_of {as_of:?} is not a date")))?;
            let count = |name: &str, v: &str| v.trim().parse::<u64>().map_err(|_| at(&format!("{name} {v:?} is not a count")));
            let (renewals, lapses) = (count("renewals", renewals)?, count("lapses", lapses)?);
            if lapses > renewals {
                return Err(at("more lapses than renewals"));
            }
            let date = out.dates.entry(t).or_default();
            if agent.is_empty() {
                date.renewals += renewals;
                date.lapses += lapses;
            } else {
                let too_big = || at("a count above 4294967295");
                let a = date.agents.entry(agent.clone()).or_default();
                a.renewals = a.renewals.checked_add(u32::try_from(renewals).map_err(|_| too_big())?).ok_or_else(too_big)?;
                a.lapses = a.lapses.checked_add(u32::try_from(lapses).map_err(|_| too_big())?).ok_or_else(too_big)?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::day;

    #[test]
    fn the_file_round_trips_and_bad_lines_are_named() {
        let mut a = BookAggregates::default();
        let date = a.dates.entry(day("2026-06-30")).or_default();
        (date.renewals, date.lapses) = (10, 3);
        date.agents.insert("A,1 \"x\"".into(), AgentRecord { renewals: 4, lapses: 1 });
        date.agents.insert("A2".into(), AgentRecord { renewals: 6, lapses: 2 });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agg.csv");
        a.write(&path).unwrap();
        assert_eq!(BookAggregates::read(&path).unwrap(), a);
        // Summing two parts doubles every count.
        let mut twice = a.clone();
        twice.add(&a);
        assert_eq!(twice.dates[&day("2026-06-30")].agents["A2"], AgentRecord { renewals: 12, lapses: 4 });
        for (text, says) in [
            ("as_of,agent,renewals,lapses\n", "the header"),
            ("as_of,agent_id,renewals,lapses\n2026-02-30,,1,0\n", "line 2: as_of"),
            ("as_of,agent_id,renewals,lapses\n2026-06-30,A1,1,2\n", "line 2: more lapses"),
            ("as_of,agent_id,renewals,lapses\n2026-06-30,A1,x,0\n", "line 2: renewals \"x\""),
            ("as_of,agent_id,renewals,lapses\n2026-06-30,\"A1,1,0\n", "line 2: unbalanced"),
        ] {
            std::fs::write(&path, text).unwrap();
            let error = BookAggregates::read(&path).unwrap_err();
            assert!(error.contains(says) && error.contains("agg.csv"), "{error}");
        }
    }
}
