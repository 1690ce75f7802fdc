//! The fake GitHub: `POST /orgs/{org}/invitations` as GitHub's contract describes it.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use wiremock::Request;

use super::hooks::{self, Happened};
use super::{
    ceil_secs, decoded, epoch_secs, Action, Answer, Ask, Counters, FakeInvitation, FakeMember,
    FakeServer, ListAsk, Listing, MemberFound, MemberListing, Order, Paging, Refusal, Vendor, Who,
};
use crate::engine::later;

use crate::model::invitation::InvitationStatus;
use crate::vendors::github::GitHubBuilder;

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
/// It serves, the organization matched without regard to case:
///
/// | route | answer |
/// |---|---|
/// | `POST /orgs/{org}/invitations` | `201` with the `organization-invitation` |
/// | `GET /orgs/{org}/invitations` | `200` with the pending invitations, oldest first; `per_page` (default 30, at most 100), `page`, `role` and `invitation_source` |
/// | `GET /orgs/{org}/failed_invitations` | `200` with the failed and expired ones (`failed_at`, `failed_reason`) |
/// | `GET /orgs/{org}/members` | `200` with the members' `simple-user`s (login and id; a member added by email alone is listed as `member-{id}`), paged as the invitations |
/// | `DELETE /orgs/{org}/invitations/{id}` | `204`; `404` for an invitation that is not pending |
/// | `GET /orgs/{org}/invitations/{id}/teams` | `200` with the teams the invitation was created with (`team_ids`) |
/// | `GET /users/{login}` | `200` with a user added with [`FakeServer::add_user`], else `404` |
/// | `GET /orgs/{org}/teams/{slug}` | `200` with a team added with [`FakeServer::add_team`], else `404` |
/// | `GET /orgs/{org}/installation`, `POST /app/installations/{id}/access_tokens` | a GitHub App's routes, with its JWT: see [`FakeServer::install_app`] |
/// | `GET /orgs/{org}/memberships/{username}` | `200` with `state: active` for a member known by login ([`FakeServer::add`]), `state: pending` for a pending invitation by user id (whose login is `user{id}`), else `404` |
///
/// Lists answer with GitHub's `Link` header (`next`, `last`, `first`, `prev`), pointing at
/// `/organizations/{number}/...` as GitHub's own links do, with `per_page` and every other
/// query parameter kept; the fake serves those URLs too. A list that fits one page has no
/// `Link`. Unknown `role` or `invitation_source` values answer 422.
///
/// Creating answers as GitHub documents:
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
    /// The GitHub App the fake knows, when one is installed.
    app: Mutex<Option<super::github_app::FakeApp>>,
    /// Users by login (lower case): their login as written and their id.
    users: Mutex<std::collections::HashMap<String, (String, u64)>>,
    /// Teams by organization and slug (lower case): their id.
    teams: Mutex<std::collections::HashMap<(String, String), u64>>,
    /// Organizations by the number their list links name them by (1-based).
    numbered: Mutex<Vec<String>>,
    /// The hourly primary budget the headers report: when its hour started, and how much of
    /// it is used.
    primary: Mutex<Option<(SystemTime, u32)>>,
}

impl super::Fake for GitHubSim {
    type Real = crate::vendors::github::GitHubVendor;
    const TOKEN: &'static str = "ghp_sandbox0000000000000000000000000000";
    const ORGANIZATION: &'static str = "acme";
    const BASE_PATH: &'static str = "";
}

