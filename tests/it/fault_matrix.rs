//! One table of faults, run against every vendor: the typed outcome, how many requests were
//! sent, and whether the invitation may have been created.

use std::time::Duration;

use crate::common::raw::{self, Behaviour};
use crate::common::{fixture, Sequence};
use orginvite::sleep::RecordingSleeper;
use orginvite::{
    Clerk, CreateInvitation, ElasticCloud, Error, ErrorKind, GitHub, Invitation, Pacing, Provider,
    RetryPolicy,
};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One vendor as the matrix sees it.
struct Vendor {
    name: &'static str,
    /// The path under the server's root that plays the vendor's base URL.
    base_path: &'static str,
    /// The success status and its official body, for the request below.
    success: (u16, String),
    request: CreateInvitation,
    build: fn(String, RecordingSleeper) -> Box<dyn Provider>,
}

fn policy() -> RetryPolicy {
    RetryPolicy::default().jitter(false)
}

fn vendors() -> Vec<Vendor> {
    vec![
        Vendor {
            name: "github",
            base_path: "/api/v3",
            success: (201, fixture("github/create-201.json")),
            request: CreateInvitation::email("acme", "octocat@github.com"),
            build: |base, sleeper| {
                Box::new(
                    GitHub::builder()
                        .token("ghp_faultmatrix0000")
                        .base_url(base)
                        .retry_policy(policy())
                        .pacing(Pacing::off())
                        .timeout(Some(Duration::from_millis(300)))
                        .sleeper(sleeper)
                        .build()
                        .unwrap(),
                )
            },
        },
        Vendor {
            name: "clerk",
            base_path: "/v1",
            success: (200, fixture("clerk/create-200.json")),
            request: CreateInvitation::email(
                "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
                "jane.doe@acme.com",
            ),
            build: |base, sleeper| {
                Box::new(
                    Clerk::builder()
                        .token("sk_test_faultmatrix0000")
                        .base_url(base)
                        .retry_policy(policy())
                        .pacing(Pacing::off())
                        .timeout(Some(Duration::from_millis(300)))
                        .sleeper(sleeper)
                        .build()
                        .unwrap(),
                )
            },
        },
        Vendor {
            name: "elastic",
            base_path: "/api/v1",
            success: (201, fixture("elastic/create-201.json")),
            request: CreateInvitation::email("testorg", "test@mail"),
            build: |base, sleeper| {
                Box::new(
                    ElasticCloud::builder()
                        .token("essu_faultmatrix0000")
                        .base_url(base)
                        .retry_policy(policy())
                        .pacing(Pacing::off())
                        .timeout(Some(Duration::from_millis(300)))
                        .sleeper(sleeper)
                        .build()
                        .unwrap(),
                )
            },
        },
    ]
}

/// Where a fault comes from.
enum Source {
    /// Answers from wiremock, in turn (the last repeats); `Success` stands for the vendor's
    /// own success answer.
    Answers(Vec<Answer>),
    /// A bare TCP server.
    Raw(Behaviour),
    /// Nothing listens at the address.
    Refused,
}

#[derive(Clone)]
enum Answer {
    Success,
    Template(ResponseTemplate),
    /// The vendor's success status with this body.
    SuccessStatusWith(Vec<u8>),
}

fn status(code: u16) -> ResponseTemplate {
    ResponseTemplate::new(code)
}

fn html(code: u16) -> ResponseTemplate {
    status(code).set_body_raw(
        "<html><body><h1>Bad Gateway</h1></body></html>",
        "text/html",
    )
}

struct Expect {
    /// `None`: the invitation is created.
    kind: Option<ErrorKind>,
    requests: usize,
    may_have_been_created: bool,
    /// Exact waits the client asked for, when they matter.
    waits: Option<Vec<Duration>>,
}

fn ok(requests: usize) -> Expect {
    Expect {
        kind: None,
        requests,
        may_have_been_created: false,
        waits: None,
    }
}

fn fails(kind: ErrorKind, requests: usize, created: bool) -> Expect {
    Expect {
        kind: Some(kind),
        requests,
        may_have_been_created: created,
        waits: None,
    }
}

fn waits(mut expect: Expect, waits: &[u64]) -> Expect {
    expect.waits = Some(waits.iter().map(|s| Duration::from_secs(*s)).collect());
    expect
}

