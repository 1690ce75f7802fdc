//! GitHub: `POST {base}/orgs/{org}/invitations`.
//!
//! | unified | GitHub |
//! |---|---|
//! | [`Role::Admin`] | `admin` (organization owner) |
//! | [`Role::Member`] | `direct_member` |
//! | [`Role::BillingManager`] | `billing_manager` |
//! | [`Role::Custom`] | GitHub's own names (`admin`, `direct_member`, `billing_manager`, `reinstate`), sent as they are; anything else is refused |
//! | [`GitHubOptions::reinstate`] | `reinstate` (the role a former member had) |
//! | [`Invitee::Email`] / [`Invitee::UserId`] | `email` / `invitee_id` (a positive integer) |
//! | [`CreateInvitation::expires_in`] | unsupported: GitHub invitations last 7 days |
//!
//! Success is `201 Created`. Failures are classified as: 401 `unauthenticated`; 403
//! `permission_denied` unless it is a rate limit; 404 `not_found` (GitHub also answers 404
//! when the token cannot see the organization); 422 `already_member` (both message forms),
//! `already_invited` (GitHub documents no message for a pending invitation, so this matches
//! "already been invited", "already invited" or "pending invitation" as a best effort),
//! `quota_exceeded` for the 24-hour invitation cap ("Over invitation rate limit", never
//! retried), `invalid_email`, else `validation`; 5xx `server_error` (may have been created).
//!
//! Rate limits (403 or 429): a secondary limit ("secondary rate limit", formerly "abuse
//! detection mechanism")
//! waits for `retry-after`, else for `x-ratelimit-reset` when `x-ratelimit-remaining` is 0,
//! else 60 s doubling on every repeat; a primary limit (`x-ratelimit-remaining: 0`) waits
//! until `x-ratelimit-reset` + 1 s; a 429 without either waits for `retry-after` or backs off.

pub(crate) mod app;
mod cursor;
#[cfg(feature = "webhooks")]
mod webhook;

use cursor::Cursor;

pub use app::GitHubApp;
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub use webhook::{decode_webhook, receive_webhook, verify_webhook};

use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use url::Url;

use crate::engine::builder::{
    header_text, ClientBuilder, CommonSettings, Connection, VendorSettings,
};
use crate::engine::headers;
use crate::engine::pacing::Pacing;
use crate::engine::retry::{RetryHint, Wait};
use crate::engine::{
    status_retry, Call, Decode, Engine, Failure, Origin, RawResponse, Subject, Undecodable,
    VendorDetails,
};
use crate::model::error::{Error, ErrorKind, RateLimitInfo};
use crate::model::extension::{sealed, Payload, VendorListOptions, VendorOptions};
use crate::model::invitation::{Invitation, InvitationStatus, Inviter};
use crate::model::kind::ProviderKind;
use crate::model::outcome::Cancelled;
use crate::model::request::{CreateInvitation, Invitee, ListInvitations, Role};
use crate::model::snapshot::Member;
use crate::vendors::payload::{self, Str, Text};
use crate::vendors::{
    self, MemberAnswer, Page, Vendor, CANCEL, INVITATION_TEAMS, LIST, MEMBERSHIP,
};

/// GitHub's public API.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";
/// The REST API version sent in `X-GitHub-Api-Version` unless the caller sets another.
pub const DEFAULT_API_VERSION: &str = "2022-11-28";
/// How long GitHub keeps an invitation open.
pub const INVITATION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The roles GitHub's create takes, as it spells them.
const GITHUB_ROLES: [&str; 4] = ["admin", "direct_member", "billing_manager", "reinstate"];

/// How long to wait after a secondary rate limit that names no wait, doubled on every repeat.
const SECONDARY_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Options only GitHub has; other providers ignore them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GitHubOptions {
    /// Teams of the organization the person joins on accepting (`team_ids`).
    pub team_ids: Vec<u64>,
    /// Teams by slug (`design`), looked up through `GET /orgs/{org}/teams/{slug}` and sent
    /// among `team_ids`; the client remembers each slug's id.
    pub team_slugs: Vec<String>,
    /// Restore the role a former member had (`role: reinstate`). Cannot be combined with teams
    /// or with a role other than the default [`Role::Member`].
    pub reinstate: bool,
}

impl sealed::Sealed for GitHubOptions {}
impl VendorOptions for GitHubOptions {}

/// The options of a request that carries none.
static NO_OPTIONS: GitHubOptions = GitHubOptions {
    team_ids: Vec::new(),
    team_slugs: Vec::new(),
    reinstate: false,
};

/// The GitHub options of `request`.
fn options_of(request: &CreateInvitation) -> &GitHubOptions {
    request.options().unwrap_or(&NO_OPTIONS)
}

impl GitHubOptions {
    /// No options.
    pub fn new() -> GitHubOptions {
        GitHubOptions::default()
    }

    setters! {
        /// Adds a team.
        team_id(self, team_id: u64) { self.team_ids.push(team_id) }

        /// Adds teams.
        team_ids(self, team_ids: impl IntoIterator<Item = u64>) { self.team_ids.extend(team_ids) }

        /// Adds a team by its slug (`design`); it mixes freely with [`team_id`](Self::team_id).
        team_slug(self, slug: impl Into<String>) { self.team_slugs.push(slug.into()) }

        /// Restores the role a former member had.
        reinstate(self, reinstate: bool) { self.reinstate = reinstate }
    }
}

/// Options only GitHub's lists have; other providers ignore them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GitHubListOptions {
    /// Only pending invitations from this source: `member` or `scim`
    /// (`invitation_source`; GitHub's default is `all`).
    pub invitation_source: Option<String>,
}

impl sealed::Sealed for GitHubListOptions {}
impl VendorListOptions for GitHubListOptions {}

impl GitHubListOptions {
    /// No options.
    pub fn new() -> GitHubListOptions {
        GitHubListOptions::default()
    }

    setters! {
        /// Only pending invitations from `source` (`member` or `scim`).
        invitation_source(self, source: impl Into<String>) { self.invitation_source = Some(source.into()) }
    }
}

/// The largest page GitHub's lists return.
pub const MAX_PAGE_SIZE: u32 = 100;

/// GitHub's guidance for requests that notify people: one at a time, at least 1 s apart.
pub fn default_pacing() -> Pacing {
    Pacing::serial(Duration::from_secs(1))
}