impl FakeServer<GitHubSim> {
    /// Registers the testkit's GitHub App, signing with [`TEST_APP_PRIVATE_KEY`], as
    /// `client_id_or_app_id`, and installs it on `organization` as installation
    /// `installation_id` (call again to install it on more organizations). The fake then
    /// checks the app's JWTs (signature, `iss`, `iat` and `exp` on its clock), answers
    /// `GET /orgs/{org}/installation`, mints one-hour installation tokens on
    /// `POST /app/installations/{id}/access_tokens`, and accepts them on every route until they
    /// expire.
    ///
    /// [`TEST_APP_PRIVATE_KEY`]: super::TEST_APP_PRIVATE_KEY
    pub fn install_app(
        &self,
        client_id_or_app_id: &str,
        organization: &str,
        installation_id: u64,
    ) -> &Self {
        let mut app = self.vendor.app();
        app.get_or_insert_with(|| super::github_app::FakeApp::new(client_id_or_app_id))
            .install(organization, installation_id);
        drop(app);
        self
    }

    /// A [`GitHub`](crate::GitHub) builder pointed at this fake, acting as the installed app
    /// (see [`FakeServer::install_app`]) with the testkit's key.
    pub fn app_client_builder(&self, client_id_or_app_id: &str) -> GitHubBuilder {
        self.client_builder()
            .app(crate::vendors::github::app::GitHubApp::new(
                client_id_or_app_id,
                super::TEST_APP_PRIVATE_KEY,
            ))
    }

    /// How long the app's installation tokens really work, though they claim an hour: a
    /// shorter life plays a token revoked or expired early.
    pub fn app_token_lifetime(&self, lifetime: std::time::Duration) -> &Self {
        if let Some(app) = self.vendor.app().as_mut() {
            app.set_lifetime(lifetime);
        }
        self
    }

    /// How long a freshly minted installation token is refused (401), as GitHub's replicas
    /// may for a few seconds.
    pub fn app_token_lag(&self, lag: std::time::Duration) -> &Self {
        if let Some(app) = self.vendor.app().as_mut() {
            app.set_lag(lag);
        }
        self
    }

    /// Sets GitHub's clock `seconds` ahead of the fake's (behind when negative), for JWT times
    /// and the `Date` header of the app's routes.
    pub fn app_clock_offset(&self, seconds: i64) -> &Self {
        if let Some(app) = self.vendor.app().as_mut() {
            app.set_offset(seconds);
        }
        self
    }

    /// How many installation tokens the fake minted.
    pub fn app_tokens_minted(&self) -> u64 {
        self.vendor.app().as_ref().map_or(0, |app| app.minted)
    }

    /// Adds a user `GET /users/{login}` finds (and whose login invitations by `id` show).
    pub fn add_user(&self, login: &str, id: u64) -> &Self {
        self.vendor.add_user(login, id);
        self
    }

