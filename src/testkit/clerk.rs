//! The fake Clerk: `POST /v1/organizations/{organization_id}/invitations` as Clerk's Backend
//! API contract describes it.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::{json, Map, Value};
use wiremock::Request;

use super::hooks::{self, Happened};
use super::{
    ceil_secs, decoded, epoch_secs, Action, Answer, Ask, Counters, FakeInvitation, FakeMember,
    FakeServer, ListAsk, Listing, MemberListing, Order, Paging, Refusal, Vendor, Who,
};

use crate::model::invitation::InvitationStatus;
use crate::vendors::clerk::MAX_EXPIRY_DAYS;

/// The API versions the fake accepts in `Clerk-API-Version` (or `__clerk_api_version`).
const API_VERSIONS: [&str; 6] = [
    "2021-02-05",
    "2024-10-01",
    "2025-03-12",
    "2025-04-10",
    "2025-11-10",
    "2026-05-12",
];
/// The body fields Clerk's create endpoint reads; anything else is `form_param_unknown`.
const FIELDS: [&str; 8] = [
    "email_address",
    "role",
    "inviter_user_id",
    "public_metadata",
    "private_metadata",
    "redirect_url",
    "expires_in_days",
    "notify",
];
/// The body fields Clerk keeps on the invitation and echoes back.
const KEPT: [&str; 5] = [
    "inviter_user_id",
    "public_metadata",
    "private_metadata",
    "redirect_url",
    "notify",
];
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const DEFAULT_EXPIRY_DAYS: u64 = 30;

/// The fake Clerk's behaviour; see [`FakeClerk`](super::FakeClerk).
///
/// It serves, below `/v1/organizations/{organization_id}`:
///
/// | route | answer |
/// |---|---|
/// | `POST /invitations` | `200` with the `OrganizationInvitation` |
/// | `POST /invitations/bulk` | `200 {data, total_count}` for an array of 1 to 10 creates, all or nothing (`400 bulk_size_exceeded` past 10); its own rate limit with [`FakeServer::rate_limit_batches`] |
/// | `GET /invitations` | `200 {data, total_count}`: `limit` (default 10, 1 to 500), `offset`, `status` (repeatable), `email_address`, `order_by` (default `-created_at`, newest first) |
/// | `POST /invitations/{id}/revoke` | `200` with the revoked invitation; `404 organization_invitation_not_pending` once it is not pending, `404 resource_not_found` for an unknown id |
/// | `GET /memberships` | `200 {data, total_count}` filtered by `email_address`, `user_id` or `username` |
///
/// It knows the roles `org:admin` ("Admin") and `org:member` ("Member"); add custom role keys
/// with [`FakeServer::add_role`]. A role it does not know answers Clerk's 404
/// `resource_not_found` ("Organization role not found", `meta.param_name = "role"`), as Clerk
/// does for a role key the instance does not have.
///
/// Checks run in this order, each answering Clerk's own error: the route (404), the
/// credential (401), the API version (400), the content type (415), the body (400 when it is
/// not a JSON object, then every form error at once as 422), the role (404), the rate limit
/// (429), then the state: unknown organization (404), invalid email (422), member and pending
/// invitation (400).
///
/// Where the fake is simpler than Clerk:
/// - it reads JSON bodies only (Clerk also reads form-encoded ones);
/// - it accepts the API versions Clerk's published specs name (`2021-02-05` to
///   `2026-05-12`) and no other date;
/// - any non-empty `inviter_user_id` is taken as an administrator of the organization, and
///   `public_inviter_data` is always `null`;
/// - the `url` accept link is a placeholder on an `.example` host and no email is sent.
#[derive(Debug)]
pub struct ClerkSim {
    /// Role keys and their display names.
    roles: Mutex<Vec<(String, String)>>,
}

impl Default for ClerkSim {
    fn default() -> Self {
        ClerkSim {
            roles: Mutex::new(vec![
                ("org:admin".to_owned(), "Admin".to_owned()),
                ("org:member".to_owned(), "Member".to_owned()),
            ]),
        }
    }
}

