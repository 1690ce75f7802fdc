//! The crash-safe journal of a CSV run: JSON lines appended and synced to disk, one when a
//! row's invitation is about to be sent and one when its outcome is known.
//!
//! ```text
//! {"orginvite_journal":1,"provider":"github","organization":"acme"}
//! {"line":2,"key":"jane@example.com","state":"started"}
//! {"line":2,"key":"jane@example.com","state":"done","record":{...the report's row...}}
//! ```
//!
//! A row counts as done only once its `done` line is on disk. A re-run skips done rows (their
//! recorded outcome goes into the new report) and settles `started` ones by looking their
//! invitation up before sending anything. A line cut short by a crash is ignored.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::Usage;

/// What an earlier run recorded for a row.
#[derive(Debug, Clone)]
pub(crate) enum Recorded {
    /// Sent (or about to be) when that run stopped: the outcome is unknown.
    Started { key: String },
    /// Finished, with its report record.
    Done { key: String, record: Value },
}

impl Recorded {
    pub(crate) fn key(&self) -> &str {
        match self {
            Recorded::Started { key } | Recorded::Done { key, .. } => key,
        }
    }
}

/// An open journal.
pub(crate) struct Journal {
    file: Mutex<File>,
}

impl Journal {
    /// Opens (or creates) the journal at `path` for a run on `provider`/`organization`, with
    /// what earlier runs recorded, by line.
    pub(crate) fn open(
        path: &Path,
        provider: &str,
        organization: &str,
    ) -> Result<(Journal, HashMap<u64, Recorded>), Usage> {
        let cannot = |e: std::io::Error| {
            Usage(format!(
                "invalid_config: cannot use the journal {}: {e}",
                path.display()
            ))
        };
        let mut recorded = HashMap::new();
        let mut has_header = false;
        if path.exists() {
            let reader = BufReader::new(File::open(path).map_err(cannot)?);
            for (index, line) in reader.lines().enumerate() {
                let line = line.map_err(cannot)?;
                // A line cut short by a crash does not parse: what it said did not happen.
                let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if index == 0 {
                    let matches = entry["orginvite_journal"] == 1
                        && entry["provider"] == provider
                        && entry["organization"] == organization;
                    if !matches {
                        return Err(Usage(format!(
                            "invalid_config: the journal {} is not one of a {provider} run for {organization}",
                            path.display()
                        )));
                    }
                    has_header = true;
                    continue;
                }
                let (Some(row), Some(key)) = (entry["line"].as_u64(), entry["key"].as_str()) else {
                    continue;
                };
                let key = key.to_owned();
                match entry["state"].as_str() {
                    Some("started") => {
                        recorded.entry(row).or_insert(Recorded::Started { key });
                    }
                    Some("done") => {
                        recorded.insert(
                            row,
                            Recorded::Done {
                                key,
                                record: entry["record"].clone(),
                            },
                        );
                    }
                    _ => {}
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(cannot)?;
        let journal = Journal {
            file: Mutex::new(file),
        };
        if !has_header {
            if !recorded.is_empty() {
                return Err(Usage(format!(
                    "invalid_config: the journal {} has no header line",
                    path.display()
                )));
            }
            journal
                .append(&json!({
                    "orginvite_journal": 1, "provider": provider, "organization": organization,
                }))
                .map_err(cannot)?;
        }
        Ok((journal, recorded))
    }

    /// Appends one entry and waits until it is on disk.
    fn append(&self, entry: &Value) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(&line)?;
        file.sync_data()
    }

    /// Records that row `line` is about to be sent.
    pub(crate) fn started(&self, line: u64, key: &str) -> std::io::Result<()> {
        self.append(&json!({"line": line, "key": key, "state": "started"}))
    }

    /// Records row `line`'s outcome.
    pub(crate) fn done(&self, line: u64, key: &str, record: &Value) -> std::io::Result<()> {
        self.append(&json!({"line": line, "key": key, "state": "done", "record": record}))
    }
}
