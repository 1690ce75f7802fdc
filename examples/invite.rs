//! A small command-line tool: invite one person with any provider.
//!
//! ```text
//! cargo run --example invite -- --provider github|clerk|elastic --org ORG \
//!     (--email EMAIL | --user-id ID | --login LOGIN) \
//!     [--role admin|member|billing-manager|<vendor role>] [--base-url URL] [--sandbox] \
//!     [--expires-in Nd|Nh] [--expires-in-days N] \
//!     [--team-id N]... [--team SLUG]... [--reinstate] \
//!     [--inviter USER_ID] [--redirect-url URL] [--public-metadata JSON] [--no-notify]
//! ```
//!
//! The credential comes from the environment: `GITHUB_TOKEN` for GitHub, or a GitHub App with
//! `GITHUB_APP_ID` (its client id or app id), `GITHUB_APP_PRIVATE_KEY` (the `.pem` file's path
//! or its text) and optionally `GITHUB_APP_INSTALLATION_ID`; `CLERK_SECRET_KEY` for Clerk,
//! `EC_API_KEY` for Elastic Cloud. `--login`, `--team-id`, `--team` (a slug) and
//! `--reinstate` are GitHub options; `--inviter`, `--redirect-url`, `--public-metadata` (a JSON object) and
//! `--no-notify` are Clerk options; each provider ignores the others'. The expiry is shared
//! (GitHub refuses it): `--expires-in` takes whole days (`7d`) or hours (`72h`),
//! `--expires-in-days N` is the same as `--expires-in Nd`. `--sandbox` runs against a local fake
//! of the vendor (the crate's `testkit`) instead of the real API, and needs no credential.
//! On success the invitation is printed as one JSON object and the exit code is 0. On failure
//! one line `error: <kind>: <message>` goes to stderr and the exit code is 1 (2 for usage).

use std::any::Any;
use std::process::ExitCode;
use std::time::Duration;

use orginvite::testkit::{FakeClerk, FakeElasticCloud, FakeGitHub};
use orginvite::{
    Clerk, ClerkOptions, CreateInvitation, ElasticCloud, Error, GitHub, GitHubApp, GitHubBuilder,
    GitHubOptions, Invitee, Provider, Role,
};
use serde_json::{Map, Value};

const USAGE: &str =
    "usage: invite --provider github|clerk|elastic --org ORG (--email EMAIL | --user-id ID | --login LOGIN) \
[--role admin|member|billing-manager|ROLE] [--base-url URL] [--sandbox] [--expires-in Nd|Nh] [--expires-in-days N] \
[--team-id N]... [--team SLUG]... [--reinstate] \
[--inviter USER_ID] [--redirect-url URL] [--public-metadata JSON] [--no-notify]";

#[derive(Debug, Default)]
struct Args {
    provider: Option<String>,
    org: Option<String>,
    email: Option<String>,
    user_id: Option<String>,
    login: Option<String>,
    role: Option<String>,
    team_ids: Vec<u64>,
    team_slugs: Vec<String>,
    reinstate: bool,
    base_url: Option<String>,
    sandbox: bool,
    expires_in: Option<Duration>,
    inviter: Option<String>,
    redirect_url: Option<String>,
    public_metadata: Option<Map<String, Value>>,
    no_notify: bool,
}

fn set_expiry(args: &mut Args, expires_in: Duration) -> Result<(), String> {
    if args.expires_in.replace(expires_in).is_some() {
        return Err("give the expiry once".to_owned());
    }
    Ok(())
}

