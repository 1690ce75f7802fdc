//! `orginvite`: invite people to a GitHub, Clerk or Elastic Cloud organization from the command
//! line — one person, or a whole CSV with a dry run, a crash-safe journal, a progress bar and a
//! per-row report — and list, cancel, resend and check invitations.
//!
//! Exit codes: 0 when everything asked for was done (every row created or already there);
//! 1 when something failed, is in doubt or was skipped (or the run was interrupted);
//! 2 for a usage, configuration or credential problem, with nothing sent.

mod bulk;
mod client;
mod events;
mod journal;
mod outcome;
mod output;
mod progress;
mod roster;
mod rows;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use orginvite::clerk::ClerkOptions;
use orginvite::github::GitHubOptions;
use orginvite::{
    Error, ErrorKind, InvitationStatus, Invitee, ListInvitations, Membership, Presence, Provider,
    Resent,
};
use serde_json::{json, Map, Value};

use crate::output::{describe, print_json, Table};

/// Invite people to a GitHub, Clerk or Elastic Cloud organization: one, or a whole CSV.
///
/// Credentials come from the environment: GITHUB_TOKEN (or a GitHub App: GITHUB_APP_ID,
/// GITHUB_APP_PRIVATE_KEY and optionally GITHUB_APP_INSTALLATION_ID), CLERK_SECRET_KEY,
/// EC_API_KEY. `--sandbox` runs against a local fake of the vendor instead, with no
/// credential and nothing leaving the machine.
#[derive(Debug, Parser)]
#[command(name = "orginvite", version, about, long_about)]
pub(crate) struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The vendor.
    #[arg(long, value_enum, global = true)]
    provider: Option<Vendor>,
    /// The organization: GitHub's login, Clerk's org_... id, Elastic Cloud's organization id.
    #[arg(long, global = true)]
    org: Option<String>,
    /// The vendor's API base URL (GitHub Enterprise Server, a proxy, a test server).
    #[arg(long, global = true, value_name = "URL")]
    base_url: Option<String>,
    /// Run against a local fake of the vendor (nothing leaves this machine).
    #[arg(long, global = true)]
    sandbox: bool,
    /// How results are printed.
    #[arg(long, value_enum, global = true, default_value = "table")]
    output: OutputFormat,
    /// At most this many invitations per window: N/s, N/min or N/h (default: the vendor's
    /// own pacing — GitHub one at a time 1 s apart, Clerk 250/h, Elastic Cloud by its headers).
    #[arg(long, global = true, value_name = "N/s|N/min|N/h", value_parser = client::parse_rate)]
    rate: Option<orginvite::Pacing>,
    /// Pace together with every other process using this Redis and the same key,
    /// `orginvite:<provider>:<organization>` (`github`, `clerk` or `elastic_cloud`). Needs a
    /// build with the `redis` feature.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "ORGINVITE_REDIS_URL",
        hide_env_values = true
    )]
    redis: Option<String>,
    /// --redis is a Redis Cluster: one or more of its nodes' URLs, comma-separated.
    #[arg(long, global = true, requires = "redis")]
    redis_cluster: bool,
    /// With a rediss:// --redis: trust the certificate authorities in this PEM file instead of
    /// the system's (a managed Redis with a private authority).
    #[arg(long, global = true, value_name = "FILE", env = "ORGINVITE_REDIS_CA")]
    redis_ca: Option<PathBuf>,
    /// With a rediss:// --redis: present this client certificate (PEM) for mutual TLS; needs
    /// --redis-key.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "ORGINVITE_REDIS_CERT",
        requires = "redis_key"
    )]
    redis_cert: Option<PathBuf>,
    /// The private key (PEM) of --redis-cert.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "ORGINVITE_REDIS_KEY",
        requires = "redis_cert"
    )]
    redis_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Vendor {
    Github,
    Clerk,
    Elastic,
}

