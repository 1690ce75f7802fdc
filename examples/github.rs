//! Invite one person to a GitHub organization, with the real API.
//!
//! ```text
//! GITHUB_TOKEN=... cargo run --example github -- ORG EMAIL [admin|member|billing-manager]
//! ```
//!
//! The token must belong to an owner of the organization: a classic token with the
//! `admin:org` scope, or a fine-grained token with the organization permission
//! "Members: read and write". For GitHub Enterprise Server, also set
//! `GITHUB_API_URL=https://HOST/api/v3`.

use std::process::ExitCode;

use orginvite::{CreateInvitation, ErrorKind, GitHub, Role};

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
    let Ok(token) = std::env::var("GITHUB_TOKEN") else {
        eprintln!(
            "GITHUB_TOKEN is not set, so nothing was sent.\n\
             Create a token as an owner of {org}: a classic token with the `admin:org` scope, or a\n\
             fine-grained token with the organization permission \"Members: read and write\".\n\
             To try the crate without an account: cargo run --example quickstart"
        );
        return ExitCode::from(2);
    };
    let mut builder = GitHub::builder().token(token);
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