/// `7d` or `72h`: a whole number of days or hours.
fn parse_expiry(text: &str) -> Result<Duration, String> {
    let bad = || format!("--expires-in takes whole days or hours such as 7d or 72h, not {text:?}");
    let (number, unit_seconds) = if let Some(days) = text.strip_suffix('d') {
        (days, 24 * 60 * 60)
    } else if let Some(hours) = text.strip_suffix('h') {
        (hours, 60 * 60)
    } else {
        return Err(bad());
    };
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let number: u64 = number.parse().map_err(|_| bad())?;
    number
        .checked_mul(unit_seconds)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args::default();
    while let Some(flag) = raw.next() {
        let mut value = |name: &str| raw.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--provider" => args.provider = Some(value("--provider")?),
            "--org" => args.org = Some(value("--org")?),
            "--email" => args.email = Some(value("--email")?),
            "--user-id" => args.user_id = Some(value("--user-id")?),
            "--login" => args.login = Some(value("--login")?),
            "--team" => args.team_slugs.push(value("--team")?),
            "--role" => args.role = Some(value("--role")?),
            "--team-id" => {
                let id = value("--team-id")?;
                let id = id
                    .parse()
                    .map_err(|_| format!("--team-id takes a number, not {id:?}"))?;
                args.team_ids.push(id);
            }
            "--reinstate" => args.reinstate = true,
            "--base-url" => args.base_url = Some(value("--base-url")?),
            "--sandbox" => args.sandbox = true,
            "--expires-in" => set_expiry(&mut args, parse_expiry(&value("--expires-in")?)?)?,
            "--expires-in-days" => {
                let days = value("--expires-in-days")?;
                set_expiry(&mut args, parse_expiry(&format!("{days}d"))?)?;
            }
            "--inviter" => args.inviter = Some(value("--inviter")?),
            "--redirect-url" => args.redirect_url = Some(value("--redirect-url")?),
            "--public-metadata" => {
                let text = value("--public-metadata")?;
                match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => args.public_metadata = Some(map),
                    Ok(_) => return Err("--public-metadata takes a JSON object".to_owned()),
                    Err(e) => return Err(format!("--public-metadata is not JSON: {e}")),
                }
            }
            "--no-notify" => args.no_notify = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// Reads a credential from the environment, explaining what is needed when it is missing.
fn credential(variable: &str, what: &str) -> Result<String, String> {
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(format!(
            "invalid_config: {variable} is not set; export {what} as {variable} (nothing was sent)"
        )),
    }
}

/// A GitHub builder with `GITHUB_TOKEN`, or else the GitHub App of `GITHUB_APP_ID` and
/// `GITHUB_APP_PRIVATE_KEY` (a path or the PEM itself), with `GITHUB_APP_INSTALLATION_ID` when
/// set.
fn github_credentials(builder: GitHubBuilder) -> Result<GitHubBuilder, String> {
    if let Ok(token) = credential("GITHUB_TOKEN", "") {
        return Ok(builder.token(token));
    }
    let Ok(id) = credential("GITHUB_APP_ID", "") else {
        return Err(
            "invalid_config: set GITHUB_TOKEN (a token that can administer the organization), \
            or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for a GitHub App with the organization \
            permission Members: write (nothing was sent)"
                .to_owned(),
        );
    };
    let key = credential(
        "GITHUB_APP_PRIVATE_KEY",
        "the GitHub App's private key (the .pem file's path or its text)",
    )?;
    let pem = if key.trim_start().starts_with("-----BEGIN") {
        key
    } else {
        std::fs::read_to_string(key.trim()).map_err(|e| {
            format!("invalid_config: GITHUB_APP_PRIVATE_KEY names a file that cannot be read: {e}")
        })?
    };
    let mut app = GitHubApp::new(id, pem);
    if let Ok(installation) = std::env::var("GITHUB_APP_INSTALLATION_ID") {
        let installation = installation.trim().parse().map_err(|_| {
            "invalid_config: GITHUB_APP_INSTALLATION_ID must be a number".to_owned()
        })?;
        app = app.installation_id(installation);
    }
    Ok(builder.app(app))
}

