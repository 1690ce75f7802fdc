//! The fake GitHub: `POST /orgs/{org}/invitations` as GitHub's contract describes it.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use wiremock::{Request, ResponseTemplate};

use super::{
    ceil_secs, epoch_secs, system_clock, Ask, Counters, FakeInvitation, FakeServer, Refusal, Vendor,
};
use crate::engine::later;
use crate::{GitHubBuilder, RetryPolicy, Sleeper};

const API_VERSIONS: [&str; 2] = ["2022-11-28", "2026-03-10"];
const DOCS: &str = "https://docs.github.com/rest/orgs/members#create-an-organization-invitation";

/// How the fake GitHub answers once its rate limit is spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GitHubLimit {
    /// A secondary ("content creation") limit: 403 with GitHub's message and `retry-after`.
    #[default]
    Secondary,
    /// A secondary limit without `retry-after`: clients must wait at least 60 s.
    SecondaryWithoutRetryAfter,
    /// The primary limit: 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`.
    Primary,
}

/// The fake GitHub's behaviour; see [`FakeGitHub`](super::FakeGitHub).
///
/// It serves `POST /orgs/{org}/invitations` (the organization matched without regard to case)
/// and answers as GitHub documents:
///
/// - 401 "Requires authentication" without `Authorization`, "Bad credentials" for another
///   token (`Bearer` and `token` schemes are both accepted); 403 with GitHub's plain-text page
///   without a `User-Agent`; 400 for an unknown `X-GitHub-Api-Version` or a body that is not a
///   JSON object; 422 for bad field types, a role outside GitHub's enum, both or neither of
///   `email` and `invitee_id`, and teams with `reinstate`;
/// - 201 with an `organization-invitation`; 404 "Not Found" for an unknown organization;
///   422 for a member (the "already a part of this organization" messages) and for an invalid
///   address ("Invite must be for a valid email address");
/// - a second invitation for the same person: 422 "Invitee has already been invited to this
///   organization". GitHub documents no answer for this case (re-inviting may succeed or be
///   refused); the fake picks the refusal, with a message of its own, so that tests see a
///   stable answer. The client classifies it as `already_invited` by a best-effort match;
/// - `x-github-request-id` and `x-ratelimit-*` on every answer: the rate-limit headers count a
///   primary budget of 5,000 requests per hour (or the fake's own window, with
///   [`GitHubLimit::Primary`]); [`FakeServer::rate_limit`] plays the limit in the shape
///   [`FakeServer::limit_shape`] chooses.
#[derive(Debug, Default)]
pub struct GitHubSim {
    limit: Mutex<GitHubLimit>,
    /// The hourly primary budget the headers report: when its hour started, and how much of
    /// it is used.
    primary: Mutex<Option<(SystemTime, u32)>>,
}

impl FakeServer<GitHubSim> {
    /// Starts a fake GitHub with the organization `acme`, on the system clock.
    pub async fn start() -> Self {
        Self::start_with_clock(system_clock()).await
    }

    /// Starts a fake GitHub whose rate-limit windows follow `clock`.
    pub async fn start_with_clock(clock: std::sync::Arc<dyn Sleeper>) -> Self {
        FakeServer::start_with(
            GitHubSim::default(),
            "ghp_sandbox0000000000000000000000000000",
            "acme",
            clock,
        )
        .await
    }

    /// A [`GitHub`](crate::GitHub) builder pointed at this fake, with its token and clock;
    /// change anything before `build()`.
    pub fn client_builder(&self) -> GitHubBuilder {
        crate::GitHub::builder()
            .token(self.token.clone())
            .base_url(self.uri())
            .user_agent("orginvite-sandbox")
            .retry_policy(RetryPolicy::default())
            .sleeper(self.clock.clone())
    }

    /// Chooses the shape of the rate-limit answer.
    pub fn limit_shape(&self, shape: GitHubLimit) -> &Self {
        *self
            .vendor
            .limit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = shape;
        self
    }
}

fn json_answer(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        serde_json::to_vec(&body).expect("JSON serializes"),
        "application/json; charset=utf-8",
    )
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    json_answer(
        status,
        json!({"message": message, "documentation_url": DOCS, "status": status.to_string()}),
    )
}

