//! The fake Elastic Cloud: `POST /api/v1/organizations/{organization_id}/invitations` as Elastic
//! Cloud's contract describes it. What it answers is documented on [`ElasticSim`].

use std::time::Duration;

use serde_json::{json, Map, Value};
use wiremock::Request;

use super::{
    decoded, Action, Answer, Ask, Counters, FakeInvitation, ListAsk, Listing, MemberListing, Order,
    Paging, Refusal, Vendor,
};

use crate::model::invitation::InvitationStatus;

/// The API key the fake accepts.
const API_KEY: &str = "c2FuZGJveDpzYW5kYm94LWVsYXN0aWMtY2xvdWQta2V5";
/// The organization the fake starts with.
const ORGANIZATION: &str = "sandbox-org";
/// Where the organizations live, below the server's root.
const ORGANIZATIONS: &str = "/api/v1/organizations/";
/// Elastic Cloud's default invitation lifetime.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3 * 24 * 60 * 60);

const NOT_FOUND: &str = "root.resource_not_found";
const BAD_AUTH: &str = "root.invalid_authentication";
const SCHEMA: &str = "root.invalid_json_request";
const INVALID_DATA: &str = "root.invalid_data";

/// The fake Elastic Cloud's behaviour; see [`FakeElasticCloud`](super::FakeElasticCloud).
///
/// It serves, with the credential `Authorization: ApiKey <key>` ([`FakeServer::token`](super::FakeServer::token)):
///
/// | route | answer |
/// |---|---|
/// | `POST /api/v1/organizations/{organization_id}/invitations` | `201` with the created invitations |
/// | `GET /api/v1/organizations/{organization_id}/invitations` | `200` with every open invitation, pending or expired (`expired: true`), no paging |
/// | `DELETE /api/v1/organizations/{organization_id}/invitations/{tokens}` | `200 {}`; the tokens comma-separated, all or nothing: one that is unknown or no longer pending answers `404 organization.invitation_not_found` |
/// | `GET /api/v1/organizations/{organization_id}/members` | `200` with every member |
///
/// Creating: One call invites every address in
/// `emails`, all or nothing; an address given twice is invited once. The answer is `201` with
/// `{"invitations": [...]}`, role assignments echoed. Organizations are named after their ids.
/// A rate-limit budget counts requests, whatever the number of emails in each; while a window
/// is configured, answers carry `x-ratelimit-limit`, `x-ratelimit-remaining` and
/// `x-ratelimit-interval` (the window's length, e.g. `60s`), and the 429 has no `Retry-After`.
///
/// Every error is Elastic Cloud's `BasicFailedReply` (`{"errors": [{code, message, fields?}]}`)
/// with the code repeated in `x-cloud-error-codes`:
///
/// | answer | status | code |
/// |---|---|---|
/// | another route or method | 404 | `root.resource_not_found` |
/// | no `ApiKey` credential, or another key | 403 | `root.invalid_authentication` |
/// | body not JSON, or not matching the schema (types, required fields, no email) | 400 | `root.invalid_json_request` |
/// | `expires_in` not a duration `Nh`/`Nd`, or role assignments breaking a documented rule | 400 | `root.invalid_data` |
/// | an address that is malformed or at the `.invalid` top-level domain | 400 | `organization.invitation_invalid_email` |
/// | an address with a pending invitation | 400 | `organization.invitation_already_exists` |
/// | a member's address | 400 | `organization.user_organization_already_belongs` |
/// | an unknown organization | 404 | `organization.not_found` |
/// | the rate-limit budget spent | 429 | `organization.invitations_rate_limit_exceeded` |
/// | [`Fault::ServerError`](super::Fault::ServerError) | 500 | `internal.server.error` |
///
/// The contract documents the invitation endpoint's own codes; for the answers it leaves open
/// (unknown routes, malformed bodies, server errors) the fake uses codes Elastic Cloud answers
/// elsewhere in its API.
///
/// ```
/// use orginvite::testkit::Sandbox;
/// use orginvite::{CreateInvitation, ErrorKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (fake, elastic) = Sandbox::elastic().await;
/// fake.add_member(fake.organization(), "old-timer@example.com");
///
/// let jane = CreateInvitation::email(fake.organization(), "jane@example.com");
/// let invitation = elastic.create_invitation(&jane).await.unwrap();
/// assert_eq!(invitation.id, fake.invitations()[0].id);
///
/// let again = elastic.create_invitation(&jane).await.unwrap_err();
/// assert_eq!(again.kind(), ErrorKind::AlreadyInvited);
/// assert_eq!(again.vendor_code(), Some("organization.invitation_already_exists"));
///
/// let member = CreateInvitation::email(fake.organization(), "old-timer@example.com");
/// let member = elastic.create_invitation(&member).await.unwrap_err();
/// assert_eq!(member.kind(), ErrorKind::AlreadyMember);
/// # }
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ElasticSim {}

