//! `vault audit verify`: the chain checked across the rotated files and the current
//! one, and against the entry the vault recorded at its last write.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::chain::{self, AuditKey};
use super::entry::Event;
use super::file;
use crate::vault::model::LogHead;

/// What a log that verifies holds.
#[derive(Debug, PartialEq)]
pub struct Verified {
    pub files: usize,
    pub entries: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Unsealed entries after the last sealed one: no MAC covers them yet.
    pub unsealed_at_end: usize,
}

/// Where the chain breaks: the first entry, by sequence number, that is not as
/// written.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum Broken {
    #[error("entry {0} was changed (or an unsealed entry just before it was)")]
    Changed(u64),
    #[error("entry {0} is missing or out of order (removed, moved, or the log was cut there)")]
    Missing(u64),
    #[error("line {line} of {} is not an entry of this log", .file.display())]
    NotAnEntry { file: PathBuf, line: usize },
    #[error(
        "the log ends at entry {last} but the vault recorded entry {recorded} at its last write: entries were cut off, or the log was replaced"
    )]
    CutOff { recorded: u64, last: u64 },
    #[error(
        "entry {0} is not the one the vault recorded at its last write (the log was cut and written again, or replaced)"
    )]
    NotRecorded(u64),
    #[error(
        "entry {0} has no MAC, yet says a credential left or the vault changed: spvault writes only failures and session events unsealed, so someone without the key added it"
    )]
    Forged(u64),
    #[error(
        "the entries up to {0} are missing: a rotated file was deleted before its keeping time ({1} days)"
    )]
    FilesMissing(u64, u32),
}

impl Broken {
    /// The first entry, by sequence number, that is not as written, where one is named.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Broken::Changed(seq)
            | Broken::Missing(seq)
            | Broken::NotRecorded(seq)
            | Broken::Forged(seq)
            | Broken::FilesMissing(seq, _) => Some(*seq),
            Broken::CutOff { last, .. } => Some(last + 1),
            Broken::NotAnEntry { .. } => None,
        }
    }
}

#[derive(serde::Deserialize)]
struct Line {
    seq: u64,
    time: Option<jiff::Timestamp>,
    event: Option<Event>,
    subject: Option<String>,
    outcome: Option<String>,
}

impl Line {
    /// What spvault writes without the key: a failure (the key may be what failed),
    /// and the events of processes that hold none.
    fn may_be_unsealed(&self) -> bool {
        self.outcome.as_deref() != Some("ok")
            || matches!(
                self.event,
                Some(
                    Event::PassphraseFailed
                        | Event::Lock
                        | Event::AgentStarted
                        | Event::AgentStopped
                        | Event::Migrate
                )
            )
    }
}

/// Checks every file of the log at `path` with `key`; `head` is what the vault
/// recorded at its last write, `keep_days` how long rotated files must stay.
pub fn verify(
    path: &Path,
    key: &AuditKey,
    head: Option<&LogHead>,
    keep_days: u32,
) -> std::io::Result<Result<Verified, Broken>> {
    let mut files = file::rotated_files(path)?;
    if path.exists() {
        files.push(path.to_path_buf());
    }
    let mut verified = Verified {
        files: files.len(),
        entries: 0,
        first_seq: None,
        last_seq: None,
        unsealed_at_end: 0,
    };
    let mut previous = String::new();
    let mut pending: Vec<String> = Vec::new();
    // Before the vault had its key every entry was unsealed; after, only some are.
    let mut keyed = false;
    let keep = jiff::SignedDuration::from_hours(i64::from(keep_days) * 24);
    let prunable_before = jiff::Timestamp::now().checked_sub(keep).ok();
    for file_path in &files {
        let reader = std::io::BufReader::new(super::file::open_for_reading(file_path)?);
        for (number, line) in reader.lines().enumerate() {
            let line = line?;
            if line.is_empty() {
                continue;
            }
            let not_an_entry = || Broken::NotAnEntry {
                file: file_path.clone(),
                line: number + 1,
            };
            let Ok(parsed) = serde_json::from_str::<Line>(&line) else {
                return Ok(Err(not_an_entry()));
            };
            let sealed = chain::split_sealed(&line);
            match verified.last_seq {
                None => {
                    // Older files may have been pruned: a file begun by a rotation
                    // names the entry it follows, inside its own MAC.
                    let follows = (parsed.event == Some(Event::LogRotated))
                        .then(|| parsed.subject.as_deref().and_then(rotated_after))
                        .flatten();
                    match follows {
                        Some((seq, mac)) if seq.checked_add(1) == Some(parsed.seq) => {
                            // Pruning deletes only files past the keeping time.
                            let rotated_at = parsed.time.unwrap_or(jiff::Timestamp::MIN);
                            if prunable_before.is_some_and(|before| rotated_at > before) {
                                return Ok(Err(Broken::FilesMissing(seq, keep_days)));
                            }
                            previous = mac;
                            keyed = true;
                        }
                        _ if parsed.seq == 1 => {}
                        _ => return Ok(Err(Broken::Missing(1))),
                    }
                    verified.first_seq = Some(parsed.seq);
                }
                Some(last) if Some(parsed.seq) != last.checked_add(1) => {
                    return Ok(Err(Broken::Missing(last.saturating_add(1))));
                }
                Some(_) => {}
            }
            match sealed {
                Some((json, mac)) => {
                    if !key.verify(mac, &previous, &pending, &json) {
                        return Ok(Err(Broken::Changed(parsed.seq)));
                    }
                    if let Some(head) = head
                        && head.seq == parsed.seq
                        && head.mac != mac
                    {
                        return Ok(Err(Broken::NotRecorded(parsed.seq)));
                    }
                    previous = mac.to_owned();
                    pending.clear();
                    keyed = true;
                }
                None if keyed && !parsed.may_be_unsealed() => {
                    return Ok(Err(Broken::Forged(parsed.seq)));
                }
                None => pending.push(line.clone()),
            }
            verified.last_seq = Some(parsed.seq);
            verified.entries += 1;
        }
    }
    verified.unsealed_at_end = pending.len();
    if let Some(head) = head {
        let last = verified.last_seq.unwrap_or(0);
        if head.seq > last {
            return Ok(Err(Broken::CutOff {
                recorded: head.seq,
                last,
            }));
        }
    }
    Ok(Ok(verified))
}

/// The subject of a `log_rotated` entry: "SEQ MAC" of the entry it follows.
pub fn rotated_subject(seq: u64, mac: &str) -> String {
    format!("{seq} {mac}")
}

fn rotated_after(subject: &str) -> Option<(u64, String)> {
    let (seq, mac) = subject.split_once(' ')?;
    Some((seq.parse().ok()?, mac.to_owned()))
}