fn faults() -> Vec<(&'static str, Source, Expect)> {
    use Answer::*;
    use ErrorKind::*;
    let t = Template;
    let huge = vec![b' '; 5 * 1024 * 1024];
    vec![
        (
            "HTML 502 from a gateway",
            Source::Answers(vec![t(html(502))]),
            fails(ServerError, 1, true),
        ),
        (
            "HTML 503 without Retry-After",
            Source::Answers(vec![t(html(503))]),
            fails(ServerError, 1, true),
        ),
        (
            "JSON 500",
            Source::Answers(vec![t(
                status(500).set_body_json(json!({"message": "boom"}))
            )]),
            fails(ServerError, 1, true),
        ),
        (
            "503 with Retry-After, then success",
            Source::Answers(vec![
                t(status(503).insert_header("retry-after", "2")),
                Success,
            ]),
            waits(ok(2), &[2]),
        ),
        (
            "503 with Retry-After, forever",
            Source::Answers(vec![t(status(503).insert_header("retry-after", "1"))]),
            fails(ServerError, 4, false),
        ),
        (
            "success status, empty body",
            Source::Answers(vec![SuccessStatusWith(Vec::new())]),
            fails(Decode, 1, true),
        ),
        (
            "success status, truncated JSON",
            Source::Answers(vec![SuccessStatusWith(b"{\"id\": \"1\", \"em".to_vec())]),
            fails(Decode, 1, true),
        ),
        (
            "success status, JSON of the wrong shape",
            Source::Answers(vec![SuccessStatusWith(b"[1, 2, 3]".to_vec())]),
            fails(Decode, 1, true),
        ),
        (
            "success status, an error body",
            Source::Answers(vec![SuccessStatusWith(
                br#"{"errors":[{"code":"x","message":"no"}],"message":"no"}"#.to_vec(),
            )]),
            fails(Decode, 1, true),
        ),
        (
            "success status, HTML",
            Source::Answers(vec![SuccessStatusWith(b"<html>welcome</html>".to_vec())]),
            fails(Decode, 1, true),
        ),
        (
            "success status, body over the cap",
            Source::Answers(vec![SuccessStatusWith(huge.clone())]),
            fails(Decode, 1, true),
        ),
        (
            "500 with a body over the cap",
            Source::Answers(vec![t(status(500).set_body_bytes(huge.clone()))]),
            fails(Decode, 1, true),
        ),
        (
            "400 with a body over the cap",
            Source::Answers(vec![t(status(400).set_body_bytes(huge.clone()))]),
            fails(Decode, 1, false),
        ),
        (
            "429 with a body over the cap, then success",
            Source::Answers(vec![
                t(status(429)
                    .insert_header("retry-after", "3")
                    .set_body_bytes(huge)),
                Success,
            ]),
            waits(ok(2), &[3]),
        ),
        (
            "empty 401",
            Source::Answers(vec![t(status(401))]),
            fails(Unauthenticated, 1, false),
        ),
        (
            "HTML 404",
            Source::Answers(vec![t(html(404))]),
            fails(NotFound, 1, false),
        ),
        (
            "429 storm without headers",
            Source::Answers(vec![t(status(429))]),
            waits(fails(RateLimited, 4, false), &[1, 2, 4]),
        ),
        (
            "429 once, then success",
            Source::Answers(vec![
                t(status(429).insert_header("retry-after", "3")),
                Success,
            ]),
            waits(ok(2), &[3]),
        ),
        (
            "429 asking for an hour",
            Source::Answers(vec![t(status(429).insert_header("retry-after", "3600"))]),
            waits(fails(RateLimited, 1, false), &[]),
        ),
        (
            "429 asking for a year",
            Source::Answers(vec![
                t(status(429).insert_header("retry-after", "31536000")),
            ]),
            waits(fails(RateLimited, 1, false), &[]),
        ),
        (
            "429 with garbage Retry-After",
            Source::Answers(vec![
                t(status(429).insert_header("retry-after", "soon")),
                Success,
            ]),
            waits(ok(2), &[1]),
        ),
        (
            "429 with negative Retry-After",
            Source::Answers(vec![
                t(status(429).insert_header("retry-after", "-5")),
                Success,
            ]),
            waits(ok(2), &[1]),
        ),
        (
            "429 with a date in the past",
            Source::Answers(vec![
                t(status(429).insert_header("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")),
                Success,
            ]),
            waits(ok(2), &[]),
        ),
        (
            "429 with Retry-After twice",
            Source::Answers(vec![
                t(status(429)
                    .append_header("retry-after", "later")
                    .append_header("retry-after", "2")),
                Success,
            ]),
            waits(ok(2), &[2]),
        ),
        (
            "307 redirect",
            Source::Answers(vec![t(
                status(307).insert_header("location", "https://elsewhere.example/")
            )]),
            fails(UnexpectedStatus, 1, false),
        ),
        (
            "418",
            Source::Answers(vec![t(status(418))]),
            fails(UnexpectedStatus, 1, false),
        ),
        (
            "success with a text/plain content type",
            Source::Answers(vec![Success]),
            ok(1),
        ),
        (
            "connection refused before sending",
            Source::Refused,
            waits(fails(Transport, 0, false), &[1, 2, 4]),
        ),
        (
            "connection closed after the request was sent",
            Source::Raw(Behaviour::Close),
            fails(Transport, 1, true),
        ),
        (
            "no answer at all",
            Source::Raw(Behaviour::Hang),
            fails(Timeout, 1, true),
        ),
        (
            "slow success body",
            Source::Raw(Behaviour::Trickle {
                status: 201,
                pause: Duration::from_millis(50),
            }),
            fails(Timeout, 1, true),
        ),
        (
            "slow 400 body",
            Source::Raw(Behaviour::Trickle {
                status: 400,
                pause: Duration::from_millis(50),
            }),
            fails(Timeout, 1, false),
        ),
        (
            "endless error body",
            Source::Raw(Behaviour::Stream {
                status: 500,
                total: 100 * 1024 * 1024,
            }),
            fails(Decode, 1, true),
        ),
    ]
}