impl super::Fake for ElasticSim {
    type Real = crate::vendors::elastic::ElasticVendor;
    const TOKEN: &'static str = API_KEY;
    const ORGANIZATION: &'static str = ORGANIZATION;
    const BASE_PATH: &'static str = "/api/v1";
}

/// One error answer: `{"errors": [{code, message, fields?}]}` and `x-cloud-error-codes`.
fn failed(status: u16, code: &str, message: &str, fields: &[&str]) -> Answer {
    let mut element = json!({"code": code, "message": message});
    if !fields.is_empty() {
        element["fields"] = json!(fields);
    }
    Answer::new(status)
        .set_body_raw(
            serde_json::to_vec(&json!({"errors": [element]})).expect("JSON serializes"),
            "application/json",
        )
        .insert_header("x-cloud-error-codes", code)
}

/// A body that does not match `OrganizationInvitationRequest`'s schema.
fn schema(field: &str, problem: &str) -> Answer {
    failed(
        400,
        SCHEMA,
        &format!("JSON request does not comply with schema: [{field}: {problem}]"),
        &[field],
    )
}

/// A body that matches the schema with a value the server does not accept.
fn invalid_data(field: &str, problem: &str) -> Answer {
    failed(
        400,
        INVALID_DATA,
        &format!("Invalid [{field}]: {problem}"),
        &[field],
    )
}

/// A route of the fake.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// `/api/v1/organizations/{id}/invitations`
    Invitations(String),
    /// `/api/v1/organizations/{id}/invitations/{tokens}`: the tokens, each percent-decoded.
    Tokens(String, Vec<String>),
    /// `/api/v1/organizations/{id}/members`
    Members(String),
}

/// The route of a path, its parts percent-decoded.
fn route(path: &str) -> Option<Route> {
    let rest = path.strip_prefix(ORGANIZATIONS)?;
    let parts: Vec<&str> = rest.split('/').collect();
    Some(match parts.as_slice() {
        [org, "invitations"] => Route::Invitations(decoded(org)?),
        [org, "invitations", tokens] => Route::Tokens(
            decoded(org)?,
            tokens.split(',').map(decoded).collect::<Option<Vec<_>>>()?,
        ),
        [org, "members"] => Route::Members(decoded(org)?),
        _ => return None,
    })
}

/// Elastic Cloud's duration: a positive whole number of hours (`72h`) or days (`3d`).
fn parse_expiry(text: &str) -> Option<Duration> {
    let (number, unit) = if let Some(number) = text.strip_suffix('h') {
        (number, 60 * 60)
    } else {
        (text.strip_suffix('d')?, 24 * 60 * 60)
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count: u64 = number.parse().ok().filter(|n| *n > 0)?;
    count.checked_mul(unit).map(Duration::from_secs)
}

/// `x-ratelimit-interval`: whole seconds (`60s`), else milliseconds rounded up (`1500ms`).
fn interval_text(window: Duration) -> String {
    if window.subsec_nanos() == 0 {
        format!("{}s", window.as_secs())
    } else {
        let millis = window.as_nanos().div_ceil(1_000_000);
        format!("{millis}ms")
    }
}

/// A field that must be an array of strings when present (`null` counts as absent).
fn strings<'a>(
    entry: &'a Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<Option<Vec<&'a str>>, Answer> {
    match entry.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().ok_or_else(|| {
                    schema(&format!("{field}.{name}"), "expected an array of strings")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(schema(
            &format!("{field}.{name}"),
            "expected an array of strings",
        )),
    }
}

/// A required string field of a role entry.
fn required_string<'a>(
    entry: &'a Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<&'a str, Answer> {
    match entry.get(name) {
        Some(Value::String(text)) => Ok(text),
        None | Some(Value::Null) => {
            Err(schema(&format!("{field}.{name}"), "missing required field"))
        }
        Some(_) => Err(schema(&format!("{field}.{name}"), "expected a string")),
    }
}

/// A role entry and where it is in the request (e.g. `role_assignments.deployment[0]`).
type Entry<'a> = (String, &'a Map<String, Value>);

/// The entries of one list of role assignments (`null` or absent: none).
fn entries<'a>(value: Option<&'a Value>, field: &str) -> Result<Vec<Entry<'a>>, Answer> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let field = format!("{field}[{i}]");
                match item.as_object() {
                    Some(entry) => Ok((field, entry)),
                    None => Err(schema(&field, "expected an object")),
                }
            })
            .collect(),
        Some(_) => Err(schema(field, "expected an array")),
    }
}