impl super::Fake for ClerkSim {
    type Real = crate::vendors::clerk::ClerkVendor;
    const TOKEN: &'static str = "sk_test_sandbox000000000000000000000000000000";
    const ORGANIZATION: &'static str = "org_sandbox";
    const BASE_PATH: &'static str = "/v1";
}

impl FakeServer<ClerkSim> {
    /// Adds a custom role key (such as `org:billing`) with its display name (`role_name` in
    /// the answers), or renames a known one.
    pub fn add_role(&self, key: impl Into<String>, name: impl Into<String>) -> &Self {
        let (key, name) = (key.into(), name.into());
        let mut roles = self.vendor.roles();
        match roles.iter_mut().find(|(k, _)| *k == key) {
            Some(known) => known.1 = name,
            None => roles.push((key, name)),
        }
        drop(roles);
        self
    }
}

/// One entry of Clerk's `errors` array.
struct ClerkError {
    code: &'static str,
    message: &'static str,
    long_message: String,
    param_name: Option<String>,
}

impl ClerkError {
    fn new(code: &'static str, message: &'static str, long_message: impl Into<String>) -> Self {
        ClerkError {
            code,
            message,
            long_message: long_message.into(),
            param_name: None,
        }
    }

    /// Clerk's answer to a body it cannot read.
    fn body_invalid() -> Self {
        ClerkError::new(
            "request_body_invalid",
            "Request body invalid",
            "The request body is invalid. Please consult the API documentation for more information.",
        )
    }

    fn param(mut self, name: &str) -> Self {
        self.param_name = Some(name.to_owned());
        self
    }

    fn to_json(&self) -> Value {
        let mut entry = json!({
            "message": self.message,
            "long_message": self.long_message,
            "code": self.code,
        });
        if let Some(name) = &self.param_name {
            entry["meta"] = json!({ "param_name": name });
        }
        entry
    }
}

fn trace_id(counters: &Counters) -> String {
    format!("sandbox{:025x}", counters.request_number)
}

/// A JSON answer with Clerk's trace id header.
fn json_answer(status: u16, body: &Value, counters: &Counters) -> Answer {
    Answer::new(status)
        .set_body_raw(
            serde_json::to_vec(body).expect("JSON serializes"),
            "application/json",
        )
        .insert_header("clerk-trace-id", trace_id(counters))
}

/// Clerk's error answer: `{errors: [...], clerk_trace_id}`, the trace id also as a header.
fn errors(status: u16, entries: &[ClerkError], counters: &Counters) -> Answer {
    let body = json!({
        "errors": entries.iter().map(ClerkError::to_json).collect::<Vec<_>>(),
        "clerk_trace_id": trace_id(counters),
    });
    json_answer(status, &body, counters)
}

fn error(status: u16, entry: ClerkError, counters: &Counters) -> Answer {
    errors(status, &[entry], counters)
}

fn route_not_found() -> ClerkError {
    ClerkError::new(
        "resource_not_found",
        "not found",
        "The requested resource was not found.",
    )
}

fn invalid_email() -> ClerkError {
    ClerkError::new(
        "form_param_format_invalid",
        "is invalid",
        "email_address must be a valid email address.",
    )
    .param("email_address")
}

fn api_version_invalid(reason: &str) -> ClerkError {
    ClerkError::new(
        "api_version_invalid",
        "invalid API version",
        format!("Invalid Clerk API version: {reason}"),
    )
}

/// A route of the fake.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// `/v1/organizations/{organization_id}/invitations`
    Invitations(String),
    /// `/v1/organizations/{organization_id}/invitations/{invitation_id}/revoke`
    Revoke(String, String),
    /// `/v1/organizations/{organization_id}/invitations/bulk`
    Bulk(String),
    /// `/v1/organizations/{organization_id}/memberships`
    Memberships(String),
}