impl Vendor {
    /// The vendor's name in flags and roster files: `github`, `clerk`, `elastic`.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Vendor::Github => "github",
            Vendor::Clerk => "clerk",
            Vendor::Elastic => "elastic",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON object per line.
    Json,
    /// A Markdown table, for a pull-request comment (`plan`; the others print their table).
    Markdown,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a roster file: its shape, duplicate people, unknown roles, malformed emails and
    /// logins. One line per problem; exit 1 when there is one.
    Lint {
        /// The roster file.
        #[arg(value_name = "ROSTER")]
        roster: PathBuf,
    },
    /// Print what it takes to make each organization of a roster match it, from one snapshot
    /// each; sends no write.
    Plan(roster::PlanArgs),
    /// Make each organization of a roster match it: print the plan, then carry it out (the
    /// cancellations, then the invitations, with the CSV run's journal, report and Ctrl-C).
    Apply(roster::ApplyArgs),
    #[command(flatten)]
    Organization(OrgCommand),
}

/// The commands about one organization, named by `--org`.
#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Invite one person, or everyone in a CSV file (--csv).
    Invite(Box<InviteArgs>),
    /// List invitations.
    List {
        /// Which invitations.
        #[arg(long, value_enum, default_value = "pending")]
        status: StatusFilter,
    },
    /// Cancel invitations by id or by the invitee's email.
    Cancel {
        /// An invitation id (repeat for several).
        #[arg(long = "id", value_name = "ID")]
        ids: Vec<String>,
        /// The email of a pending invitation (repeat for several).
        #[arg(long = "email", value_name = "EMAIL")]
        emails: Vec<String>,
    },
    /// Send a new invitation in place of a person's pending one.
    Resend {
        /// The invitee's email.
        #[arg(long)]
        email: String,
    },
    /// Whether someone is a member, invited, or neither; or everyone of a CSV file (--csv),
    /// from one snapshot of the organization.
    Check {
        /// By email.
        #[arg(long, conflicts_with_all = ["login", "csv"], required_unless_present_any = ["login", "csv"])]
        email: Option<String>,
        /// By GitHub login.
        #[arg(long, conflicts_with = "csv")]
        login: Option<String>,
        /// Everyone in this CSV file (the columns of `invite --csv`; only the person's
        /// columns are read): one snapshot of the organization answers for all of them.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
    },
    /// Where each person's invitation stands (pending, member, expired, failed, unknown) and
    /// since when: people from a CSV file or the flags, all from one snapshot of the
    /// organization.
    Status(events::StatusArgs),
    /// Print invitation events as they happen (invited, accepted, revoked, expired, failed,
    /// member added or removed), polling the organization every interval, until Ctrl-C.
    Watch(events::WatchArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatusFilter {
    Pending,
    Failed,
    Expired,
    All,
}

/// `invite`: one person from the flags, or a CSV file.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("who").required(true).args(["email", "login", "user_id", "csv"]))]
pub(crate) struct InviteArgs {
    /// The invitee's email.
    #[arg(long)]
    email: Option<String>,
    /// The invitee's GitHub login.
    #[arg(long)]
    login: Option<String>,
    /// The invitee's user id at the vendor.
    #[arg(long, value_name = "ID")]
    user_id: Option<String>,
    /// admin, member, billing-manager, or a role the vendor names itself (checked by the
    /// vendor's rules before anything is sent).
    #[arg(long)]
    role: Option<String>,
    /// A GitHub team id to add the invitee to (repeat for several).
    #[arg(long = "team-id", value_name = "N")]
    team_ids: Vec<u64>,
    /// A GitHub team slug to add the invitee to (repeat for several).
    #[arg(long = "team", value_name = "SLUG")]
    teams: Vec<String>,
    /// GitHub: reinstate a former member's access.
    #[arg(long)]
    reinstate: bool,
    /// How long the invitation stays valid: whole days (7d) or hours (72h).
    #[arg(long, value_name = "Nd|Nh", value_parser = parse_expiry)]
    expires_in: Option<Duration>,
    /// Clerk: the user id of the inviter.
    #[arg(long, value_name = "USER_ID")]
    inviter: Option<String>,
    /// Clerk: where the invitation link leads.
    #[arg(long, value_name = "URL")]
    redirect_url: Option<String>,
    /// Clerk: public metadata, a JSON object.
    #[arg(long, value_name = "JSON", value_parser = parse_metadata)]
    public_metadata: Option<Map<String, Value>>,
    /// Clerk: do not send the invitation email.
    #[arg(long)]
    no_notify: bool,

    /// Invite everyone in this CSV file (header required; columns: email, login, user_id,
    /// role, teams, and the vendor options).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["email", "login", "user_id"])]
    pub(crate) csv: Option<PathBuf>,
    /// Compare every row with the current invitations and members; send no invitation.
    #[arg(long, requires = "csv")]
    pub(crate) dry_run: bool,
    /// Record every row's outcome here; a re-run with the same journal skips finished rows
    /// and settles the ones that were in flight before sending anything for them.
    #[arg(long, value_name = "FILE", requires = "csv")]
    pub(crate) journal: Option<PathBuf>,
    /// How many invitations may be in flight at once (the vendor's pacing still applies).
    #[arg(long, value_name = "N", default_value_t = 4, requires = "csv",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) concurrency: u16,
    /// Write one JSON object per row to this file.
    #[arg(long, value_name = "FILE", requires = "csv")]
    pub(crate) report: Option<PathBuf>,
    /// Refuse the whole file, sending nothing, when any row is bad.
    #[arg(long, requires = "csv")]
    pub(crate) strict: bool,
}

/// `7d` or `72h`: a whole number of days or hours.
fn parse_expiry(text: &str) -> Result<Duration, String> {
    let bad = || format!("takes whole days or hours such as 7d or 72h, not {text:?}");
    let (number, unit) = match (text.strip_suffix('d'), text.strip_suffix('h')) {
        (Some(days), _) => (days, 24 * 60 * 60),
        (_, Some(hours)) => (hours, 60 * 60),
        _ => return Err(bad()),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let number: u64 = number.parse().map_err(|_| bad())?;
    number
        .checked_mul(unit)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

fn parse_metadata(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("takes a JSON object".to_owned()),
        Err(e) => Err(format!("is not JSON: {e}")),
    }
}

/// A problem found before anything was sent: printed, exit code 2.
pub(crate) struct Usage(pub(crate) String);

impl From<Error> for Usage {
    fn from(error: Error) -> Usage {
        Usage(describe(&error))
    }
}

/// The exit code for an error of a single call: 2 when the configuration, the input or the
/// credential is at fault (nothing was done), else 1.
pub(crate) fn exit_for(error: &Error) -> ExitCode {
    match error.kind() {
        ErrorKind::InvalidConfig
        | ErrorKind::InvalidRequest
        | ErrorKind::Unsupported
        | ErrorKind::Unauthenticated
        | ErrorKind::PacerUnavailable => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    // The roster's commands take their organizations from the file.
    let command = match cli.command {
        Command::Lint { roster } => return roster::lint(&roster),
        Command::Plan(args) => {
            return roster::plan(&cli.global, &args, progress::Progress::new()).await;
        }
        Command::Apply(args) => {
            return roster::apply(&cli.global, &args, progress::Progress::new()).await;
        }
        Command::Organization(command) => command,
    };
    let Some(organization) = cli.global.org.clone() else {
        eprintln!("error: invalid_request: --org is required");
        return ExitCode::from(2);
    };
    // The sandbox knows the logins and team slugs the command names.
    let names = match &command {
        OrgCommand::Invite(args) => {
            let (mut logins, mut slugs) = match (&args.csv, cli.global.sandbox) {
                (Some(csv), true) => rows::names(csv),
                _ => (Vec::new(), Vec::new()),
            };
            logins.extend(args.login.iter().cloned());
            slugs.extend(args.teams.iter().cloned());
            (logins, slugs)
        }
        OrgCommand::Check {
            login: Some(login), ..
        } if cli.global.sandbox => (vec![login.clone()], Vec::new()),
        OrgCommand::Check { csv: Some(csv), .. } if cli.global.sandbox => rows::names(csv),
        OrgCommand::Status(args) if cli.global.sandbox => match &args.csv {
            Some(csv) => rows::names(csv),
            None => (args.logins.clone(), Vec::new()),
        },
        _ => (Vec::new(), Vec::new()),
    };
    let progress = progress::Progress::new();
    let client = match client::connect(&cli.global, &organization, &names, progress.clone()).await {
        Ok(client) => client,
        Err(Usage(problem)) => {
            eprintln!("error: {problem}");
            return ExitCode::from(2);
        }
    };
    let provider: &dyn Provider = &*client.provider;
    match command {
        OrgCommand::Invite(args) => match &args.csv {
            Some(_) => {
                let defaults = defaults(&args);
                bulk::run(
                    provider,
                    &cli.global,
                    &organization,
                    &args,
                    defaults,
                    progress,
                )
                .await
            }
            None => invite_one(provider, &organization, &args).await,
        },
        OrgCommand::List { status } => {
            list(provider, &organization, status, cli.global.output).await
        }
        OrgCommand::Cancel { ids, emails } => {
            cancel(provider, &organization, ids, emails, cli.global.output).await
        }
        OrgCommand::Resend { email } => {
            resend(provider, &organization, &email, cli.global.output).await
        }
        OrgCommand::Check { csv: Some(csv), .. } => {
            check_all(provider, &organization, &csv, cli.global.output, &progress).await
        }
        OrgCommand::Status(args) => {
            events::status(provider, &organization, &args, cli.global.output, &progress).await
        }
        OrgCommand::Watch(args) => {
            events::watch(provider, &organization, &args, cli.global.output).await
        }
        OrgCommand::Check { email, login, .. } => {
            let invitee = match (email, login) {
                (Some(email), _) => Invitee::email(email),
                (_, Some(login)) => Invitee::login(login),
                (None, None) => unreachable!("clap requires one"),
            };
            check(provider, &organization, &invitee, cli.global.output).await
        }
    }
}

/// The options of `invite` that apply to every row of a CSV too (as defaults).
fn defaults(args: &InviteArgs) -> rows::Defaults {
    let mut clerk = ClerkOptions::new();
    if let Some(inviter) = &args.inviter {
        clerk = clerk.inviter_user_id(inviter);
    }
    if let Some(url) = &args.redirect_url {
        clerk = clerk.redirect_url(url);
    }
    if let Some(metadata) = &args.public_metadata {
        clerk = clerk.public_metadata(metadata.clone());
    }
    if args.no_notify {
        clerk = clerk.notify(false);
    }
    let github = args.teams.iter().fold(
        GitHubOptions::new()
            .team_ids(args.team_ids.iter().copied())
            .reinstate(args.reinstate),
        |options, slug| options.team_slug(slug),
    );
    rows::Defaults {
        role: args
            .role
            .as_deref()
            .map(|role| role.parse().unwrap_or_else(|never| match never {})),
        expires_in: args.expires_in,
        github,
        clerk,
    }
}

/// One invitation from the flags: printed as one JSON object.
async fn invite_one(provider: &dyn Provider, organization: &str, args: &InviteArgs) -> ExitCode {
    let invitee = match rows::invitee(
        args.email.as_deref(),
        args.login.as_deref(),
        args.user_id.as_deref(),
    ) {
        Ok(invitee) => invitee,
        Err(why) => {
            eprintln!("error: invalid_request: {why} (--email, --login, --user-id), or --csv");
            return ExitCode::from(2);
        }
    };
    let request = defaults(args).request(organization, invitee);
    match provider.create_invitation(&request).await {
        Ok(invitation) => {
            print_json(&serde_json::to_value(&invitation).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            exit_for(&error)
        }
    }
}

async fn list(
    provider: &dyn Provider,
    organization: &str,
    status: StatusFilter,
    output: OutputFormat,
) -> ExitCode {
    use futures_util::StreamExt;
    let query = ListInvitations::new(organization);
    let query = match status {
        StatusFilter::Pending => query,
        StatusFilter::Failed => query.status(InvitationStatus::Failed),
        StatusFilter::Expired => query.status(InvitationStatus::Expired),
        StatusFilter::All => query.any_status(),
    };
    let mut table = Table::new(["id", "invitee", "role", "status", "created", "expires"]);
    let mut stream = provider.list_invitations(&query);
    let mut count = 0u64;
    while let Some(item) = stream.next().await {
        let invitation = match item {
            Ok(invitation) => invitation,
            Err(error) => {
                table.print_if(output);
                eprintln!("error: {}", describe(&error));
                return exit_for(&error);
            }
        };
        count += 1;
        match output {
            OutputFormat::Json => {
                print_json(&serde_json::to_value(&invitation).unwrap_or_default());
            }
            OutputFormat::Table | OutputFormat::Markdown => table.row([
                invitation.id.clone(),
                output::invitee_of(&invitation),
                invitation.role.to_string(),
                invitation.status.as_str().to_owned(),
                output::time(invitation.created_at),
                output::time(invitation.expires_at),
            ]),
        }
    }
    table.print_if(output);
    if output != OutputFormat::Json {
        eprintln!("{count} invitation(s)");
    }
    ExitCode::SUCCESS
}

async fn cancel(
    provider: &dyn Provider,
    organization: &str,
    mut ids: Vec<String>,
    emails: Vec<String>,
    output: OutputFormat,
) -> ExitCode {
    if ids.is_empty() && emails.is_empty() {
        eprintln!("error: invalid_request: give --id ID or --email EMAIL (repeatable)");
        return ExitCode::from(2);
    }
    let mut table = Table::new(["id", "email", "outcome", "message"]);
    let mut all_done = true;
    for email in &emails {
        match provider
            .find_invitation(organization, &Invitee::email(email))
            .await
        {
            Ok(Some(found)) => ids.push(found.id),
            Ok(None) => {
                all_done = false;
                report_cancel(
                    &mut table,
                    output,
                    "",
                    email,
                    "not_pending",
                    "no pending invitation",
                );
            }
            Err(error) => {
                eprintln!("error: {}", describe(&error));
                return exit_for(&error);
            }
        }
    }
    for outcome in provider.cancel_invitations(organization, ids).await {
        let (result, message) = match &outcome.result {
            Ok(_) => ("cancelled".to_owned(), String::new()),
            Err(error) => {
                all_done = false;
                (error.kind().as_str().to_owned(), describe(error))
            }
        };
        let email = outcome
            .result
            .as_ref()
            .ok()
            .and_then(|c| c.invitation.as_ref())
            .and_then(|i| i.email.clone())
            .unwrap_or_default();
        report_cancel(&mut table, output, &outcome.id, &email, &result, &message);
    }
    table.print_if(output);
    if all_done {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn report_cancel(
    table: &mut Table,
    output: OutputFormat,
    id: &str,
    email: &str,
    outcome: &str,
    message: &str,
) {
    match output {
        OutputFormat::Json => print_json(&json!({
            "id": id, "email": email, "outcome": outcome, "message": message,
        })),
        OutputFormat::Table | OutputFormat::Markdown => {
            table.row([id, email, outcome, message].map(str::to_owned))
        }
    }
}

async fn resend(
    provider: &dyn Provider,
    organization: &str,
    email: &str,
    output: OutputFormat,
) -> ExitCode {
    let (outcome, previous, new, message, code) = match provider
        .resend_invitation(organization, &Invitee::email(email))
        .await
    {
        Ok(Resent::Resent {
            previous, outcome, ..
        }) => (
            "resent",
            Some(previous.id),
            outcome.invitation().map(|i| i.id.clone()),
            String::new(),
            ExitCode::SUCCESS,
        ),
        Ok(Resent::NothingPending) => (
            "nothing_pending",
            None,
            None,
            "no pending invitation; nothing was sent".to_owned(),
            ExitCode::FAILURE,
        ),
        Ok(Resent::CancelledOnly {
            previous, error, ..
        }) => (
            "cancelled_only",
            Some(previous.id),
            None,
            describe(&error),
            ExitCode::FAILURE,
        ),
        Ok(_) => ("unknown", None, None, String::new(), ExitCode::FAILURE),
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            return exit_for(&error);
        }
    };
    match output {
        OutputFormat::Json => print_json(&json!({
            "email": email, "outcome": outcome, "previous_id": previous, "id": new,
            "message": message,
        })),
        OutputFormat::Table | OutputFormat::Markdown => {
            let mut table = Table::new(["email", "outcome", "previous id", "new id", "message"]);
            table.row([
                email.to_owned(),
                outcome.to_owned(),
                previous.unwrap_or_default(),
                new.unwrap_or_default(),
                message,
            ]);
            table.print();
        }
    }
    code
}

async fn check(
    provider: &dyn Provider,
    organization: &str,
    invitee: &Invitee,
    output: OutputFormat,
) -> ExitCode {
    let membership = match provider.membership(organization, invitee).await {
        Ok(membership) => membership,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            return exit_for(&error);
        }
    };
    let who = invitee
        .as_email()
        .map(str::to_owned)
        .unwrap_or_else(|| output::invitee_text(invitee));
    let (state, role, id) = match &membership {
        Membership::Member { role, .. } => ("member", role.to_string(), String::new()),
        Membership::Invited(invitation) => (
            "invited",
            invitation.role.to_string(),
            invitation.id.clone(),
        ),
        Membership::NotMember => ("not_member", String::new(), String::new()),
        _ => ("unknown", String::new(), String::new()),
    };
    match output {
        OutputFormat::Json => print_json(&json!({
            "invitee": who, "membership": state, "role": role, "invitation_id": id,
        })),
        OutputFormat::Table | OutputFormat::Markdown => {
            let mut table = Table::new(["invitee", "membership", "role", "invitation id"]);
            table.row([who, state.to_owned(), role, id]);
            table.print();
        }
    }
    ExitCode::SUCCESS
}

/// `check --csv`: everyone of a file, from one snapshot of the organization.
async fn check_all(
    provider: &dyn Provider,
    organization: &str,
    path: &std::path::Path,
    output: OutputFormat,
    progress: &progress::Progress,
) -> ExitCode {
    let (people, unreadable, snapshot) =
        match events::people_and_snapshot(Some(path), Vec::new(), organization, provider).await {
            Ok(found) => found,
            Err(code) => return code,
        };
    let mut table = Table::new(["line", "invitee", "membership", "role", "invitation id"]);
    for events::Person { line, who, invitee } in people {
        let (state, role, id) = match snapshot.presence(&invitee) {
            Presence::Member(member) => (
                "member",
                member.role.map(|r| r.to_string()).unwrap_or_default(),
                String::new(),
            ),
            Presence::Invited(invitation) => {
                ("invited", invitation.role.to_string(), invitation.id)
            }
            Presence::Lapsed(invitation) => ("lapsed", invitation.role.to_string(), invitation.id),
            Presence::Absent => ("not_member", String::new(), String::new()),
            _ => ("unknown", String::new(), String::new()),
        };
        match output {
            OutputFormat::Json => print_json(&json!({
                "line": line, "invitee": who, "membership": state, "role": role,
                "invitation_id": id,
            })),
            OutputFormat::Table | OutputFormat::Markdown => {
                table.row([line.to_string(), who, state.to_owned(), role, id])
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
