//! Routes, credentials and headers cannot be bent by input: for every provider.

use std::time::Duration;

use orginvite::{
    Clerk, CreateInvitation, ElasticCloud, Error, ErrorKind, GitHub, Pacing, Provider, RetryPolicy,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tok_SECRETvalue0123456789NEVERSHOWN";

#[derive(Clone, Copy)]
enum Kind {
    GitHub,
    Clerk,
    Elastic,
}

const KINDS: [Kind; 3] = [Kind::GitHub, Kind::Clerk, Kind::Elastic];

fn build(
    kind: Kind,
    base: &str,
    token: &str,
    user_agent: &str,
    http: Option<reqwest::Client>,
) -> Result<Box<dyn Provider>, Error> {
    macro_rules! finish {
        ($builder:expr) => {{
            let mut builder = $builder
                .token(token)
                .base_url(base)
                .user_agent(user_agent)
                .pacing(Pacing::off())
                .retry_policy(RetryPolicy::never());
            if let Some(http) = http {
                builder = builder.http_client(http);
            }
            builder.build().map(|p| Box::new(p) as Box<dyn Provider>)
        }};
    }
    match kind {
        Kind::GitHub => finish!(GitHub::builder()),
        Kind::Clerk => finish!(Clerk::builder()),
        Kind::Elastic => finish!(ElasticCloud::builder()),
    }
}

fn prefix(kind: Kind) -> &'static str {
    match kind {
        Kind::GitHub => "/orgs/",
        Kind::Clerk | Kind::Elastic => "/organizations/",
    }
}

#[tokio::test]
async fn organization_ids_cannot_change_the_route() {
    let cases = [
        ("..", None),
        ("a/b", Some("a%2Fb")),
        ("../../admin", Some("..%2F..%2Fadmin")),
        ("x?y=1", Some("x%3Fy%3D1")),
        ("x#frag", Some("x%23frag")),
        ("100%", Some("100%25")),
        ("%2F", Some("%252F")),
        ("a b", Some("a%20b")),
        ("ünï/코드", Some("%C3%BCn%C3%AF%2F%EC%BD%94%EB%93%9C")),
    ];
    for kind in KINDS {
        for (org, encoded) in cases {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(ResponseTemplate::new(404))
                .mount(&server)
                .await;
            let provider =
                build(kind, &format!("{}/base", server.uri()), TOKEN, "ua", None).unwrap();
            let result = provider
                .create_invitation(&CreateInvitation::email(org, "jane@example.com"))
                .await;
            let received = server.received_requests().await.unwrap();
            match encoded {
                None => {
                    assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidRequest);
                    assert!(received.is_empty());
                }
                Some(encoded) => {
                    assert_eq!(received.len(), 1, "{org}");
                    let url = &received[0].url;
                    assert_eq!(
                        url.path(),
                        format!("/base{}{encoded}/invitations", prefix(kind)),
                        "{org}"
                    );
                    assert_eq!(url.query(), None, "{org}");
                    assert_eq!(url.fragment(), None, "{org}");
                }
            }
        }
    }
}

#[tokio::test]
async fn authorization_never_follows_a_redirect_to_another_host() {
    for kind in KINDS {
        // The second server is reached as `localhost`, the first as `127.0.0.1`: two hosts.
        let elsewhere = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(201))
            .mount(&elsewhere)
            .await;
        let target = format!("http://localhost:{}/stolen", elsewhere.address().port());
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(307).insert_header("location", target.as_str()))
            .mount(&server)
            .await;

        // The crate's own client does not follow redirects at all.
        let provider = build(kind, &server.uri(), TOKEN, "ua", None).unwrap();
        let error = provider
            .create_invitation(&CreateInvitation::email("org_1", "jane@example.com"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedStatus);
        assert!(elsewhere.received_requests().await.unwrap().is_empty());

        // A caller's client that follows redirects still drops the credential on the way.
        let following = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .unwrap();
        let provider = build(kind, &server.uri(), TOKEN, "ua", Some(following)).unwrap();
        let _ = provider
            .create_invitation(&CreateInvitation::email("org_1", "jane@example.com"))
            .await;
        let followed = elsewhere.received_requests().await.unwrap();
        assert_eq!(
            followed.len(),
            1,
            "the caller's client followed the redirect"
        );
        for request in followed {
            assert!(
                request.headers.get("authorization").is_none(),
                "credential followed the redirect"
            );
            let all = format!("{:?}", request.headers);
            assert!(!all.contains("SECRETvalue"), "{all}");
        }
    }
}

