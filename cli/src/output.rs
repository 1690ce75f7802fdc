//! Printing: error lines, JSON lines and aligned tables.

use std::io::Write;

use orginvite::jiff::Timestamp;
use orginvite::{Error, Invitation, Invitee};
use serde_json::Value;

use crate::OutputFormat;

/// `<kind>: <message>`, with the chain of causes.
pub(crate) fn describe(error: &Error) -> String {
    // The kind leads the line, so the message goes without its own "invalid request:" prefix.
    let message = match error {
        Error::InvalidRequest(invalid) => invalid.to_string(),
        Error::InvalidConfig { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    let mut line = format!("{}: {message}", error.kind());
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        line.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    line
}

/// One JSON object on its own line on stdout.
pub(crate) fn print_json(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, value);
    let _ = out.write_all(b"\n");
}

/// Who an invitation is for, as shown in tables.
pub(crate) fn invitee_of(invitation: &Invitation) -> String {
    invitation
        .email
        .clone()
        .or_else(|| invitation.login.clone())
        .unwrap_or_default()
}

/// An invitee as typed.
pub(crate) fn invitee_text(invitee: &Invitee) -> String {
    match invitee {
        Invitee::Email(email) => email.clone(),
        Invitee::UserId(id) => format!("user id {id}"),
        Invitee::Login(login) => login.clone(),
        _ => String::new(),
    }
}

/// A timestamp to the second, or nothing.
pub(crate) fn time(at: Option<Timestamp>) -> String {
    at.map(|at| at.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Rows printed with aligned columns once all are known.
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new<const N: usize>(header: [&str; N]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row<const N: usize>(&mut self, cells: [String; N]) {
        self.rows.push(cells.to_vec());
    }

    /// Prints the table unless the output is JSON.
    pub(crate) fn print_if(&self, output: OutputFormat) {
        if output != OutputFormat::Json {
            self.print();
        }
    }

    pub(crate) fn print(&self) {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", line(&self.header));
        for row in &self.rows {
            let _ = writeln!(out, "{}", line(row));
        }
    }
}
