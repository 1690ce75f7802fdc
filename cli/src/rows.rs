//! The rows of a CSV file: columns, one request per row, and the checks made before sending.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use csv::StringRecord;
use orginvite::clerk::ClerkOptions;
use orginvite::github::GitHubOptions;
use orginvite::{CreateInvitation, Invitee, Provider, Role};
use serde_json::Value;

use crate::outcome::Outcome;
use crate::Usage;

/// The columns a CSV file may have.
pub(crate) const COLUMNS: &[&str] = &[
    "email",
    "login",
    "user_id",
    "role",
    "teams",
    "expires_in",
    "reinstate",
    "inviter",
    "redirect_url",
    "public_metadata",
    "notify",
];

/// Where each known column is.
#[derive(Debug, Default)]
pub(crate) struct Columns(HashMap<&'static str, usize>);

impl Columns {
    /// Reads the header: every column must be known, and one of the invitee columns present.
    pub(crate) fn from_header(header: &StringRecord) -> Result<Columns, Usage> {
        let mut columns = HashMap::new();
        for (index, name) in header.iter().enumerate() {
            // A spreadsheet's byte-order mark, and its empty trailing columns, are no columns.
            let name = name
                .trim_start_matches('\u{feff}')
                .trim()
                .to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            let Some(known) = COLUMNS.iter().find(|known| **known == name) else {
                return Err(Usage(format!(
                    "invalid_request: unknown column {name:?} in the CSV header (known: {})",
                    COLUMNS.join(", ")
                )));
            };
            if columns.insert(*known, index).is_some() {
                return Err(Usage(format!(
                    "invalid_request: the column {name:?} appears twice in the CSV header"
                )));
            }
        }
        if !["email", "login", "user_id"]
            .iter()
            .any(|c| columns.contains_key(c))
        {
            return Err(Usage(
                "invalid_request: the CSV header needs an email, login or user_id column (the first line is the header)"
                    .to_owned(),
            ));
        }
        Ok(Columns(columns))
    }

    fn get<'r>(&self, record: &'r StringRecord, column: &str) -> Option<&'r str> {
        self.0
            .get(column)
            .and_then(|index| record.get(*index))
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }
}

/// One row: its line, who it invites, and its request or why it is refused.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) line: u64,
    pub(crate) email: Option<String>,
    pub(crate) login: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) request: Result<CreateInvitation, String>,
}

impl Row {
    /// The key a person is known by within a run (and in the journal).
    pub(crate) fn key(&self) -> String {
        match (&self.email, &self.login, &self.user_id) {
            (Some(email), _, _) => email.to_lowercase(),
            (_, Some(login), _) => format!("login:{}", login.to_lowercase()),
            (_, _, Some(id)) => format!("user_id:{id}"),
            _ => String::new(),
        }
    }

    /// The invitee, as the request has it.
    pub(crate) fn invitee(&self) -> Option<&Invitee> {
        self.request.as_ref().ok().map(|request| &request.invitee)
    }

    /// The report's object for this row, with its outcome.
    pub(crate) fn record(
        &self,
        outcome: Outcome,
        kind: Option<&str>,
        id: Option<&str>,
        message: &str,
    ) -> Value {
        let mut record = serde_json::Map::new();
        record.insert("line".into(), self.line.into());
        if let Some(email) = &self.email {
            record.insert("email".into(), email.clone().into());
        }
        if let Some(login) = &self.login {
            record.insert("login".into(), login.clone().into());
        }
        if let Some(user_id) = &self.user_id {
            record.insert("user_id".into(), user_id.clone().into());
        }
        record.insert("outcome".into(), outcome.as_str().into());
        record.insert("kind".into(), kind.map_or(Value::Null, Value::from));
        record.insert("id".into(), id.map_or(Value::Null, Value::from));
        record.insert("message".into(), message.into());
        Value::Object(record)
    }
}

/// Tells the line a record starts on, reading the file alongside the CSV reader (whose own
/// count is off after blank lines and with CRLF line ends).
pub(crate) struct Lines {
    reader: BufReader<File>,
    /// Bytes read so far.
    at: u64,
    /// Line breaks read so far.
    breaks: u64,
}

impl Lines {
    fn new(file: File) -> Lines {
        Lines {
            reader: BufReader::new(file),
            at: 0,
            breaks: 0,
        }
    }

    /// The 1-based line of the record whose bytes start at `offset` (or at the first byte
    /// after it that is no line break). Offsets must come in order.
    fn line_of(&mut self, offset: u64) -> u64 {
        let mut byte = [0u8; 1];
        while self.at < offset {
            match self.reader.read(&mut byte) {
                Ok(1) => {
                    self.at += 1;
                    if byte[0] == b'\n' {
                        self.breaks += 1;
                    }
                }
                _ => break,
            }
        }
        // Line breaks before the record's first byte belong to the lines before it.
        while let Ok([next, ..]) = self.reader.fill_buf() {
            let next = *next;
            if next != b'\n' && next != b'\r' {
                break;
            }
            self.reader.consume(1);
            self.at += 1;
            if next == b'\n' {
                self.breaks += 1;
            }
        }
        self.breaks + 1
    }
}

