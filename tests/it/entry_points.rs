//! The fuzzing and benchmark entry points build and read exactly what a call does.

use orginvite::fuzzing::{encode, Target};
use orginvite::{CreateInvitation, ErrorKind};
use reqwest::Method;

#[test]
fn encode_builds_what_a_call_sends() {
    let request = CreateInvitation::email("acme", "jane@example.com");
    let (method, url, body) = encode(Target::GitHub, &request).unwrap();
    assert_eq!(method, Method::POST);
    assert_eq!(url.as_str(), "https://api.github.com/orgs/acme/invitations");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"email": "jane@example.com", "role": "direct_member"})
    );
    let (_, url, body) = encode(Target::Clerk, &request).unwrap();
    assert!(
        url.path().ends_with("/organizations/acme/invitations"),
        "{url}"
    );
    assert!(std::str::from_utf8(&body)
        .unwrap()
        .contains("email_address"));
    let (_, url, body) = encode(Target::ElasticCloud, &request).unwrap();
    assert!(
        url.path().ends_with("/organizations/acme/invitations"),
        "{url}"
    );
    assert!(std::str::from_utf8(&body).unwrap().contains("\"emails\""));
    let user = CreateInvitation::user_id("acme", "42");
    assert_eq!(
        encode(Target::Clerk, &user).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}
