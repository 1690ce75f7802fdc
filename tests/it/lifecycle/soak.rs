//! A chaos soak: thousands of `ensure_invited` calls per vendor through the sandbox with about
//! a fifth of the requests faulted in every way the testkit knows, including the faults that
//! create and then fail. The fake accepts repeated invitations (as a vendor that does not
//! check might), so a second create for anyone would show as a duplicate.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use orginvite::testkit::{FakeServer, Fault, Sandbox};
use orginvite::{CreateInvitation, Ensured, Pacing, Provider, RetryPolicy};

const CALLS: usize = 2000;
/// The calls are spread over this many organizations, so that a lookup reads a short list (a
/// GitHub lookup pages through every pending invitation of the organization).
const ORGANIZATIONS: usize = 20;

fn faults() -> Vec<Fault> {
    vec![
        Fault::ServerError,
        Fault::HtmlGateway,
        Fault::Delay(Duration::from_millis(400)),
        Fault::CreatedThenServerError,
        Fault::CreatedThenDrop,
        Fault::ListLag(Duration::from_secs(3)),
    ]
}

#[derive(Debug, Default)]
struct Tally {
    created: usize,
    reconciled: usize,
    already_invited: usize,
    in_doubt: usize,
    failed: usize,
}

/// Runs the soak against one fake: `CALLS` people, eight at a time.
async fn soak<V>(fake: &FakeServer<V>, provider: &dyn Provider, org: &str) -> Tally {
    for n in 1..ORGANIZATIONS {
        fake.add_organization(format!("{org}-{n}"));
    }
    fake.accept_repeats(true).chaos(0.2, faults(), 7);
    let results: Vec<(String, Result<Ensured, orginvite::Error>)> =
        futures_util::stream::iter(0..CALLS)
            .map(|i| async move {
                let email = format!("soak{i}@example.com");
                let organization = match i % ORGANIZATIONS {
                    0 => org.to_owned(),
                    n => format!("{org}-{n}"),
                };
                let request = CreateInvitation::email(organization, email.clone());
                (email, provider.ensure_invited(&request).await)
            })
            .buffer_unordered(8)
            .collect()
            .await;
    fake.chaos(0.0, [], 0);

    let mut held: HashMap<String, usize> = HashMap::new();
    for invitation in fake.invitations() {
        *held.entry(invitation.email.unwrap()).or_default() += 1;
    }
    let duplicates = held.values().filter(|n| **n > 1).count();
    assert_eq!(duplicates, 0, "{}: duplicates", provider.kind());
    let mut tally = Tally::default();
    for (email, result) in results {
        let holds = held.get(&email).copied().unwrap_or(0);
        match result {
            Ok(ensured) => {
                assert_eq!(
                    holds,
                    1,
                    "{}: {email} reported {ensured:?}",
                    provider.kind()
                );
                match ensured {
                    Ensured::Created {
                        reconciled: true, ..
                    } => tally.reconciled += 1,
                    Ensured::Created { .. } => tally.created += 1,
                    Ensured::AlreadyInvited { .. } => tally.already_invited += 1,
                    other => panic!("{other:?}"),
                }
            }
            Err(error) if error.may_have_been_created() => tally.in_doubt += 1,
            Err(error) => {
                assert_eq!(
                    holds,
                    0,
                    "{}: {email} reported not created: {error}",
                    provider.kind()
                );
                tally.failed += 1;
            }
        }
    }
    println!(
        "{}: {CALLS} calls, {} requests: {} created, {} created and reconciled after a doubt, \
         {} already invited (an earlier attempt of the same call), {} left in doubt because \
         the lookup failed too, {} failed with nothing created",
        provider.kind(),
        fake.requests().await.len(),
        tally.created,
        tally.reconciled,
        tally.already_invited,
        tally.in_doubt,
        tally.failed
    );
    tally
}

fn patient() -> RetryPolicy {
    RetryPolicy::default().max_attempts(6)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_calls_under_faults_leave_exactly_one_invitation_each() {
    let timeout = Some(Duration::from_millis(150));
    let (github_fake, _) = Sandbox::github().await;
    let github = github_fake
        .client_builder()
        .pacing(Pacing::off())
        .timeout(timeout)
        .retry_policy(patient())
        .build()
        .unwrap();
    let (clerk_fake, _) = Sandbox::clerk().await;
    let clerk = clerk_fake
        .client_builder()
        .pacing(Pacing::off())
        .timeout(timeout)
        .retry_policy(patient())
        .build()
        .unwrap();
    let (elastic_fake, _) = Sandbox::elastic().await;
    let elastic = elastic_fake
        .client_builder()
        .pacing(Pacing::off())
        .timeout(timeout)
        .retry_policy(patient())
        .build()
        .unwrap();

    let tallies = [
        soak(&github_fake, &github, "acme").await,
        soak(&clerk_fake, &clerk, "org_sandbox").await,
        soak(&elastic_fake, &elastic, "sandbox-org").await,
    ];
    for tally in tallies {
        assert!(tally.reconciled > 50, "{tally:?}");
        // Only a lookup that failed every retry leaves a call in doubt.
        assert!(tally.in_doubt <= CALLS / 100, "{tally:?}");
    }
}
