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
    /// Rows this run created.
    created: u64,
    /// Why the report could not be written, if it could not.
    report_failed: Option<String>,
}

impl Sink {
    fn push(&mut self, record: &Value) {
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
        let outcome = record["outcome"].as_str().unwrap_or("unknown").to_owned();
        if !matches!(
            outcome.as_str(),
            "created" | "already_invited" | "already_member" | "would_create"
        ) {
            self.unsettled += 1;
        }
        if outcome == "created" && record.get("replayed").is_none() {
            self.created += 1;
        }
        *self.outcomes.entry(outcome).or_default() += 1;
    }
}

/// Why sending stopped before the end of the file.
#[derive(Default)]
struct Stop {
    cause: Mutex<Option<String>>,
    /// The stop came from a refused credential or an unreachable shared pacer.
    by_configuration: AtomicBool,
}

impl Stop {
    fn set(&self, cause: String) {
        let mut current = self.cause.lock().unwrap_or_else(PoisonError::into_inner);
        if current.is_none() {
            *current = Some(cause);
        }
    }

    fn stopped(&self) -> bool {
        self.cause
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    fn cause(&self) -> Option<String> {
        self.cause
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Whether an answer dooms every later row: what the library's bulk runs stop on (the
/// vendor's own judgement: the credential, the permission, the organization, its quota or
/// plan, but not an error about the row itself), and a shared pacer that cannot be reached
/// when the run must not go on without it.
fn dooms_the_rest(provider: &dyn Provider, error: &Error) -> bool {
    provider.dooms_other_requests(error) || error.kind() == ErrorKind::PacerUnavailable
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
    // The file is read twice (counted, then sent): it must read the same both times.
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

    let build = |record, columns: &rows::Columns, lines: &mut rows::Lines, seen: &mut Seen| {
        rows::row(
            record,
            columns,
            lines,
            &defaults,
            organization,
            provider,
            seen,
        )
    };
    // A first pass counts the rows (for the progress bar), and with --strict checks them all.
    let (reader, columns, mut lines) = rows::open(path)?;
    let mut total = 0u64;
    let mut bad = Vec::new();
    let mut seen = Seen::default();
    for record in reader.into_records() {
        let unreadable = matches!(&record, Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)));
        total += 1;
        if args.strict || unreadable {
            let row = build(record, &columns, &mut lines, &mut seen);
            if let Err(why) = &row.request {
                bad.push(format!("line {}: {why}", row.line));
            }
        }
        if unreadable {
            break;
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

    let target = match (&global.base_url, global.sandbox) {
        (_, true) => "sandbox".to_owned(),
        (Some(url), false) => url.clone(),
        (None, false) => "default".to_owned(),
    };
    let (journal, recorded) = match &args.journal {
        Some(journal) if !args.dry_run => {
            let (journal, recorded) =
                Journal::open(journal, provider.kind().as_str(), organization, &target)?;
            (Some(Arc::new(journal)), recorded)
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
        created: 0,
        report_failed: None,
    });

    // Ctrl-C: no new row starts; rows in flight finish and are recorded. Again: exit now.
    let stop = Arc::new(Stop::default());
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, interrupted, progress) = (stop.clone(), interrupted.clone(), progress.clone());
        let journaled = args.journal.is_some();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                progress.println(
                    "interrupted: finishing the invitations in flight (Ctrl-C again to abandon them)",
                );
                stop.set("interrupted".to_owned());
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                progress.finish();
                eprintln!(
                    "abandoned the invitations in flight; {}",
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

    let (reader, columns, mut lines) = rows::open(path)?;
    let mut seen = Seen::default();
    let rows = reader
        .into_records()
        .map(|record| build(record, &columns, &mut lines, &mut seen));
    let done_before = recorded
        .values()
        .filter(|r| matches!(r, Recorded::Done { .. }))
        .count() as u64;
    progress.start(total);
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
                let recorded = recorded.get(&row.key());
                invite_row(provider, organization, &row, journal, recorded, stop).await
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
    watcher.abort();
    progress.finish();

    let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(report) = &mut sink.report {
        if let Err(e) = report.flush() {
            sink.report_failed.get_or_insert(e.to_string());
        }
    }
    if let Some(problem) = &sink.report_failed {
        eprintln!("warning: the report could not be written whole: {problem}");
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
            format!(", {done_before} done by an earlier run")
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
    // A refused credential (or an unreachable shared pacer) before anything was created: a
    // configuration problem.
    if sink.created == 0 && stop.by_configuration.load(Ordering::SeqCst) {
        return Ok(ExitCode::from(2));
    }
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
    journal: Option<&Arc<Journal>>,
    recorded: Option<&Recorded>,
    stop: &Stop,
) -> Value {
    let request = match &row.request {
        Ok(request) => request,
        Err(why) => return row.record("skipped", Some("invalid_request"), None, why),
    };
    let key = row.key();
    let mut started_at = None;
    match recorded {
        Some(Recorded::Done { record }) => {
            // Done by an earlier run: its outcome, on this file's line.
            let mut record = record.clone();
            record["line"] = row.line.into();
            record["replayed"] = true.into();
            return record;
        }
        Some(Recorded::Started { at }) => started_at = Some(*at),
        None => {}
    }
    if stop.stopped() {
        let cause = stop.cause().unwrap_or_default();
        return row.record("skipped", None, None, &format!("not sent: {cause}"));
    }
    if let Some(at) = started_at {
        // An earlier run sent this row (or was about to) and stopped before its outcome was
        // known: look the invitation up before sending anything.
        match settle(provider, organization, &request.invitee, at).await {
            Ok(Some((id, ours))) => {
                let record = if ours {
                    row.record(
                        "created",
                        None,
                        Some(&id),
                        "created by an interrupted run; found on resume",
                    )
                } else {
                    row.record("already_invited", None, Some(&id), "")
                };
                return finish(journal, row, &key, record, stop).await;
            }
            Ok(None) => {}
            // Not settled: left as started in the journal, for the next run.
            Err(message) => return row.record("in_doubt", None, None, &message),
        }
    } else if let Some(journal) = journal {
        let (journal, entry_key) = (journal.clone(), key.clone());
        let written = tokio::task::spawn_blocking(move || journal.started(&entry_key))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        if let Err(e) = written {
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
        Ok(Ensured::AlreadyMember) => row.record("already_member", None, None, ""),
        Ok(other) => {
            // An outcome this version does not know: left as started, looked up next time.
            return row.record(
                "in_doubt",
                None,
                other.invitation().map(|i| i.id.as_str()),
                "an outcome this version does not know",
            );
        }
        Err(error) => {
            if dooms_the_rest(provider, &error) {
                if matches!(
                    error.kind(),
                    ErrorKind::Unauthenticated | ErrorKind::PacerUnavailable
                ) {
                    stop.by_configuration.store(true, Ordering::SeqCst);
                }
                stop.set(describe(&error));
            }
            if error.may_have_been_created() {
                // Left as started: the next run looks it up before sending anything.
                return row.record(
                    "in_doubt",
                    Some(error.kind().as_str()),
                    None,
                    &describe(&error),
                );
            }
            let outcome = if error.nothing_sent() {
                "skipped"
            } else {
                "failed"
            };
            row.record(
                outcome,
                Some(error.kind().as_str()),
                None,
                &describe(&error),
            )
        }
    };
    finish(journal, row, &key, record, stop).await
}

/// Records a row's outcome in the journal: done when invited or already there (a row is done
/// only once that is on disk), failed otherwise, for a re-run to try again.
async fn finish(
    journal: Option<&Arc<Journal>>,
    row: &Row,
    key: &str,
    record: Value,
    stop: &Stop,
) -> Value {
    let Some(journal) = journal else {
        return record;
    };
    let settled = matches!(
        record["outcome"].as_str(),
        Some("created" | "already_invited" | "already_member")
    );
    let (journal, entry_key, entry) = (journal.clone(), key.to_owned(), record.clone());
    let written = tokio::task::spawn_blocking(move || {
        if settled {
            journal.done(&entry_key, &entry)
        } else {
            journal.failed(&entry_key)
        }
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    match written {
        Ok(()) => record,
        Err(e) => {
            stop.set(format!("the journal cannot be written: {e}"));
            row.record(
                if settled { "in_doubt" } else { "failed" },
                record["kind"].as_str(),
                record["id"].as_str(),
                &format!(
                    "{} (outcome {}, but the journal cannot be written: {e})",
                    record["message"].as_str().unwrap_or_default(),
                    record["outcome"].as_str().unwrap_or_default()
                ),
            )
        }
    }
}

/// How long after an interrupted send the vendor's lists may still miss the invitation, in
/// seconds: a recent one is looked up again over this time before it counts as not sent.
const READ_LAG: u64 = 5;

/// How far the vendor's clock and this machine's may disagree, in seconds, when telling an
/// invitation made by the interrupted run from an older one.
const CLOCK_SKEW: i64 = 300;

/// Looks up the invitation a row sent (or was about to send) before an interruption at `at`:
/// its id when found, and whether it was made then rather than before.
async fn settle(
    provider: &dyn Provider,
    organization: &str,
    invitee: &Invitee,
    at: u64,
) -> Result<Option<(String, bool)>, String> {
    let recent = crate::journal::unix_now().saturating_sub(at) < READ_LAG * 2;
    let lookups = if recent { 3 } else { 1 };
    for lookup in 0..lookups {
        if lookup > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(READ_LAG * 1000 / 2)).await;
        }
        match provider.find_invitation(organization, invitee).await {
            Ok(Some(invitation)) => {
                let since = i64::try_from(at).unwrap_or(i64::MAX) - CLOCK_SKEW;
                let ours = invitation
                    .created_at
                    .is_none_or(|created| created.as_second() >= since);
                return Ok(Some((invitation.id, ours)));
            }
            Ok(None) => {}
            Err(error) if error.kind() == ErrorKind::Unsupported => {
                return Err(format!(
                    "sent by an interrupted run and cannot be looked up ({}); check it by hand",
                    describe(&error)
                ))
            }
            Err(error) => {
                return Err(format!(
                    "sent by an interrupted run; looking it up failed: {}",
                    describe(&error)
                ))
            }
        }
    }
    Ok(None)
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