/// GitHub-only builder settings; see [`GitHub::builder`](crate::GitHub).
#[derive(Clone, Debug)]
pub struct GitHubSettings {
    api_version: String,
    app: Option<GitHubApp>,
}

impl Default for GitHubSettings {
    fn default() -> GitHubSettings {
        GitHubSettings {
            api_version: DEFAULT_API_VERSION.to_owned(),
            app: None,
        }
    }
}

impl VendorSettings for GitHubSettings {
    type Vendor = GitHubVendor;
}

/// Builds a [`GitHub`](crate::GitHub) client: [`GitHub::builder`](crate::Client::builder).
pub type GitHubBuilder = ClientBuilder<GitHubSettings>;

impl ClientBuilder<GitHubSettings> {
    setters! {
        /// The REST API version sent in `X-GitHub-Api-Version`. Defaults to `2022-11-28`.
        api_version(self, version: impl Into<String>) { self.vendor.api_version = version.into() }
    }

    /// Acts as a GitHub App installation instead of with a token: see [`GitHubApp`].
    /// Replaces [`token`](ClientBuilder::token) and
    /// [`credentials`](ClientBuilder::credentials).
    pub fn app(mut self, app: GitHubApp) -> Self {
        self.vendor.app = Some(app);
        self.common.credentials = None;
        self
    }
}

/// GitHub's REST API, as the vendor of a [`Client`](crate::Client): see
/// [`GitHub`](crate::GitHub).
///
/// Defaults: `https://api.github.com`, API version `2022-11-28`, and [`default_pacing`]:
/// invitations one at a time, at least 1 s apart (GitHub asks for serial, spaced writes to
/// endpoints that send notifications). GitHub Enterprise Server:
/// `.base_url("https://HOST/api/v3")`.
#[derive(Clone)]
pub struct GitHubVendor {
    connection: Connection,
}

impl fmt::Debug for GitHubVendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.connection, f)
    }
}

/// The JSON body of the request: only the fields that are set.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    invitee_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    role: &'a str,
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    team_ids: &'a [u64],
}

fn invalid(field: &'static str, reason: &str) -> Error {
    Error::invalid(Some(ProviderKind::GitHub), field, reason)
}

/// A login or slug that can go in a path: not empty, no white space, slashes or control
/// characters.
fn check_name(field: &'static str, name: &str) -> Result<(), Error> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '/')
    {
        return Err(invalid(
            field,
            "must be a GitHub name: not empty, no spaces, slashes or control characters",
        ));
    }
    Ok(())
}

/// The part of a `GET /users/{login}` or `GET /orgs/{org}/teams/{slug}` answer this crate
/// reads.
#[derive(Deserialize)]
struct WithId {
    id: u64,
}

impl GitHubVendor {
    fn body<'a>(&self, request: &'a CreateInvitation) -> Result<Body<'a>, Error> {
        request.validate()?;
        if request.expires_in.is_some() {
            return Err(Error::unsupported(
                ProviderKind::GitHub,
                "choosing an expiry (GitHub invitations always last 7 days)",
            ));
        }
        let options = options_of(request);
        let role = if options.reinstate {
            if request.role != Role::Member {
                return Err(invalid(
                    "role",
                    "cannot be set together with `reinstate`, which restores the former role",
                ));
            }
            "reinstate"
        } else {
            match &request.role {
                Role::Admin => "admin",
                Role::Member => "direct_member",
                Role::BillingManager => "billing_manager",
                // GitHub's own names, as its API spells them; it takes no other.
                Role::Custom(role) if GITHUB_ROLES.contains(&role.as_str()) => role,
                Role::Custom(role) => {
                    return Err(invalid(
                        "role",
                        &format!(
                            "unknown role {role:?} for GitHub: admin, member (direct_member), \
                             billing_manager or reinstate"
                        ),
                    ))
                }
            }
        };
        if role == "reinstate" && !(options.team_ids.is_empty() && options.team_slugs.is_empty()) {
            return Err(invalid("team_ids", "cannot be combined with `reinstate`"));
        }
        if options.team_ids.contains(&0) {
            return Err(invalid("team_ids", "must be positive team ids"));
        }
        if let Some(slug) = options.team_slugs.first() {
            check_name("team_slugs", slug)?;
            // Slugs become ids before a request is encoded (`Vendor::with_ids`).
            return Err(invalid("team_slugs", "must be looked up before sending"));
        }
        let (invitee_id, email) = match &request.invitee {
            Invitee::Email(email) => (None, Some(email.as_str())),
            Invitee::UserId(id) => match id.parse::<u64>() {
                Ok(id) if id > 0 => (Some(id), None),
                _ => {
                    return Err(invalid(
                        "user_id",
                        "must be a GitHub user id: a positive integer",
                    ))
                }
            },
            Invitee::Login(login) => {
                check_name("login", login)?;
                // Logins become user ids before a request is encoded (`Vendor::with_ids`).
                return Err(invalid("login", "must be looked up before sending"));
            }
        };
        Ok(Body {
            invitee_id,
            email,
            role,
            team_ids: &options.team_ids,
        })
    }
}

/// The routes GitHub lists invitations on, for the statuses a query asks for: pending
/// invitations, then failed ones.
fn list_routes(query: &ListInvitations) -> Result<Vec<&'static str>, Error> {
    let mut pending = query.statuses.is_empty();
    let mut failed = query.statuses.is_empty();
    for status in &query.statuses {
        match status {
            InvitationStatus::Pending => pending = true,
            InvitationStatus::Failed => failed = true,
            other => {
                return Err(Error::unsupported(
                    ProviderKind::GitHub,
                    format!(
                        "listing {other} invitations (GitHub lists pending and failed ones; an \
                         expired invitation is among the failed)"
                    ),
                ))
            }
        }
    }
    Ok([(pending, "invitations"), (failed, "failed_invitations")]
        .into_iter()
        .filter_map(|(wanted, route)| wanted.then_some(route))
        .collect())
}

/// GitHub's name of a role in the `role` filter of the pending list.
fn role_filter(role: &Role) -> &str {
    match role {
        Role::Admin => "admin",
        Role::Member => "direct_member",
        Role::BillingManager => "billing_manager",
        Role::Custom(role) => role,
    }
}

