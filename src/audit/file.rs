//! The log's files: `PATH` (the current one) and `PATH.1`, `PATH.2`, … (rotated,
//! oldest first). Appends happen under an exclusive lock on the current file, one
//! line per write; a file that grew past the limit is rotated after a sealed entry,
//! and rotated files whose newest entry is past the keeping time are pruned.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Deserialize;

/// How far back from its end a file is read at first (a few entries), then four
/// times as far until what is looked for is found.
const TAIL_CHUNK: u64 = 4 * 1024;

/// How far back a writer looks for the last sealed entry (the current file rotates
/// at 16 MiB), and for the last entry's number: past that, the tail is not an entry.
const MAX_TAIL: u64 = 32 * 1024 * 1024;
const MAX_LINE: u64 = 1024 * 1024;

/// Opens a log file to read: a regular file, never through a symbolic link, never a
/// device or a FIFO that could feed or block a reader forever.
pub fn open_for_reading(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

fn not_an_entry(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{what}: run `vault audit verify`"),
    )
}

/// The current file, open for appending and locked; released when dropped.
pub struct Locked {
    pub file: File,
    pub len: u64,
}

/// Opens (creating it 0600, never through a symbolic link) and locks the current
/// file. A writer that waited while another rotated it opens the new one.
pub fn open_locked(path: &Path) -> std::io::Result<Locked> {
    let open = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
    };
    loop {
        let mut file = match open() {
            // A log of its own folder (an OpenBao store's, in the data folder).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(folder)?;
                }
                open()?
            }
            opened => opened?,
        };
        file.lock()?;
        let opened = file.metadata()?;
        if !opened.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        match std::fs::symlink_metadata(path) {
            Ok(now) if now.ino() == opened.ino() && now.dev() == opened.dev() => {
                let len = opened.len();
                // A last line cut short (or added without its newline) stays a line
                // of its own: the next entry starts on a new one.
                let mut last = [0u8; 1];
                let ends_open = len > 0 && {
                    file.seek(SeekFrom::Start(len - 1))?;
                    file.read_exact(&mut last)?;
                    last[0] != b'\n'
                };
                if ends_open {
                    file.write_all(b"\n")?;
                }
                return Ok(Locked {
                    len: len + u64::from(ends_open),
                    file,
                });
            }
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
}

impl Locked {
    /// Appends `line` (and a newline) in one write; on failure (a full disk) cuts
    /// the file back to where it was, so no partial line is left.
    pub fn append(&mut self, line: &str) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        match self.file.write_all(&bytes).and_then(|()| self.file.flush()) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }
}

/// Where the chain stands: the last entry's sequence number, the last sealed one
/// (its sequence number and MAC), and the unsealed lines written after it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tail {
    pub last_seq: u64,
    pub sealed: Option<(u64, String)>,
    pub unsealed: Vec<String>,
    /// The newest entry's time.
    pub last_time: Option<Timestamp>,
}

/// What the writer reads of a line: not the whole entry.
#[derive(Deserialize)]
struct LineHead {
    seq: u64,
    time: Option<Timestamp>,
    #[serde(default)]
    mac: Option<String>,
}

/// The chain's tail as the files say: the current file's end, and the rotated
/// files' (newest first) when it holds no sealed entry.
pub fn tail(path: &Path, current: &mut File) -> std::io::Result<Tail> {
    let mut tail = tail_of(current)?;
    if tail.sealed.is_some() {
        return Ok(tail);
    }
    for rotated in rotated_files(path)?.iter().rev() {
        let mut file = open_for_reading(rotated)?;
        let older = tail_of(&mut file)?;
        tail.last_seq = tail.last_seq.max(older.last_seq);
        tail.last_time = tail.last_time.or(older.last_time);
        let mut unsealed = older.unsealed;
        unsealed.append(&mut tail.unsealed);
        tail.unsealed = unsealed;
        if older.sealed.is_some() {
            tail.sealed = older.sealed;
            break;
        }
    }
    Ok(tail)
}

/// The last entry's sequence number, from the current file's last line (or the
/// newest rotated file's, when the current one is empty); 0 for a new log.
pub fn last_seq(path: &Path, current: &mut File) -> std::io::Result<u64> {
    if let Some(seq) = last_line_seq(current)? {
        return Ok(seq);
    }
    match rotated_files(path)?.last() {
        Some(newest) => Ok(last_line_seq(&mut open_for_reading(newest)?)?.unwrap_or(0)),
        None => Ok(0),
    }
}

fn last_line_seq(file: &mut File) -> std::io::Result<Option<u64>> {
    let len = file.metadata()?.len();
    let mut chunk = TAIL_CHUNK.min(len);
    loop {
        let bytes = read_back(file, len, chunk)?;
        let seq = String::from_utf8_lossy(&bytes)
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str::<LineHead>(line).ok())
            .map(|head| head.seq);
        if seq.is_some() || chunk == len {
            return Ok(seq);
        }
        if chunk >= MAX_LINE {
            return Err(not_an_entry("the access log's last line is not an entry"));
        }
        chunk = (chunk * 4).min(len);
    }
}

/// The last `chunk` bytes of a file `len` bytes long.
fn read_back(file: &mut File, len: u64, chunk: u64) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(len - chunk))?;
    let mut bytes = vec![0; chunk as usize];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// One file's tail: read back from its end until a sealed line is found.