/// The route of a method and path, its parts percent-decoded.
fn route(method: &str, path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    Some(match (method, parts.as_slice()) {
        ("POST" | "GET", ["v1", "organizations", org, "invitations"]) => {
            Route::Invitations(decoded(org)?)
        }
        ("POST", ["v1", "organizations", org, "invitations", "bulk"]) => Route::Bulk(decoded(org)?),
        ("POST", ["v1", "organizations", org, "invitations", id, "revoke"]) => {
            Route::Revoke(decoded(org)?, decoded(id)?)
        }
        ("GET", ["v1", "organizations", org, "memberships"]) => Route::Memberships(decoded(org)?),
        _ => return None,
    })
}

fn param_invalid(param: &str, long_message: String) -> ClerkError {
    ClerkError::new("form_param_value_invalid", "is invalid", long_message).param(param)
}

/// `limit` (1 to 500, default 10) and `offset` (default 0).
fn paging(request: &Request) -> Result<Paging, ClerkError> {
    let number = |name: &str, default: usize, range: std::ops::RangeInclusive<usize>| match request
        .url
        .query_pairs()
        .find(|(key, _)| key == name)
    {
        None => Ok(default),
        Some((_, value)) => value
            .parse::<usize>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                param_invalid(
                    name,
                    format!("{name} is invalid. Must be a number in {range:?}"),
                )
            }),
    };
    Ok(Paging {
        limit: number("limit", 10, 1..=500)?,
        offset: number("offset", 0, 0..=usize::MAX)?,
    })
}

/// Every value of a repeated query parameter.
fn all_of(request: &Request, name: &str) -> Vec<String> {
    request
        .url
        .query_pairs()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .collect()
}

/// The JSON type name Clerk's messages use.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn wrong_type(param: &str, value: &Value, expected: &str) -> ClerkError {
    ClerkError::new(
        "form_param_value_invalid",
        "is invalid",
        format!(
            "{param} is invalid. Received {}, must be of type {expected}.",
            type_name(value)
        ),
    )
    .param(param)
}

fn must_not_be_empty(param: &str) -> ClerkError {
    ClerkError::new(
        "form_param_value_invalid",
        "is invalid",
        format!("{param} is invalid. Must be not empty"),
    )
    .param(param)
}

/// The value of an optional field: absent and `null` are the same.
fn optional<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    body.get(field).filter(|value| !value.is_null())
}