/// The URL of the `rel="next"` link of a `Link` header, resolved against `base`.
fn next_link(headers: &HeaderMap, base: &Url) -> Option<Result<Url, String>> {
    let next = headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(headers::links)
        .find(|(_, rels)| rels.split_ascii_whitespace().any(|r| r == "next"))?;
    Some(
        base.join(next.0)
            .map_err(|e| format!("the next page's link is not a URL ({e})")),
    )
}

/// GitHub's rate-limit headers: the common ones, `x-ratelimit-reset` (a Unix time in seconds)
/// and `x-ratelimit-resource` (which limit: `core`, `search`, ...).
pub(crate) fn rate_limit(headers: &HeaderMap, now: SystemTime) -> RateLimitInfo {
    headers::rate_limit_info(headers, now, |field, value, info| match field {
        "reset" if info.reset.is_none() => info.reset = headers::unix_seconds(value),
        "resource" if info.resource.is_none() && !value.is_empty() => {
            info.resource = Some(value.to_owned());
        }
        _ => {}
    })
}

/// GitHub, as the engine knows it.
pub(crate) const ORIGIN: Origin = Origin::new(ProviderKind::GitHub, rate_limit);

impl sealed::Sealed for GitHubVendor {}

impl GitHubVendor {
    /// Where the list after the page `requested` (of the query's list number `route`) goes
    /// on: its `Link: rel="next"` on the API's host, else the next list, else nowhere.
    fn next_cursor(
        &self,
        response: &RawResponse,
        requested: &url::Url,
        route: usize,
        last_route: bool,
    ) -> Result<Option<Cursor>, Failure> {
        let inconsistent = |reason: String| {
            Failure::inconsistent(
                ProviderKind::GitHub,
                response,
                reason,
                request_id(&response.headers),
            )
        };
        Ok(match next_link(&response.headers, requested) {
            Some(Ok(url)) if url == *requested => {
                return Err(inconsistent(
                    "the next page's link points back at this page".to_owned(),
                ))
            }
            Some(Ok(url)) if self.connection.same_origin(&url) => Some(Cursor::Url { route, url }),
            Some(Ok(url)) => {
                return Err(inconsistent(format!(
                    "the next page's link leaves the API's host ({}); it is not followed",
                    url.origin().ascii_serialization()
                )))
            }
            Some(Err(reason)) => return Err(inconsistent(reason.to_string())),
            None if last_route => None,
            None => Some(Cursor::Start { route: route + 1 }),
        })
    }
}

/// A `simple-user` of the member list: its login and id (GitHub shows no email there unless
/// the user made it public).
#[derive(Deserialize)]
struct ListedMember {
    login: String,
    id: u64,
    #[serde(default)]
    email: Option<String>,
}

impl Vendor for GitHubVendor {
    type Settings = GitHubSettings;
    type Cursor = cursor::Cursor;

    /// Checks the settings and builds the engine and the mapping. Nothing is sent.
    fn build(settings: GitHubSettings, common: CommonSettings) -> Result<(Engine, Self), Error> {
        let app = settings.app;
        if app.is_some() && common.credentials.is_some() {
            return Err(Error::config(
                "GitHub takes a token, a credential source or an App, not several",
            ));
        }
        let built = common.build("GitHub", DEFAULT_BASE_URL, default_pacing(), app.is_some())?;
        let api_version = header_text(&settings.api_version).ok_or_else(|| {
            Error::config("the GitHub API version must be printable text on one line")
        })?;
        let (mut engine, connection) = built.into_parts(
            "Bearer",
            "application/vnd.github+json",
            [(HeaderName::from_static("x-github-api-version"), api_version)],
        );
        if let Some(app) = &app {
            // The app's own requests go through the same engine, with their own JWTs.
            let source = app::AppSource::new(app, engine.clone(), connection.clone())?;
            engine.credentials = Some(std::sync::Arc::new(source));
        }
        Ok((engine, GitHubVendor { connection }))
    }

    const ORIGIN: Origin = ORIGIN;
    const ORGANIZATIONS_IGNORE_CASE: bool = true;

    const MEMBERS_SHOW_EMAILS: bool = false;

