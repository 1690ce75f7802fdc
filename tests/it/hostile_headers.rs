//! Absurd rate-limit headers on any answer (even a success) never panic or overflow: they
//! become long waits that are returned, not slept, by rule.

use std::time::Duration;

use crate::common::fixture;
use orginvite::sleep::RecordingSleeper;
use orginvite::{
    Clerk, CreateInvitation, ElasticCloud, Error, ErrorKind, GitHub, Pacing, Provider, RetryPolicy,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const HUGE: [&str; 4] = [
    "99999999999999999999",
    "18446744073709551615",
    "9223372036854775807",
    "Thu, 30 Dec 9999 12:00:00 GMT",
];

struct Vendor {
    success: ResponseTemplate,
    request: CreateInvitation,
    build: fn(&str, RetryPolicy, RecordingSleeper) -> Box<dyn Provider>,
}

fn vendors() -> Vec<Vendor> {
    vec![
        Vendor {
            success: ResponseTemplate::new(201).set_body_string(fixture("github/create-201.json")),
            request: CreateInvitation::email("acme", "octocat@github.com"),
            build: |base, policy, sleeper| {
                Box::new(
                    GitHub::builder()
                        .token("ghp_x")
                        .base_url(base)
                        .retry_policy(policy)
                        .sleeper(sleeper)
                        .build()
                        .unwrap(),
                )
            },
        },
        Vendor {
            success: ResponseTemplate::new(200).set_body_string(fixture("clerk/create-200.json")),
            request: CreateInvitation::email(
                "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
                "jane.doe@acme.com",
            ),
            build: |base, policy, sleeper| {
                Box::new(
                    Clerk::builder()
                        .token("sk_x")
                        .base_url(base)
                        .pacing(Pacing::off())
                        .retry_policy(policy)
                        .sleeper(sleeper)
                        .build()
                        .unwrap(),
                )
            },
        },
        Vendor {
            success: ResponseTemplate::new(201).set_body_string(fixture("elastic/create-201.json")),
            request: CreateInvitation::email("testorg", "test@mail"),
            build: |base, policy, sleeper| {
                Box::new(
                    ElasticCloud::builder()
                        .token("essu_x")
                        .base_url(base)
                        .retry_policy(policy)
                        .sleeper(sleeper)
                        .build()
                        .unwrap(),
                )
            },
        },
    ]
}

async fn serve(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    server
}

#[tokio::test]
async fn absurd_retry_after_on_a_429_is_returned_not_slept() {
    for vendor in vendors() {
        for value in HUGE {
            let server =
                serve(ResponseTemplate::new(429).insert_header("retry-after", value)).await;
            let sleeper = RecordingSleeper::new();
            let client = (vendor.build)(&server.uri(), RetryPolicy::default(), sleeper.clone());
            let error = client.create_invitation(&vendor.request).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::RateLimited, "{value}");
            assert!(
                error.retry_after().unwrap() > Duration::from_secs(365 * 24 * 60 * 60),
                "{value}"
            );
            assert!(sleeper.waits().is_empty());
            // The client now holds its requests; the next call fails at once, sending nothing.
            let next = client.create_invitation(&vendor.request).await.unwrap_err();
            assert_eq!(next.kind(), ErrorKind::RateLimited);
            assert!(matches!(next, Error::Throttled { .. }), "{next:?}");
            assert_eq!(server.received_requests().await.unwrap().len(), 1);
        }
    }
}

#[tokio::test]
async fn absurd_headers_on_a_success_still_return_the_invitation() {
    for vendor in vendors() {
        for value in HUGE {
            let server = serve(
                vendor
                    .success
                    .clone()
                    .insert_header("retry-after", value)
                    .insert_header("x-ratelimit-remaining", "0")
                    .insert_header("x-ratelimit-reset", "99999999999999999999")
                    .insert_header("x-ratelimit-interval", "2562047788015215h"),
            )
            .await;
            let client = (vendor.build)(
                &server.uri(),
                RetryPolicy::default(),
                RecordingSleeper::new(),
            );
            let invitation = client.create_invitation(&vendor.request).await;
            assert!(invitation.is_ok(), "{value}: {invitation:?}");
        }
    }
}

#[tokio::test]
async fn absurd_interval_on_an_error_is_classified() {
    for vendor in vendors() {
        let server = serve(
            ResponseTemplate::new(404)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-interval", "2562047788015215h"),
        )
        .await;
        let client = (vendor.build)(
            &server.uri(),
            RetryPolicy::default(),
            RecordingSleeper::new(),
        );
        let error = client.create_invitation(&vendor.request).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
    }
}

#[tokio::test]
async fn a_caller_who_allows_any_wait_gets_a_clamped_one() {
    for vendor in vendors() {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(crate::common::Sequence::new(vec![
                ResponseTemplate::new(429).insert_header("retry-after", "99999999999999999999"),
                vendor.success.clone(),
            ]))
            .mount(&server)
            .await;
        let sleeper = RecordingSleeper::new();
        let policy = RetryPolicy::default().max_wait(Duration::MAX);
        let client = (vendor.build)(&server.uri(), policy, sleeper.clone());
        client.create_invitation(&vendor.request).await.unwrap();
        let waits = sleeper.waits();
        assert_eq!(waits.len(), 1);
        assert!(
            waits[0] >= Duration::from_secs(99 * 365 * 24 * 60 * 60),
            "{waits:?}"
        );
    }
}