    /// Adds a team `GET /orgs/{org}/teams/{slug}` finds.
    pub fn add_team(&self, organization: &str, slug: &str, id: u64) -> &Self {
        self.vendor.add_team(organization, slug, id);
        self
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

fn json_answer(status: u16, body: Value) -> Answer {
    Answer::new(status).set_body_raw(
        serde_json::to_vec(&body).expect("JSON serializes"),
        "application/json; charset=utf-8",
    )
}

fn error(status: u16, message: &str) -> Answer {
    json_answer(
        status,
        json!({"message": message, "documentation_url": DOCS, "status": status.to_string()}),
    )
}

fn validation(message: &str) -> Answer {
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

/// A route of the fake.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// `/orgs/{org}/invitations`
    Invitations(String),
    /// `/orgs/{org}/failed_invitations`
    Failed(String),
    /// `/orgs/{org}/members`
    Members(String),
    /// `/organizations/{number}/members`
    NumberedMembers(usize),
    /// `/orgs/{org}/invitations/{id}`
    Invitation(String, String),
    /// `/orgs/{org}/memberships/{username}`
    Membership(String, String),
    /// `/orgs/{org}/invitations/{id}/teams`
    InvitationTeams(String, String),
    /// `/orgs/{org}/installation`
    AppInstallation(String),
    /// `/app/installations/{id}/access_tokens`
    AccessTokens(u64),
    /// `/users/{login}`
    User(String),
    /// `/orgs/{org}/teams/{slug}`
    Team(String, String),
    /// `/organizations/{number}/invitations` (the links GitHub's lists answer with)
    NumberedInvitations(usize),
    /// `/organizations/{number}/failed_invitations`
    NumberedFailed(usize),
}

/// The route of a path, its parts percent-decoded.
fn route(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    Some(match parts.as_slice() {
        ["orgs", org, "invitations"] => Route::Invitations(decoded(org)?),
        ["orgs", org, "failed_invitations"] => Route::Failed(decoded(org)?),
        ["orgs", org, "members"] => Route::Members(decoded(org)?),
        ["organizations", n, "members"] => Route::NumberedMembers(n.parse().ok()?),
        ["orgs", org, "invitations", id] => Route::Invitation(decoded(org)?, decoded(id)?),
        ["orgs", org, "memberships", user] => Route::Membership(decoded(org)?, decoded(user)?),
        ["orgs", org, "invitations", id, "teams"] => {
            Route::InvitationTeams(decoded(org)?, decoded(id)?)
        }
        ["orgs", org, "installation"] => Route::AppInstallation(decoded(org)?),
        ["app", "installations", id, "access_tokens"] => Route::AccessTokens(id.parse().ok()?),
        ["users", login] => Route::User(decoded(login)?),
        ["orgs", org, "teams", slug] => Route::Team(decoded(org)?, decoded(slug)?),
        ["organizations", n, "invitations"] => Route::NumberedInvitations(n.parse().ok()?),
        ["organizations", n, "failed_invitations"] => Route::NumberedFailed(n.parse().ok()?),
        _ => return None,
    })
}

/// A list's `per_page` (default 30, at most 100) and `page` (from 1).
fn pages(request: &Request) -> (usize, usize) {
    let param = |name: &str| {
        request
            .url
            .query_pairs()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.parse::<usize>().ok())
            .filter(|n| *n > 0)
    };
    (
        param("per_page").unwrap_or(30).min(100),
        param("page").unwrap_or(1),
    )
}

/// A page of the member list (`filter` and `role` are not played: every member is listed).
fn members(request: &Request, organization: String) -> Action {
    let (per_page, page) = pages(request);
    Action::Members {
        organization,
        who: None,
        paging: Paging {
            offset: (page - 1).saturating_mul(per_page),
            limit: per_page,
        },
    }
}

/// GitHub's name for an invitation's role in a membership.
fn membership_role(invitation_role: &str) -> &str {
    match invitation_role {
        "direct_member" | "reinstate" => "member",
        other => other,
    }
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
    fn with_headers(&self, template: Answer, counters: &Counters) -> Answer {
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

    /// The number GitHub's links name an organization by.
    fn number_of(&self, organization: &str) -> usize {
        let mut numbered = self
            .numbered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match numbered
            .iter()
            .position(|known| known.eq_ignore_ascii_case(organization))
        {
            Some(i) => i + 1,
            None => {
                numbered.push(organization.to_owned());
                numbered.len()
            }
        }
    }

    fn organization_numbered(&self, number: usize) -> Option<String> {
        self.numbered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(number.checked_sub(1)?)
            .cloned()
    }

    fn app(&self) -> std::sync::MutexGuard<'_, Option<super::github_app::FakeApp>> {
        self.app
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The routes a GitHub App calls with its JWT: finding an installation, minting a token.
    fn check_app(&self, route: &Route, request: &Request, now: SystemTime) -> Answer {
        let mut app = self.app();
        let Some(app) = app.as_mut() else {
            return error(404, "Not Found");
        };
        let date = app.date(now);
        let jwt = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let Some(jwt) = jwt else {
            return error(401, "Requires authentication").insert_header("date", date);
        };
        if let Err(message) = app.check_jwt(jwt, now) {
            return error(401, message).insert_header("date", date);
        }
        let answer = match route {
            Route::AppInstallation(organization) => match app.installation(organization) {
                Some(id) => json_answer(
                    200,
                    json!({"id": id, "app_id": 1, "app_slug": "orginvite-sandbox",
                           "target_type": "Organization",
                           "account": {"login": organization, "type": "Organization"},
                           "access_tokens_url": format!("https://api.github.com/app/installations/{id}/access_tokens"),
                           "permissions": {"members": "write"}, "repository_selection": "selected",
                           "events": [], "single_file_name": null, "suspended_by": null, "suspended_at": null}),
                ),
                None => error(404, "Not Found"),
            },
            Route::AccessTokens(id) if request.method.as_str() == "POST" => {
                if app.has_installation(*id) {
                    json_answer(201, app.mint(*id, now))
                } else {
                    error(404, "Not Found")
                }
            }
            _ => error(404, "Not Found"),
        };
        answer.insert_header("date", date)
    }

    /// Adds a user `/users/{login}` answers with.
    pub(crate) fn add_user(&self, login: &str, id: u64) {
        self.users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(login.to_lowercase(), (login.to_owned(), id));
    }

    fn user_by_id(&self, id: u64) -> Option<String> {
        self.users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .find(|(_, known)| *known == id)
            .map(|(login, _)| login.clone())
    }

    /// Adds a team `/orgs/{org}/teams/{slug}` answers with.
    pub(crate) fn add_team(&self, organization: &str, slug: &str, id: u64) {
        self.teams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((organization.to_lowercase(), slug.to_lowercase()), id);
    }

    fn check(&self, request: &Request, token: &str, now: SystemTime) -> Result<Action, Answer> {
        let not_found = || error(404, "Not Found");
        let route = route(request.url.path()).ok_or_else(not_found)?;
        if matches!(route, Route::AppInstallation(_) | Route::AccessTokens(_)) {
            return Err(self.check_app(&route, request, now));
        }
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        match header("authorization") {
            None => return Err(error(401, "Requires authentication")),
            Some(value) => {
                let presented = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("token "));
                let organization = match &route {
                    Route::Invitations(org)
                    | Route::Failed(org)
                    | Route::Members(org)
                    | Route::Invitation(org, _)
                    | Route::Membership(org, _)
                    | Route::InvitationTeams(org, _)
                    | Route::Team(org, _)
                    | Route::AppInstallation(org) => Some(org.clone()),
                    Route::NumberedInvitations(n)
                    | Route::NumberedFailed(n)
                    | Route::NumberedMembers(n) => self.organization_numbered(*n),
                    Route::User(_) | Route::AccessTokens(_) => None,
                };
                let accepted = presented.is_some_and(|presented| {
                    presented == token
                        || self
                            .app()
                            .as_ref()
                            .is_some_and(|app| app.accepts(presented, now, organization.as_deref()))
                });
                if !accepted {
                    return Err(error(401, "Bad credentials"));
                }
            }
        }
        if header("user-agent").is_none_or(str::is_empty) {
            return Err(Answer::new(403).set_body_raw(
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
        let numbered = |n: usize| self.organization_numbered(n).ok_or_else(not_found);
        match (request.method.as_str(), route) {
            ("POST", Route::Invitations(organization)) => self
                .check_body(request, organization)
                .map(|ask| Action::Create(vec![ask])),
            ("GET", Route::Invitations(organization)) => {
                self.check_list(request, organization, false)
            }
            ("GET", Route::NumberedInvitations(n)) => self.check_list(request, numbered(n)?, false),
            ("GET", Route::Failed(organization)) => self.check_list(request, organization, true),
            ("GET", Route::NumberedFailed(n)) => self.check_list(request, numbered(n)?, true),
            ("GET", Route::Members(organization)) => Ok(members(request, organization)),
            ("GET", Route::NumberedMembers(n)) => Ok(members(request, numbered(n)?)),
            ("DELETE", Route::Invitation(organization, id)) => Ok(Action::Cancel {
                organization,
                ids: vec![id],
            }),
            ("GET", Route::Membership(organization, login)) => Ok(Action::Membership {
                organization,
                who: Who::Login(login),
            }),
            ("GET", Route::InvitationTeams(organization, id)) => {
                Ok(Action::Teams { organization, id })
            }
            ("GET", Route::User(login)) => {
                let users = self
                    .users
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                Err(match users.get(&login.to_lowercase()) {
                    Some((login, id)) => json_answer(
                        200,
                        json!({"login": login, "id": id, "node_id": format!("U_sandbox{id}"),
                               "type": "User", "site_admin": false, "name": null}),
                    ),
                    None => not_found(),
                })
            }
            ("GET", Route::Team(organization, slug)) => {
                let teams = self
                    .teams
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                Err(
                    match teams.get(&(organization.to_lowercase(), slug.to_lowercase())) {
                        Some(id) => json_answer(
                            200,
                            json!({"id": id, "node_id": format!("T_sandbox{id}"), "slug": slug,
                                   "name": slug, "description": null, "privacy": "closed",
                                   "permission": "pull", "members_count": 0, "repos_count": 0,
                                   "type": "organization"}),
                        ),
                        None => not_found(),
                    },
                )
            }
            _ => Err(not_found()),
        }
    }

    /// A list's query: `per_page` (default 30, at most 100), `page` (from 1), and on the
    /// pending list `role` and `invitation_source`.
    fn check_list(
        &self,
        request: &Request,
        organization: String,
        failed: bool,
    ) -> Result<Action, Answer> {
        let param = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let (per_page, page) = pages(request);
        let mut role = None;
        if !failed {
            match param("role").as_deref() {
                None | Some("all") => {}
                Some(r @ ("admin" | "direct_member" | "billing_manager" | "hiring_manager")) => {
                    role = Some(r.to_owned())
                }
                Some(other) => {
                    return Err(error(
                        422,
                        &format!("Invalid request.\n\nFor 'role', \"{other}\" is not one of [\"all\", \"admin\", \"direct_member\", \"billing_manager\", \"hiring_manager\"]."),
                    ))
                }
            }
            match param("invitation_source").as_deref() {
                None | Some("all" | "member") => {}
                // The fake's invitations all come from members.
                Some("scim") => {
                    return Ok(Action::List(ListAsk {
                        organization,
                        statuses: vec![InvitationStatus::Other("scim".into())],
                        email: None,
                        role,
                        order: Order::Created,
                        paging: Paging { offset: 0, limit: per_page },
                    }))
                }
                Some(other) => {
                    return Err(error(
                        422,
                        &format!("Invalid request.\n\nFor 'invitation_source', \"{other}\" is not one of [\"all\", \"member\", \"scim\"]."),
                    ))
                }
            }
        }
        let statuses = if failed {
            vec![InvitationStatus::Failed, InvitationStatus::Expired]
        } else {
            vec![InvitationStatus::Pending]
        };
        Ok(Action::List(ListAsk {
            organization,
            statuses,
            email: None,
            role,
            order: Order::Created,
            paging: Paging {
                offset: (page - 1).saturating_mul(per_page),
                limit: per_page,
            },
        }))
    }

    fn check_body(&self, request: &Request, organization: String) -> Result<Ask, Answer> {
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
        let team_ids = match body.get("team_ids") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(ids)) if ids.iter().all(|id| id.as_u64().is_some()) => ids.clone(),
            Some(_) => return Err(error(
                422,
                "Invalid request.\n\nFor 'properties/team_ids', it is not an array of integers.",
            )),
        };
        if role == "reinstate" && !team_ids.is_empty() {
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
        let mut details = if team_ids.is_empty() {
            serde_json::Map::new()
        } else {
            serde_json::Map::from_iter([("team_ids".to_owned(), Value::Array(team_ids))])
        };
        if let Some(login) = invitee_id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .and_then(|id| self.user_by_id(id))
        {
            details.insert("login".to_owned(), Value::String(login));
        }
        Ok(Ask {
            organization,
            email,
            user_id: invitee_id,
            role,
            expires_in: None,
            details,
        })
    }
}

impl Vendor for GitHubSim {
    fn parse(&self, request: &Request, token: &str, counters: &Counters) -> Result<Action, Answer> {
        self.check(request, token, counters.now)
            .map_err(|answer| self.with_headers(answer, counters))
    }

    fn same_organization(&self, a: &str, b: &str) -> bool {
        a.eq_ignore_ascii_case(b)
    }

    fn created(&self, invitations: &[FakeInvitation], counters: &Counters) -> Answer {
        let body = invitation_json(&invitations[0], counters);
        self.with_headers(json_answer(201, body), counters)
    }

    fn listed(&self, listing: Listing<'_>, counters: &Counters) -> Answer {
        let Listing {
            request,
            ask,
            page,
            total,
        } = listing;
        let items: Vec<Value> = page
            .iter()
            .map(|inv| invitation_json(inv, counters))
            .collect();
        let body = serde_json::to_vec(&items).expect("JSON serializes");
        let mut answer = Answer::new(200).set_body_raw(body, "application/json; charset=utf-8");
        if let Some(link) = self.link(request, total, ask) {
            answer = answer.insert_header("link", link);
        }
        self.with_headers(answer, counters)
    }

    fn cancelled(&self, _invitations: &[FakeInvitation], counters: &Counters) -> Answer {
        self.with_headers(Answer::new(204), counters)
    }

    fn teams(&self, invitation: Option<&FakeInvitation>, counters: &Counters) -> Answer {
        let Some(invitation) = invitation else {
            return self.with_headers(error(404, "Not Found"), counters);
        };
        let teams: Vec<Value> = team_ids(invitation)
            .into_iter()
            .map(|id| {
                json!({"id": id, "node_id": format!("T_sandbox{id}"), "name": format!("Team {id}"),
                       "slug": format!("team-{id}"), "description": null, "privacy": "closed",
                       "permission": "pull", "parent": null})
            })
            .collect();
        self.with_headers(json_answer(200, Value::Array(teams)), counters)
    }

    fn members(&self, listing: MemberListing<'_>, counters: &Counters) -> Answer {
        let items: Vec<Value> = listing
            .page
            .iter()
            .map(|&(n, member)| {
                let id: u64 = member
                    .user_id
                    .as_deref()
                    .and_then(|id| id.parse().ok())
                    .unwrap_or(9_000_000 + n as u64);
                let login = member
                    .login
                    .clone()
                    .unwrap_or_else(|| format!("member-{id}"));
                json!({"login": login, "id": id, "node_id": format!("U_sandbox{id}"),
                       "type": "User", "site_admin": false,
                       "url": format!("https://api.github.com/users/{login}")})
            })
            .collect();
        let body = serde_json::to_vec(&items).expect("JSON serializes");
        let mut answer = Answer::new(200).set_body_raw(body, "application/json; charset=utf-8");
        let ask = ListAsk {
            organization: listing.organization.to_owned(),
            statuses: Vec::new(),
            email: None,
            role: None,
            order: Order::Created,
            paging: listing.paging,
        };
        if let Some(link) = self.link(listing.request, listing.total, &ask) {
            answer = answer.insert_header("link", link);
        }
        self.with_headers(answer, counters)
    }

    fn membership(&self, found: MemberFound<'_>, counters: &Counters) -> Answer {
        let (state, role, login) = match found {
            MemberFound::Active(FakeMember { role, login, .. }) => {
                ("active", role.as_str(), login.clone().unwrap_or_default())
            }
            MemberFound::Pending(invitation) => (
                "pending",
                membership_role(&invitation.role),
                invitation.login.clone().unwrap_or_default(),
            ),
            MemberFound::Neither => return self.with_headers(error(404, "Not Found"), counters),
        };
        let body = json!({
            "url": format!("https://api.github.com/orgs/sandbox/memberships/{login}"),
            "state": state,
            "role": role,
            "organization_url": "https://api.github.com/orgs/sandbox",
            "organization": {"login": "sandbox", "id": 1, "node_id": "O_sandbox1"},
            "user": {"login": login, "id": 2, "node_id": "U_sandbox2", "type": "User", "site_admin": false},
        });
        self.with_headers(json_answer(200, body), counters)
    }

    fn refuse(&self, refusal: &Refusal, counters: &Counters) -> Answer {
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
            Refusal::UnknownInvitation(_) | Refusal::NotPending(_) => error(404, "Not Found"),
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

    /// The invitee's login (the invitation's, or made from the email's local part) and a
    /// numeric user id.
    fn accepted_member(&self, invitation: &FakeInvitation, n: usize) -> FakeMember {
        let login = invitation.login.clone().unwrap_or_else(|| {
            let email = invitation.email.as_deref().unwrap_or("member");
            let local = email.split('@').next().unwrap_or(email);
            local
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect()
        });
        let id = invitation
            .user_id
            .clone()
            .unwrap_or_else(|| (9_100_000 + n).to_string());
        let mut member = FakeMember::new(invitation.organization.clone())
            .login(login)
            .user_id(id)
            .role(membership_role(&invitation.role));
        member.email = invitation.email.clone();
        member
    }

    /// `organization` events: `member_invited` and `member_added`; GitHub has no action for
    /// an invitation cancelled.
    fn webhook_events(&self, happened: Happened<'_>, now: jiff::Timestamp) -> Vec<(String, Value)> {
        let counters = Counters::at(now.into());
        let user = |login: &str, id: &str| {
            let id: u64 = id.parse().unwrap_or(0);
            json!({"login": login, "id": id, "node_id": format!("U_sandbox{id}"),
                   "type": "User", "site_admin": false})
        };
        let event = |action: &str, organization: &str, fields: Value| {
            let mut body = json!({
                "action": action,
                "organization": {"login": organization, "id": 1, "node_id": "O_sandbox1",
                                 "url": format!("https://api.github.com/orgs/{organization}")},
                "sender": {"login": "sandbox-owner", "id": 1, "node_id": "U_sandbox1",
                           "type": "User", "site_admin": false},
            });
            if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
                body.extend(fields);
            }
            ("organization".to_owned(), body)
        };
        match happened {
            Happened::Invited(invitation) => {
                let invitee = match (&invitation.login, &invitation.user_id) {
                    (Some(login), Some(id)) => user(login, id),
                    _ => Value::Null,
                };
                vec![event(
                    "member_invited",
                    &invitation.organization,
                    json!({"invitation": invitation_json(invitation, &counters), "user": invitee}),
                )]
            }
            Happened::Accepted(invitation, member) => {
                let login = member.login.as_deref().unwrap_or("");
                let organization = &invitation.organization;
                vec![event(
                    "member_added",
                    organization,
                    json!({"membership": {
                        "url": format!("https://api.github.com/orgs/{organization}/memberships/{login}"),
                        "state": "active",
                        "role": membership_role(&invitation.role),
                        "organization_url": format!("https://api.github.com/orgs/{organization}"),
                        "user": user(login, member.user_id.as_deref().unwrap_or("0")),
                    }}),
                )]
            }
            Happened::Revoked(_) => Vec::new(),
        }
    }

    fn webhook_delivery_id(&self, n: u64) -> String {
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    /// `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the body.
    fn sign_webhook(
        &self,
        secret: &str,
        id: &str,
        event: &str,
        body: &[u8],
        _now: SystemTime,
    ) -> Vec<(String, String)> {
        let tag = hooks::hmac(secret.as_bytes(), &[body]);
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        vec![
            ("content-type".into(), "application/json".into()),
            ("user-agent".into(), "GitHub-Hookshot/sandbox".into()),
            ("x-github-event".into(), event.to_owned()),
            ("x-github-delivery".into(), id.to_owned()),
            ("x-github-hook-id".into(), "1".into()),
            ("x-hub-signature-256".into(), format!("sha256={hex}")),
        ]
    }

    fn default_lifetime(&self) -> Duration {
        crate::vendors::github::INVITATION_LIFETIME
    }

    fn default_role(&self) -> &'static str {
        "direct_member"
    }

    fn member_role(&self) -> &'static str {
        "member"
    }
}

/// The team ids an invitation adds the person to.
fn team_ids(invitation: &FakeInvitation) -> Vec<u64> {
    invitation
        .details
        .get("team_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// An `organization-invitation`; failed and expired invitations carry `failed_at` and
/// `failed_reason`.
fn invitation_json(invitation: &FakeInvitation, counters: &Counters) -> Value {
    let id: u64 = invitation.id.parse().unwrap_or(0);
    let now = jiff::Timestamp::try_from(counters.now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let (failed_at, failed_reason) = match invitation.status_at(now) {
        InvitationStatus::Expired => (
            invitation.expires_at.map(|at| at.to_string()),
            Some("Invitation expired. User did not accept this invite for 7 days"),
        ),
        InvitationStatus::Failed => (
            Some(invitation.created_at.to_string()),
            Some("Invitation failed"),
        ),
        _ => (None, None),
    };
    json!({
        "id": id,
        "login": invitation.login,
        "node_id": format!("OI_sandbox{id}"),
        "email": invitation.email,
        "role": invitation.role,
        "created_at": invitation.created_at.to_string(),
        "failed_at": failed_at,
        "failed_reason": failed_reason,
        "inviter": {"login": "sandbox-owner", "id": 1, "node_id": "U_sandbox1", "type": "User", "site_admin": false},
        "team_count": team_ids(invitation).len(),
        "invitation_teams_url": format!("https://api.github.com/organizations/1/invitations/{id}/teams"),
        "invitation_source": "member"
    })
}

impl GitHubSim {
    /// GitHub's `Link` header for a page of a list: `next` and `last` while pages follow,
    /// `first` and `prev` after the first; none when everything fits one page. The links
    /// name the organization by number, keep every query parameter and set `page`.
    fn link(&self, request: &Request, total: usize, ask: &ListAsk) -> Option<String> {
        let per_page = ask.paging.limit.max(1);
        let pages = total.div_ceil(per_page).max(1);
        let page = ask.paging.offset / per_page + 1;
        if pages == 1 && page == 1 {
            return None;
        }
        let path = request.url.path();
        let list = ["failed_invitations", "members"]
            .into_iter()
            .find(|list| path.ends_with(&format!("/{list}")))
            .unwrap_or("invitations");
        // The links point where the client sent the request (its `Host`).
        let mut base = request.url.clone();
        if let Some(host) = request.headers.get("host").and_then(|h| h.to_str().ok()) {
            if let Ok(url) = url::Url::parse(&format!("{}://{host}/", request.url.scheme())) {
                base = url;
            }
        }
        base.set_path(&format!(
            "/organizations/{}/{list}",
            self.number_of(&ask.organization)
        ));
        let kept: Vec<(String, String)> = request
            .url
            .query_pairs()
            .filter(|(key, _)| key != "page" && key != "per_page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let url_of = |page: usize| {
            let mut url = base.clone();
            url.set_query(None);
            {
                let mut query = url.query_pairs_mut();
                for (key, value) in &kept {
                    query.append_pair(key, value);
                }
                query.append_pair("per_page", &per_page.to_string());
                query.append_pair("page", &page.to_string());
            }
            url.to_string()
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!("<{}>; rel=\"prev\"", url_of(page - 1)));
        }
        if page < pages {
            links.push(format!("<{}>; rel=\"next\"", url_of(page + 1)));
            links.push(format!("<{}>; rel=\"last\"", url_of(pages)));
        }
        if page > 1 {
            links.push(format!("<{}>; rel=\"first\"", url_of(1)));
        }
        Some(links.join(", "))
    }
}