    fn create<'a>(
        &'a self,
        request: &'a CreateInvitation,
    ) -> Result<Call<'a, impl Decode<Invitation> + 'a>, Error> {
        let body = self.body(request)?;
        let plan = self
            .connection
            .post_json(&["orgs", &request.organization, "invitations"], &body)
            .map_err(|e| invalid("request", &e.to_string()))?;
        Ok(vendors::create_call(self, request, plan))
    }

    fn names(&self, request: &CreateInvitation) -> Vec<vendors::Name> {
        let mut names = Vec::new();
        if let Invitee::Login(login) = &request.invitee {
            names.push(vendors::Name::Login {
                organization: request.organization.clone(),
                login: login.clone(),
            });
        }
        names.extend(
            options_of(request)
                .team_slugs
                .iter()
                .map(|slug| vendors::Name::TeamSlug {
                    organization: request.organization.clone(),
                    slug: slug.clone(),
                }),
        );
        names
    }

    fn decode_created(
        &self,
        request: &CreateInvitation,
        response: &RawResponse,
        now: SystemTime,
    ) -> Result<Invitation, Failure> {
        if !response.status.is_success() {
            return Err(classify(response, now));
        }
        decode_invitation(&response.body, &request.role, InvitationStatus::Pending)
            .map_err(Undecodable::from)
            .and_then(|invitation| crate::engine::check_answers(request, invitation))
            .map_err(|problem| undecodable(response, problem))
    }

    fn name_call<'a>(
        &'a self,
        name: &'a vendors::Name,
    ) -> Result<Call<'a, impl Decode<u64> + 'a>, Error> {
        let (organization, plan, what) = match name {
            vendors::Name::Login {
                organization,
                login,
            } => {
                check_name("login", login)?;
                let url = self.connection.url(&["users", login]);
                (
                    organization.as_str(),
                    self.connection.plan(Method::GET, url),
                    format!("no GitHub user has the login `{login}`"),
                )
            }
            vendors::Name::TeamSlug { organization, slug } => {
                crate::model::request::check_organization(organization)?;
                check_name("team_slugs", slug)?;
                let url = self.connection.url(&["orgs", organization, "teams", slug]);
                (
                    organization.as_str(),
                    self.connection.plan(Method::GET, url),
                    format!("the organization `{organization}` has no team `{slug}`"),
                )
            }
        };
        let decode = move |response: &RawResponse, now: SystemTime| {
            if response.status == StatusCode::NOT_FOUND {
                let mut failure = classify(response, now);
                if let Error::Api(api) = &mut failure.error {
                    api.message = Some(what.clone());
                    api.about_request = true;
                }
                return Err(failure);
            }
            if !response.status.is_success() {
                return Err(classify(response, now));
            }
            serde_json::from_slice::<WithId>(&response.body)
                .map(|found| found.id)
                .map_err(|source| undecodable_as(response, "a user or team with an id", source))
        };
        Ok(Call::new(
            vendors::LOOKUP,
            ORIGIN,
            organization,
            plan,
            decode,
        ))
    }

    fn with_ids(
        &self,
        request: &CreateInvitation,
        ids: &[(vendors::Name, u64)],
    ) -> CreateInvitation {
        let mut resolved = request.clone();
        let mut options = options_of(request).clone();
        options.team_slugs.clear();
        for (name, id) in ids {
            match name {
                vendors::Name::Login { .. } => resolved.invitee = Invitee::user_id(id.to_string()),
                vendors::Name::TeamSlug { .. } => {
                    if !options.team_ids.contains(id) {
                        options.team_ids.push(*id);
                    }
                }
            }
        }
        resolved.with(options)
    }

    fn list_page<'a>(
        &'a self,
        query: &'a ListInvitations,
        cursor: Cursor,
    ) -> Result<Call<'a, impl Decode<Page<Cursor>> + 'a>, Error> {
        query.validate()?;
        let routes = list_routes(query)?;
        let per_page = query.page_size.unwrap_or(MAX_PAGE_SIZE);
        if per_page > MAX_PAGE_SIZE {
            return Err(invalid("page_size", "must be at most 100 on GitHub"));
        }
        let list_options = query.options::<GitHubListOptions>();
        let source = list_options.and_then(|options| options.invitation_source.as_deref());
        if let Some(source) = source {
            if source.is_empty() || source.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(invalid(
                    "invitation_source",
                    "must be a word such as `member` or `scim`",
                ));
            }
        }
        let (route, plan) = match cursor {
            Cursor::Url { route, url } => (route, self.connection.plan(Method::GET, url)),
            Cursor::Start { route } => {
                let name = *routes
                    .get(route)
                    .ok_or_else(|| invalid("page", "no such list"))?;
                let per_page = per_page.to_string();
                let mut pairs = vec![("per_page", per_page.as_str())];
                if name == "invitations" {
                    if let Some(role) = &query.role {
                        pairs.push(("role", role_filter(role)));
                    }
                    if let Some(source) = source {
                        pairs.push(("invitation_source", source));
                    }
                }
                let plan = self
                    .connection
                    .get(&["orgs", &query.organization, name], pairs);
                (route, plan)
            }
        };
        let status = if routes[route] == "failed_invitations" {
            InvitationStatus::Failed
        } else {
            InvitationStatus::Pending
        };
        let last_route = route + 1 >= routes.len();
        let requested = plan.url.clone();
        let decode = move |response: &RawResponse, now: SystemTime| {
            if !response.status.is_success() {
                return Err(classify(response, now));
            }
            // "Some endpoints respond with 204 No Content instead of an empty array."
            let invitations = if response.status == StatusCode::NO_CONTENT {
                Vec::new()
            } else {
                decode_list(&response.body, &status).map_err(|source| {
                    undecodable(
                        response,
                        Undecodable {
                            expected: "a list of organization invitations",
                            source: Some(Box::new(source)),
                        },
                    )
                })?
            };
            let next = self.next_cursor(response, &requested, route, last_route)?;
            Ok(Page {
                items: invitations,
                next,
            })
        };
        Ok(Call::new(LIST, ORIGIN, &query.organization, plan, decode))
    }

    /// The pending invitations and the failed ones (GitHub lists an expired invitation
    /// among the failed).
    fn snapshot_query(&self, organization: &str) -> Result<ListInvitations, Error> {
        crate::model::request::check_organization(organization)?;
        Ok(ListInvitations::new(organization)
            .statuses([InvitationStatus::Pending, InvitationStatus::Failed]))
    }

    /// `GET /orgs/{org}/members`, 100 a page: logins and ids, no roles (GitHub names them only
    /// when asked for one role at a time) and, but for public ones, no emails.
    fn members_page<'a>(
        &'a self,
        organization: &'a str,
        cursor: Cursor,
    ) -> Result<Call<'a, impl Decode<Page<Cursor, Member>> + 'a>, Error> {
        crate::model::request::check_organization(organization)?;
        let plan = match cursor {
            Cursor::Url { url, .. } => self.connection.plan(Method::GET, url),
            Cursor::Start { .. } => {
                let per_page = MAX_PAGE_SIZE.to_string();
                self.connection.get(
                    &["orgs", organization, "members"],
                    [("per_page", per_page.as_str())],
                )
            }
        };
        let requested = plan.url.clone();
        let decode = move |response: &RawResponse, now: SystemTime| {
            if !response.status.is_success() {
                return Err(classify(response, now));
            }
            let listed: Vec<ListedMember> = if response.status == StatusCode::NO_CONTENT {
                Vec::new()
            } else {
                serde_json::from_slice(&response.body).map_err(|source| {
                    undecodable(
                        response,
                        Undecodable {
                            expected: "a list of organization members",
                            source: Some(Box::new(source)),
                        },
                    )
                })?
            };
            let items = listed
                .into_iter()
                .map(|listed| {
                    let id = Some(listed.id.to_string());
                    Member::listed(id, Some(listed.login), listed.email, None)
                })
                .collect();
            let next = self.next_cursor(response, &requested, 0, true)?;
            Ok(Page { items, next })
        };
        Ok(Call::new(
            vendors::MEMBERS,
            ORIGIN,
            organization,
            plan,
            decode,
        ))
    }

    fn find_query(&self, organization: &str, invitee: &Invitee) -> Result<ListInvitations, Error> {
        invitee.validate()?;
        match invitee {
            Invitee::Email(email) => Ok(ListInvitations::new(organization).email(email.clone())),
            Invitee::Login(_) => Ok(ListInvitations::new(organization)),
            _ => Err(Error::unsupported(
                ProviderKind::GitHub,
                "finding an invitation by user id (GitHub's invitations name the invitee's \
                 login and email only; look up by login)",
            )),
        }
    }

    fn cancel<'a>(
        &'a self,
        organization: &'a str,
        id: &'a str,
    ) -> Result<Call<'a, impl Decode<Cancelled> + 'a>, Error> {
        crate::model::request::check_organization(organization)?;
        if !id.parse::<u64>().is_ok_and(|id| id > 0) {
            return Err(invalid(
                "id",
                "must be a GitHub invitation id: a positive integer",
            ));
        }
        let url = self
            .connection
            .url(&["orgs", organization, "invitations", id]);
        let plan = self.connection.plan(Method::DELETE, url);
        let decode = move |response: &RawResponse, now: SystemTime| {
            // A 404 after an attempt that may have cancelled it is that cancellation.
            if response.status.is_success()
                || (response.after_doubt && response.status == StatusCode::NOT_FOUND)
            {
                return Ok(Cancelled::new(ProviderKind::GitHub, id, None));
            }
            let failure = classify(response, now);
            Err(match response.status {
                // GitHub answers 404 for an invitation it does not hold (and for an
                // organization the token cannot see).
                StatusCode::NOT_FOUND => failure.with_kind(ErrorKind::NotPending),
                _ => failure,
            })
        };
        // GitHub documents that cancelling an invitation sends notifications.
        Ok(Call::new(
            CANCEL.paced_as(crate::engine::Traffic::Notifying),
            ORIGIN,
            organization,
            plan,
            decode,
        )
        .about(Subject::Invitation(id)))
    }

    fn recreate<'a>(
        &'a self,
        organization: &'a str,
        previous: &'a Invitation,
    ) -> Result<vendors::Recreate<'a, impl Decode<CreateInvitation> + 'a>, Error> {
        let raw = previous.payload.get::<GitHubInvitation>().ok_or_else(|| {
            Error::unsupported(
                ProviderKind::GitHub,
                "re-creating another vendor's invitation",
            )
        })?;
        let invitee = match (raw.email(), raw.login()) {
            (Some(email), _) => Invitee::email(email),
            (None, Some(login)) => Invitee::login(login),
            (None, None) => {
                return Err(Error::unsupported(
                    ProviderKind::GitHub,
                    "re-sending an invitation that names neither an email nor a login",
                ))
            }
        };
        let request = CreateInvitation::new(organization, invitee).role(previous.role.clone());
        if raw.team_count().unwrap_or(0) == 0 {
            return Ok(vendors::Recreate::Ready(request));
        }
        let plan = self.connection.get(
            &["orgs", organization, "invitations", &previous.id, "teams"],
            [("per_page", "100")],
        );
        // The teams of the invitation complete the request.
        let decode = move |response: &RawResponse, now: SystemTime| {
            if !response.status.is_success() {
                return Err(classify(response, now));
            }
            #[derive(Deserialize)]
            struct Team {
                id: u64,
            }
            let teams: Vec<Team> = serde_json::from_slice(&response.body).map_err(|source| {
                undecodable(
                    response,
                    Undecodable {
                        expected: "a list of teams",
                        source: Some(Box::new(source)),
                    },
                )
            })?;
            let more = response
                .headers
                .get_all(reqwest::header::LINK)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(headers::links)
                .any(|(_, rels)| rels.split_ascii_whitespace().any(|r| r == "next"));
            if more {
                return Err(Failure::inconsistent(
                    ProviderKind::GitHub,
                    response,
                    "the invitation adds the person to more than 100 teams; re-send it by hand",
                    request_id(&response.headers),
                ));
            }
            let teams = GitHubOptions::new().team_ids(teams.into_iter().map(|team| team.id));
            Ok(request.clone().with(teams))
        };
        Ok(vendors::Recreate::After(
            Call::new(INVITATION_TEAMS, ORIGIN, organization, plan, decode)
                .about(Subject::Invitation(&previous.id)),
        ))
    }

    fn member<'a>(
        &'a self,
        organization: &'a str,
        invitee: &'a Invitee,
    ) -> Result<Option<Call<'a, impl Decode<MemberAnswer> + 'a>>, Error> {
        crate::model::request::check_organization(organization)?;
        invitee.validate()?;
        let login = match invitee {
            Invitee::Login(login) => login,
            // Members' emails are private on GitHub: only the pending invitations can say.
            Invitee::Email(_) => return Ok(None),
            _ => {
                return Err(Error::unsupported(
                    ProviderKind::GitHub,
                    "looking up a member by user id (look up by login)",
                ))
            }
        };
        let url = self
            .connection
            .url(&["orgs", organization, "memberships", login]);
        let plan = self.connection.plan(Method::GET, url);
        let decode = |response: &RawResponse, now: SystemTime| {
            match response.status {
                // No membership, active or pending (or an organization the token cannot see:
                // the pending list then says which).
                StatusCode::NOT_FOUND => return Ok(MemberAnswer::NotMember),
                status if !status.is_success() => return Err(classify(response, now)),
                _ => {}
            }
            let membership: GitHubMembership =
                serde_json::from_slice(&response.body).map_err(|source| {
                    undecodable(
                        response,
                        Undecodable {
                            expected: "an organization membership",
                            source: Some(Box::new(source)),
                        },
                    )
                })?;
            Ok(match membership.state.as_deref() {
                Some("active") => MemberAnswer::Member(
                    membership
                        .role
                        .as_deref()
                        .map(role_from_membership)
                        .unwrap_or_default(),
                ),
                Some("pending") => MemberAnswer::Pending,
                other => {
                    return Err(Failure::inconsistent(
                        ProviderKind::GitHub,
                        response,
                        format!("unknown membership state {other:?}"),
                        request_id(&response.headers),
                    ))
                }
            })
        };
        Ok(Some(
            Call::new(MEMBERSHIP, ORIGIN, organization, plan, decode)
                .about(Subject::Invitee(invitee)),
        ))
    }
}