#[test]
fn header_injection_is_refused_before_sending() {
    for kind in KINDS {
        for token in ["tok\r\nX-Evil: 1", "tok\nX-Evil: 1", "tok en", "", "tök"] {
            let error = build(kind, "https://api.example.com", token, "ua", None).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidConfig, "{token:?}");
            assert!(!error.to_string().contains("X-Evil"), "{error}");
        }
        for user_agent in ["ua\r\nX-Evil: 1", "ua\n", "ua\u{0}"] {
            let error =
                build(kind, "https://api.example.com", TOKEN, user_agent, None).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidConfig, "{user_agent:?}");
        }
    }
}

#[test]
fn plain_http_only_on_loopback() {
    for kind in KINDS {
        for base in [
            "http://api.github.com",
            "http://10.0.0.1/v1",
            "http://192.168.1.1",
            "ftp://example.com",
        ] {
            let error = build(kind, base, TOKEN, "ua", None).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidConfig, "{base}");
        }
        for base in [
            "http://127.0.0.1:9/v1",
            "http://localhost:9",
            "http://[::1]:9",
            "https://ghe.example.com/api/v3",
        ] {
            assert!(build(kind, base, TOKEN, "ua", None).is_ok(), "{base}");
        }
    }
}

#[tokio::test]
async fn no_error_kind_shows_the_credential_for_any_provider() {
    let answers = [
        ResponseTemplate::new(400),
        ResponseTemplate::new(401).set_body_string("{\"message\":\"bad\"}"),
        ResponseTemplate::new(403),
        ResponseTemplate::new(404),
        ResponseTemplate::new(409),
        ResponseTemplate::new(422),
        ResponseTemplate::new(429).insert_header("retry-after", "9999"),
        ResponseTemplate::new(449),
        ResponseTemplate::new(500),
        ResponseTemplate::new(200).set_body_string("{"),
        ResponseTemplate::new(201).set_body_string("[]"),
        ResponseTemplate::new(302).insert_header("location", "https://x.example/"),
        ResponseTemplate::new(201).set_delay(Duration::from_secs(2)),
    ];
    for kind in KINDS {
        let builder_debug = match kind {
            Kind::GitHub => format!("{:?}", GitHub::builder().token(TOKEN)),
            Kind::Clerk => format!("{:?}", Clerk::builder().token(TOKEN)),
            Kind::Elastic => format!("{:?}", ElasticCloud::builder().token(TOKEN)),
        };
        assert!(!builder_debug.contains("SECRETvalue"), "{builder_debug}");
        for answer in answers.iter().cloned() {
            let server = MockServer::start().await;
            Mock::given(any()).respond_with(answer).mount(&server).await;
            let provider = match kind {
                Kind::GitHub => Box::new(
                    GitHub::builder()
                        .token(TOKEN)
                        .base_url(server.uri())
                        .timeout(Some(Duration::from_millis(200)))
                        .retry_policy(RetryPolicy::never())
                        .build()
                        .unwrap(),
                ) as Box<dyn Provider>,
                Kind::Clerk => Box::new(
                    Clerk::builder()
                        .token(TOKEN)
                        .base_url(server.uri())
                        .timeout(Some(Duration::from_millis(200)))
                        .retry_policy(RetryPolicy::never())
                        .build()
                        .unwrap(),
                ),
                Kind::Elastic => Box::new(
                    ElasticCloud::builder()
                        .token(TOKEN)
                        .base_url(server.uri())
                        .timeout(Some(Duration::from_millis(200)))
                        .retry_policy(RetryPolicy::never())
                        .build()
                        .unwrap(),
                ),
            };
            assert!(!format!("{provider:?}").contains("SECRETvalue"));
            let error = provider
                .create_invitation(&CreateInvitation::email("org_1", "jane@example.com"))
                .await
                .unwrap_err();
            let mut text = format!("{error} {error:?}");
            let mut source = std::error::Error::source(&error);
            while let Some(inner) = source {
                text.push_str(&format!(" {inner} {inner:?}"));
                source = inner.source();
            }
            assert!(!text.contains("SECRETvalue"), "{}: {text}", error.kind());
        }
    }
}
