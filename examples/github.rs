//! Invite one person to a GitHub organization, with the real API, with a token or as a GitHub
//! App.
//!
//! ```text
//! GITHUB_TOKEN=... cargo run --example github -- ORG EMAIL [admin|member|billing-manager]
//! GITHUB_APP_ID=Iv23li... GITHUB_APP_PRIVATE_KEY=app.pem cargo run --example github -- ORG EMAIL
//! ```
//!
//! A token must belong to an owner of the organization: a classic token with the `admin:org`
//! scope, or a fine-grained token with the organization permission "Members: read and write".
//! A GitHub App needs the organization permission "Members: write" and to be installed on the
//! organization; `GITHUB_APP_PRIVATE_KEY` is the path of its `.pem` file (or the PEM itself),
//! and `GITHUB_APP_INSTALLATION_ID` may name the installation (else it is looked up). For
//! GitHub Enterprise Server, also set `GITHUB_API_URL=https://HOST/api/v3`.

use std::process::ExitCode;

use orginvite::github::{GitHubApp, GitHubBuilder};
use orginvite::{CreateInvitation, ErrorKind, GitHub, Role};

/// The builder with `GITHUB_TOKEN`, or else the GitHub App of `GITHUB_APP_ID` and
/// `GITHUB_APP_PRIVATE_KEY`; `None` when neither is set.
fn credentials() -> Result<Option<GitHubBuilder>, String> {
    if let Ok(token) = std::env::var("GITHUB_TOKEN") {
        return Ok(Some(GitHub::builder().token(token)));
    }
    let (Ok(id), Ok(key)) = (
        std::env::var("GITHUB_APP_ID"),
        std::env::var("GITHUB_APP_PRIVATE_KEY"),
    ) else {
        return Ok(None);
    };
    let pem = if key.trim_start().starts_with("-----BEGIN") {
        key
    } else {
        std::fs::read_to_string(key.trim())
            .map_err(|e| format!("GITHUB_APP_PRIVATE_KEY names a file that cannot be read: {e}"))?
    };
    let mut app = GitHubApp::new(id, pem);
    if let Some(installation) = std::env::var("GITHUB_APP_INSTALLATION_ID")
        .ok()
        .and_then(|id| id.trim().parse().ok())
    {
        app = app.installation_id(installation);
    }
    Ok(Some(GitHub::builder().app(app)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(org), Some(email)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cargo run --example github -- ORG EMAIL [admin|member|billing-manager]");
        return ExitCode::from(2);
    };
    let role: Role = args.get(2).map_or(Role::Member, |r| {
        r.parse().unwrap_or_else(|never| match never {})
    });
    let mut builder = match credentials() {
        Ok(Some(builder)) => builder,
        Ok(None) => {
            eprintln!(
                "Neither GITHUB_TOKEN nor GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY is set, so nothing was sent.\n\
                 Create a token as an owner of {org}: a classic token with the `admin:org` scope, or a\n\
                 fine-grained token with the organization permission \"Members: read and write\";\n\
                 or install a GitHub App with the organization permission \"Members: write\" on {org}.\n\
                 To try the crate without an account: cargo run --example quickstart"
            );
            return ExitCode::from(2);
        }
        Err(problem) => {
            eprintln!("error: invalid_config: {problem}");
            return ExitCode::from(2);
        }
    };
    if let Ok(url) = std::env::var("GITHUB_API_URL") {
        builder = builder.base_url(url);
    }
    let github = match builder.build() {
        Ok(github) => github,
        Err(e) => {
            eprintln!("error: {}: {e}", e.kind());
            return ExitCode::from(2);
        }
    };
    let request = CreateInvitation::email(org.as_str(), email.as_str()).role(role);
    match github.create_invitation(&request).await {
        Ok(invitation) => {
            println!(
                "invited {email} to {org} as {} (invitation {}, expires {:?})",
                invitation.role, invitation.id, invitation.expires_at
            );
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == ErrorKind::AlreadyMember => {
            println!("{email} is already a member of {org}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", e.kind());
            if e.may_have_been_created() {
                eprintln!("the invitation may exist anyway: check the organization's pending invitations before retrying");
            }
            ExitCode::FAILURE
        }
    }
}