async fn run(
    vendor: &Vendor,
    source: &Source,
) -> (Result<Invitation, Error>, usize, Vec<Duration>) {
    let sleeper =
        RecordingSleeper::starting_at(std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    match source {
        Source::Answers(answers) => {
            let server = MockServer::start().await;
            let (code, body) = &vendor.success;
            let templates = answers
                .iter()
                .map(|answer| match answer {
                    Answer::Success => status(*code).set_body_raw(body.clone(), "text/plain"),
                    Answer::Template(t) => t.clone(),
                    Answer::SuccessStatusWith(bytes) => status(*code).set_body_bytes(bytes.clone()),
                })
                .collect();
            Mock::given(any())
                .respond_with(Sequence::new(templates))
                .mount(&server)
                .await;
            let client = (vendor.build)(
                format!("{}{}", server.uri(), vendor.base_path),
                sleeper.clone(),
            );
            let result = client.create_invitation(&vendor.request).await;
            let count = server.received_requests().await.unwrap().len();
            (result, count, sleeper.waits())
        }
        Source::Raw(behaviour) => {
            let (base, counters) = raw::start(behaviour.clone()).await;
            let client = (vendor.build)(format!("{base}{}", vendor.base_path), sleeper.clone());
            let result = client.create_invitation(&vendor.request).await;
            (result, counters.requests(), sleeper.waits())
        }
        Source::Refused => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let client = (vendor.build)(
                format!("http://127.0.0.1:{port}{}", vendor.base_path),
                sleeper.clone(),
            );
            let result = client.create_invitation(&vendor.request).await;
            (result, 0, sleeper.waits())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_has_a_typed_outcome_for_every_vendor() {
    let faults = faults();
    assert!(faults.len() >= 25);
    let mut failures = Vec::new();
    for vendor in vendors() {
        for (name, source, expect) in &faults {
            let (result, requests, waited) = run(&vendor, source).await;
            let got_kind = result.as_ref().err().map(Error::kind);
            let created = result
                .as_ref()
                .err()
                .is_some_and(Error::may_have_been_created);
            let mut wrong = Vec::new();
            if got_kind != expect.kind {
                wrong.push(format!("kind {got_kind:?} (wanted {:?})", expect.kind));
            }
            if requests != expect.requests {
                wrong.push(format!("{requests} requests (wanted {})", expect.requests));
            }
            if created != expect.may_have_been_created {
                wrong.push(format!("may_have_been_created {created}"));
            }
            if let Some(want) = &expect.waits {
                if &waited != want {
                    wrong.push(format!("waits {waited:?} (wanted {want:?})"));
                }
            }
            if let Err(error) = &result {
                // Every error says which vendor it came from and renders without panicking.
                if error.provider().is_none() {
                    wrong.push("no provider".into());
                }
                let _ = (error.to_string(), format!("{error:?}"));
            }
            if !wrong.is_empty() {
                failures.push(format!(
                    "{} / {name}: {} -> {result:?}",
                    vendor.name,
                    wrong.join(", ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_100_mib_error_body_is_refused_without_reading_it_whole() {
    for vendor in vendors() {
        // Chunked: the size is only known by reading. The client stops at its cap.
        let (base, counters) = raw::start(Behaviour::Stream {
            status: 502,
            total: 100 * 1024 * 1024,
        })
        .await;
        let client = (vendor.build)(
            format!("{base}{}", vendor.base_path),
            RecordingSleeper::new(),
        );
        let error = client.create_invitation(&vendor.request).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{}", vendor.name);
        assert_eq!(error.status().unwrap().as_u16(), 502);
        assert!(
            error
                .to_string()
                .contains("larger than the 4194304 byte limit"),
            "{error}"
        );
        // Give the server a moment to notice the closed connection, then count what it sent.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let sent = counters.body_bytes_sent();
        assert!(
            sent < 16 * 1024 * 1024,
            "{}: the server sent {sent} bytes",
            vendor.name
        );

        // Announced: refused from the Content-Length alone.
        let (base, counters) = raw::start(Behaviour::Announce {
            status: 500,
            length: 100 * 1024 * 1024,
        })
        .await;
        let client = (vendor.build)(
            format!("{base}{}", vendor.base_path),
            RecordingSleeper::new(),
        );
        let error = client.create_invitation(&vendor.request).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(counters.body_bytes_sent() < 16 * 1024 * 1024);
    }
}

#[tokio::test]
async fn a_smaller_cap_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(status(201).set_body_string(fixture("github/create-201.json")))
        .mount(&server)
        .await;
    let github = GitHub::builder()
        .token("ghp_x")
        .base_url(server.uri())
        .max_body_bytes(100)
        .build()
        .unwrap();
    let error = github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.may_have_been_created());
}