fn validation(message: &str) -> ResponseTemplate {
    json_answer(
        422,
        json!({
            "message": "Validation Failed",
            "errors": [{"resource": "OrganizationInvitation", "code": "unprocessable", "field": "data", "message": message}],
            "documentation_url": DOCS,
            "status": "422"
        }),
    )
}

/// `/orgs/{org}/invitations` → the organization, percent-decoded.
fn organization_from_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/orgs/")?;
    let org = rest.strip_suffix("/invitations")?;
    if org.is_empty() || org.contains('/') {
        return None;
    }
    percent_encoding::percent_decode_str(org)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

impl GitHubSim {
    fn shape(&self) -> GitHubLimit {
        *self
            .limit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds the request id and the `x-ratelimit-*` headers. Those describe the primary limit:
    /// the sandbox's window when it plays the primary limit, else a roomy hourly budget
    /// (secondary limits are invisible until hit, as on GitHub).
    fn with_headers(&self, template: ResponseTemplate, counters: &Counters) -> ResponseTemplate {
        let now = counters.now;
        let template = template.insert_header(
            "x-github-request-id",
            format!("SANDBOX:{:04X}", counters.request_number),
        );
        let (limit, remaining, reset) = match (
            self.shape(),
            counters.limit,
            counters.remaining,
            counters.reset_at,
        ) {
            (GitHubLimit::Primary, Some(limit), Some(remaining), Some(reset)) => {
                (limit, remaining, reset)
            }
            _ => {
                let mut primary = self
                    .primary
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let hour = Duration::from_secs(3600);
                let (started, used) = match *primary {
                    Some((started, used)) if now < later(started, hour) => (started, used + 1),
                    _ => (now, 1),
                };
                *primary = Some((started, used));
                (5000, 5000u32.saturating_sub(used), later(started, hour))
            }
        };
        template
            .insert_header("x-ratelimit-limit", limit.to_string())
            .insert_header("x-ratelimit-remaining", remaining.to_string())
            .insert_header("x-ratelimit-used", (limit - remaining).to_string())
            .insert_header(
                "x-ratelimit-reset",
                epoch_secs(later(reset, Duration::from_millis(999))).to_string(),
            )
            .insert_header("x-ratelimit-resource", "core")
    }

    fn check(&self, request: &Request, token: &str) -> Result<Ask, ResponseTemplate> {
        let Some(organization) = organization_from_path(request.url.path()) else {
            return Err(error(404, "Not Found"));
        };
        if request.method.as_str() != "POST" {
            return Err(error(404, "Not Found"));
        }
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        match header("authorization") {
            None => return Err(error(401, "Requires authentication")),
            Some(value) => {
                let presented = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("token "));
                if presented != Some(token) {
                    return Err(error(401, "Bad credentials"));
                }
            }
        }
        if header("user-agent").is_none_or(str::is_empty) {
            return Err(ResponseTemplate::new(403).set_body_raw(
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n",
                "text/plain; charset=utf-8",
            ));
        }
        if let Some(version) = header("x-github-api-version") {
            if !API_VERSIONS.contains(&version) {
                return Err(error(
                    400,
                    &format!("Unsupported 'X-GitHub-Api-Version' header: {version}. Supported versions are: 2022-11-28, 2026-03-10"),
                ));
            }
        }
        let body: Value = if request.body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&request.body)
                .map_err(|_| error(400, "Problems parsing JSON"))?
        };
        let Some(body) = body.as_object() else {
            return Err(error(400, "Problems parsing JSON"));
        };
        let email = match body.get("email") {
            None | Some(Value::Null) => None,
            Some(Value::String(email)) => Some(email.clone()),
            Some(_) => {
                return Err(error(
                    422,
                    "Invalid request.\n\nFor 'properties/email', it is not a string.",
                ))
            }
        };
        let invitee_id =
            match body.get("invitee_id") {
                None | Some(Value::Null) => None,
                Some(value) => match value.as_u64() {
                    Some(id) => Some(id.to_string()),
                    None => return Err(error(
                        422,
                        "Invalid request.\n\nFor 'properties/invitee_id', it is not an integer.",
                    )),
                },
            };
        let role = match body.get("role") {
            None | Some(Value::Null) => "direct_member".to_owned(),
            Some(Value::String(role))
                if ["admin", "direct_member", "billing_manager", "reinstate"].contains(&role.as_str()) =>
            {
                role.clone()
            }
            Some(other) => {
                return Err(error(
                    422,
                    &format!("Invalid request.\n\nFor 'properties/role', {other} is not one of [\"admin\", \"direct_member\", \"billing_manager\", \"reinstate\"]."),
                ))
            }
        };
        let teams = match body.get("team_ids") {
            None | Some(Value::Null) => 0,
            Some(Value::Array(ids)) if ids.iter().all(|id| id.as_u64().is_some()) => ids.len(),
            Some(_) => return Err(error(
                422,
                "Invalid request.\n\nFor 'properties/team_ids', it is not an array of integers.",
            )),
        };
        if role == "reinstate" && teams > 0 {
            return Err(validation("Invite may not specify teams while reinstating"));
        }
        match (&email, &invitee_id) {
            (None, None) => return Err(validation("Invite requires either user or email")),
            (Some(_), Some(_)) => {
                return Err(validation(
                    "Invite can only be delivered to either user or email",
                ))
            }
            _ => {}
        }
        Ok(Ask {
            organization,
            email,
            user_id: invitee_id,
            role,
            expires_in: None,
            details: serde_json::Map::new(),
        })
    }
}

