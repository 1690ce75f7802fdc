//! `invite --csv`: every row of a file through the library's `invite_all`, with a dry run, a
//! journal, a progress bar, a report and a summary.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use orginvite::{
    BoxFuture, BulkItem, BulkObserver, BulkOptions, CancellationToken, Ensured, Error, ErrorKind,
    Invitee, Presence, Provider, Snapshot,
};
use serde_json::Value;

use crate::journal::{Journal, Recorded};
use crate::outcome::Outcome;
use crate::output::{describe, print_json, Table};
use crate::progress::Progress;
use crate::rows::{self, Defaults, Row};
use crate::{Global, InviteArgs, OutputFormat, Usage};

/// Where finished rows go: the report file, stdout (`--output json`), the summary.
struct Sink {
    report: Option<BufWriter<File>>,
    json: bool,
    outcomes: BTreeMap<Outcome, u64>,
    /// Rows that did not end created or already there.
    unsettled: u64,
    /// Rows this run created.
    created: u64,
    /// Why the report could not be written, if it could not.
    report_failed: Option<String>,
}

impl Sink {
    /// A finished row: its outcome and its report record; `replayed` when an earlier run did
    /// it.
    fn push(&mut self, outcome: Outcome, record: &Value, replayed: bool, progress: &Progress) {
        if let Some(report) = &mut self.report {
            let written = serde_json::to_writer(&mut *report, record)
                .map_err(std::io::Error::from)
                .and_then(|()| report.write_all(b"\n"));
            if let Err(e) = written {
                self.report_failed.get_or_insert(e.to_string());
            }
        }
        if self.json {
            print_json(record);
        }
        if !outcome.settled() {
            self.unsettled += 1;
        }
        if outcome == Outcome::Created && !replayed {
            self.created += 1;
        }
        *self.outcomes.entry(outcome).or_default() += 1;
        progress.row(outcome);
    }
}

/// Tells the journal, before a request that may create invitations goes out, that the
/// people of its rows are about to be invited: a crash after that point leaves them
/// `started`, and the next run looks them up before sending anything.
struct Announcer {
    journal: Option<Arc<Journal>>,
    /// The journal key of each request, by its position in the run.
    keys: Arc<Vec<String>>,
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer")
            .field("journaled", &self.journal.is_some())
            .field("requests", &self.keys.len())
            .finish()
    }
}

impl BulkObserver for Announcer {
    fn sending<'a>(
        &'a self,
        indices: &'a [usize],
    ) -> BoxFuture<'a, Result<(), Box<dyn std::error::Error + Send + Sync>>> {
        Box::pin(async move {
            let Some(journal) = &self.journal else {
                return Ok(());
            };
            let (journal, keys) = (journal.clone(), self.keys.clone());
            let indices = indices.to_vec();
            let written = tokio::task::spawn_blocking(move || {
                indices
                    .iter()
                    .try_for_each(|&index| journal.started(&keys[index]))
            })
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            written.map_err(|e| format!("the journal cannot be written: {e}").into())
        })
    }
}

pub(crate) async fn run(
    provider: &dyn Provider,
    global: &Global,
    organization: &str,
    args: &InviteArgs,
    defaults: Defaults,
    progress: Arc<Progress>,
) -> ExitCode {
    match run_checked(provider, global, organization, args, defaults, progress).await {
        Ok(code) => code,
        Err(Usage(problem)) => {
            eprintln!("error: {problem}");
            ExitCode::from(2)
        }
    }
}

/// Every row of the file, in order.
pub(crate) fn read_rows(
    path: &std::path::Path,
    defaults: &Defaults,
    organization: &str,
    provider: &dyn Provider,
) -> Result<Vec<Row>, Usage> {
    let (reader, columns, mut lines) = rows::open(path)?;
    let mut read = Vec::new();
    for record in reader.into_records() {
        let unreadable = matches!(&record, Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)));
        read.push(rows::row(
            record,
            &columns,
            &mut lines,
            defaults,
            organization,
            provider,
        ));
        if unreadable {
            break;
        }
    }
    Ok(read)
}

