//! Invite one person to an Elastic Cloud organization, with the real API, as a deployment
//! viewer.
//!
//! ```text
//! EC_API_KEY=... cargo run --example elastic -- ORG_ID EMAIL
//! ```
//!
//! The API key must have the organization owner role (Elastic Cloud console, Organization,
//! API keys). `ORG_ID` is the organization's id. GovCloud: also set
//! `EC_API_URL=https://api.us-gov-east-1.aws.elastic-cloud.com/api/v1`.

use std::process::ExitCode;
use std::time::Duration;

use orginvite::elastic::{DeploymentRole, ElasticOptions, RoleAssignments};
use orginvite::{CreateInvitation, ElasticCloud, ErrorKind};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(org), Some(email)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cargo run --example elastic -- ORG_ID EMAIL");
        return ExitCode::from(2);
    };
    let Ok(key) = std::env::var("EC_API_KEY") else {
        eprintln!(
            "EC_API_KEY is not set, so nothing was sent.\n\
             Create an API key with the organization owner role in the Elastic Cloud console\n\
             (Organization, API keys) and export it as EC_API_KEY.\n\
             To try the crate without an account: cargo run --example quickstart"
        );
        return ExitCode::from(2);
    };
    let mut builder = ElasticCloud::builder().token(key);
    if let Ok(url) = std::env::var("EC_API_URL") {
        builder = builder.base_url(url);
    }
    let elastic = match builder.build() {
        Ok(elastic) => elastic,
        Err(e) => {
            eprintln!("error: {}: {e}", e.kind());
            return ExitCode::from(2);
        }
    };
    let request = CreateInvitation::email(org.as_str(), email.as_str())
        .expires_in(Duration::from_secs(7 * 24 * 60 * 60))
        .with(ElasticOptions::new().role_assignments(
            RoleAssignments::new().deployment(DeploymentRole::all("deployment-viewer")),
        ));
    match elastic.create_invitation(&request).await {
        Ok(invitation) => {
            println!(
                "invited {email} (token {}, expires {:?})",
                invitation.id, invitation.expires_at
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