fn tail_of(file: &mut File) -> std::io::Result<Tail> {
    let len = file.metadata()?.len();
    let mut chunk = TAIL_CHUNK.min(len);
    loop {
        let bytes = read_back(file, len, chunk)?;
        let text = String::from_utf8_lossy(&bytes);
        let mut lines: Vec<&str> = text.lines().collect();
        if chunk < len && !lines.is_empty() {
            // The first line may be cut.
            lines.remove(0);
        }
        let mut tail = Tail::default();
        let mut unsealed = Vec::new();
        for line in lines.iter().rev() {
            let Ok(head) = serde_json::from_str::<LineHead>(line) else {
                continue;
            };
            if tail.last_time.is_none() {
                tail.last_seq = head.seq;
                tail.last_time = head.time;
            }
            match head.mac {
                Some(mac) => {
                    tail.sealed = Some((head.seq, mac));
                    break;
                }
                None => unsealed.push((*line).to_owned()),
            }
        }
        if tail.sealed.is_some() || chunk == len {
            unsealed.reverse();
            tail.unsealed = unsealed;
            return Ok(tail);
        }
        if chunk >= MAX_TAIL {
            return Err(not_an_entry(
                "no sealed entry in the access log's last 32 MiB",
            ));
        }
        chunk = (chunk * 4).min(len);
    }
}

/// `PATH.N` for rotated file number `n`.
pub fn rotated_path(path: &Path, n: u64) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The rotated files, oldest (lowest number) first.
pub fn rotated_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    Ok(rotated_numbers(path)?
        .into_iter()
        .map(|n| rotated_path(path, n))
        .collect())
}

fn rotated_numbers(path: &Path) -> std::io::Result<Vec<u64>> {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(Vec::new());
    };
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let mut numbers = Vec::new();
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(numbers),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let file_name = entry?.file_name();
        let file_name = file_name.to_string_lossy();
        if let Some(n) = file_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.parse::<u64>().ok())
        {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// Moves the current file aside as the newest rotated one; the caller holds its
/// lock, and writers waiting for it then open a new current file.
pub fn rotate(path: &Path) -> std::io::Result<()> {
    let next = rotated_numbers(path)?.last().map_or(1, |n| n + 1);
    std::fs::rename(path, rotated_path(path, next))
}

/// Deletes rotated files, oldest first, whose newest entry is older than `keep_until`.
pub fn prune(path: &Path, keep_until: Timestamp) -> std::io::Result<Vec<PathBuf>> {
    let mut pruned = Vec::new();
    for rotated in rotated_files(path)? {
        let newest = tail_of(&mut open_for_reading(&rotated)?)?.last_time;
        if newest.is_none_or(|time| time >= keep_until) {
            break;
        }
        std::fs::remove_file(&rotated)?;
        pruned.push(rotated);
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_names_the_last_sealed_entry_and_the_unsealed_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.audit");
        let mut locked = open_locked(&path).unwrap();
        assert_eq!(tail(&path, &mut locked.file).unwrap(), Tail::default());
        let t = "2026-12-02T00:00:00Z";
        locked
            .append(&format!(r#"{{"seq":1,"time":"{t}","mac":"aa"}}"#))
            .unwrap();
        let unsealed = format!(r#"{{"seq":2,"time":"{t}","unsealed":true}}"#);
        locked.append(&unsealed).unwrap();
        let found = tail(&path, &mut locked.file).unwrap();
        assert_eq!(found.last_seq, 2);
        assert_eq!(found.sealed, Some((1, "aa".into())));
        assert_eq!(found.unsealed, std::slice::from_ref(&unsealed));
        // After a rotation the new file's unsealed lines join the old file's.
        drop(locked);
        rotate(&path).unwrap();
        let mut locked = open_locked(&path).unwrap();
        let newer = format!(r#"{{"seq":3,"time":"{t}","unsealed":true}}"#);
        locked.append(&newer).unwrap();
        let found = tail(&path, &mut locked.file).unwrap();
        assert_eq!(found.last_seq, 3);
        assert_eq!(found.sealed, Some((1, "aa".into())));
        assert_eq!(found.unsealed, [unsealed, newer]);
        assert_eq!(rotated_files(&path).unwrap(), [rotated_path(&path, 1)]);
    }

    #[test]
    fn entries_longer_than_the_first_read_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.audit");
        let mut locked = open_locked(&path).unwrap();
        let long = "x".repeat(3 * TAIL_CHUNK as usize);
        let t = "2026-12-02T00:00:00Z";
        locked
            .append(&format!(
                r#"{{"seq":7,"time":"{t}","subject":"{long}","mac":"aa"}}"#
            ))
            .unwrap();
        locked
            .append(&format!(
                r#"{{"seq":8,"time":"{t}","subject":"{long}","unsealed":true}}"#
            ))
            .unwrap();
        let found = tail(&path, &mut locked.file).unwrap();
        assert_eq!((found.last_seq, found.sealed), (8, Some((7, "aa".into()))));
        assert_eq!(last_seq(&path, &mut locked.file).unwrap(), 8);
    }

    #[test]
    fn pruning_deletes_only_files_whose_newest_entry_is_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.audit");
        for time in ["2024-01-01T00:00:00Z", "2026-11-01T00:00:00Z"] {
            let mut locked = open_locked(&path).unwrap();
            locked
                .append(&format!(r#"{{"seq":1,"time":"{time}","mac":"aa"}}"#))
                .unwrap();
            drop(locked);
            rotate(&path).unwrap();
        }
        let pruned = prune(&path, "2025-12-01T00:00:00Z".parse().unwrap()).unwrap();
        assert_eq!(pruned, [rotated_path(&path, 1)]);
        assert_eq!(rotated_files(&path).unwrap(), [rotated_path(&path, 2)]);
    }
}
