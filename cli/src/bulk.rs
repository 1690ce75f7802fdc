//! `invite --csv`: every row of a file, streamed, with a dry run, a journal, a progress bar, a
//! report and a summary.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use futures_util::{stream, StreamExt};
use orginvite::{CreateInvitation, Ensured, Error, ErrorKind, Invitee, Membership, Provider};
use serde_json::Value;

use crate::journal::{Journal, Recorded};
use crate::output::{describe, print_json, Table};
use crate::progress::{Progress, Tally};
use crate::rows::{self, Row, Seen};
use crate::{Global, InviteArgs, OutputFormat, Usage};

/// Where finished rows go: the report file, stdout (`--output json`), the summary.
struct Sink {
    report: Option<BufWriter<File>>,
    json: bool,
    outcomes: BTreeMap<String, u64>,
    /// Rows that did not end created or already there.
    unsettled: u64,
}

impl Sink {
    fn push(&mut self, record: &Value) {
        if let Some(report) = &mut self.report {
            let _ = serde_json::to_writer(&mut *report, record);
            let _ = report.write_all(b"\n");
        }
        if self.json {
            print_json(record);
        }
        let outcome = record["outcome"].as_str().unwrap_or("unknown").to_owned();
        if !matches!(
            outcome.as_str(),
            "created" | "already_invited" | "already_member" | "would_create"
        ) {
            self.unsettled += 1;
        }
        *self.outcomes.entry(outcome).or_default() += 1;
    }
}

/// Why sending stopped before the end of the file.
#[derive(Default)]
struct Stop {
    stopped: AtomicBool,
    cause: Mutex<Option<String>>,
}

impl Stop {
    fn set(&self, cause: String) {
        let mut current = self.cause.lock().unwrap_or_else(PoisonError::into_inner);
        if current.is_none() {
            *current = Some(cause);
        }
        self.stopped.store(true, Ordering::SeqCst);
    }