impl ClerkSim {
    fn roles(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.roles.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn role_name(&self, key: &str) -> Option<String> {
        self.roles()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, name)| name.clone())
    }

    fn check(&self, request: &Request, token: &str, counters: &Counters) -> Result<Action, Answer> {
        let refuse = |status: u16, entry: ClerkError| error(status, entry, counters);
        let route = route(request.method.as_str(), request.url.path())
            .ok_or_else(|| refuse(404, route_not_found()))?;
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());

        // The credential: `Bearer <secret key>`.
        let presented = header("authorization").and_then(|value| {
            let (scheme, key) = value.trim().split_once(' ')?;
            let key = key.trim();
            (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty() && !key.contains(' '))
                .then_some(key)
        });
        match presented {
            None => {
                return Err(refuse(
                    401,
                    ClerkError::new(
                        "authorization_header_format_invalid",
                        "Invalid Authorization header format",
                        "Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'",
                    ),
                ))
            }
            Some(key) if key != token => {
                let text = "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.";
                return Err(refuse(
                    401,
                    ClerkError::new("clerk_key_invalid", text, text),
                ));
            }
            Some(_) => {}
        }

        // The API version: the header or the query parameter, not both.
        let from_query = request
            .url
            .query_pairs()
            .find(|(name, _)| name == "__clerk_api_version")
            .map(|(_, value)| value.into_owned());
        let version = match (header("clerk-api-version"), from_query) {
            (Some(_), Some(_)) => {
                return Err(refuse(
                    400,
                    api_version_invalid(
                        "set either the Clerk-API-Version header or the __clerk_api_version query parameter, not both",
                    ),
                ))
            }
            (Some(version), None) => Some(version.to_owned()),
            (None, version) => version,
        };
        if let Some(version) = version {
            if !API_VERSIONS.contains(&version.as_str()) {
                return Err(refuse(
                    400,
                    api_version_invalid(&format!("unknown version {version:?}")),
                ));
            }
        }

        let (organization, bulk) = match route {
            Route::Invitations(organization) if request.method.as_str() == "POST" => {
                (organization, false)
            }
            Route::Bulk(organization) => (organization, true),
            Route::Invitations(organization) => {
                return self.check_list(request, organization, counters)
            }
            Route::Revoke(organization, id) => {
                return Ok(Action::Cancel {
                    organization,
                    ids: vec![id],
                })
            }
            Route::Memberships(organization) => {
                let paging = paging(request).map_err(|e| refuse(422, e))?;
                let who = [
                    ("email_address", Who::Email as fn(String) -> Who),
                    ("user_id", Who::UserId),
                    ("username", Who::Login),
                ]
                .into_iter()
                .find_map(|(name, who)| all_of(request, name).into_iter().next().map(who));
                return Ok(Action::Members {
                    organization,
                    who,
                    paging,
                });
            }
        };

        // The body: a JSON object.
        let body: Value = if request.body.is_empty() {
            json!({})
        } else {
            let content_type = header("content-type").unwrap_or_default();
            let essence = content_type.split(';').next().unwrap_or_default().trim();
            if !essence.eq_ignore_ascii_case("application/json") {
                return Err(refuse(
                    415,
                    ClerkError::new(
                        "unsupported_content_type",
                        "Content-Type is unsupported",
                        format!("Content-Type {content_type} is unsupported. You should use application/json instead."),
                    ),
                ));
            }
            serde_json::from_slice(&request.body).unwrap_or(Value::Null)
        };
        if bulk {
            return self.check_bulk(organization, &body, counters);
        }
        let Some(body) = body.as_object() else {
            return Err(refuse(400, ClerkError::body_invalid()));
        };
        self.check_body(organization, body)
            .map(|ask| Action::Create(vec![ask]))
            .map_err(|(status, entries)| errors(status, &entries, counters))
    }

    /// The bulk call's body: an array of 1 to 10 create objects, each checked as a create;
    /// all or nothing.
    fn check_bulk(
        &self,
        organization: String,
        body: &Value,
        counters: &Counters,
    ) -> Result<Action, Answer> {
        let Some(items) = body.as_array().filter(|items| !items.is_empty()) else {
            return Err(error(
                422,
                ClerkError::new(
                    "form_param_value_invalid",
                    "is invalid",
                    "The request body must be an array of 1 to 10 invitations.",
                ),
                counters,
            ));
        };
        if items.len() > crate::vendors::clerk::MAX_BULK {
            return Err(error(
                400,
                ClerkError::new(
                    "bulk_size_exceeded",
                    "bulk size exceeded",
                    "Parameters exceed the maximum allowed bulk processing size of 10.",
                ),
                counters,
            ));
        }
        let mut asks = Vec::with_capacity(items.len());
        for item in items {
            let Some(item) = item.as_object() else {
                return Err(error(400, ClerkError::body_invalid(), counters));
            };
            let ask = self
                .check_body(organization.clone(), item)
                .map_err(|(status, entries)| errors(status, &entries, counters))?;
            asks.push(ask);
        }
        Ok(Action::CreateMany(asks))
    }

    /// A list's query: `status` (repeatable), `email_address`, `order_by`, `limit`, `offset`.
    fn check_list(
        &self,
        request: &Request,
        organization: String,
        counters: &Counters,
    ) -> Result<Action, Answer> {
        let refuse = |entry: ClerkError| error(422, entry, counters);
        let paging = paging(request).map_err(refuse)?;
        let statuses = all_of(request, "status")
            .into_iter()
            .map(|status| match status.as_str() {
                "pending" | "accepted" | "revoked" | "expired" => {
                    Ok(InvitationStatus::parse(&status))
                }
                other => Err(refuse(param_invalid(
                    "status",
                    format!("status is invalid. {other} is not one of pending, accepted, revoked, expired"),
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let order = match all_of(request, "order_by").first().map(String::as_str) {
            None | Some("-created_at") => Order::NewestFirst,
            Some("created_at" | "+created_at") => Order::Created,
            Some("email_address" | "+email_address") => Order::Email,
            Some("-email_address") => Order::EmailDescending,
            Some(other) => {
                return Err(refuse(param_invalid(
                    "order_by",
                    format!("order_by is invalid. {other} is not a supported order"),
                )))
            }
        };
        Ok(Action::List(ListAsk {
            organization,
            statuses,
            email: all_of(request, "email_address").into_iter().next(),
            role: None,
            order,
            paging,
        }))
    }

    /// The body's fields; every form error is reported at once, as Clerk does.
    fn check_body(
        &self,
        organization: String,
        body: &Map<String, Value>,
    ) -> Result<Ask, (u16, Vec<ClerkError>)> {
        let mut problems = Vec::new();
        for field in body.keys().filter(|f| !FIELDS.contains(&f.as_str())) {
            problems.push(
                ClerkError::new(
                    "form_param_unknown",
                    "is unknown",
                    format!("{field} is not a valid parameter for this request."),
                )
                .param(field),
            );
        }
        let mut required = |field: &str| match optional(body, field) {
            None => {
                problems.push(
                    ClerkError::new(
                        "form_param_missing",
                        "is missing",
                        format!("{field} must be included."),
                    )
                    .param(field),
                );
                None
            }
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => {
                problems.push(wrong_type(field, other, "string"));
                None
            }
        };
        let email = required("email_address");
        let role = required("role");
        if let Some(email) = &email {
            if crate::model::request::validate_email(email).is_err() {
                problems.push(invalid_email());
            }
        }
        if role.as_deref() == Some("") {
            problems.push(must_not_be_empty("role"));
        }
        for field in ["inviter_user_id", "redirect_url"] {
            match optional(body, field) {
                None => {}
                Some(Value::String(text)) if text.trim().is_empty() => {
                    problems.push(must_not_be_empty(field))
                }
                Some(Value::String(_)) => {}
                Some(other) => problems.push(wrong_type(field, other, "string")),
            }
        }
        for field in ["public_metadata", "private_metadata"] {
            match optional(body, field) {
                None | Some(Value::Object(_)) => {}
                Some(other) => problems.push(wrong_type(field, other, "object")),
            }
        }
        match optional(body, "notify") {
            None | Some(Value::Bool(_)) => {}
            Some(other) => problems.push(wrong_type("notify", other, "boolean")),
        }
        let mut expires_in_days = None;
        match optional(body, "expires_in_days") {
            None => {}
            Some(Value::Number(number)) if number.is_i64() || number.is_u64() => {
                match number.as_u64() {
                    Some(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => {
                        expires_in_days = Some(days)
                    }
                    _ => problems.push(
                        ClerkError::new(
                            "form_param_value_invalid",
                            "is invalid",
                            "expires_in_days is invalid",
                        )
                        .param("expires_in_days"),
                    ),
                }
            }
            Some(other) => problems.push(wrong_type("expires_in_days", other, "integer")),
        }
        let (Some(email), Some(role), true) = (email, role, problems.is_empty()) else {
            return Err((422, problems));
        };
        if self.role_name(&role).is_none() {
            return Err((
                404,
                vec![ClerkError::new(
                    "resource_not_found",
                    "not found",
                    "Organization role not found",
                )
                .param("role")],
            ));
        }
        let details = KEPT
            .iter()
            .filter_map(|field| optional(body, field).map(|v| ((*field).to_owned(), v.clone())))
            .collect();
        Ok(Ask {
            organization,
            email: Some(email),
            user_id: None,
            role,
            expires_in: Some(DAY * expires_in_days.unwrap_or(DEFAULT_EXPIRY_DAYS) as u32),
            details,
        })
    }
}

impl ClerkSim {
    /// An `OrganizationInvitation` as Clerk answers it.
    fn invitation_json(&self, invitation: &FakeInvitation, counters: &Counters) -> Value {
        let details = &invitation.details;
        let metadata = |field: &str| details.get(field).cloned().unwrap_or_else(|| json!({}));
        let created_at = invitation.created_at.as_millisecond();
        let now = jiff::Timestamp::try_from(counters.now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let updated_at = if invitation.status == InvitationStatus::Pending {
            created_at
        } else {
            now.as_millisecond()
        };
        json!({
            "object": "organization_invitation",
            "id": invitation.id,
            "email_address": invitation.email,
            "role": invitation.role,
            "role_name": self.role_name(&invitation.role).unwrap_or_else(|| invitation.role.clone()),
            "organization_id": invitation.organization,
            "inviter_id": details.get("inviter_user_id"),
            "public_inviter_data": null,
            "status": invitation.status_at(now).as_str(),
            "public_metadata": metadata("public_metadata"),
            "private_metadata": metadata("private_metadata"),
            "url": format!(
                "https://accounts.sandbox.example/accept-invitation?__clerk_ticket=ticket_{}",
                invitation.id
            ),
            "expires_at": invitation.expires_at.map(|at| at.as_millisecond()),
            "created_at": created_at,
            "updated_at": updated_at,
        })
    }
}

impl ClerkSim {
    /// An `OrganizationMembership` as Clerk answers it; `i` numbers the fake's members.
    fn membership_json(&self, i: usize, member: &FakeMember, created: i64) -> Value {
        let user_id = member
            .user_id
            .clone()
            .unwrap_or_else(|| format!("user_sandbox{i:020}"));
        json!({
            "object": "organization_membership",
            "id": format!("orgmem_sandbox{i:020}"),
            "role": member.role,
            "role_name": self.role_name(&member.role).unwrap_or_else(|| member.role.clone()),
            "permissions": [],
            "public_metadata": {},
            "private_metadata": {},
            "created_at": created,
            "updated_at": created,
            "organization": {"object": "organization", "id": member.organization, "name": "Sandbox", "slug": "sandbox"},
            "public_user_data": {
                "user_id": user_id,
                "first_name": null,
                "last_name": null,
                "identifier": member.email,
                "username": member.login,
                "image_url": "https://img.sandbox.example/default.png",
                "has_image": false,
            },
        })
    }
}

impl Vendor for ClerkSim {
    fn parse(&self, request: &Request, token: &str, counters: &Counters) -> Result<Action, Answer> {
        self.check(request, token, counters)
    }

    fn created(&self, invitations: &[FakeInvitation], counters: &Counters) -> Answer {
        json_answer(
            200,
            &self.invitation_json(&invitations[0], counters),
            counters,
        )
    }

    fn created_many(&self, invitations: &[FakeInvitation], counters: &Counters) -> Answer {
        let data: Vec<Value> = invitations
            .iter()
            .map(|invitation| self.invitation_json(invitation, counters))
            .collect();
        json_answer(
            200,
            &json!({"data": data, "total_count": invitations.len()}),
            counters,
        )
    }

    fn listed(&self, listing: Listing<'_>, counters: &Counters) -> Answer {
        let (page, total) = (listing.page, listing.total);
        let data: Vec<Value> = page
            .iter()
            .map(|invitation| self.invitation_json(invitation, counters))
            .collect();
        json_answer(200, &json!({"data": data, "total_count": total}), counters)
    }

    fn cancelled(&self, invitations: &[FakeInvitation], counters: &Counters) -> Answer {
        json_answer(
            200,
            &self.invitation_json(&invitations[0], counters),
            counters,
        )
    }

    fn members(&self, listing: MemberListing<'_>, counters: &Counters) -> Answer {
        let (members, total) = (listing.page, listing.total);
        let created = jiff::Timestamp::try_from(counters.now)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .as_millisecond();
        let data: Vec<Value> = members
            .iter()
            .map(|&(i, member)| self.membership_json(i, member, created))
            .collect();
        json_answer(200, &json!({"data": data, "total_count": total}), counters)
    }

    fn refuse(&self, refusal: &Refusal, counters: &Counters) -> Answer {
        match refusal {
            Refusal::OrganizationNotFound => error(
                404,
                ClerkError::new(
                    "resource_not_found",
                    "not found",
                    "Given organization not found.",
                ),
                counters,
            ),
            Refusal::AlreadyMember(email) => error(
                400,
                ClerkError::new(
                    "already_a_member_in_organization",
                    "already a member",
                    format!("{email} is already a member of the organization."),
                ),
                counters,
            ),
            Refusal::AlreadyInvited(_) => error(
                400,
                ClerkError::new(
                    "organization_invitation_not_unique",
                    "organization invitation not unique",
                    "Organizations cannot have duplicate pending invitations for an email address.",
                ),
                counters,
            ),
            Refusal::InvalidEmail(_) => error(422, invalid_email(), counters),
            Refusal::RateLimited(limited) => error(
                429,
                ClerkError::new(
                    "too_many_requests",
                    "Too many requests",
                    "Too many requests, retry later",
                ),
                counters,
            )
            .insert_header(
                "retry-after",
                ceil_secs(limited.retry_after).max(1).to_string(),
            ),
            Refusal::UnknownInvitation(id) => error(
                404,
                ClerkError::new(
                    "resource_not_found",
                    "not found",
                    format!("No invitation was found with id {id}."),
                ),
                counters,
            ),
            Refusal::NotPending(_) => error(
                404,
                ClerkError::new(
                    "organization_invitation_not_pending",
                    "not pending",
                    "The organization invitation is not in the 'pending' status.",
                ),
                counters,
            ),
            Refusal::ServerError => error(
                500,
                ClerkError::new(
                    "internal_clerk_error",
                    "Oops, an unexpected error occurred",
                    "There was an internal error on our servers. We've been notified and are working on fixing it.",
                ),
                counters,
            ),
        }
    }

    fn webhook_events(&self, happened: Happened<'_>, now: jiff::Timestamp) -> Vec<(String, Value)> {
        let counters = Counters::at(now.into());
        let envelope = |kind: &str, data: Value| {
            let body = json!({
                "object": "event",
                "type": kind,
                "instance_id": "ins_sandbox",
                "timestamp": now.as_second(),
                "data": data,
            });
            (kind.to_owned(), body)
        };
        match happened {
            Happened::Invited(invitation) => vec![envelope(
                "organizationInvitation.created",
                self.invitation_json(invitation, &counters),
            )],
            Happened::Accepted(invitation, member) => {
                let mut data = self.invitation_json(invitation, &counters);
                data["user_id"] = json!(member.user_id);
                let membership = self.membership_json(0, member, now.as_millisecond());
                vec![
                    envelope("organizationInvitation.accepted", data),
                    envelope("organizationMembership.created", membership),
                ]
            }
            Happened::Revoked(invitation) => vec![envelope(
                "organizationInvitation.revoked",
                self.invitation_json(invitation, &counters),
            )],
        }
    }

    fn webhook_delivery_id(&self, n: u64) -> String {
        format!("msg_sandbox{n:020}")
    }

    /// Svix's signature: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under
    /// the `whsec_` secret's decoded key.
    fn sign_webhook(
        &self,
        secret: &str,
        id: &str,
        _event: &str,
        body: &[u8],
        now: std::time::SystemTime,
    ) -> Vec<(String, String)> {
        use base64::Engine as _;
        let base64 = base64::engine::general_purpose::STANDARD;
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let key = base64
            .decode(encoded)
            .unwrap_or_else(|_| encoded.as_bytes().to_vec());
        let timestamp = epoch_secs(now).to_string();
        let tag = hooks::hmac(
            &key,
            &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
        );
        vec![
            ("content-type".into(), "application/json".into()),
            ("svix-id".into(), id.to_owned()),
            ("svix-timestamp".into(), timestamp),
            (
                "svix-signature".into(),
                format!("v1,{}", base64.encode(tag)),
            ),
        ]
    }

    fn invitation_id(&self, n: u64) -> String {
        format!("orginv_sandbox{n:020}")
    }

    fn default_lifetime(&self) -> Duration {
        DAY * DEFAULT_EXPIRY_DAYS as u32
    }

    fn default_role(&self) -> &'static str {
        "org:member"
    }
}
