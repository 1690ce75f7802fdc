//! The crate's main job in one command, with no account and no network: three fake vendors
//! start on loopback, and one list of `Box<dyn Provider>` invites people on all of them, then
//! lists, finds and cancels those invitations, looks up members, settles a create that ended
//! in doubt, and onboards a small cohort in one call.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use orginvite::observe::{Observer, RateLimitEvent, WaitCause};
use orginvite::testkit::{FakeClerk, FakeElasticCloud, FakeGitHub, Fault};
use orginvite::{
    BulkOptions, CreateInvitation, Ensured, Error, Invitation, Invitee, ListInvitations,
    Membership, Provider, Role,
};

/// Prints what rate limits make the clients do.
#[derive(Debug)]
struct Narrator {
    started: Instant,
}

impl Observer for Narrator {
    fn on_event(&self, event: &RateLimitEvent) {
        let at = self.started.elapsed().as_secs_f64();
        match event {
            RateLimitEvent::Retried { provider, status, kind, wait, .. } => println!(
                "   … [{at:4.1}s] {provider} answered {} ({kind}): nothing was created; retrying in {:.1}s",
                status.map_or_else(|| "nothing".to_owned(), |s| s.to_string()),
                wait.as_secs_f64()
            ),
            RateLimitEvent::Waited { provider, wait, cause: WaitCause::RateLimit } => println!(
                "   … [{at:4.1}s] {provider}: waiting {:.1}s for the limit; every request of this client waits with it",
                wait.as_secs_f64()
            ),
            RateLimitEvent::GaveUp { provider, retry_after, .. } => println!(
                "   … [{at:4.1}s] {provider}: gave up, retry after {retry_after:?}"
            ),
            _ => {}
        }
    }
}