    fn cause(&self) -> Option<String> {
        self.cause
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The outcome of an answer that dooms every later row: the credential, the permission, the
/// organization's quota or plan.
fn dooms_the_rest(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Unauthenticated
            | ErrorKind::PermissionDenied
            | ErrorKind::QuotaExceeded
            | ErrorKind::PaymentRequired
            | ErrorKind::PacerUnavailable
    )
}

pub(crate) async fn run(
    provider: &dyn Provider,
    global: &Global,
    organization: &str,
    args: &InviteArgs,
    defaults: CreateInvitation,
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

async fn run_checked(
    provider: &dyn Provider,
    global: &Global,
    organization: &str,
    args: &InviteArgs,
    defaults: CreateInvitation,
    progress: Arc<Progress>,
) -> Result<ExitCode, Usage> {
    let path = args.csv.as_deref().expect("clap requires --csv here");
    let started = Instant::now();

    // A first pass counts the rows (for the progress bar), and with --strict checks them all.
    let (reader, columns) = rows::open(path)?;
    let mut total = 0u64;
    let mut bad = Vec::new();
    let mut seen = Seen::default();
    for record in reader.into_records() {
        total += 1;
        if args.strict {
            let row = rows::row(
                record,
                &columns,
                &defaults,
                organization,
                provider,
                &mut seen,
            );
            if let Err(why) = &row.request {
                bad.push(format!("line {}: {why}", row.line));
            }
        }
    }
    if !bad.is_empty() {
        for line in &bad {
            eprintln!("{line}");
        }
        return Err(Usage(format!(
            "invalid_request: {} bad row(s) in {}; with --strict nothing was sent",
            bad.len(),
            path.display()
        )));
    }

    let (journal, recorded) = match &args.journal {
        Some(journal) if !args.dry_run => {
            let (journal, recorded) =
                Journal::open(journal, provider.kind().as_str(), organization)?;
            (Some(journal), recorded)
        }
        _ => (None, HashMap::new()),
    };
    let report = match &args.report {
        Some(path) => Some(BufWriter::new(File::create(path).map_err(|e| {
            Usage(format!(
                "invalid_config: cannot write the report {}: {e}",
                path.display()
            ))
        })?)),
        None => None,
    };
    let sink = Mutex::new(Sink {
        report,
        json: global.output == OutputFormat::Json,
        outcomes: BTreeMap::new(),
        unsettled: 0,
    });

    // Ctrl-C: no new row starts; rows in flight finish and are recorded.
    let stop = Arc::new(Stop::default());
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, interrupted, progress) = (stop.clone(), interrupted.clone(), progress.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                progress.println("interrupted: finishing the invitations in flight...");
                stop.set("interrupted".to_owned());
            }
        })
    };

    let (reader, columns) = rows::open(path)?;
    let mut seen = Seen::default();
    let rows = reader.into_records().map(|record| {
        rows::row(
            record,
            &columns,
            &defaults,
            organization,
            provider,
            &mut seen,
        )
    });
    let done_before = recorded
        .values()
        .filter(|r| matches!(r, Recorded::Done { .. }))
        .count() as u64;
    progress.start(total, 0);
    let journal = journal.as_ref();
    let recorded = &recorded;
    let sink = &sink;
    let stop = &*stop;
    let progress_ref = &*progress;
    stream::iter(rows)
        .map(|row| async move {
            let record = if args.dry_run {
                dry_run_row(provider, organization, &row).await
            } else {
                invite_row(
                    provider,
                    organization,
                    &row,
                    journal,
                    recorded.get(&row.line),
                    stop,
                )
                .await
            };
            let tally = match record["outcome"].as_str() {
                Some("created" | "would_create") => Tally::Created,
                Some("already_invited" | "already_member") => Tally::Already,
                _ => Tally::Failed,
            };
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(&record);
            progress_ref.row(tally);
        })
        .buffer_unordered(usize::from(args.concurrency))
        .collect::<()>()
        .await;
    progress.finish();
    watcher.abort();

    let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(report) = &mut sink.report {
        report
            .flush()
            .map_err(|e| Usage(format!("invalid_config: cannot write the report: {e}")))?;
    }
    let elapsed = started.elapsed();
    if global.output == OutputFormat::Table {
        let mut table = Table::new(["outcome", "rows"]);
        for (outcome, count) in &sink.outcomes {
            table.row([outcome.clone(), count.to_string()]);
        }
        table.print();
    }
    let mut summary = format!(
        "{} row(s) in {:.1} s ({:.1} rows/s){}",
        total,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64().max(1e-9),
        if done_before > 0 {
            format!(", {done_before} finished by an earlier run")
        } else {
            String::new()
        }
    );
    if let Some(peak) = peak_memory_kib() {
        summary.push_str(&format!(", peak memory {:.1} MiB", peak as f64 / 1024.0));
    }
    eprintln!("{summary}");
    if let Some(cause) = stop.cause() {
        eprintln!("stopped early: {cause}; rows not started are reported as skipped");
    }
    if interrupted.load(Ordering::SeqCst) || sink.unsettled > 0 {
        if let Some(journal) = &args.journal {
            eprintln!(
                "to resume (finished rows are skipped, rows in flight are checked first): orginvite --provider {} --org {organization} invite --csv {} --journal {}",
                provider.kind().as_str(),
                path.display(),
                journal.display()
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A dry run's row: what a real run would do, from the person's current membership.
async fn dry_run_row(provider: &dyn Provider, organization: &str, row: &Row) -> Value {
    let invitee = match (&row.request, row.invitee()) {
        (Ok(_), Some(invitee)) => invitee,
        (Err(why), _) => return row.record("invalid", Some("invalid_request"), None, why),
        _ => return row.record("invalid", Some("invalid_request"), None, "no invitee"),
    };
    match provider.membership(organization, invitee).await {
        Ok(Membership::Member { .. }) => row.record("already_member", None, None, ""),
        Ok(Membership::Invited(invitation)) => {
            row.record("already_invited", None, Some(&invitation.id), "")
        }
        Ok(Membership::NotMember) => row.record("would_create", None, None, ""),
        Ok(_) => row.record(
            "would_create",
            None,
            None,
            "no pending invitation; whether the person is a member cannot be told from here",
        ),
        Err(error) => row.record(
            "failed",
            Some(error.kind().as_str()),
            None,
            &describe(&error),
        ),
    }
}

/// A real run's row.
async fn invite_row(
    provider: &dyn Provider,
    organization: &str,
    row: &Row,
    journal: Option<&Journal>,
    recorded: Option<&Recorded>,
    stop: &Stop,
) -> Value {
    let request = match &row.request {
        Ok(request) => request,
        Err(why) => return row.record("skipped", Some("invalid_request"), None, why),
    };
    let key = row.key();
    let mut in_flight_before = false;
    match recorded {
        Some(recorded) if recorded.key() != key => {
            return row.record(
                "failed",
                Some("invalid_config"),
                None,
                &format!(
                    "the journal records {:?} on this line: it belongs to another file",
                    recorded.key()
                ),
            );
        }
        Some(Recorded::Done { record, .. }) => return record.clone(),
        Some(Recorded::Started { .. }) => in_flight_before = true,
        None => {}
    }
    if stop.stopped.load(Ordering::SeqCst) {
        let cause = stop.cause().unwrap_or_default();
        return row.record("skipped", None, None, &format!("not sent: {cause}"));
    }
    if in_flight_before {
        // An earlier run sent this row and stopped before its outcome was known: look the
        // invitation up before sending anything.
        match settle(provider, organization, &request.invitee).await {
            Ok(Some(record_id)) => {
                let record = row.record(
                    "created",
                    None,
                    Some(&record_id),
                    "created by an interrupted run; found on resume",
                );
                return finish(journal, row, &key, record);
            }
            Ok(None) => {}
            Err(message) => {
                // Not settled: left as started in the journal, for the next run.
                return row.record("in_doubt", None, None, &message);
            }
        }
    } else if let Some(journal) = journal {
        if let Err(e) = journal.started(row.line, &key) {
            stop.set(format!("the journal cannot be written: {e}"));
            return row.record(
                "skipped",
                None,
                None,
                &format!("not sent: the journal cannot be written: {e}"),
            );
        }
    }
    let record = match provider.ensure_invited(request).await {
        Ok(Ensured::Created { invitation, .. }) => {
            row.record("created", None, Some(&invitation.id), "")
        }
        Ok(Ensured::AlreadyInvited { invitation, .. }) => row.record(
            "already_invited",
            None,
            invitation.as_ref().map(|i| i.id.as_str()),
            "",
        ),
        Ok(_) => row.record("already_member", None, None, ""),
        Err(error) => {
            if dooms_the_rest(&error) {
                stop.set(describe(&error));
            }
            let outcome = if error.may_have_been_created() {
                "in_doubt"
            } else {
                "failed"
            };
            let record = row.record(
                outcome,
                Some(error.kind().as_str()),
                None,
                &describe(&error),
            );
            if outcome == "in_doubt" {
                // Left as started: the next run looks it up before sending anything.
                return record;
            }
            record
        }
    };
    finish(journal, row, &key, record)
}

/// Records a row's outcome in the journal; a row is done only once that is on disk.
fn finish(journal: Option<&Journal>, row: &Row, key: &str, record: Value) -> Value {
    match journal.map(|journal| journal.done(row.line, key, &record)) {
        Some(Err(e)) => row.record(
            "in_doubt",
            record["kind"].as_str(),
            record["id"].as_str(),
            &format!(
                "{} (outcome {}, but the journal cannot be written: {e})",
                record["message"].as_str().unwrap_or_default(),
                record["outcome"].as_str().unwrap_or_default()
            ),
        ),
        _ => record,
    }
}

/// Looks up the invitation a row sent before an interruption: its id when found.
async fn settle(
    provider: &dyn Provider,
    organization: &str,
    invitee: &Invitee,
) -> Result<Option<String>, String> {
    match provider.find_invitation(organization, invitee).await {
        Ok(found) => Ok(found.map(|invitation| invitation.id)),
        Err(error) if error.kind() == ErrorKind::Unsupported => Err(format!(
            "sent by an interrupted run and cannot be looked up ({}); check it by hand",
            describe(&error)
        )),
        Err(error) => Err(format!(
            "sent by an interrupted run; looking it up failed: {}",
            describe(&error)
        )),
    }
}

/// This process's peak resident memory, where the system tells it.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