/// Checks an entry scoped to the organization: `role_id`, and `organization_id` naming
/// `organization`.
fn check_scoped(entry: &Map<String, Value>, field: &str, organization: &str) -> Result<(), Answer> {
    required_string(entry, "role_id", field)?;
    let id = required_string(entry, "organization_id", field)?;
    if id != organization {
        return Err(invalid_data(
            &format!("{field}.organization_id"),
            &format!("the role is scoped to organization [{id}], not [{organization}]"),
        ));
    }
    strings(entry, "application_roles", field)?;
    Ok(())
}

/// `all: true` excludes the ids; without it, the ids are required.
fn check_all_or_ids(entry: &Map<String, Value>, field: &str, ids: &str) -> Result<(), Answer> {
    let all = match entry.get("all") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(all)) => *all,
        Some(_) => return Err(schema(&format!("{field}.all"), "expected a boolean")),
    };
    match (all, strings(entry, ids, field)?) {
        (true, Some(_)) => Err(invalid_data(
            &format!("{field}.{ids}"),
            "must be absent when `all` is true",
        )),
        (false, None) => Err(invalid_data(
            &format!("{field}.{ids}"),
            "is required unless `all` is true",
        )),
        _ => Ok(()),
    }
}

/// Checks `role_assignments` against the schema and the documented rules; returns the
/// organization role ids.
fn check_role_assignments(value: &Value, organization: &str) -> Result<Vec<String>, Answer> {
    let Some(roles) = value.as_object() else {
        return Err(schema("role_assignments", "expected an object"));
    };
    let mut organization_roles = Vec::new();
    for (field, entry) in entries(roles.get("organization"), "role_assignments.organization")? {
        check_scoped(entry, &field, organization)?;
        organization_roles.push(required_string(entry, "role_id", &field)?.to_owned());
    }
    for (field, entry) in entries(roles.get("deployment"), "role_assignments.deployment")? {
        check_scoped(entry, &field, organization)?;
        check_all_or_ids(entry, &field, "deployment_ids")?;
    }
    match roles.get("project") {
        None | Some(Value::Null) => {}
        // Every project type has the same entries; newer servers know more types.
        Some(Value::Object(types)) => {
            for (kind, list) in types {
                let field = format!("role_assignments.project.{kind}");
                for (field, entry) in entries(Some(list), &field)? {
                    check_scoped(entry, &field, organization)?;
                    check_all_or_ids(entry, &field, "project_ids")?;
                }
            }
        }
        Some(_) => return Err(schema("role_assignments.project", "expected an object")),
    }
    for (field, entry) in entries(roles.get("platform"), "role_assignments.platform")? {
        required_string(entry, "role_id", &field)?;
    }
    Ok(organization_roles)
}