impl Vendor for GitHubSim {
    fn parse(
        &self,
        request: &Request,
        token: &str,
        counters: &Counters,
    ) -> Result<Vec<Ask>, ResponseTemplate> {
        self.check(request, token)
            .map(|ask| vec![ask])
            .map_err(|answer| self.with_headers(answer, counters))
    }

    fn same_organization(&self, a: &str, b: &str) -> bool {
        a.eq_ignore_ascii_case(b)
    }

    fn created(&self, invitations: &[FakeInvitation], counters: &Counters) -> ResponseTemplate {
        let invitation = &invitations[0];
        let id: u64 = invitation.id.parse().unwrap_or(0);
        let body = json!({
            "id": id,
            "login": invitation.user_id.as_ref().map(|id| format!("user{id}")),
            "node_id": format!("OI_sandbox{id}"),
            "email": invitation.email,
            "role": invitation.role,
            "created_at": invitation.created_at.to_string(),
            "failed_at": null,
            "failed_reason": null,
            "inviter": {"login": "sandbox-owner", "id": 1, "node_id": "U_sandbox1", "type": "User", "site_admin": false},
            "team_count": 0,
            "invitation_teams_url": format!("https://api.github.com/organizations/1/invitations/{id}/teams"),
            "invitation_source": "member"
        });
        self.with_headers(json_answer(201, body), counters)
    }

    fn refuse(&self, refusal: &Refusal, counters: &Counters) -> ResponseTemplate {
        let answer = match refusal {
            Refusal::OrganizationNotFound => error(404, "Not Found"),
            Refusal::AlreadyMember(email) if email.contains('@') => {
                validation("A user with this email addresss is already a part of this organization")
            }
            Refusal::AlreadyMember(_) => {
                validation("Invitee is already a part of this organization")
            }
            Refusal::AlreadyInvited(_) => {
                validation("Invitee has already been invited to this organization")
            }
            Refusal::InvalidEmail(_) => validation("Invite must be for a valid email address"),
            Refusal::ServerError => error(500, "Server Error"),
            Refusal::RateLimited(limited) => {
                let shape = *self
                    .limit
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let secondary = json!({
                    "message": "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
                });
                return match shape {
                    GitHubLimit::Secondary => self
                        .with_headers(json_answer(403, secondary), counters)
                        .insert_header("retry-after", ceil_secs(limited.retry_after).max(1).to_string()),
                    GitHubLimit::SecondaryWithoutRetryAfter => {
                        self.with_headers(json_answer(403, secondary), counters)
                    }
                    GitHubLimit::Primary => self.with_headers(
                        json_answer(
                            403,
                            json!({
                                "message": "API rate limit exceeded for user ID 1.",
                                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
                            }),
                        ),
                        &Counters {
                            limit: Some(limited.limit),
                            remaining: Some(0),
                            reset_at: Some(limited.reset_at),
                            ..*counters
                        },
                    ),
                };
            }
        };
        self.with_headers(answer, counters)
    }

    fn invitation_id(&self, n: u64) -> String {
        n.to_string()
    }

    fn default_lifetime(&self) -> Duration {
        crate::github::INVITATION_LIFETIME
    }
}