/// The part of GitHub's `org-membership` this crate reads.
#[derive(Deserialize)]
struct GitHubMembership {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

/// A membership's role (`admin`, `member`, `billing_manager`) onto the shared roles.
fn role_from_membership(role: &str) -> Role {
    match role {
        "admin" => Role::Admin,
        "member" => Role::Member,
        "billing_manager" => Role::BillingManager,
        other => Role::Custom(other.to_owned()),
    }
}

/// A success whose body is not the `expected` thing.
pub(crate) fn undecodable_as(
    response: &RawResponse,
    expected: &'static str,
    source: serde_json::Error,
) -> Failure {
    undecodable(
        response,
        Undecodable {
            expected,
            source: Some(Box::new(source)),
        },
    )
}

/// A success whose body is not what was expected.
fn undecodable(response: &RawResponse, problem: Undecodable) -> Failure {
    Failure::undecodable(
        ProviderKind::GitHub,
        response,
        problem.expected,
        problem.source,
        request_id(&response.headers),
    )
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers::text(headers, "x-github-request-id")
}

/// GitHub's `organization-invitation`, kept as GitHub sent it, with the fields this crate
/// reads typed.
///
/// The object's JSON text is kept whole ([`json`](Self::json)), so nothing GitHub sent is
/// lost, fields this crate does not know included ([`get`](Self::get)); the typed fields are
/// read from it in place when the answer is decoded. Missing optional fields are `None`, and
/// so are empty-string failure fields. Serializing gives GitHub's object back, every field
/// and value (through `serde_json::Value`: keys in sorted order, numbers as `serde_json`
/// reads them); [`json`](Self::json) is the text itself. Two invitations are equal when
/// their objects hold the same fields and values.
///
/// ```
/// use orginvite::github::GitHubInvitation;
///
/// let invitation = GitHubInvitation::from_json(
///     r#"{"id": 7, "email": "ada@example.com", "role": "direct_member",
///         "inviter": {"login": "octocat", "id": 1, "type": "User"}, "new_field": true}"#,
/// )?;
/// assert_eq!(invitation.id(), 7);
/// assert_eq!(invitation.email(), Some("ada@example.com"));
/// assert_eq!(invitation.inviter().and_then(|user| user.login()), Some("octocat"));
/// assert_eq!(invitation.get("new_field"), Some(serde_json::json!(true)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct GitHubInvitation {
    /// The object as GitHub sent it: UTF-8, checked when it was read.
    json: Bytes,
    id: u64,
    login: Option<Text>,
    email: Option<Text>,
    role: Option<Text>,
    created_at: Option<Text>,
    failed_at: Option<Text>,
    failed_reason: Option<Text>,
    inviter: Option<UserFields>,
    team_count: Option<u64>,
    node_id: Option<Text>,
    invitation_teams_url: Option<Text>,
    invitation_source: Option<Text>,
}

