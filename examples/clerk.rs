//! Invite one person to a Clerk organization, with the real Backend API.
//!
//! ```text
//! CLERK_SECRET_KEY=sk_test_... cargo run --example clerk -- ORG_ID EMAIL [admin|member|org:<role>]
//! ```
//!
//! The secret key is the instance's Backend API key (`sk_live_...` or `sk_test_...`, from the
//! Clerk dashboard's API keys page). `ORG_ID` is the organization's `org_...` id.

use std::process::ExitCode;
use std::time::Duration;

use orginvite::clerk::ClerkOptions;
use orginvite::{Clerk, CreateInvitation, ErrorKind, Role};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(org), Some(email)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cargo run --example clerk -- ORG_ID EMAIL [admin|member|org:<role>]");
        return ExitCode::from(2);
    };
    let role: Role = args.get(2).map_or(Role::Member, |r| {
        r.parse().unwrap_or_else(|never| match never {})
    });
    let Ok(key) = std::env::var("CLERK_SECRET_KEY") else {
        eprintln!(
            "CLERK_SECRET_KEY is not set, so nothing was sent.\n\
             Copy the instance's secret key (sk_live_... or sk_test_...) from the Clerk dashboard,\n\
             API keys page, and export it as CLERK_SECRET_KEY.\n\
             To try the crate without an account: cargo run --example quickstart"
        );
        return ExitCode::from(2);
    };
    let clerk = match Clerk::builder().token(key).build() {
        Ok(clerk) => clerk,
        Err(e) => {
            eprintln!("error: {}: {e}", e.kind());
            return ExitCode::from(2);
        }
    };
    let request = CreateInvitation::email(org.as_str(), email.as_str())
        .role(role)
        .expires_in(Duration::from_secs(14 * 24 * 60 * 60))
        .with(ClerkOptions::new().notify(true));
    match clerk.create_invitation(&request).await {
        Ok(invitation) => {
            println!(
                "invited {email} (invitation {}, accept at {:?})",
                invitation.id, invitation.accept_url
            );
            ExitCode::SUCCESS
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::AlreadyInvited | ErrorKind::AlreadyMember
            ) =>
        {
            println!("nothing to do: {}", e.kind());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", e.kind());
            ExitCode::FAILURE
        }
    }
}