/// Opens a CSV file, reading its header.
pub(crate) fn open(path: &Path) -> Result<(csv::Reader<File>, Columns, Lines), Usage> {
    let file = File::open(path).map_err(|e| {
        Usage(format!(
            "invalid_request: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(file);
    let header = reader.headers().map_err(|e| {
        Usage(format!(
            "invalid_request: cannot read the header of {}: {e}",
            path.display()
        ))
    })?;
    let columns = Columns::from_header(header)?;
    let lines = File::open(path).map(Lines::new).map_err(|e| {
        Usage(format!(
            "invalid_request: cannot read {}: {e}",
            path.display()
        ))
    })?;
    Ok((reader, columns, lines))
}

/// What every request of a run shares: the flags' role, expiry and vendor options. A row's
/// own cells override them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Defaults {
    pub(crate) role: Option<Role>,
    pub(crate) expires_in: Option<Duration>,
    pub(crate) github: GitHubOptions,
    pub(crate) clerk: ClerkOptions,
}

impl Defaults {
    /// The request inviting `invitee` to `organization` with these settings: the one place
    /// the command line builds a request.
    pub(crate) fn request(&self, organization: &str, invitee: Invitee) -> CreateInvitation {
        let mut request = CreateInvitation::new(organization, invitee)
            .with(self.github.clone())
            .with(self.clerk.clone());
        if let Some(role) = &self.role {
            request = request.role(role.clone());
        }
        request.expires_in = self.expires_in;
        request
    }
}

/// The invitee of exactly one of `email`, `login` and `user_id`: the one place the command
/// line builds an invitee, from flags or from a row's cells.
pub(crate) fn invitee(
    email: Option<&str>,
    login: Option<&str>,
    user_id: Option<&str>,
) -> Result<Invitee, String> {
    match (email, login, user_id) {
        (Some(email), None, None) => Ok(Invitee::email(email)),
        (None, Some(login), None) => Ok(Invitee::login(login)),
        (None, None, Some(id)) => Ok(Invitee::user_id(id)),
        (None, None, None) => Err("no invitee: give an email, a login or a user id".to_owned()),
        _ => Err("more than one invitee: give one of email, login and user id".to_owned()),
    }
}

/// Builds the row of `record` (or the reason it cannot be read): the defaults from the flags,
/// overridden by the row's cells, checked as the provider checks a request before sending.
pub(crate) fn row(
    record: csv::Result<StringRecord>,
    columns: &Columns,
    lines: &mut Lines,
    defaults: &Defaults,
    organization: &str,
    provider: &dyn Provider,
) -> Row {
    let (line, record) = match record {
        Ok(record) => (
            record
                .position()
                .map_or(0, |position| lines.line_of(position.byte())),
            record,
        ),
        Err(error) => {
            let line = error
                .position()
                .map_or(0, |position| lines.line_of(position.byte()));
            return Row {
                line,
                email: None,
                login: None,
                user_id: None,
                request: Err(format!("unreadable row: {error}")),
            };
        }
    };
    let mut row = Row {
        line,
        email: columns.get(&record, "email").map(str::to_owned),
        login: columns.get(&record, "login").map(str::to_owned),
        user_id: columns.get(&record, "user_id").map(str::to_owned),
        request: Err(String::new()),
    };
    row.request = request(&row, &record, columns, defaults, organization, provider);
    row
}

fn request(
    row: &Row,
    record: &StringRecord,
    columns: &Columns,
    defaults: &Defaults,
    organization: &str,
    provider: &dyn Provider,
) -> Result<CreateInvitation, String> {
    let invitee = invitee(
        row.email.as_deref(),
        row.login.as_deref(),
        row.user_id.as_deref(),
    )?;
    let mut settings = defaults.clone();
    if let Some(role) = columns.get(record, "role") {
        settings.role = Some(role.parse().unwrap_or_else(|never| match never {}));
    }
    if let Some(expires_in) = columns.get(record, "expires_in") {
        settings.expires_in =
            Some(crate::parse_expiry(expires_in).map_err(|e| format!("expires_in {e}"))?);
    }
    if let Some(teams) = columns.get(record, "teams") {
        settings.github.team_ids.clear();
        settings.github.team_slugs.clear();
        for team in teams.split(';').map(str::trim).filter(|t| !t.is_empty()) {
            match team.parse::<u64>() {
                Ok(id) => settings.github.team_ids.push(id),
                Err(_) => settings.github.team_slugs.push(team.to_owned()),
            }
        }
    }
    if let Some(reinstate) = columns.get(record, "reinstate") {
        settings.github.reinstate = yes(reinstate, "reinstate")?;
    }
    if let Some(inviter) = columns.get(record, "inviter") {
        settings.clerk.inviter_user_id = Some(inviter.to_owned());
    }
    if let Some(url) = columns.get(record, "redirect_url") {
        settings.clerk.redirect_url = Some(url.to_owned());
    }
    if let Some(metadata) = columns.get(record, "public_metadata") {
        settings.clerk.public_metadata =
            Some(crate::parse_metadata(metadata).map_err(|e| format!("public_metadata {e}"))?);
    }
    if let Some(notify) = columns.get(record, "notify") {
        settings.clerk.notify = Some(yes(notify, "notify")?);
    }
    let request = settings.request(organization, invitee);
    // The vendor's own rules (its roles among them), as a create would check them.
    provider
        .check_invitation(&request)
        .map_err(|error| crate::output::describe(&error))?;
    Ok(request)
}

fn yes(value: &str, column: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{column} takes true or false, not {value:?}")),
    }
}

/// The logins and team slugs a file names, for the sandbox to know them.
pub(crate) fn names(path: &Path) -> (Vec<String>, Vec<String>) {
    let Ok((reader, columns, _)) = open(path) else {
        return (Vec::new(), Vec::new());
    };
    let (mut logins, mut slugs) = (BTreeSet::new(), BTreeSet::new());
    for record in reader.into_records().map_while(Result::ok) {
        if let Some(login) = columns.get(&record, "login") {
            logins.insert(login.to_lowercase());
        }
        for team in columns.get(&record, "teams").unwrap_or_default().split(';') {
            let team = team.trim();
            if !team.is_empty() && team.parse::<u64>().is_err() {
                slugs.insert(team.to_owned());
            }
        }
    }
    (logins.into_iter().collect(), slugs.into_iter().collect())
}