/// Whether the flags alone make the vendor refuse every row: the first row's person is
/// checked with the flags, and without them.
fn check_flags(
    rows: &[Row],
    defaults: &Defaults,
    organization: &str,
    provider: &dyn Provider,
) -> Result<(), Usage> {
    let Some(invitee) = rows.iter().find_map(|row| {
        rows::invitee(
            row.email.as_deref(),
            row.login.as_deref(),
            row.user_id.as_deref(),
        )
        .ok()
    }) else {
        return Ok(());
    };
    let with_flags = provider.check_invitation(&defaults.request(organization, invitee.clone()));
    let without = provider.check_invitation(&Defaults::default().request(organization, invitee));
    match (with_flags, without) {
        (Err(error), Ok(())) => Err(Usage(format!(
            "{} (from the command line's options; nothing was sent)",
            describe(&error)
        ))),
        _ => Ok(()),
    }
}

async fn run_checked(
    provider: &dyn Provider,
    global: &Global,
    organization: &str,
    args: &InviteArgs,
    defaults: Defaults,
    progress: Arc<Progress>,
) -> Result<ExitCode, Usage> {
    let path = args.csv.as_deref().expect("clap requires --csv here");
    let started = Instant::now();
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Err(Usage(format!(
            "invalid_request: --csv needs a regular file, not {} (save the rows to a file first)",
            path.display()
        )));
    }
    for (flag, other) in [("--journal", &args.journal), ("--report", &args.report)] {
        if other.as_deref().is_some_and(|other| same_file(other, path)) {
            return Err(Usage(format!(
                "invalid_request: {flag} must not be the CSV file itself"
            )));
        }
    }

    let rows = read_rows(path, &defaults, organization, provider)?;
    check_flags(&rows, &defaults, organization, provider)?;
    if args.strict {
        // The whole file is refused when any row is bad, a person repeated included.
        let mut first_line: HashMap<String, u64> = HashMap::new();
        let mut bad = Vec::new();
        for row in &rows {
            match &row.request {
                Err(why) => bad.push(format!("line {}: {why}", row.line)),
                Ok(_) => {
                    if let Some(first) = first_line.get(&row.key()) {
                        bad.push(format!(
                            "line {}: repeats the person of line {first}",
                            row.line
                        ));
                    } else {
                        first_line.insert(row.key(), row.line);
                    }
                }
            }
        }
        if !bad.is_empty() {
            for line in &bad {
                eprintln!("{line}");
            }
            return Err(Usage(format!(
                "invalid_request: {} bad row(s) in {}; nothing was sent",
                bad.len(),
                path.display()
            )));
        }
    }
    let settings = RunSettings {
        journal: args.journal.as_deref(),
        report: args.report.as_deref(),
        dry_run: args.dry_run,
        concurrency: args.concurrency,
        precheck: true,
        replay_done: true,
    };
    execute(
        provider,
        global,
        organization,
        rows,
        &settings,
        progress,
        started,
    )
    .await
}

/// How rows are run: a dry run or a real one, with a journal, a report, a concurrency.
pub(crate) struct RunSettings<'a> {
    pub(crate) journal: Option<&'a std::path::Path>,
    pub(crate) report: Option<&'a std::path::Path>,
    pub(crate) dry_run: bool,
    pub(crate) concurrency: u16,
    /// Whether the library takes a snapshot first (not after a plan that took one).
    pub(crate) precheck: bool,
    /// Whether people the journal has as done are reported as done without a request (a
    /// CSV's rows), or run again (a roster's plan, computed from the vendor's state now,
    /// which may want a person invited again since).
    pub(crate) replay_done: bool,
}