impl ElasticSim {
    /// `{"invitations": [...]}` with `status`: what a create and a list answer.
    fn invitations<'a>(
        &self,
        status: u16,
        invitations: impl Iterator<Item = &'a FakeInvitation>,
        counters: &Counters,
    ) -> Answer {
        let invitations: Vec<Value> = invitations
            .map(|invitation| invitation_json(invitation, counters))
            .collect();
        self.with_headers(
            json_answer(status, &json!({"invitations": invitations})),
            counters,
        )
    }

    /// Adds the `x-ratelimit-*` headers when a rate-limit window is configured.
    fn with_headers(&self, template: Answer, counters: &Counters) -> Answer {
        match (counters.limit, counters.remaining, counters.window) {
            (Some(limit), Some(remaining), Some(window)) => template
                .insert_header("x-ratelimit-limit", limit.to_string())
                .insert_header("x-ratelimit-remaining", remaining.to_string())
                .insert_header("x-ratelimit-interval", interval_text(window)),
            _ => template,
        }
    }

    fn check(&self, request: &Request, token: &str) -> Result<Action, Answer> {
        let not_found = || {
            failed(
                404,
                NOT_FOUND,
                "The requested resource could not be found",
                &[],
            )
        };
        let route = route(request.url.path()).ok_or_else(not_found)?;

        let presented = request
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("ApiKey"))
            .map(|(_, key)| key.trim());
        if presented != Some(token) {
            return Err(failed(
                403,
                BAD_AUTH,
                "The supplied authentication is invalid",
                &[],
            ));
        }
        let organization = match (request.method.as_str(), route) {
            ("POST", Route::Invitations(organization)) => organization,
            ("GET", Route::Invitations(organization)) => {
                return Ok(Action::List(ListAsk {
                    organization,
                    statuses: vec![InvitationStatus::Pending, InvitationStatus::Expired],
                    email: None,
                    role: None,
                    order: Order::Created,
                    paging: Paging::ALL,
                }))
            }
            ("DELETE", Route::Tokens(organization, ids)) => {
                return Ok(Action::Cancel { organization, ids })
            }
            ("GET", Route::Members(organization)) => {
                return Ok(Action::Members {
                    organization,
                    who: None,
                    paging: Paging::ALL,
                })
            }
            _ => return Err(not_found()),
        };

        let body: Value = serde_json::from_slice(&request.body).map_err(|_| {
            failed(
                400,
                SCHEMA,
                "The request body could not be parsed as JSON",
                &[],
            )
        })?;
        let Some(body) = body.as_object() else {
            return Err(schema("body", "expected an object"));
        };

        let emails = match body.get("emails") {
            None | Some(Value::Null) => return Err(schema("emails", "missing required field")),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .ok_or_else(|| schema("emails", "expected an array of strings"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(schema("emails", "expected an array of strings")),
        };
        if emails.is_empty() {
            return Err(schema("emails", "at least one email is required"));
        }

        let expires_in = match body.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(parse_expiry(text).ok_or_else(|| {
                invalid_data(
                    "expires_in",
                    &format!("[{text}] is not a duration such as 72h or 3d"),
                )
            })?),
            Some(_) => return Err(schema("expires_in", "expected a string")),
        };

        let mut details = Map::new();
        let mut role = String::new();
        match body.get("role_assignments") {
            None | Some(Value::Null) => {}
            Some(value) => {
                role = check_role_assignments(value, &organization)?.join(",");
                details.insert("role_assignments".to_owned(), value.clone());
            }
        }

        // One invitation per address: the same address twice is invited once.
        let mut asks: Vec<Ask> = Vec::with_capacity(emails.len());
        for email in emails {
            if asks.iter().any(|ask| {
                ask.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            }) {
                continue;
            }
            asks.push(Ask {
                organization: organization.clone(),
                email: Some(email.to_owned()),
                user_id: None,
                role: role.clone(),
                expires_in,
                details: details.clone(),
            });
        }
        Ok(Action::Create(asks))
    }
}

fn timestamp(at: Option<jiff::Timestamp>) -> Value {
    at.map_or(Value::Null, |at| Value::String(at.to_string()))
}

