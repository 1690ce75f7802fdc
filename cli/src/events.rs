//! `status`: where each person's invitation stands, from one snapshot; `watch`: invitation
//! events as they happen, polled until Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use orginvite::events::{EventCursor, InvitationEvent};
use orginvite::{ErrorKind, Invitee, Presence, Provider, Snapshot};
use serde_json::json;

use crate::output::{describe, print_json, time, Table};
use crate::{bulk, exit_for, progress, rows, OutputFormat, Usage};

/// `status`: the people to look at.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("people").required(true).multiple(true).args(["csv", "emails", "logins"]))]
pub(crate) struct StatusArgs {
    /// Everyone in this CSV file (the columns of `invite --csv`; only the person's columns
    /// are read).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["emails", "logins"])]
    pub(crate) csv: Option<PathBuf>,
    /// A person by email (repeat for several).
    #[arg(long = "email", value_name = "EMAIL")]
    pub(crate) emails: Vec<String>,
    /// A person by GitHub login (repeat for several).
    #[arg(long = "login", value_name = "LOGIN")]
    pub(crate) logins: Vec<String>,
}

/// `watch`: how often, and where to keep what was seen.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// How long between two polls: seconds (90s), minutes (5m) or hours (1h); at least 1s.
    #[arg(long, value_name = "Ns|Nm|Nh", default_value = "60s", value_parser = parse_interval)]
    pub(crate) interval: Duration,
    /// Keep what was last seen in this file, and start from it: a restart neither repeats nor
    /// misses an event. Without it, watching starts from what the organization is now.
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    /// Stop after this many polls (the first one only sets the starting point when there is
    /// no state yet). Without it, watch until Ctrl-C.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) polls: Option<u64>,
}