/// A `simple-user`'s typed fields.
#[derive(Clone, Debug, PartialEq)]
struct UserFields {
    login: Option<Text>,
    id: Option<u64>,
}

/// What GitHub sends, read without copying its strings.
#[derive(Deserialize)]
struct WireInvitation<'a> {
    id: u64,
    #[serde(default, borrow)]
    login: Option<Str<'a>>,
    #[serde(default, borrow)]
    email: Option<Str<'a>>,
    #[serde(default, borrow)]
    role: Option<Str<'a>>,
    #[serde(default, borrow)]
    created_at: Option<Str<'a>>,
    #[serde(default, borrow)]
    failed_at: Option<Str<'a>>,
    #[serde(default, borrow)]
    failed_reason: Option<Str<'a>>,
    #[serde(default, borrow)]
    inviter: Option<WireUser<'a>>,
    #[serde(default)]
    team_count: Option<u64>,
    #[serde(default, borrow)]
    node_id: Option<Str<'a>>,
    #[serde(default, borrow)]
    invitation_teams_url: Option<Str<'a>>,
    #[serde(default, borrow)]
    invitation_source: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct WireUser<'a> {
    #[serde(default, borrow)]
    login: Option<Str<'a>>,
    #[serde(default)]
    id: Option<u64>,
}

impl GitHubInvitation {
    /// Reads one `organization-invitation` object.
    pub fn from_json(json: &str) -> Result<GitHubInvitation, serde_json::Error> {
        let json = payload::json_text(json.as_bytes())?;
        GitHubInvitation::read(Bytes::copy_from_slice(json.as_bytes()), json)
    }

    /// Reads the object `text` (without surrounding whitespace), keeping `json`, its bytes.
    /// Taking the text already checked as UTF-8 spares a second check.
    fn read(json: Bytes, text: &str) -> Result<GitHubInvitation, serde_json::Error> {
        debug_assert_eq!(json, text.as_bytes());
        let wire: WireInvitation = serde_json::from_str(text)?;
        let source = text.as_bytes();
        let text = |value| Text::optional(source, value, false);
        let inviter = wire.inviter.map(|user| UserFields {
            login: text(user.login),
            id: user.id,
        });
        Ok(GitHubInvitation {
            id: wire.id,
            login: text(wire.login),
            email: text(wire.email),
            role: text(wire.role),
            created_at: text(wire.created_at),
            failed_at: Text::optional(source, wire.failed_at, true),
            failed_reason: Text::optional(source, wire.failed_reason, true),
            inviter,
            team_count: wire.team_count,
            node_id: text(wire.node_id),
            invitation_teams_url: text(wire.invitation_teams_url),
            invitation_source: text(wire.invitation_source),
            json,
        })
    }

    fn text<'a>(&'a self, field: &'a Option<Text>) -> Option<&'a str> {
        field.as_ref().map(|text| text.get(&self.json))
    }

    /// The invitation id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The invitee's login; `None` when the invitee has no GitHub account yet.
    pub fn login(&self) -> Option<&str> {
        self.text(&self.login)
    }

    /// The invited email; `None` when invited by user id.
    pub fn email(&self) -> Option<&str> {
        self.text(&self.email)
    }

    /// GitHub's role name (`direct_member`, `admin`, `billing_manager`, ...).
    pub fn role(&self) -> Option<&str> {
        self.text(&self.role)
    }

    /// When it was created, as GitHub wrote it (RFC 3339 with offset).
    pub fn created_at(&self) -> Option<&str> {
        self.text(&self.created_at)
    }

    /// When delivery failed, if it did.
    pub fn failed_at(&self) -> Option<&str> {
        self.text(&self.failed_at)
    }

    /// Why delivery failed, if it did.
    pub fn failed_reason(&self) -> Option<&str> {
        self.text(&self.failed_reason)
    }