/// The client for `--provider`, and with `--sandbox` the fake vendor it talks to (kept alive
/// for the call).
async fn provider(args: &Args) -> Result<(Box<dyn Provider>, Option<Box<dyn Any>>), String> {
    /// Builds one vendor's client: against its fake with `--sandbox`, else with the credential
    /// from the environment.
    macro_rules! client {
        ($fake:ty, $builder:expr, $prepare:expr) => {{
            let (builder, fake): (_, Option<(String, Box<dyn Any>)>) = if args.sandbox {
                let fake = <$fake>::start().await;
                if let Some(org) = &args.org {
                    fake.add_organization(org.clone());
                }
                #[allow(clippy::redundant_closure_call)]
                ($prepare)(&fake);
                let builder = fake.client_builder();
                (builder, Some((fake.uri(), Box::new(fake) as Box<dyn Any>)))
            } else {
                ($builder?, None)
            };
            let builder = match &args.base_url {
                Some(url) => builder.base_url(url),
                None => builder,
            };
            let client = builder.build().map_err(|e| describe(&e))?;
            let fake = fake.map(|(uri, fake)| {
                eprintln!(
                    "sandbox: using a local fake {} at {uri} (nothing leaves this machine)",
                    client.kind()
                );
                fake
            });
            Ok((Box::new(client) as Box<dyn Provider>, fake))
        }};
    }
    if args.sandbox && args.base_url.is_some() {
        return Err("invalid_request: --sandbox and --base-url do not go together".to_owned());
    }
    match args.provider.as_deref() {
        Some("github") => client!(
            FakeGitHub,
            github_credentials(GitHub::builder()),
            |fake: &FakeGitHub| {
                // The sandbox knows the login and the teams asked for.
                let org = args.org.clone().unwrap_or_default();
                if let Some(login) = &args.login {
                    fake.add_user(login, 583_231);
                }
                for (n, slug) in args.team_slugs.iter().enumerate() {
                    fake.add_team(&org, slug, 100 + n as u64);
                }
            }
        ),
        Some("clerk") => client!(
            FakeClerk,
            credential(
                "CLERK_SECRET_KEY",
                "the secret key of the Clerk instance (sk_live_... or sk_test_...)"
            )
            .map(|key| Clerk::builder().token(key)),
            |_: &FakeClerk| {}
        ),
        Some("elastic") => client!(
            FakeElasticCloud,
            credential(
                "EC_API_KEY",
                "an Elastic Cloud API key with the organization owner role"
            )
            .map(|key| ElasticCloud::builder().token(key)),
            |_: &FakeElasticCloud| {}
        ),
        Some(other) => Err(format!(
            "invalid_request: unknown provider {other:?} (known: github, clerk, elastic)"
        )),
        None => Err("invalid_request: --provider is required (see --help)".to_owned()),
    }
}

fn request(args: &Args) -> Result<CreateInvitation, String> {
    let org = args
        .org
        .clone()
        .ok_or_else(|| "invalid_request: --org is required".to_owned())?;
    let invitee = match (&args.email, &args.user_id, &args.login) {
        (None, None, Some(login)) => Invitee::login(login),
        (_, _, Some(_)) => {
            return Err(
                "invalid_request: `invitee` takes one of --email, --user-id and --login".to_owned(),
            )
        }
        _ => Invitee::from_parts(args.email.clone(), args.user_id.clone())
            .map_err(|e| describe(&e))?,
    };
    let mut request = CreateInvitation::new(org, invitee);
    if let Some(role) = &args.role {
        let role: Role = role.parse().unwrap_or_else(|never| match never {});
        request = request.role(role);
    }
    if let Some(expires_in) = args.expires_in {
        request = request.expires_in(expires_in);
    }
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
    Ok(request
        .github(
            args.team_slugs.iter().fold(
                GitHubOptions::new()
                    .team_ids(args.team_ids.iter().copied())
                    .reinstate(args.reinstate),
                |options, slug| options.team_slug(slug),
            ),
        )
        .clerk(clerk))
}

/// `<kind>: <message>`, with the chain of causes.
fn describe(error: &Error) -> String {
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(problem) if problem.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("error: invalid_request: {problem} (see --help)");
            return ExitCode::from(2);
        }
    };
    let prepared = match request(&args) {
        Ok(request) => provider(&args)
            .await
            .map(|(provider, fake)| (provider, fake, request)),
        Err(problem) => Err(problem),
    };
    let (provider, _fake, request) = match prepared {
        Ok(prepared) => prepared,
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(2);
        }
    };
    match provider.create_invitation(&request).await {
        Ok(invitation) => {
            println!(
                "{}",
                serde_json::to_string(&invitation).expect("an invitation serializes")
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}
