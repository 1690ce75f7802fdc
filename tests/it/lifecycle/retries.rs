//! The retry rule per operation: reads and cancellations of a named invitation are sent again
//! after an answer that may have reached the vendor (a 5xx, a timeout); a create never is.

use std::time::Duration;

use futures_util::TryStreamExt;
use orginvite::{CreateInvitation, ErrorKind, ListInvitations, Provider, RetryPolicy};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

/// The same gateway failure every vendor might answer with.
fn bad_gateway() -> ResponseTemplate {
    ResponseTemplate::new(502).set_body_raw("<html><h1>502 Bad Gateway</h1></html>", "text/html")
}

/// A success for each operation, per vendor.
struct Answers {
    list: ResponseTemplate,
    cancel: ResponseTemplate,
    create: ResponseTemplate,
}

fn github_answers() -> Answers {
    Answers {
        list: ResponseTemplate::new(200).set_body_json(json!([])),
        cancel: ResponseTemplate::new(204),
        create: github_created(),
    }
}

fn clerk_answers() -> Answers {
    Answers {
        list: ResponseTemplate::new(200).set_body_json(json!({"data": [], "total_count": 0})),
        cancel: clerk::clerk_ok(),
        create: clerk::clerk_ok(),
    }
}

fn elastic_answers() -> Answers {
    Answers {
        list: ResponseTemplate::new(200).set_body_json(json!({"invitations": []})),
        cancel: ResponseTemplate::new(200).set_body_string("{}"),
        create: elastic::created_for("jane.doe@acme.com"),
    }
}

type Client = Box<dyn Provider>;

async fn client(vendor: &str, server: &MockServer) -> (Client, String) {
    match vendor {
        "github" => (Box::new(github(server).0), "acme".into()),
        "clerk" => (Box::new(clerk::clerk(server).0), clerk::ORG.into()),
        _ => (Box::new(elastic::elastic(server).0), elastic::ORG.into()),
    }
}

#[tokio::test]
async fn the_same_502_is_retried_for_a_list_and_a_cancel_and_never_for_a_create() {
    for (vendor, answers) in [
        ("github", github_answers()),
        ("clerk", clerk_answers()),
        ("elastic", elastic_answers()),
    ] {
        // (operation, answer after the 502, requests expected, may have been created)
        let cases = [
            ("list", answers.list, 2, false),
            ("cancel", answers.cancel, 2, false),
            ("create", answers.create, 1, true),
        ];
        for (operation, success, requests, in_doubt) in cases {
            let server = MockServer::start().await;
            Mock::given(method(match operation {
                "list" => "GET",
                "cancel" if vendor == "clerk" => "POST",
                "cancel" => "DELETE",
                _ => "POST",
            }))
            .respond_with(Sequence::new(vec![bad_gateway(), success]))
            .expect(requests)
            .mount(&server)
            .await;
            let (provider, org) = client(vendor, &server).await;
            let outcome: Result<(), orginvite::Error> = match operation {
                "list" => provider
                    .list_invitations(&ListInvitations::new(&org))
                    .try_collect::<Vec<_>>()
                    .await
                    .map(drop),
                "cancel" => provider.cancel_invitation(&org, "1").await.map(drop),
                _ => provider
                    .create_invitation(&CreateInvitation::email(&org, "jane.doe@acme.com"))
                    .await
                    .map(drop),
            };
            match outcome {
                Ok(()) => assert!(!in_doubt, "{vendor} {operation}"),
                Err(error) => {
                    assert!(in_doubt, "{vendor} {operation}: {error}");
                    assert_eq!(error.kind(), ErrorKind::ServerError);
                    assert!(error.may_have_been_created(), "{vendor} {operation}");
                }
            }
            server.verify().await;
        }
    }
}

#[tokio::test]
async fn a_read_that_times_out_is_sent_again_and_its_error_is_not_in_doubt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .expect(2)
        .mount(&server)
        .await;
    let timed = orginvite::GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url(format!("{}/api/v3", server.uri()))
        .user_agent(USER_AGENT)
        .timeout(Some(Duration::from_millis(100)))
        .retry_policy(RetryPolicy::default().jitter(false).max_attempts(2))
        .sleeper(orginvite::sleep::RecordingSleeper::starting_at(epoch()))
        .build()
        .unwrap();
    let error = timed
        .list_invitations(&ListInvitations::new("acme"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(!error.may_have_been_created());
    assert!(
        !error.to_string().contains("may have been created"),
        "{error}"
    );
    server.verify().await;
}

/// A cancellation whose first attempt failed in a way that may have reached the vendor, then
/// heard "not pending": the first attempt did it.
#[tokio::test]
async fn a_retried_cancellation_that_hears_not_pending_is_done() {
    let not_pending = [
        ("github", github_error(404, json!({"message": "Not Found"}))),
        (
            "clerk",
            clerk::clerk_error(
                404,
                "organization_invitation_not_pending",
                "not pending",
                "The organization invitation is not in the 'pending' status.",
            ),
        ),
        (
            "elastic",
            elastic::failed(
                404,
                "organization.invitation_not_found",
                "Invitation not found",
            ),
        ),
    ];
    for (vendor, gone) in not_pending {
        let server = MockServer::start().await;
        Mock::given(method(if vendor == "clerk" { "POST" } else { "DELETE" }))
            .respond_with(Sequence::new(vec![bad_gateway(), gone.clone()]))
            .expect(2)
            .mount(&server)
            .await;
        let (provider, org) = client(vendor, &server).await;
        let cancelled = provider.cancel_invitation(&org, "1").await;
        assert_eq!(
            cancelled.map(|c| c.id).ok().as_deref(),
            Some("1"),
            "{vendor}"
        );
        server.verify().await;

        // Without the doubt, "not pending" is an answer.
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(gone)
            .expect(1)
            .mount(&server)
            .await;
        let (provider, org) = client(vendor, &server).await;
        let error = provider.cancel_invitation(&org, "1").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotPending, "{vendor}");
    }
}

#[tokio::test]
async fn a_retried_batch_that_hears_not_found_is_done() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"invitations": [
                {"token": "t-1", "email": "a@example.com"},
                {"token": "t-2", "email": "b@example.com"}
            ]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(wiremock::matchers::path(
            "/api/v1/organizations/1234567890/invitations/t-1,t-2",
        ))
        .respond_with(Sequence::new(vec![
            bad_gateway(),
            elastic::failed(
                404,
                "organization.invitation_not_found",
                "Invitation not found",
            ),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let (elastic, _) = elastic::elastic(&server);
    let outcomes = elastic
        .cancel_invitations(elastic::ORG, ["t-1", "t-2"])
        .await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    server.verify().await;
}