    /// Who sent it.
    pub fn inviter(&self) -> Option<GitHubUser<'_>> {
        self.inviter.as_ref().map(|user| GitHubUser {
            invitation: &self.json,
            login: user.login.as_ref().map(|login| login.get(&self.json)),
            id: user.id,
        })
    }

    /// How many teams it adds the person to.
    pub fn team_count(&self) -> Option<u64> {
        self.team_count
    }

    /// The GraphQL node id.
    pub fn node_id(&self) -> Option<&str> {
        self.text(&self.node_id)
    }

    /// The API URL listing its teams.
    pub fn invitation_teams_url(&self) -> Option<&str> {
        self.text(&self.invitation_teams_url)
    }

    /// Where it came from (`member`, `scim`, ...).
    pub fn invitation_source(&self) -> Option<&str> {
        self.text(&self.invitation_source)
    }

    /// The object as GitHub sent it (JSON text, without surrounding whitespace).
    pub fn json(&self) -> &str {
        payload::checked_text(&self.json)
    }

    /// Any field GitHub sent, known to this crate or not, decoded on demand; `None` when the
    /// object has no such field.
    pub fn get(&self, field: &str) -> Option<Value> {
        payload::field(self.json(), field)
    }
}

impl fmt::Debug for GitHubInvitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubInvitation")
            .field("id", &self.id)
            .field("login", &self.login())
            .field("email", &self.email())
            .field("role", &self.role())
            .field("created_at", &self.created_at())
            .field("failed_at", &self.failed_at())
            .field("failed_reason", &self.failed_reason())
            .field("inviter", &self.inviter())
            .field("team_count", &self.team_count)
            .field("node_id", &self.node_id())
            .field("invitation_teams_url", &self.invitation_teams_url())
            .field("invitation_source", &self.invitation_source())
            .field("json", &self.json())
            .finish()
    }
}

impl PartialEq for GitHubInvitation {
    fn eq(&self, other: &Self) -> bool {
        // The same text is the same object; otherwise compare what the texts hold (white
        // space, key order and escapes aside).
        self.json == other.json
            || serde_json::from_str::<Value>(self.json()).ok()
                == serde_json::from_str::<Value>(other.json()).ok()
    }
}

impl Eq for GitHubInvitation {}

impl sealed::Sealed for GitHubInvitation {}

impl std::str::FromStr for GitHubInvitation {
    type Err = serde_json::Error;

    /// Reads one `organization-invitation` object, as [`GitHubInvitation::from_json`].
    fn from_str(json: &str) -> Result<Self, Self::Err> {
        GitHubInvitation::from_json(json)
    }
}

impl Serialize for GitHubInvitation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        payload::serialize(self.json(), serializer)
    }
}

impl<'de> Deserialize<'de> for GitHubInvitation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = payload::deserialize_text(deserializer)?;
        GitHubInvitation::from_json(&json).map_err(serde::de::Error::custom)
    }
}

/// A GitHub `simple-user` inside an invitation: the fields this crate reads, and the object
/// as GitHub sent it, found in the invitation's on demand ([`json`](Self::json),
/// [`get`](Self::get)). Two users are equal when their objects hold the same fields and
/// values.
#[derive(Clone, Copy)]
pub struct GitHubUser<'a> {
    /// The invitation's JSON text (checked as UTF-8 when it was read), which holds this
    /// user's.
    invitation: &'a [u8],
    login: Option<&'a str>,
    id: Option<u64>,
}

impl fmt::Debug for GitHubUser<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubUser")
            .field("login", &self.login)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl PartialEq for GitHubUser<'_> {
    fn eq(&self, other: &Self) -> bool {
        let (mine, theirs) = (self.json(), other.json());
        mine == theirs
            || serde_json::from_str::<Value>(mine).ok()
                == serde_json::from_str::<Value>(theirs).ok()
    }
}

impl Eq for GitHubUser<'_> {}

impl<'a> GitHubUser<'a> {
    /// The login.
    pub fn login(&self) -> Option<&'a str> {
        self.login
    }

    /// The user id.
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// The object as GitHub sent it (JSON text), found in the invitation's on demand.
    pub fn json(&self) -> &'a str {
        #[derive(Deserialize)]
        struct Holder<'a> {
            #[serde(borrow)]
            inviter: &'a RawValue,
        }
        serde_json::from_str::<Holder<'a>>(payload::checked_text(self.invitation))
            .map(|holder| holder.inviter.get())
            // The invitation was read with this object in it.
            .unwrap_or("{}")
    }

    /// Any field GitHub sent (`type`, `site_admin`, ...), decoded on demand.
    pub fn get(&self, field: &str) -> Option<Value> {
        payload::field(self.json(), field)
    }
}

/// GitHub's role name onto the shared roles.
fn role_from_github(role: &str) -> Role {
    match role {
        "admin" => Role::Admin,
        "direct_member" => Role::Member,
        "billing_manager" => Role::BillingManager,
        other => Role::Custom(other.to_owned()),
    }
}

/// Decodes one invitation; `requested` is the role to report when GitHub's answer names
/// none, `status` the one to report unless it failed.
fn decode_invitation(
    body: &Bytes,
    requested: &Role,
    status: InvitationStatus,
) -> Result<Invitation, serde_json::Error> {
    let text = payload::json_text(body)?;
    // A copy of the object: the answer's bytes can be a slice of the connection's read buffer,
    // which a kept invitation must not keep alive.
    let json = Bytes::copy_from_slice(text.as_bytes());
    Ok(unify(
        GitHubInvitation::read(json, text)?,
        requested,
        status,
    ))
}

/// Decodes a page of a list: every invitation is in `status` unless it failed.
fn decode_list(
    body: &Bytes,
    status: &InvitationStatus,
) -> Result<Vec<Invitation>, serde_json::Error> {
    let page: Vec<&RawValue> = serde_json::from_str(payload::json_text(body)?)?;
    page.into_iter()
        .map(|raw| {
            // Each its own copy: one invitation kept must not keep its whole page.
            let text = raw.get();
            let raw = GitHubInvitation::read(Bytes::copy_from_slice(text.as_bytes()), text)?;
            Ok(unify(raw, &Role::Member, status.clone()))
        })
        .collect()
}

fn unify(raw: GitHubInvitation, requested: &Role, status: InvitationStatus) -> Invitation {
    let created_at = raw.created_at().and_then(crate::vendors::timestamp::parse);
    let expires_at = created_at.and_then(|t| t.checked_add(INVITATION_LIFETIME).ok());
    let status = if raw.failed_at.is_some() {
        InvitationStatus::Failed
    } else {
        status
    };
    let inviter = raw.inviter().map(|user| Inviter {
        id: user.id().map(|id| id.to_string()),
        name: user.login().map(str::to_owned),
    });
    Invitation {
        provider: ProviderKind::GitHub,
        id: raw.id.to_string(),
        email: raw.email().map(str::to_owned),
        login: raw.login().map(str::to_owned),
        role: raw
            .role()
            .map(role_from_github)
            .unwrap_or_else(|| requested.clone()),
        status,
        created_at,
        expires_at,
        inviter,
        accept_url: None,
        payload: Payload::new(raw),
    }
}