fn show(provider: &dyn Provider, email: &str, result: &Result<Invitation, Error>) {
    match result {
        Ok(invitation) => println!(
            "   ✓ {:<14} {:<30} id {:<36} role {:<15} expires {}",
            provider.kind().to_string(),
            email,
            invitation.id,
            invitation.role.to_string(),
            invitation
                .expires_at
                .map(|t| t.strftime("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "-".into()),
        ),
        Err(error) => println!(
            "   ✗ {:<14} {:<30} {}: {}",
            provider.kind().to_string(),
            email,
            error.kind(),
            error
                .vendor_message()
                .map(str::to_owned)
                .unwrap_or_else(|| error.to_string())
        ),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    println!("orginvite quickstart: three fake vendors on loopback. No account, no network, no credentials.\n");

    let github_fake = FakeGitHub::start().await;
    let clerk_fake = FakeClerk::start().await;
    let elastic_fake = FakeElasticCloud::start().await;
    let narrator = Arc::new(Narrator { started });
    let github = github_fake
        .client_builder()
        .observer(narrator.clone())
        .build()?;
    let clerk = clerk_fake
        .client_builder()
        .observer(narrator.clone())
        .build()?;
    let elastic = elastic_fake
        .client_builder()
        .observer(narrator.clone())
        .build()?;

    println!(
        "   GitHub         {:<32} organization {}",
        github_fake.uri(),
        github_fake.organization()
    );
    println!(
        "   Clerk          {:<32} organization {}",
        format!("{}/v1", clerk_fake.uri()),
        clerk_fake.organization()
    );
    println!(
        "   Elastic Cloud  {:<32} organization {}\n",
        format!("{}/api/v1", elastic_fake.uri()),
        elastic_fake.organization()
    );

    // One list of providers chosen at run time, each with its own organization id.
    let providers: Vec<(Box<dyn Provider>, String)> = vec![
        (Box::new(github), github_fake.organization().to_owned()),
        (
            Box::new(clerk.clone()),
            clerk_fake.organization().to_owned(),
        ),
        (Box::new(elastic), elastic_fake.organization().to_owned()),
    ];

    println!("1. One CreateInvitation per vendor, sent through Vec<Box<dyn Provider>>");
    println!("   (GitHub invitations go one at a time, 1 s apart, as GitHub asks of requests that notify people)");
    for (provider, org) in &providers {
        for (email, role) in [
            ("ada@example.com", Role::Admin),
            ("alan@example.com", Role::Member),
        ] {
            let request = CreateInvitation::email(org.as_str(), email).role(role);
            show(
                provider.as_ref(),
                email,
                &provider.create_invitation(&request).await,
            );
        }
    }

    println!("\n2. The same person again, a member, and a bad address: typed errors, the same kinds for every vendor");
    for (fake_org, add_member) in [
        (github_fake.organization(), &github_fake as &dyn AddMember),
        (clerk_fake.organization(), &clerk_fake),
        (elastic_fake.organization(), &elastic_fake),
    ] {
        add_member.member(fake_org, "grace@example.com");
    }
    for (provider, org) in &providers {
        for email in [
            "ada@example.com",
            "grace@example.com",
            "typo@example.invalid",
        ] {
            let request = CreateInvitation::email(org.as_str(), email);
            show(
                provider.as_ref(),
                email,
                &provider.create_invitation(&request).await,
            );
        }
    }

    println!("\n3. A rate limit: this Clerk allows 2 invitations per second");
    clerk_fake.rate_limit(2, Duration::from_secs(1));
    let before = clerk_fake.rate_limited_count();
    for email in [
        "barbara@example.com",
        "edsger@example.com",
        "margaret@example.com",
    ] {
        let request = CreateInvitation::email(clerk_fake.organization(), email);
        show(&clerk, email, &clerk.create_invitation(&request).await);
    }
    let refusals = clerk_fake.rate_limited_count() - before;
    println!(
        "   Clerk refused {refusals} request{} with 429; the client waited for its Retry-After and nothing was created twice.",
        if refusals == 1 { "" } else { "s" }
    );

    clerk_fake.unlimited();
    println!("\n4. See and undo: list what is pending, find one person's invitation, cancel it, look people up");
    for (provider, org) in &providers {
        let kind = provider.kind().to_string();
        let pending: Vec<Invitation> = provider
            .list_invitations(&ListInvitations::new(org.as_str()))
            .try_collect()
            .await?;
        let alan = Invitee::email("ALAN@example.com");
        let Some(found) = provider.find_invitation(org, &alan).await? else {
            println!("   ✗ {kind:<14} no pending invitation for alan@example.com");
            continue;
        };
        provider.cancel_invitation(org, &found.id).await?;
        let again = provider.cancel_invitation(org, &found.id).await;
        let left = provider
            .list_invitations(&ListInvitations::new(org.as_str()))
            .try_collect::<Vec<_>>()
            .await?
            .len();
        let grace = match provider
            .membership(org, &Invitee::email("grace@example.com"))
            .await?
        {
            Membership::Member { role, .. } => format!("member ({role})"),
            Membership::Invited(_) => "invited".to_owned(),
            Membership::NotMember => "not a member".to_owned(),
            _ => "unknown by email (GitHub keeps members' emails private)".to_owned(),
        };
        println!(
            "   ✓ {kind:<14} {} pending; cancelled alan's {}; cancelling again: {}; {left} pending now; grace: {grace}",
            pending.len(),
            found.id,
            again.map_or_else(|e| e.kind().to_string(), |_| "cancelled?".into()),
        );
    }

    println!("\n5. Never in doubt: Elastic Cloud creates the invitation, then answers 500; a lookup settles it");
    elastic_fake.inject(Fault::CreatedThenServerError);
    let request = CreateInvitation::email(elastic_fake.organization(), "doubt@example.com");
    let (provider, _) = &providers[2];
    match provider.ensure_invited(&request).await? {
        Ensured::Created { invitation, reconciled, .. } => println!(
            "   ✓ Elastic Cloud  doubt@example.com              created {} (settled by a lookup: {reconciled})",
            invitation.id
        ),
        other => println!("   ? {other:?}"),
    }

    println!(
        "\n6. A cohort in one call on Clerk: a duplicate, a member and a bad address among them"
    );
    let cohort = [
        "ken@example.com",
        "dennis@example.com",
        "KEN@example.com",
        "grace@example.com",
        "nobody@example.invalid",
    ]
    .map(|email| CreateInvitation::email(clerk_fake.organization(), email));
    let mut items: Vec<_> = clerk
        .invite_all(cohort, BulkOptions::default())
        .collect()
        .await;
    items.sort_by_key(|item| item.index);
    for item in items {
        let email = item
            .request
            .invitee
            .as_email()
            .unwrap_or_default()
            .to_owned();
        let what = match (&item.outcome, item.duplicate_of) {
            (_, Some(first)) => format!("the same person as #{first}: invited once"),
            (Ok(done), _) => done.as_str().to_owned(),
            (Err(e), _) => e.kind().to_string(),
        };
        println!("   #{} {email:<28} {what}", item.index);
    }

    let created = github_fake.invitations().len()
        + clerk_fake.invitations().len()
        + elastic_fake.invitations().len();
    println!(
        "\nDone in {:.1}s: {created} invitations created, each exactly once. Next: `cargo run -p orginvite-cli -- --provider github --org acme --sandbox invite --csv cli/people.example.csv`.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The three fakes are different types; this lets one loop add a member to each.
trait AddMember {
    fn member(&self, organization: &str, email: &str);
}

impl<V> AddMember for orginvite::testkit::FakeServer<V> {
    fn member(&self, organization: &str, email: &str) {
        self.add_member(organization, email);
    }
}