/// An `OrganizationInvitation` as Elastic Cloud answers it.
fn invitation_json(invitation: &FakeInvitation, counters: &Counters) -> Value {
    let now = jiff::Timestamp::try_from(counters.now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut body = json!({
        "token": invitation.id,
        "email": invitation.email,
        "created_at": timestamp(Some(invitation.created_at)),
        "expires_at": timestamp(invitation.expires_at),
        "expired": invitation.status_at(now) == InvitationStatus::Expired,
        "organization": {"id": invitation.organization, "name": invitation.organization},
    });
    if let Some(roles) = invitation.details.get("role_assignments") {
        body["role_assignments"] = roles.clone();
    }
    body
}

fn json_answer(status: u16, body: &Value) -> Answer {
    Answer::new(status).set_body_raw(
        serde_json::to_vec(body).expect("JSON serializes"),
        "application/json",
    )
}

impl Vendor for ElasticSim {
    fn parse(&self, request: &Request, token: &str, counters: &Counters) -> Result<Action, Answer> {
        self.check(request, token)
            .map_err(|answer| self.with_headers(answer, counters))
    }

    fn created(&self, invitations: &[FakeInvitation], counters: &Counters) -> Answer {
        self.invitations(201, invitations.iter(), counters)
    }

    fn listed(&self, listing: Listing<'_>, counters: &Counters) -> Answer {
        self.invitations(200, listing.page.iter().copied(), counters)
    }

    fn cancelled(&self, _invitations: &[FakeInvitation], counters: &Counters) -> Answer {
        self.with_headers(json_answer(200, &json!({})), counters)
    }

    fn members(&self, listing: MemberListing<'_>, counters: &Counters) -> Answer {
        let since = timestamp(jiff::Timestamp::try_from(counters.now).ok());
        let members: Vec<Value> = listing
            .page
            .iter()
            .map(|&(i, member)| {
                let mut body = json!({
                    "organization_id": member.organization,
                    "user_id": member.user_id.clone().unwrap_or_else(|| format!("{}", 1_000_000 + i)),
                    "member_since": since,
                    "email": member.email,
                    "name": member.login,
                });
                if !member.role.is_empty() {
                    body["role_assignments"] = json!({"organization": [
                        {"role_id": member.role, "organization_id": member.organization}
                    ]});
                }
                body
            })
            .collect();
        self.with_headers(json_answer(200, &json!({"members": members})), counters)
    }

    fn refuse(&self, refusal: &Refusal, counters: &Counters) -> Answer {
        let answer = match refusal {
            Refusal::OrganizationNotFound => failed(
                404,
                "organization.not_found",
                "The organization could not be found",
                &[],
            ),
            Refusal::AlreadyMember(email) => failed(
                400,
                "organization.user_organization_already_belongs",
                &format!("User [{email}] already belongs to the organization"),
                &[],
            ),
            Refusal::AlreadyInvited(email) => failed(
                400,
                "organization.invitation_already_exists",
                &format!("An invitation for [{email}] already exists"),
                &[],
            ),
            Refusal::InvalidEmail(email) => failed(
                400,
                "organization.invitation_invalid_email",
                &format!("Invitation email [{email}] is not valid"),
                &["emails"],
            ),
            Refusal::RateLimited(_) => failed(
                429,
                "organization.invitations_rate_limit_exceeded",
                "Request exceeds organization invitation creation rate limits",
                &[],
            ),
            Refusal::UnknownInvitation(token) | Refusal::NotPending(token) => failed(
                404,
                "organization.invitation_not_found",
                &format!("Invitation [{token}] could not be found"),
                &[],
            ),
            Refusal::ServerError => failed(
                500,
                "internal.server.error",
                "An internal server error occurred",
                &[],
            ),
        };
        self.with_headers(answer, counters)
    }

    fn invitation_id(&self, n: u64) -> String {
        // 32 hex digits like a real token, unique by construction.
        format!("{:016x}{n:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn default_lifetime(&self) -> Duration {
        DEFAULT_LIFETIME
    }

    fn default_role(&self) -> &'static str {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::headers::parse_duration;

    #[test]
    fn expiries() {
        let hours = |h: u64| Some(Duration::from_secs(h * 60 * 60));
        assert_eq!(parse_expiry("72h"), hours(72));
        assert_eq!(parse_expiry("3d"), hours(72));
        assert_eq!(parse_expiry("1h"), hours(1));
        for bad in [
            "",
            "h",
            "d",
            "0h",
            "0d",
            "3",
            "3w",
            "-3d",
            "3.5d",
            "3 d",
            " 3d",
            "2026-01-01T00:00:00Z",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_expiry(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn intervals_read_back() {
        for window in [
            Duration::from_secs(60),
            Duration::from_secs(1),
            Duration::from_millis(1500),
            Duration::from_millis(250),
        ] {
            assert_eq!(parse_duration(&interval_text(window)), Some(window));
        }
        assert_eq!(interval_text(Duration::from_secs(60)), "60s");
    }

    #[test]
    fn paths() {
        assert_eq!(
            route("/api/v1/organizations/a%2Fb%20c/invitations"),
            Some(Route::Invitations("a/b c".into()))
        );
        assert_eq!(
            route("/api/v1/organizations/o/invitations/t1,t%2C2"),
            Some(Route::Tokens("o".into(), vec!["t1".into(), "t,2".into()]))
        );
        assert_eq!(
            route("/api/v1/organizations/o/members"),
            Some(Route::Members("o".into()))
        );
        for bad in [
            "/organizations/x/invitations",
            "/api/v1/organizations//invitations",
            "/api/v1/organizations/x/y/invitations",
            "/api/v1/organizations/x/invitations/t,,u",
        ] {
            assert_eq!(route(bad), None, "{bad}");
        }
    }
}