/// GitHub's error bodies: `basic-error` and `validation-error`, read leniently.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorDetail>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorDetail {
    code: Option<String>,
    field: Option<String>,
    message: Option<String>,
}

pub(crate) fn classify(response: &RawResponse, now: SystemTime) -> Failure {
    let status = response.status;
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let rate_limit = rate_limit(&response.headers, now);
    let detail_messages: Vec<&str> = body
        .errors
        .iter()
        .filter_map(|detail| detail.message.as_deref())
        .collect();
    let all_text = std::iter::once(body.message.as_deref().unwrap_or(""))
        .chain(detail_messages.iter().copied())
        .collect::<Vec<_>>()
        .join(" | ")
        .to_lowercase();
    let retry_after = headers::retry_after(&response.headers);
    let reset = rate_limit.reset.map(|reset| {
        crate::engine::later(SystemTime::from(reset), crate::engine::pacing::RESET_MARGIN)
    });
    let primary = rate_limit.remaining == Some(0);

    let (kind, retry) = match status.as_u16() {
        403 | 429
            if all_text.contains("secondary rate limit")
                || all_text.contains("abuse detection") =>
        {
            let wait = match (retry_after, reset) {
                (Some(wait), _) => wait,
                (None, Some(reset)) if primary => Wait::Until(reset),
                _ => Wait::Backoff {
                    floor: SECONDARY_LIMIT_WAIT,
                },
            };
            (ErrorKind::RateLimited, RetryHint::After(wait))
        }
        403 | 429 if primary || status == StatusCode::TOO_MANY_REQUESTS => {
            let wait = match (retry_after, reset) {
                (Some(wait), _) => wait,
                (None, Some(reset)) if primary => Wait::Until(reset),
                _ => Wait::Backoff {
                    floor: Duration::ZERO,
                },
            };
            (ErrorKind::RateLimited, RetryHint::After(wait))
        }
        422 => {
            let kind = if all_text.contains("already a part of this organization")
                || all_text.contains("already a member")
            {
                ErrorKind::AlreadyMember
            } else if all_text.contains("already been invited")
                || all_text.contains("already invited")
                || all_text.contains("pending invitation")
            {
                ErrorKind::AlreadyInvited
            } else if all_text.contains("over invitation rate limit") {
                ErrorKind::QuotaExceeded
            } else if all_text.contains("valid email")
                || body.errors.iter().any(|d| {
                    d.field.as_deref() == Some("email") && d.code.as_deref() == Some("invalid")
                })
            {
                ErrorKind::InvalidEmail
            } else {
                ErrorKind::Validation
            };
            (kind, RetryHint::Never)
        }
        _ => (
            ErrorKind::from_status(status),
            status_retry(status, &response.headers),
        ),
    };

    let message = match (body.message.as_deref(), detail_messages.as_slice()) {
        (Some(top), []) => Some(top.to_owned()),
        (Some(top), details) => Some(format!("{top}: {}", details.join("; "))),
        (None, []) => None,
        (None, details) => Some(details.join("; ")),
    };
    let details = VendorDetails {
        codes: body.errors.iter().filter_map(|d| d.code.clone()).collect(),
        message,
        request_id: request_id(&response.headers),
    };
    Failure::answer(ORIGIN, response, now, kind, retry, details)
}

/// How a roster file's `github` entries are checked: GitHub's three roles, logins and team
/// slugs.
#[cfg(feature = "roster")]
pub(crate) const ROSTER_RULES: vendors::RosterRules = vendors::RosterRules {
    provider: ProviderKind::GitHub,
    role: |role| match role {
        "admin" => Ok(Role::Admin),
        "member" => Ok(Role::Member),
        "billing-manager" => Ok(Role::BillingManager),
        other => Err(format!(
            "unknown role {other:?} (admin, member or billing-manager)"
        )),
    },
    check_login: Some(|login| {
        let valid = !login.is_empty()
            && login.len() <= 39
            && !login.starts_with('-')
            && !login.ends_with('-')
            && !login.contains("--")
            && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if valid {
            Ok(())
        } else {
            Err(format!(
                "login {login:?} is not a GitHub login (letters, digits and single hyphens, at \
                 most 39)"
            ))
        }
    }),
    check_team: Some(|slug| {
        let valid = !slug.is_empty()
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if valid {
            Ok(())
        } else {
            Err(format!("team {slug:?} is not a team slug"))
        }
    }),
    with_teams: |request, teams| {
        if teams.is_empty() {
            return request;
        }
        let options = teams.iter().fold(GitHubOptions::new(), |options, slug| {
            options.team_slug(slug)
        });
        request.with(options)
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn rate_limit_headers_read_as_github_means_them() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let info = rate_limit(
            &headers(&[
                ("x-ratelimit-limit", "5000"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-used", "5000"),
                ("x-ratelimit-reset", "-5"),
                ("x-ratelimit-reset", "1060"),
                ("x-ratelimit-resource", "  "),
                ("x-ratelimit-resource", "core"),
                ("x-ratelimit-interval", "1m"),
            ]),
            now,
        );
        assert_eq!(
            (info.limit, info.remaining, info.used),
            (Some(5000), Some(0), Some(5000))
        );
        assert_eq!(
            info.reset,
            Some(jiff::Timestamp::from_second(1060).unwrap())
        );
        assert_eq!(info.resource.as_deref(), Some("core"));
        // Another vendor's field means nothing here.
        assert_eq!(info.interval, None);
        let absurd = rate_limit(
            &headers(&[("x-ratelimit-reset", "18446744073709551615")]),
            now,
        );
        assert_eq!(absurd.reset, None);
    }

    #[test]
    fn roles_map_back() {
        assert_eq!(role_from_github("admin"), Role::Admin);
        assert_eq!(role_from_github("direct_member"), Role::Member);
        assert_eq!(role_from_github("billing_manager"), Role::BillingManager);
        assert_eq!(
            role_from_github("hiring_manager"),
            Role::Custom("hiring_manager".into())
        );
    }
}