/// `90s`, `5m` or `1h`.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("takes whole seconds, minutes or hours such as 90s, 5m or 1h, not {text:?}");
    let (number, unit) = match text.char_indices().last() {
        Some((at, 's')) => (&text[..at], 1),
        Some((at, 'm')) => (&text[..at], 60),
        Some((at, 'h')) => (&text[..at], 3600),
        _ => return Err(bad()),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let seconds = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(bad)?;
    if seconds == 0 {
        return Err("must be at least 1s".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

/// One person of a file or the flags: the file's line (0 for a flag), a name to print, and
/// who they are to the vendor.
pub(crate) struct Person {
    pub(crate) line: u64,
    pub(crate) who: String,
    pub(crate) invitee: Invitee,
}

/// The people of a CSV file (the columns of `invite --csv`; only the person's are read),
/// and whether some line named nobody (each reported on stderr).
pub(crate) fn csv_people(
    path: &Path,
    organization: &str,
    provider: &dyn Provider,
) -> Result<(Vec<Person>, bool), Usage> {
    let rows = bulk::read_rows(path, &rows::Defaults::default(), organization, provider)?;
    let mut unreadable = false;
    let mut people = Vec::with_capacity(rows.len());
    for row in &rows {
        match row.invitee() {
            Some(invitee) => people.push(Person {
                line: row.line,
                who: invitee
                    .as_email()
                    .map(str::to_owned)
                    .unwrap_or_else(|| crate::output::invitee_text(invitee)),
                invitee: invitee.clone(),
            }),
            None => {
                unreadable = true;
                let why = row.request.as_ref().err().cloned().unwrap_or_default();
                eprintln!("line {}: {why}", row.line);
            }
        }
    }
    Ok((people, unreadable))
}

/// The people a command names, from a file or the flags, and a snapshot of the organization
/// to answer for them: or the exit code, the problem printed.
pub(crate) async fn people_and_snapshot(
    csv: Option<&Path>,
    flags: Vec<Person>,
    organization: &str,
    provider: &dyn Provider,
) -> Result<(Vec<Person>, bool, Snapshot), ExitCode> {
    let (people, unreadable) = match csv {
        Some(path) => csv_people(path, organization, provider).map_err(|Usage(problem)| {
            eprintln!("error: {problem}");
            ExitCode::from(2)
        })?,
        None => (flags, false),
    };
    match provider.snapshot(organization).await {
        Ok(snapshot) => Ok((people, unreadable, snapshot)),
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            Err(exit_for(&error))
        }
    }
}

/// A person's state in a snapshot: the state, since when, the invitation id, and a word on
/// what the vendor cannot tell.
fn state_of(
    snapshot: &Snapshot,
    invitee: &Invitee,
) -> (&'static str, String, String, &'static str) {
    match snapshot.presence(invitee) {
        Presence::Member(_) => ("member", String::new(), String::new(), ""),
        Presence::Invited(invitation) => {
            ("pending", time(invitation.created_at), invitation.id, "")
        }
        Presence::Lapsed(invitation) => {
            let state = match invitation.status {
                orginvite::InvitationStatus::Expired => "expired",
                _ => "failed",
            };
            let since = match state {
                "expired" => time(invitation.expires_at),
                _ => String::new(),
            };
            (state, since, invitation.id, "")
        }
        Presence::Absent => (
            "unknown",
            String::new(),
            String::new(),
            "neither invited nor a member",
        ),
        _ => (
            "unknown",
            String::new(),
            String::new(),
            "not invited; the vendor does not show whether this email is a member's",
        ),
    }
}

/// `status`: each person's state, from one snapshot of the organization.
pub(crate) async fn status(
    provider: &dyn Provider,
    organization: &str,
    args: &StatusArgs,
    output: OutputFormat,
    progress: &progress::Progress,
) -> ExitCode {
    let flags = args
        .emails
        .iter()
        .map(|email| (email, Invitee::email(email)))
        .chain(
            args.logins
                .iter()
                .map(|login| (login, Invitee::login(login))),
        )
        .map(|(who, invitee)| Person {
            line: 0,
            who: who.clone(),
            invitee,
        })
        .collect();
    let (people, unreadable, snapshot) =
        match people_and_snapshot(args.csv.as_deref(), flags, organization, provider).await {
            Ok(found) => found,
            Err(code) => return code,
        };
    let mut table = Table::new(["invitee", "state", "since", "invitation id", "note"]);
    for Person { who, invitee, .. } in &people {
        let (state, since, id, note) = state_of(&snapshot, invitee);
        match output {
            OutputFormat::Json => print_json(&json!({
                "invitee": who, "state": state, "since": since, "invitation_id": id,
                "note": note,
            })),
            OutputFormat::Table | OutputFormat::Markdown => {
                table.row([who.clone(), state.to_owned(), since, id, note.to_owned()])
            }
        }
    }
    table.print_if(output);
    eprintln!("{}", progress.requests());
    if unreadable {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Reads a saved cursor; none when the file does not exist yet.
fn load(path: &Path) -> Result<EventCursor, Usage> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Usage(format!(
                "invalid_config: {} is not a state `watch` wrote: {e}",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(EventCursor::new()),
        Err(e) => Err(Usage(format!(
            "invalid_config: cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Writes the cursor whole or not at all: to a file beside it, then renamed over it.
fn save(path: &Path, cursor: &EventCursor) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let bytes = serde_json::to_vec(cursor).map_err(std::io::Error::other)?;
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)
}

fn print_event(event: &InvitationEvent, output: OutputFormat) {
    match output {
        OutputFormat::Json => print_json(&json!({
            "at": event.at.map(|at| at.to_string()),
            "kind": event.kind.as_str(),
            "invitee": event.who(),
            "invitation_id": event.invitation_id,
            "email": event.email,
            "login": event.login,
            "user_id": event.user_id,
        })),
        OutputFormat::Table | OutputFormat::Markdown => {
            // One aligned line per event, printed as it comes.
            println!(
                "{:<20}  {:<14}  {:<32}  {}",
                time(event.at),
                event.kind.as_str(),
                event.who(),
                event.invitation_id.as_deref().unwrap_or("")
            );
        }
    }
}

/// `watch`: polls the organization every interval and prints what changed, until Ctrl-C (or
/// `--polls`): exit 0, or 1 when the last poll failed. A failed poll is reported and tried
/// again at the next interval; a refused credential (exit 2), a missing permission or an
/// unknown organization (exit 1) end the watch, as does a state file of another vendor or
/// organization (exit 2, before any request).
pub(crate) async fn watch(
    provider: &dyn Provider,
    organization: &str,
    args: &WatchArgs,
    output: OutputFormat,
) -> ExitCode {
    let mut cursor = match args.state.as_deref().map(load).transpose() {
        Ok(cursor) => cursor.unwrap_or_default(),
        Err(Usage(problem)) => {
            eprintln!("error: {problem}");
            return ExitCode::from(2);
        }
    };
    if let Some((vendor, watched)) = cursor.place() {
        if !cursor.follows(provider.kind(), organization) {
            eprintln!(
                "error: invalid_request: the state file follows {watched} on {vendor}, not \
                 {organization} on {}; give another --state file",
                provider.kind()
            );
            return ExitCode::from(2);
        }
    }
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut polls = 0u64;
    let mut failed = false;
    loop {
        let started = cursor.is_started();
        let poll = tokio::select! {
            _ = &mut interrupted => break,
            poll = provider.poll_events(organization, &mut cursor) => poll,
        };
        polls += 1;
        match poll {
            Ok(events) => {
                failed = false;
                if !started {
                    let (invitations, members) = cursor.counts();
                    eprintln!(
                        "watching {organization}: {invitations} invitation(s) and {members} \
                         member(s) now; printing what changes"
                    );
                }
                for event in &events {
                    print_event(event, output);
                }
                if let Some(path) = &args.state {
                    if let Err(e) = save(path, &cursor) {
                        eprintln!("error: cannot save the state to {}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                }
            }
            Err(error) => {
                eprintln!("error: {}", describe(&error));
                // What the next poll would meet again ends the watch; the rest (a timeout, a
                // 5xx, a rate limit) is tried again at the next interval.
                if exit_for(&error) == ExitCode::from(2) {
                    return ExitCode::from(2);
                }
                if matches!(
                    error.kind(),
                    ErrorKind::PermissionDenied | ErrorKind::NotFound | ErrorKind::PaymentRequired
                ) {
                    return ExitCode::FAILURE;
                }
                failed = true;
            }
        }
        if args.polls.is_some_and(|most| polls >= most) {
            break;
        }
        tokio::select! {
            _ = &mut interrupted => break,
            _ = tokio::time::sleep(args.interval) => {}
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_whole_seconds_minutes_or_hours() {
        assert_eq!(parse_interval("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "s", "10", "1.5m", "-1s", "0s", "99999999999999999999h"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