/// Runs `rows` (a CSV's, or a roster plan's invitations) through the library: the journal,
/// the report, the progress bar, Ctrl-C, the summary.
pub(crate) async fn execute(
    provider: &dyn Provider,
    global: &Global,
    organization: &str,
    mut rows: Vec<Row>,
    args: &RunSettings<'_>,
    progress: Arc<Progress>,
    started: Instant,
) -> Result<ExitCode, Usage> {
    let target = match (&global.base_url, global.sandbox) {
        (_, true) => "sandbox".to_owned(),
        (Some(url), false) => url.clone(),
        (None, false) => "default".to_owned(),
    };
    let (journal, recorded) = match args.journal {
        Some(journal) if !args.dry_run => {
            let (journal, recorded) =
                Journal::open(journal, provider.kind().as_str(), organization, &target)?;
            (Some(Arc::new(journal)), recorded)
        }
        _ => (None, HashMap::new()),
    };
    let report = match args.report {
        Some(path) => Some(BufWriter::new(File::create(path).map_err(|e| {
            Usage(format!(
                "invalid_config: cannot write the report {}: {e}",
                path.display()
            ))
        })?)),
        None => None,
    };
    let mut sink = Sink {
        report,
        json: global.output == OutputFormat::Json,
        outcomes: BTreeMap::new(),
        unsettled: 0,
        created: 0,
        report_failed: None,
    };

    // Ctrl-C: nothing more is sent (rows waiting for their turn are abandoned); rows on the
    // wire finish and are recorded. Again: exit now.
    let stop = CancellationToken::new();
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, interrupted, progress) = (stop.clone(), interrupted.clone(), progress.clone());
        let journaled = args.journal.is_some();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                stop.cancel();
                progress.println(
                    "interrupted: nothing more is sent; finishing the invitations on the wire (Ctrl-C again to abandon them)",
                );
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                progress.finish();
                eprintln!(
                    "abandoned the invitations on the wire; {}",
                    if journaled {
                        "the journal has them as started, and a re-run looks them up before sending them again"
                    } else {
                        "check them with `orginvite check` before inviting them again"
                    }
                );
                std::process::exit(130);
            }
        })
    };

    let total = rows.len() as u64;
    progress.start(total);
    let done_before = if args.dry_run {
        let looked = dry_run(provider, organization, &rows, &stop, &mut sink, &progress).await;
        if let Err(error) = looked {
            watcher.abort();
            progress.finish();
            eprintln!("error: {}", describe(&error));
            report_summary(&mut sink, global, total, started, 0, &progress, false);
            return Ok(crate::exit_for(&error));
        }
        0
    } else {
        let mut run = Invite {
            provider,
            rows: &mut rows,
            journal: journal.as_ref(),
            recorded: &recorded,
            stop: &stop,
            concurrency: usize::from(args.concurrency),
            precheck: args.precheck,
            replay_done: args.replay_done,
            journal_broken: Mutex::default(),
        };
        let summary = run.invite(&mut sink, &progress).await;
        if let Some(cause) = &summary.stopped_by {
            eprintln!("stopped early: {cause}; rows not sent are reported as skipped");
        }
        // A refused credential (or an unreachable shared pacer) before anything was created:
        // a configuration problem.
        if sink.created == 0 && summary.by_configuration {
            watcher.abort();
            progress.finish();
            report_summary(&mut sink, global, total, started, 0, &progress, false);
            return Ok(ExitCode::from(2));
        }
        summary.done_before
    };
    watcher.abort();
    progress.finish();
    report_summary(
        &mut sink,
        global,
        total,
        started,
        done_before,
        &progress,
        args.dry_run,
    );

    let interrupted = interrupted.load(Ordering::SeqCst);
    if interrupted || sink.unsettled > 0 || sink.report_failed.is_some() {
        if args.journal.is_some() {
            eprintln!(
                "to resume (done rows are skipped, rows in flight are looked up first, failed rows are tried again): {}",
                this_command()
            );
        } else if interrupted {
            eprintln!("without --journal, a re-run sends every row again (people already invited answer already_invited)");
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Ends the report with its summary line, flushes it, and prints the outcomes, the requests
/// sent and the run's figures; for a dry run, what a real run would send at most.
fn report_summary(
    sink: &mut Sink,
    global: &Global,
    total: u64,
    started: Instant,
    done_before: u64,
    progress: &Progress,
    dry_run: bool,
) {
    let requests = progress.requests();
    let would_create = sink
        .outcomes
        .get(&Outcome::WouldCreate)
        .copied()
        .unwrap_or(0);
    let at_most = dry_run.then(|| {
        serde_json::json!({
            "list_pages": requests.list_pages,
            "creates": would_create,
        })
    });
    let outcomes: serde_json::Map<String, Value> = sink
        .outcomes
        .iter()
        .map(|(outcome, count)| (outcome.as_str().to_owned(), (*count).into()))
        .collect();
    let mut summary_record = serde_json::json!({
        "summary": {
            "rows": total,
            "outcomes": outcomes,
            "requests": requests,
        }
    });
    if let Some(at_most) = &at_most {
        summary_record["summary"]["real_run_at_most"] = at_most.clone();
    }
    if let Some(report) = &mut sink.report {
        let written = serde_json::to_writer(&mut *report, &summary_record)
            .map_err(std::io::Error::from)
            .and_then(|()| report.write_all(b"\n"));
        if let Err(e) = written {
            sink.report_failed.get_or_insert(e.to_string());
        }
    }
    if let Some(report) = &mut sink.report {
        if let Err(e) = report.flush() {
            sink.report_failed.get_or_insert(e.to_string());
        }
    }
    if let Some(problem) = &sink.report_failed {
        eprintln!("warning: the report could not be written whole: {problem}");
    }
    let elapsed = started.elapsed();
    if global.output != OutputFormat::Json {
        let mut table = Table::new(["outcome", "rows"]);
        for (outcome, count) in &sink.outcomes {
            table.row([outcome.as_str().to_owned(), count.to_string()]);
        }
        table.print();
    }
    let mut summary = format!(
        "{} row(s) in {:.1} s ({:.1} rows/s){}",
        total,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64().max(1e-9),
        if done_before > 0 {
            format!(", {done_before} done by an earlier run")
        } else {
            String::new()
        }
    );
    if let Some(peak) = peak_memory_kib() {
        summary.push_str(&format!(", peak memory {:.1} MiB", peak as f64 / 1024.0));
    }
    eprintln!("{summary}");
    eprintln!("{requests}");
    if dry_run {
        eprintln!(
            "dry run: no invitation was sent; a real run would send at most {} list page(s) and \
             {would_create} create(s) (fewer where the vendor takes several invitations a \
             request)",
            requests.list_pages
        );
    }
}

/// A dry run: what a real run would do with each row, from one snapshot of the
/// organization (a few list pages, whatever the number of rows). Interrupted, the rows not
/// yet looked at are skipped.
async fn dry_run(
    provider: &dyn Provider,
    organization: &str,
    rows: &[Row],
    stop: &CancellationToken,
    sink: &mut Sink,
    progress: &Progress,
) -> Result<(), Error> {
    let snapshot = tokio::select! {
        snapshot = provider.snapshot(organization) => Some(snapshot?),
        () = stop.cancelled() => None,
    };
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for row in rows {
        let (outcome, record) = match &snapshot {
            Some(snapshot) if !stop.is_cancelled() => dry_run_row(snapshot, row, &mut first_line),
            _ => {
                let why = "not looked up: interrupted";
                (
                    Outcome::Skipped,
                    row.record(Outcome::Skipped, None, None, why),
                )
            }
        };
        sink.push(outcome, &record, false, progress);
    }
    Ok(())
}

/// A dry run's row, as the snapshot shows its person.
fn dry_run_row(
    snapshot: &Snapshot,
    row: &Row,
    first_line: &mut HashMap<String, u64>,
) -> (Outcome, Value) {
    let invitee = match (&row.request, row.invitee()) {
        (Ok(_), Some(invitee)) => invitee,
        (Err(why), _) => return invalid(row, why),
        _ => return invalid(row, "no invitee"),
    };
    if let Some(first) = first_line.get(&row.key()) {
        let why = format!("repeats the person of line {first}");
        let record = row.record(Outcome::Skipped, Some("invalid_request"), None, &why);
        return (Outcome::Skipped, record);
    }
    first_line.insert(row.key(), row.line);
    let (outcome, id, message) = match snapshot.presence(invitee) {
        Presence::Member(_) => (Outcome::AlreadyMember, None, String::new()),
        Presence::Invited(invitation) => {
            (Outcome::AlreadyInvited, Some(invitation.id), String::new())
        }
        Presence::Lapsed(invitation) => (
            Outcome::WouldCreate,
            None,
            format!(
                "invited before: invitation {} {}",
                invitation.id,
                invitation.status.as_str()
            ),
        ),
        Presence::Unknown => (
            Outcome::WouldCreate,
            None,
            "no pending invitation; whether the person is a member cannot be told (the vendor \
             does not show members' email addresses)"
                .to_owned(),
        ),
        _ if matches!(invitee, Invitee::UserId(_)) => (
            Outcome::WouldCreate,
            None,
            "not a member; whether an invitation is pending cannot be told by user id".to_owned(),
        ),
        _ => (Outcome::WouldCreate, None, String::new()),
    };
    let record = row.record(outcome, None, id.as_deref(), &message);
    (outcome, record)
}

fn invalid(row: &Row, why: &str) -> (Outcome, Value) {
    let record = row.record(Outcome::Invalid, Some("invalid_request"), None, why);
    (Outcome::Invalid, record)
}

/// A real run over the rows.
struct Invite<'a> {
    provider: &'a dyn Provider,
    /// The rows; their requests are moved to the library as the run starts.
    rows: &'a mut [Row],
    journal: Option<&'a Arc<Journal>>,
    recorded: &'a HashMap<String, Recorded>,
    stop: &'a CancellationToken,
    concurrency: usize,
    /// Whether the library takes a snapshot before sending.
    precheck: bool,
    /// Whether rows the journal has as done are replayed rather than run.
    replay_done: bool,
    /// Why the journal could not be written, when that stopped the run.
    journal_broken: Mutex<Option<String>>,
}

/// How a real run ended, beyond its rows.
struct Summary {
    /// What stopped it before the end of the file, if anything did.
    stopped_by: Option<String>,
    /// The stop came from a refused credential or an unreachable shared pacer.
    by_configuration: bool,
    /// Rows an earlier run finished.
    done_before: u64,
}

impl Invite<'_> {
    async fn invite(&mut self, sink: &mut Sink, progress: &Progress) -> Summary {
        let mut summary = Summary {
            stopped_by: None,
            by_configuration: false,
            done_before: 0,
        };
        // Rows refused before sending, and rows an earlier run finished, are reported as they
        // are; the others go to the library, remembering which row each request is.
        let mut requests = Vec::new();
        let mut row_of = Vec::new();
        let mut keys = Vec::new();
        let mut options = BulkOptions::default()
            .concurrency(self.concurrency)
            .precheck(self.precheck)
            .cancel_on(self.stop.clone());
        for (at, row) in self.rows.iter_mut().enumerate() {
            if let Err(why) = &row.request {
                let record = row.record(Outcome::Skipped, Some("invalid_request"), None, why);
                sink.push(Outcome::Skipped, &record, false, progress);
                continue;
            }
            match self.recorded.get(&row.key()) {
                Some(Recorded::Done { record }) if self.replay_done => {
                    // Done by an earlier run: its outcome, on this file's line.
                    let mut record = record.clone();
                    record["line"] = row.line.into();
                    record["replayed"] = true.into();
                    let outcome = record["outcome"]
                        .as_str()
                        .and_then(Outcome::parse)
                        .unwrap_or(Outcome::InDoubt);
                    summary.done_before += 1;
                    sink.push(outcome, &record, true, progress);
                    continue;
                }
                Some(Recorded::Started { at }) => {
                    // Sent (or about to be) by a run that stopped before its outcome was
                    // known: looked up before anything is sent.
                    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(*at);
                    options = options.maybe_sent(requests.len(), when);
                }
                _ => {}
            }
            // The row keeps what its report needs; the request itself goes to the library.
            let taken = std::mem::replace(&mut row.request, Err(String::new()));
            requests.extend(taken.ok());
            row_of.push(at);
            keys.push(row.key());
        }
        let announcer = Announcer {
            journal: self.journal.cloned(),
            keys: Arc::new(keys),
        };
        let resumed = options.maybe_sent.clone();
        let options = options.observer(announcer);
        let mut items = self.provider.invite_all(requests, options);
        while let Some(item) = items.next().await {
            let row = &self.rows[row_of[item.index]];
            if let Err(error) = &item.outcome {
                self.note_stop(error, &mut summary);
            }
            let (outcome, record) = match item.duplicate_of {
                Some(first) => {
                    let first = self.rows[row_of[first]].line;
                    let why = format!("repeats the person of line {first}");
                    let record = row.record(Outcome::Skipped, Some("invalid_request"), None, &why);
                    (Outcome::Skipped, record)
                }
                None => {
                    let resumed = resumed.contains_key(&item.index);
                    let (outcome, record) = record_of(row, &item, resumed && !item.sent);
                    let record = self.finish(row, outcome, record, item.sent).await;
                    (outcome_of(&record).unwrap_or(outcome), record)
                }
            };
            sink.push(outcome, &record, false, progress);
        }
        summary
    }

    /// Notes what an item's error says about the run: an answer that stopped it.
    fn note_stop(&self, error: &Error, summary: &mut Summary) {
        let cause = match error {
            Error::Skipped { cause, .. } => cause.as_ref(),
            Error::Cancelled { .. } if self.stop.is_cancelled() => {
                summary
                    .stopped_by
                    .get_or_insert_with(|| "interrupted".to_owned());
                return;
            }
            Error::Cancelled { reason, .. } => {
                summary.stopped_by.get_or_insert_with(|| reason.clone());
                return;
            }
            other if self.provider.dooms_other_requests(other) => other,
            _ => return,
        };
        if matches!(
            cause.kind(),
            ErrorKind::Unauthenticated | ErrorKind::PacerUnavailable
        ) {
            summary.by_configuration = true;
        }
        summary.stopped_by.get_or_insert_with(|| describe(cause));
    }

    /// Records a row's outcome in the journal: done when invited or already there (a row is
    /// done only once that is on disk), failed when it certainly created nothing (a re-run
    /// tries it again), and left as started when it is in doubt. A row that was never
    /// announced leaves no trace.
    async fn finish(&self, row: &Row, outcome: Outcome, record: Value, announced: bool) -> Value {
        let Some(journal) = self.journal else {
            return record;
        };
        let write = match outcome {
            _ if outcome.settled() => true,
            Outcome::InDoubt => false,
            _ => announced,
        };
        if !write {
            return record;
        }
        let settled = outcome.settled();
        let (journal, key, entry) = (journal.clone(), row.key(), record.clone());
        let written = tokio::task::spawn_blocking(move || {
            if settled {
                journal.done(&key, &entry)
            } else {
                journal.failed(&key)
            }
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match written {
            Ok(()) => record,
            Err(e) => {
                // Nothing more can be recorded: stop sending.
                self.journal_broken
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert_with(|| format!("the journal cannot be written: {e}"));
                self.stop.cancel();
                row.record(
                    if settled {
                        Outcome::InDoubt
                    } else {
                        Outcome::Failed
                    },
                    record["kind"].as_str(),
                    record["id"].as_str(),
                    &format!(
                        "{} (outcome {}, but the journal cannot be written: {e})",
                        record["message"].as_str().unwrap_or_default(),
                        outcome.as_str()
                    ),
                )
            }
        }
    }
}

/// The outcome a record names.
fn outcome_of(record: &Value) -> Option<Outcome> {
    record["outcome"].as_str().and_then(Outcome::parse)
}

/// A finished item's outcome and report record. `resumed`: an earlier run may have sent it,
/// and this run sent nothing for it, so an error leaves it as much in doubt as it was.
fn record_of(row: &Row, item: &BulkItem, resumed: bool) -> (Outcome, Value) {
    match &item.outcome {
        Ok(ensured) => {
            let outcome = Outcome::of(ensured);
            let id = ensured
                .invitation()
                .map(|invitation| invitation.id.as_str());
            let message = match ensured {
                Ensured::Created {
                    reconciled: true, ..
                } if resumed => "created by an interrupted run; found on resume",
                _ if outcome == Outcome::InDoubt => "an outcome this version does not know",
                _ => "",
            };
            (outcome, row.record(outcome, None, id, message))
        }
        Err(error) if resumed => {
            let why = format!(
                "sent by an interrupted run and not settled: {}",
                describe(error)
            );
            let record = row.record(Outcome::InDoubt, Some(error.kind().as_str()), None, &why);
            (Outcome::InDoubt, record)
        }
        Err(error) => {
            let outcome = Outcome::of_error(error);
            let record = row.record(outcome, Some(error.kind().as_str()), None, &describe(error));
            (outcome, record)
        }
    }
}

/// This command line, quoted for a shell: the way to resume.
fn this_command() -> String {
    std::env::args_os()
        .map(|arg| {
            let arg = arg.to_string_lossy().into_owned();
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
            if plain {
                arg
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether two paths name the same file.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// This process's peak resident memory, where the system tells it.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
