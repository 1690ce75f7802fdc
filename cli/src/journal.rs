//! The crash-safe journal of a CSV run: JSON lines appended and synced to disk, one when a
//! person's invitation is about to be sent and one when its outcome is known.
//!
//! ```text
//! {"orginvite_journal":2,"provider":"github","organization":"acme","target":"https://api.github.com"}
//! {"key":"jane@example.com","state":"started","at":1796083200}
//! {"key":"jane@example.com","state":"done","record":{...the report's row...}}
//! ```
//!
//! Rows are known by their person (the email, `login:...` or `user_id:...`), not by their line,
//! so a file edited, re-sorted or saved with other line endings between runs still resumes
//! right. A person counts as done only once their `done` line is on disk, and only when they
//! ended invited or already there; a failure is recorded as `failed`, which a re-run tries
//! again. A re-run skips done people (their recorded outcome goes into the new report) and
//! settles `started` ones by looking their invitation up before sending anything. A line cut
//! short by a crash is ignored, and the next entry starts on a line of its own. One run at a
//! time holds the journal (a lock on the file).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::Usage;

/// What an earlier run recorded for a person.
#[derive(Debug, Clone)]
pub(crate) enum Recorded {
    /// Sent (or about to be) when that run stopped, at this Unix time: the outcome is unknown.
    Started { at: u64 },
    /// Invited or already there, with the report's record.
    Done { record: Value },
}

/// An open journal.
pub(crate) struct Journal {
    file: Mutex<File>,
    /// Set after a write failed: nothing more is written, and the run stops.
    broken: AtomicBool,
}

/// How many invitations the runs recorded in the journal at `path` created for each person
/// (by journal key): for a roster, the rounds already sent. Nothing when there is no journal
/// yet; lines that do not parse are left out.
pub(crate) fn invitations_made(path: &Path) -> HashMap<String, u32> {
    let mut made = HashMap::new();
    let Ok(file) = File::open(path) else {
        return made;
    };
    for line in BufReader::new(file).lines().map_while(Result::ok) {
        let Ok(entry) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let created = entry["state"] == "done" && entry["record"]["outcome"] == "created";
        if let (true, Some(key)) = (created, entry["key"].as_str()) {
            *made.entry(key.to_owned()).or_default() += 1;
        }
    }
    made
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl Journal {
    /// Opens (or creates) the journal at `path` for a run on `provider`/`organization` at
    /// `target` (the base URL, or `sandbox`), locks it, and reads what earlier runs recorded,
    /// by person.
    pub(crate) fn open(
        path: &Path,
        provider: &str,
        organization: &str,
        target: &str,
    ) -> Result<(Journal, HashMap<String, Recorded>), Usage> {
        let cannot = |e: std::io::Error| {
            Usage(format!(
                "invalid_config: cannot use the journal {}: {e}",
                path.display()
            ))
        };
        let created = !path.exists();
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(cannot)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Usage(format!(
                    "invalid_config: another run is using the journal {}",
                    path.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(cannot(e)),
        }
        if created {
            // The new file's name is durable too.
            if let Some(directory) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                if let Ok(directory) = File::open(directory) {
                    let _ = directory.sync_all();
                }
            }
        }
        let mut recorded = HashMap::new();
        let mut header = None;
        {
            let reader = BufReader::new(&file);
            for line in reader.lines() {
                let line = line.map_err(cannot)?;
                // A line cut short by a crash does not parse: what it said did not happen.
                let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if header.is_none() {
                    header = Some(entry);
                    continue;
                }
                let Some(key) = entry["key"].as_str() else {
                    continue;
                };
                let key = key.to_owned();
                match entry["state"].as_str() {
                    // Started again after it was done (a roster's apply inviting a person
                    // again): in flight, as any started one.
                    Some("started") => {
                        let at = entry["at"].as_u64().unwrap_or(0);
                        recorded.insert(key, Recorded::Started { at });
                    }
                    Some("done") => {
                        recorded.insert(
                            key,
                            Recorded::Done {
                                record: entry["record"].clone(),
                            },
                        );
                    }
                    Some("failed")
                        if !matches!(recorded.get(&key), Some(Recorded::Done { .. })) =>
                    {
                        recorded.remove(&key);
                    }
                    _ => {}
                }
            }
        }
        let expected = json!({
            "orginvite_journal": 2, "provider": provider, "organization": organization,
            "target": target,
        });
        let journal = Journal {
            file: Mutex::new(file),
            broken: AtomicBool::new(false),
        };
        match header {
            Some(header) if header == expected => {}
            Some(header) => {
                return Err(Usage(format!(
                    "invalid_config: the journal {} belongs to another run ({}); use a new journal for {provider} {organization} at {target}",
                    path.display(),
                    header
                )))
            }
            None if !recorded.is_empty() => {
                return Err(Usage(format!(
                    "invalid_config: the journal {} has no header line",
                    path.display()
                )))
            }
            None => journal.append(&expected).map_err(cannot)?,
        }
        Ok((journal, recorded))
    }

    /// Appends one entry on a line of its own and waits until it is on disk. After a failure
    /// the journal takes nothing more.
    fn append(&self, entry: &Value) -> std::io::Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("an earlier write failed"));
        }
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let result = (|| {
            // After a crash mid-write the file may end inside a line: start a new one.
            let length = file.seek(SeekFrom::End(0))?;
            if length > 0 {
                file.seek(SeekFrom::End(-1))?;
                let mut last = [0u8; 1];
                file.read_exact(&mut last)?;
                if last[0] != b'\n' {
                    line.insert(0, b'\n');
                }
            }
            file.write_all(&line)?;
            file.sync_data()
        })();
        if result.is_err() {
            self.broken.store(true, Ordering::SeqCst);
        }
        result
    }

    /// Records that `key`'s invitation is about to be sent.
    pub(crate) fn started(&self, key: &str) -> std::io::Result<()> {
        self.append(&json!({"key": key, "state": "started", "at": unix_now()}))
    }

    /// Records `key`'s outcome: done when invited or already there.
    pub(crate) fn done(&self, key: &str, record: &Value) -> std::io::Result<()> {
        self.append(&json!({"key": key, "state": "done", "record": record}))
    }

    /// Records that `key`'s invitation failed for sure: a re-run tries it again.
    pub(crate) fn failed(&self, key: &str) -> std::io::Result<()> {
        self.append(&json!({"key": key, "state": "failed"}))
    }
}
