//! Clerk: `POST {base}/organizations/{organization_id}/invitations` on the Backend API.
//!
//! | unified | Clerk |
//! |---|---|
//! | [`Role::Admin`] | `org:admin` |
//! | [`Role::Member`] | `org:member` |
//! | [`Role::Custom`] | a role key `org:<key>` (such as `org:viewer`), sent as it is; anything else is refused |
//! | [`Role::BillingManager`] | unsupported: Clerk has no such role |
//! | [`Invitee::Email`] | `email_address` |
//! | [`Invitee::UserId`] | unsupported: Clerk invites by email address |
//! | [`CreateInvitation::expires_in`] | `expires_in_days`: a whole number of days, 1 to 365 |
//! | [`ClerkOptions::inviter_user_id`] | `inviter_user_id` (an administrator of the organization) |
//! | [`ClerkOptions::public_metadata`] | `public_metadata` (a JSON object, sent as it is) |
//! | [`ClerkOptions::private_metadata`] | `private_metadata` (a JSON object, sent as it is) |
//! | [`ClerkOptions::redirect_url`] | `redirect_url` |
//! | [`ClerkOptions::notify`] | `notify` (`false`: no email is sent) |
//!
//! Only the fields that are set are sent. Success is `200 OK` with an
//! `OrganizationInvitation` whose timestamps are Unix milliseconds.
//!
//! Failures are read from Clerk's `{errors: [{code, message, long_message, meta}],
//! clerk_trace_id}` body and classified by code: `already_a_member_in_organization` is
//! `already_member`; `organization_invitation_not_unique` and `duplicate_record` are
//! `already_invited`; `form_param_format_invalid` on `email_address` is `invalid_email`;
//! `organization_membership_quota_exceeded` is `quota_exceeded`; other codes follow the
//! status (401 `unauthenticated`, 402 `payment_required`, 403 `permission_denied`, 404
//! `not_found`, 400 and 422 `validation`). A 409 is a `conflict` that is retried (nothing was
//! created), a 429 is `rate_limited` and waits for `Retry-After`, a 5xx is `server_error` and
//! may have created the invitation (retried only as a 503 with `Retry-After`). The trace id
//! comes from the body's `clerk_trace_id`, else the `Clerk-Trace-Id` header, else `cf-ray`.

#[cfg(feature = "webhooks")]
mod webhook;
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub use webhook::{decode_webhook, receive_webhook, verify_webhook};

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
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
use crate::vendors::{self, MemberAnswer, Page, Vendor, CANCEL, LIST, MEMBERSHIP};

/// Clerk's Backend API.
pub const DEFAULT_BASE_URL: &str = "https://api.clerk.com/v1";
/// The API version sent in `Clerk-API-Version` unless the caller sets another or turns it off.
pub const DEFAULT_API_VERSION: &str = "2026-05-12";
/// The longest expiry Clerk accepts, in days.
pub const MAX_EXPIRY_DAYS: u64 = 365;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Options only Clerk has; other providers ignore them.
///
/// The expiry is the shared [`CreateInvitation::expires_in`]; on Clerk it must be a whole
/// number of days from 1 to 365.
///
/// ```
/// use orginvite::clerk::ClerkOptions;
/// use serde_json::json;
///
/// let options = ClerkOptions::new()
///     .inviter_user_id("user_2V7JJKmoA9HqzHhfMqK5cpgLl56")
///     .public_metadata(json!({"team": "design"}).as_object().unwrap().clone())
///     .redirect_url("https://app.example.com/welcome")
///     .notify(false);
/// assert_eq!(options.notify, Some(false));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClerkOptions {
    /// The user sending the invitation (`inviter_user_id`); an administrator of the
    /// organization.
    pub inviter_user_id: Option<String>,
    /// Metadata visible to the frontend and backend, copied to the membership on accepting.
    pub public_metadata: Option<Map<String, Value>>,
    /// Metadata visible to the backend only, copied to the membership on accepting.
    pub private_metadata: Option<Map<String, Value>>,
    /// Where the person lands after accepting (`redirect_url`).
    pub redirect_url: Option<String>,
    /// Whether Clerk emails the invitation (`notify`); Clerk's default is to send it.
    pub notify: Option<bool>,
}

impl sealed::Sealed for ClerkOptions {}
impl VendorOptions for ClerkOptions {}

/// The options of a request that carries none.
static NO_OPTIONS: ClerkOptions = ClerkOptions {
    inviter_user_id: None,
    public_metadata: None,
    private_metadata: None,
    redirect_url: None,
    notify: None,
};

impl ClerkOptions {
    /// No options.
    pub fn new() -> ClerkOptions {
        ClerkOptions::default()
    }

    setters! {
        /// Sets the inviting user's id.
        inviter_user_id(self, user_id: impl Into<String>) { self.inviter_user_id = Some(user_id.into()) }

        /// Sets the public metadata.
        public_metadata(self, metadata: Map<String, Value>) { self.public_metadata = Some(metadata) }

        /// Sets the private metadata.
        private_metadata(self, metadata: Map<String, Value>) { self.private_metadata = Some(metadata) }

        /// Sets the URL the person lands on after accepting.
        redirect_url(self, url: impl Into<String>) { self.redirect_url = Some(url.into()) }

        /// Sets whether Clerk emails the invitation.
        notify(self, notify: bool) { self.notify = Some(notify) }
    }
}

/// Options only Clerk's lists have; other providers ignore them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClerkListOptions {
    /// The order (`order_by`): `created_at` or `email_address`, prefixed with `+` (ascending)
    /// or `-` (descending). Clerk's default is `-created_at`, newest first.
    pub order_by: Option<String>,
}

impl sealed::Sealed for ClerkListOptions {}
impl VendorListOptions for ClerkListOptions {}

impl ClerkListOptions {
    /// No options.
    pub fn new() -> ClerkListOptions {
        ClerkListOptions::default()
    }

    setters! {
        /// Sets the order, e.g. `+email_address`.
        order_by(self, order: impl Into<String>) { self.order_by = Some(order.into()) }
    }
}

/// The most invitations Clerk's bulk endpoint creates in one request.
pub const MAX_BULK: usize = 10;

/// The largest page Clerk's lists return.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Clerk's documented limits: 250 invitations per hour per instance on the create endpoint,
/// and 50 requests per hour on the bulk endpoint (up to 10 invitations each), both paced as
/// sliding windows: never more starts than that in any hour.
pub fn default_pacing() -> Pacing {
    Pacing::rate(250, Duration::from_secs(60 * 60))
        .with_batch_rate(50, Duration::from_secs(60 * 60))
}

/// Clerk-only builder settings; see [`Clerk::builder`](crate::Clerk).
#[derive(Clone, Debug)]
pub struct ClerkSettings {
    api_version: Option<String>,
}

impl Default for ClerkSettings {
    fn default() -> ClerkSettings {
        ClerkSettings {
            api_version: Some(DEFAULT_API_VERSION.to_owned()),
        }
    }
}

impl VendorSettings for ClerkSettings {
    type Vendor = ClerkVendor;
}

/// Builds a [`Clerk`](crate::Clerk) client: [`Clerk::builder`](crate::Client::builder).
pub type ClerkBuilder = ClientBuilder<ClerkSettings>;

impl ClientBuilder<ClerkSettings> {
    setters! {
        /// The API version sent in `Clerk-API-Version`. Defaults to `2026-05-12`.
        api_version(self, version: impl Into<String>) { self.vendor.api_version = Some(version.into()) }

        /// Sends no `Clerk-API-Version` header: Clerk then answers with the instance's default
        /// version.
        without_api_version(self) { self.vendor.api_version = None }
    }
}

/// Clerk's Backend API, as the vendor of a [`Client`](crate::Client): see
/// [`Clerk`](crate::Clerk).
///
/// Defaults: `https://api.clerk.com/v1`, API version `2026-05-12`, and [`default_pacing`].
/// The credential is the instance's secret key (`sk_live_...` or `sk_test_...`); the
/// organization is Clerk's `org_...` id.
#[derive(Clone)]
pub struct ClerkVendor {
    connection: Connection,
}

impl fmt::Debug for ClerkVendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.connection, f)
    }
}

/// The JSON body of the request: only the fields that are set.
#[derive(Serialize)]
struct Body<'a> {
    email_address: &'a str,
    role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    inviter_user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_metadata: Option<&'a Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_metadata: Option<&'a Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_days: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify: Option<bool>,
}

fn invalid(field: &'static str, reason: &str) -> Error {
    Error::invalid(Some(ProviderKind::Clerk), field, reason)
}

/// The expiry as Clerk's whole days, 1 to 365; anything else is refused, never rounded.
fn expiry_days(expires_in: Duration) -> Result<u64, Error> {
    let whole_days = expires_in.subsec_nanos() == 0 && expires_in.as_secs() % DAY.as_secs() == 0;
    if !whole_days {
        return Err(invalid(
            "expires_in",
            "must be a whole number of days on Clerk (1 to 365)",
        ));
    }
    let days = expires_in.as_secs() / DAY.as_secs();
    if !(1..=MAX_EXPIRY_DAYS).contains(&days) {
        return Err(invalid(
            "expires_in",
            &format!("must be from 1 to 365 days on Clerk, not {days}"),
        ));
    }
    Ok(days)
}

/// Text Clerk reads as an identifier: non-empty, no spaces or control characters.
fn check_plain(field: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(
            field,
            "must not contain spaces or control characters",
        ));
    }
    Ok(())
}

impl ClerkVendor {
    fn body<'a>(&self, request: &'a CreateInvitation) -> Result<Body<'a>, Error> {
        request.validate()?;
        let email_address = vendors::invited_email(ProviderKind::Clerk, &request.invitee)?;
        let role = match &request.role {
            Role::Admin => "org:admin",
            Role::Member => "org:member",
            // Clerk's role keys all start `org:` (its own and the ones an instance adds).
            Role::Custom(role) if role.strip_prefix("org:").is_some_and(|key| !key.is_empty()) => {
                role.as_str()
            }
            Role::Custom(role) => {
                return Err(invalid(
                    "role",
                    &format!(
                        "unknown role {role:?} for Clerk: admin, member, or a role key such as \
                         org:viewer"
                    ),
                ))
            }
            Role::BillingManager => {
                return Err(Error::unsupported(
                    ProviderKind::Clerk,
                    "the billing manager role (Clerk has no such role; use a custom role key)",
                ))
            }
        };
        let expires_in_days = request.expires_in.map(expiry_days).transpose()?;
        let options = request.options::<ClerkOptions>().unwrap_or(&NO_OPTIONS);
        if let Some(inviter) = &options.inviter_user_id {
            check_plain("inviter_user_id", inviter)?;
        }
        if let Some(redirect) = &options.redirect_url {
            check_plain("redirect_url", redirect)?;
            if Url::parse(redirect).is_err() {
                return Err(invalid("redirect_url", "must be an absolute URL"));
            }
        }
        Ok(Body {
            email_address,
            role,
            inviter_user_id: options.inviter_user_id.as_deref(),
            public_metadata: options.public_metadata.as_ref(),
            private_metadata: options.private_metadata.as_ref(),
            redirect_url: options.redirect_url.as_deref(),
            expires_in_days,
            notify: options.notify,
        })
    }
}

/// Clerk's word for a status in the list's `status` filter.
fn status_filter(status: &InvitationStatus) -> Result<&'static str, Error> {
    Ok(match status {
        InvitationStatus::Pending => "pending",
        InvitationStatus::Accepted => "accepted",
        InvitationStatus::Revoked => "revoked",
        InvitationStatus::Expired => "expired",
        other => {
            return Err(Error::unsupported(
                ProviderKind::Clerk,
                format!(
                    "listing {other} invitations (Clerk lists pending, accepted, revoked and \
                     expired ones)"
                ),
            ))
        }
    })
}

/// Checks an `order_by` value: `created_at` or `email_address`, optionally after `+` or `-`.
fn check_order(order: &str) -> Result<(), Error> {
    let field = order.strip_prefix(['+', '-']).unwrap_or(order);
    if matches!(field, "created_at" | "email_address") {
        Ok(())
    } else {
        Err(invalid(
            "order_by",
            "must be `created_at` or `email_address`, optionally after `+` or `-`",
        ))
    }
}

/// A success whose body is not what was expected.
fn undecodable(response: &RawResponse, problem: Undecodable) -> Failure {
    Failure::undecodable(
        ProviderKind::Clerk,
        response,
        problem.expected,
        problem.source,
        header_trace_id(&response.headers),
    )
}

/// Clerk's paginated envelope: `{data, total_count}`.
/// One page of Clerk's `{data, total_count}` lists, from a success answer.
fn page_of<T: serde::de::DeserializeOwned>(
    response: &RawResponse,
    expected: &'static str,
) -> Result<Paginated<T>, Failure> {
    serde_json::from_slice(&response.body).map_err(|source| {
        let source: Box<dyn std::error::Error + Send + Sync> = Box::new(source);
        undecodable(
            response,
            Undecodable {
                expected,
                source: Some(source),
            },
        )
    })
}

#[derive(Deserialize)]
struct Paginated<T> {
    data: Vec<T>,
    total_count: u64,
}

/// The part of Clerk's `OrganizationMembership` this crate reads.
#[derive(Deserialize)]
struct ClerkMembership {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    public_user_data: Option<ClerkMemberData>,
}

/// The part of a membership's `public_user_data` that says who it is.
#[derive(Deserialize)]
struct ClerkMemberData {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    username: Option<String>,
    /// The user's primary identifier: their email address, for users who sign in with one.
    #[serde(default)]
    identifier: Option<String>,
}

impl ClerkMembership {
    /// Whether this membership can be `invitee`'s: the user id or username, when Clerk names
    /// them, must be the one asked for (an email is checked by Clerk's filter alone: a user
    /// may have several addresses).
    fn is_for(&self, invitee: &Invitee) -> bool {
        let data = self.public_user_data.as_ref();
        match invitee {
            Invitee::UserId(id) => data
                .and_then(|d| d.user_id.as_deref())
                .is_none_or(|found| found == id),
            Invitee::Login(login) => data
                .and_then(|d| d.username.as_deref())
                .is_none_or(|found| found.eq_ignore_ascii_case(login)),
            Invitee::Email(_) => true,
        }
    }
}

/// Clerk's rate-limit headers: `Retry-After`, and the common `x-ratelimit-*` ones should it
/// send them (it documents none).
fn rate_limit(headers: &HeaderMap, now: SystemTime) -> RateLimitInfo {
    headers::rate_limit_info(headers, now, headers::no_more_fields)
}

/// Clerk, as the engine knows it.
const ORIGIN: Origin = Origin::new(ProviderKind::Clerk, rate_limit);

impl sealed::Sealed for ClerkVendor {}

impl Vendor for ClerkVendor {
    type Settings = ClerkSettings;
    /// The offset of the page in the list.
    type Cursor = u64;

    /// Checks the settings and builds the engine and the mapping. Nothing is sent.
    fn build(settings: ClerkSettings, common: CommonSettings) -> Result<(Engine, Self), Error> {
        let built = common.build("Clerk", DEFAULT_BASE_URL, default_pacing(), false)?;
        let api_version = match settings.api_version.as_deref() {
            Some(version) => Some(header_text(version).ok_or_else(|| {
                Error::config("the Clerk API version must be printable text on one line")
            })?),
            None => None,
        };
        let version = api_version.map(|v| (HeaderName::from_static("clerk-api-version"), v));
        let (engine, connection) = built.into_parts("Bearer", "application/json", version);
        Ok((engine, ClerkVendor { connection }))
    }

    const ORIGIN: Origin = ORIGIN;
    const MAX_CREATE_BATCH: usize = MAX_BULK;

    fn doom(&self, error: &Error) -> Option<vendors::Doom> {
        // About this request only: an unknown role key ("Organization role not found") and an
        // inviter who is no administrator.
        let api = error.as_api();
        let about_the_request = api.is_some_and(|api| {
            api.codes
                .iter()
                .any(|c| c == "not_an_admin_in_organization")
                || (api.kind == ErrorKind::NotFound
                    && api
                        .message
                        .as_deref()
                        .is_some_and(|m| m.to_ascii_lowercase().contains("role")))
        });
        if about_the_request {
            return None;
        }
        crate::vendors::default_doom(error)
    }

    fn create<'a>(
        &'a self,
        request: &'a CreateInvitation,
    ) -> Result<Call<'a, impl Decode<Invitation> + 'a>, Error> {
        let body = self.body(request)?;
        let plan = self
            .connection
            .post_json(
                &["organizations", &request.organization, "invitations"],
                &body,
            )
            .map_err(|e| invalid("request", &e.to_string()))?;
        Ok(vendors::create_call(self, request, plan))
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
        decode_invitation(&request.role, &response.body)
            .map_err(Undecodable::from)
            .and_then(|invitation| crate::engine::check_answers(request, invitation))
            .map_err(|problem| undecodable(response, problem))
    }

    fn batch_key(&self, request: &CreateInvitation) -> Option<String> {
        // Each item of Clerk's bulk call is a whole create of its own: any two invitations by
        // email to one organization can share a call.
        request
            .invitee
            .as_email()
            .map(|_| request.organization.clone())
    }

    fn create_batch<'a>(
        &'a self,
        requests: &'a [&'a CreateInvitation],
    ) -> Result<Call<'a, impl Decode<Vec<Invitation>> + 'a>, Error> {
        let first = requests
            .first()
            .ok_or_else(|| invalid("requests", "must not be empty"))?;
        if requests.len() > MAX_BULK {
            return Err(invalid("requests", "at most 10 go in one bulk call"));
        }
        let bodies = requests
            .iter()
            .map(|request| self.body(request))
            .collect::<Result<Vec<_>, _>>()?;
        let organization = first.organization.as_str();
        if requests.iter().any(|r| r.organization != organization) {
            return Err(invalid(
                "organization",
                "must be the same for one bulk call",
            ));
        }
        let plan = self
            .connection
            .post_json(
                &["organizations", organization, "invitations", "bulk"],
                &bodies,
            )
            .map_err(|e| invalid("request", &e.to_string()))?;
        let decode = move |response: &RawResponse, now: SystemTime| {
            if !response.status.is_success() {
                return Err(classify(response, now));
            }
            let page: Paginated<ClerkInvitation> = serde_json::from_slice(&response.body)
                .map_err(|source| undecodable(response, Undecodable::from(source)))?;
            Ok(page
                .data
                .into_iter()
                .map(|raw| unify(raw, &Role::Member))
                .collect())
        };
        Ok(
            Call::new(vendors::CREATE_MANY, ORIGIN, organization, plan, decode)
                .about(Subject::Invitations(requests.len())),
        )
    }

    fn list_page<'a>(
        &'a self,
        query: &'a ListInvitations,
        cursor: u64,
    ) -> Result<Call<'a, impl Decode<Page<u64>> + 'a>, Error> {
        query.validate()?;
        let statuses = query
            .statuses
            .iter()
            .map(status_filter)
            .collect::<Result<Vec<_>, _>>()?;
        let limit = query.page_size.unwrap_or(MAX_PAGE_SIZE);
        if limit > MAX_PAGE_SIZE {
            return Err(invalid("page_size", "must be at most 500 on Clerk"));
        }
        let order_by = query
            .options::<ClerkListOptions>()
            .and_then(|options| options.order_by.as_deref());
        if let Some(order) = order_by {
            check_order(order)?;
        }
        let offset = cursor;
        let brief = query.brief;
        let (limit_text, offset_text) = (limit.to_string(), offset.to_string());
        let mut pairs = vec![
            ("limit", limit_text.as_str()),
            ("offset", offset_text.as_str()),
        ];
        pairs.extend(statuses.iter().map(|status| ("status", *status)));
        if let Some(email) = &query.email {
            pairs.push(("email_address", email));
        }
        if let Some(order) = order_by {
            pairs.push(("order_by", order));
        }
        let plan = self.connection.get(
            &["organizations", &query.organization, "invitations"],
            pairs,
        );
        let decode = move |response: &RawResponse, now: SystemTime| {
            if !response.status.is_success() {
                return Err(classify(response, now));
            }
            let (invitations, count, total): (Vec<Invitation>, usize, u64) = if brief {
                // A snapshot's read keeps no payload: the few fields it needs, no more.
                let page: Paginated<BriefInvitation> =
                    page_of(response, "a page of organization invitations")?;
                let count = page.data.len();
                let items = page.data.into_iter().map(BriefInvitation::unify).collect();
                (items, count, page.total_count)
            } else {
                let page: Paginated<ClerkInvitation> =
                    page_of(response, "a page of organization invitations")?;
                let count = page.data.len();
                let items = page
                    .data
                    .into_iter()
                    .map(|raw| unify(raw, &Role::Member))
                    .collect();
                (items, count, page.total_count)
            };
            let seen = offset.saturating_add(count as u64);
            let next = (count > 0 && seen < total).then_some(seen);
            Ok(Page {
                items: invitations,
                next,
            })
        };
        Ok(Call::new(LIST, ORIGIN, &query.organization, plan, decode))
    }

    /// Clerk lists the newest first (`-created_at`): a read for lookups stops once it is
    /// past the creates it must show, one page however many invitations the organization has.
    fn recent_query(&self, organization: &str) -> Result<(ListInvitations, bool), Error> {
        crate::model::request::check_organization(organization)?;
        let newest_first = ClerkListOptions::new().order_by("-created_at");
        Ok((ListInvitations::new(organization).with(newest_first), true))
    }

    fn cancel<'a>(
        &'a self,
        organization: &'a str,
        id: &'a str,
    ) -> Result<Call<'a, impl Decode<Cancelled> + 'a>, Error> {
        crate::model::request::check_organization(organization)?;
        check_plain("id", id)?;
        let url =
            self.connection
                .url(&["organizations", organization, "invitations", id, "revoke"]);
        // The body is optional; an empty object asks for nothing more.
        let plan = self
            .connection
            .json(Method::POST, url, &serde_json::json!({}))
            .map_err(|e| invalid("request", &e.to_string()))?;
        let decode = move |response: &RawResponse, now: SystemTime| {
            if !response.status.is_success() {
                let failure = classify(response, now);
                // Clerk answers 404 both for an invitation that is not pending and for an
                // id it does not know.
                let failure = match response.status {
                    StatusCode::NOT_FOUND => failure.with_kind(ErrorKind::NotPending),
                    _ => failure,
                };
                // After an attempt that may have revoked it, "not pending" is that revocation.
                if response.after_doubt && failure.kind() == ErrorKind::NotPending {
                    return Ok(Cancelled::new(ProviderKind::Clerk, id, None));
                }
                return Err(failure);
            }
            let invitation = decode_invitation(&Role::Member, &response.body)
                .map_err(|source| undecodable(response, Undecodable::from(source)))?;
            Ok(Cancelled::new(ProviderKind::Clerk, id, Some(invitation)))
        };
        Ok(Call::new(CANCEL, ORIGIN, organization, plan, decode).about(Subject::Invitation(id)))
    }

    fn recreate<'a>(
        &'a self,
        organization: &'a str,
        previous: &'a Invitation,
    ) -> Result<vendors::Recreate<'a, impl Decode<CreateInvitation> + 'a>, Error> {
        let raw = previous.payload.get::<ClerkInvitation>().ok_or_else(|| {
            Error::unsupported(
                ProviderKind::Clerk,
                "re-creating another vendor's invitation",
            )
        })?;
        let email = raw.email_address.clone().ok_or_else(|| {
            Error::unsupported(
                ProviderKind::Clerk,
                "re-sending an invitation without an email",
            )
        })?;
        let mut options = ClerkOptions::new();
        options.public_metadata = raw.public_metadata.clone().filter(|m| !m.is_empty());
        options.private_metadata = raw.private_metadata.clone().filter(|m| !m.is_empty());
        options.inviter_user_id = non_empty(raw.inviter_id.as_deref()).map(str::to_owned);
        Ok(vendors::Recreate::ready(
            CreateInvitation::email(organization, email)
                .role(previous.role.clone())
                .with(options),
        ))
    }

    /// The pending invitations and the expired ones, in one list of 500 a page, read without
    /// their payload (what makes a page of Clerk's invitations costly to hold).
    fn snapshot_query(&self, organization: &str) -> Result<ListInvitations, Error> {
        crate::model::request::check_organization(organization)?;
        let mut query = ListInvitations::new(organization)
            .statuses([InvitationStatus::Pending, InvitationStatus::Expired]);
        query.brief = true;
        Ok(query)
    }

    /// `GET /organizations/{id}/memberships`, 500 a page: each member's user id, username,
    /// role, and email where their identifier is one.
    fn members_page<'a>(
        &'a self,
        organization: &'a str,
        cursor: u64,
    ) -> Result<Call<'a, impl Decode<Page<u64, Member>> + 'a>, Error> {
        crate::model::request::check_organization(organization)?;
        let offset = cursor;
        let (limit, offset_text) = (MAX_PAGE_SIZE.to_string(), offset.to_string());
        let plan = self.connection.get(
            &["organizations", organization, "memberships"],
            [("limit", limit.as_str()), ("offset", offset_text.as_str())],
        );
        let decode = move |response: &RawResponse, now: SystemTime| {
            if !response.status.is_success() {
                return Err(classify(response, now));
            }
            let page: Paginated<ClerkMembership> =
                page_of(response, "a page of organization memberships")?;
            let seen = offset.saturating_add(page.data.len() as u64);
            let next = (!page.data.is_empty() && seen < page.total_count).then_some(seen);
            let items = page
                .data
                .into_iter()
                .map(|membership| {
                    let role = membership.role.as_deref().map(role_from_clerk);
                    let data = membership.public_user_data;
                    let (id, username, identifier) = data.map_or((None, None, None), |d| {
                        (d.user_id, d.username, d.identifier)
                    });
                    Member::listed(id, username, identifier, role)
                })
                .collect();
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

    fn member<'a>(
        &'a self,
        organization: &'a str,
        invitee: &'a Invitee,
    ) -> Result<Option<Call<'a, impl Decode<MemberAnswer> + 'a>>, Error> {
        crate::model::request::check_organization(organization)?;
        invitee.validate()?;
        let filter = match invitee {
            Invitee::Email(email) => ("email_address", email.as_str()),
            Invitee::UserId(id) => ("user_id", id.as_str()),
            Invitee::Login(username) => ("username", username.as_str()),
        };
        let plan = self.connection.get(
            &["organizations", organization, "memberships"],
            [filter, ("limit", "1")],
        );
        let decode = move |response: &RawResponse, now: SystemTime| {
            if !response.status.is_success() {
                return Err(classify(response, now));
            }
            let page: Paginated<ClerkMembership> =
                page_of(response, "a page of organization memberships")?;
            // Each filter names one user: more than one match, or someone else, means Clerk did
            // not apply it.
            if page.total_count > 1 || page.data.iter().any(|m| !m.is_for(invitee)) {
                return Err(Failure::inconsistent(
                    ProviderKind::Clerk,
                    response,
                    "the memberships listed for one person name someone else",
                    header_trace_id(&response.headers),
                ));
            }
            Ok(match page.data.into_iter().next() {
                Some(membership) => MemberAnswer::Member(
                    membership
                        .role
                        .as_deref()
                        .map(role_from_clerk)
                        .unwrap_or_default(),
                ),
                None => MemberAnswer::NotMember,
            })
        };
        Ok(Some(
            Call::new(MEMBERSHIP, ORIGIN, organization, plan, decode)
                .about(Subject::Invitee(invitee)),
        ))
    }
}

/// The trace id Clerk's support asks for, from the headers: `Clerk-Trace-Id`, else `cf-ray`.
fn header_trace_id(headers: &HeaderMap) -> Option<String> {
    headers::text(headers, "clerk-trace-id").or_else(|| headers::text(headers, "cf-ray"))
}

/// Clerk's `OrganizationInvitation`, decoded leniently: only `id` is required, the other
/// fields default when absent (Clerk's own examples leave out fields the schema requires),
/// and unknown fields are kept in [`ClerkInvitation::extra`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClerkInvitation {
    /// The invitation id (`orginv_...`).
    pub id: String,
    /// The object type, `organization_invitation`.
    #[serde(default)]
    pub object: Option<String>,
    /// The invited email address.
    #[serde(default)]
    pub email_address: Option<String>,
    /// The role key (`org:member`, `org:admin`, or a custom `org:...`).
    #[serde(default)]
    pub role: Option<String>,
    /// The role's display name.
    #[serde(default)]
    pub role_name: Option<String>,
    /// The organization's id (`org_...`).
    #[serde(default)]
    pub organization_id: Option<String>,
    /// The inviting user's id.
    #[serde(default)]
    pub inviter_id: Option<String>,
    /// The inviting user's public data.
    #[serde(default)]
    pub public_inviter_data: Option<ClerkInviterData>,
    /// `pending`, `accepted`, `revoked`, `expired`, or a value this crate does not know.
    #[serde(default)]
    pub status: Option<String>,
    /// Metadata visible to the frontend and backend.
    #[serde(default)]
    pub public_metadata: Option<Map<String, Value>>,
    /// Metadata visible to the backend only.
    #[serde(default)]
    pub private_metadata: Option<Map<String, Value>>,
    /// The link the person follows to accept.
    #[serde(default)]
    pub url: Option<String>,
    /// When it stops being valid, in Unix milliseconds.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// When it was created, in Unix milliseconds.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// When it last changed, in Unix milliseconds.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Every other field Clerk sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl sealed::Sealed for ClerkInvitation {}

/// Clerk's `OrganizationInvitationPublicUserData`: who sent an invitation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClerkInviterData {
    /// The user's id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The first name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// The primary identifier (usually an email address).
    #[serde(default)]
    pub identifier: Option<String>,
    /// The profile image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Whether the user uploaded an image.
    #[serde(default)]
    pub has_image: Option<bool>,
    /// Every other field Clerk sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Clerk's role key onto the shared roles.
fn role_from_clerk(role: &str) -> Role {
    match role {
        "org:admin" => Role::Admin,
        "org:member" => Role::Member,
        other => Role::Custom(other.to_owned()),
    }
}

fn millis(value: Option<i64>) -> Option<jiff::Timestamp> {
    value.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|s| !s.is_empty())
}

fn inviter(raw: &ClerkInvitation) -> Option<Inviter> {
    let data = raw.public_inviter_data.as_ref();
    let id = non_empty(raw.inviter_id.as_deref())
        .or_else(|| non_empty(data.and_then(|d| d.user_id.as_deref())))
        .map(str::to_owned);
    let name = data.and_then(|d| {
        let full = [d.first_name.as_deref(), d.last_name.as_deref()]
            .into_iter()
            .filter_map(non_empty)
            .collect::<Vec<_>>()
            .join(" ");
        if full.is_empty() {
            non_empty(d.identifier.as_deref()).map(str::to_owned)
        } else {
            Some(full)
        }
    });
    if id.is_none() && name.is_none() {
        None
    } else {
        Some(Inviter { id, name })
    }
}

/// Decodes one invitation; `requested` is the role to report when Clerk's answer names none.
fn decode_invitation(requested: &Role, body: &[u8]) -> Result<Invitation, serde_json::Error> {
    Ok(unify(serde_json::from_slice(body)?, requested))
}

/// The fields of an `OrganizationInvitation` a snapshot keeps, read without the rest.
#[derive(Deserialize)]
struct BriefInvitation {
    id: String,
    #[serde(default)]
    email_address: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    created_at: Option<i64>,
}

impl BriefInvitation {
    /// The invitation, without the vendor's payload.
    fn unify(self) -> Invitation {
        Invitation {
            provider: ProviderKind::Clerk,
            id: self.id,
            email: self.email_address,
            login: None,
            role: self
                .role
                .as_deref()
                .map(role_from_clerk)
                .unwrap_or_default(),
            status: self
                .status
                .as_deref()
                .map_or(InvitationStatus::Pending, InvitationStatus::parse),
            created_at: millis(self.created_at),
            expires_at: millis(self.expires_at),
            inviter: None,
            accept_url: None,
            payload: Payload::omitted(),
        }
    }
}

fn unify(raw: ClerkInvitation, requested: &Role) -> Invitation {
    let role = match raw.role.as_deref() {
        Some(role) => role_from_clerk(role),
        None => requested.clone(),
    };
    let status = raw
        .status
        .as_deref()
        .map(InvitationStatus::parse)
        .unwrap_or(InvitationStatus::Pending);
    Invitation {
        provider: ProviderKind::Clerk,
        id: raw.id.clone(),
        email: raw.email_address.clone(),
        login: None,
        role,
        status,
        created_at: millis(raw.created_at),
        expires_at: millis(raw.expires_at),
        inviter: inviter(&raw),
        accept_url: raw.url.clone(),
        payload: Payload::new(raw),
    }
}

/// One entry of Clerk's `errors` array.
struct ErrorEntry {
    code: Option<String>,
    message: Option<String>,
    param_name: Option<String>,
}

/// Clerk's error body, read leniently: whatever is not there, or not of the expected type,
/// is absent.
struct ErrorBody {
    errors: Vec<ErrorEntry>,
    trace_id: Option<String>,
}

fn text_field(value: &Value, key: &str) -> Option<String> {
    non_empty(value.get(key).and_then(Value::as_str)).map(str::to_owned)
}

fn parse_error_body(body: &[u8]) -> ErrorBody {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let errors = value
        .get("errors")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|entry| ErrorEntry {
                    code: text_field(entry, "code"),
                    message: text_field(entry, "long_message")
                        .or_else(|| text_field(entry, "message")),
                    param_name: entry
                        .get("meta")
                        .and_then(|meta| text_field(meta, "param_name")),
                })
                .collect()
        })
        .unwrap_or_default();
    ErrorBody {
        errors,
        trace_id: text_field(&value, "clerk_trace_id"),
    }
}

/// The kind a Clerk error code means on a 4xx answer other than 409 and 429, when the code
/// says more than the status does.
fn kind_for_code(entry: &ErrorEntry) -> Option<ErrorKind> {
    let kind = match entry.code.as_deref()? {
        "already_a_member_in_organization" => ErrorKind::AlreadyMember,
        "organization_invitation_not_unique" | "duplicate_record" => ErrorKind::AlreadyInvited,
        "form_param_format_invalid" if entry.param_name.as_deref() == Some("email_address") => {
            ErrorKind::InvalidEmail
        }
        "organization_membership_quota_exceeded"
        | "organization_membership_quota_exceeded_for_sso"
        | "quota_exceeded" => ErrorKind::QuotaExceeded,
        "authentication_invalid"
        | "clerk_key_invalid"
        | "authorization_header_format_invalid"
        | "could_not_authenticate_request" => ErrorKind::Unauthenticated,
        "authorization_invalid" | "not_allowed_access" | "not_an_admin_in_organization" => {
            ErrorKind::PermissionDenied
        }
        "unsupported_subscription_plan_features" | "insufficient_seats" => {
            ErrorKind::PaymentRequired
        }
        "resource_not_found" | "organization_not_found_or_unauthorized" => ErrorKind::NotFound,
        "organization_invitation_not_pending"
        | "organization_invitation_revoked_code"
        | "organization_invitation_already_accepted" => ErrorKind::NotPending,
        "bulk_size_exceeded"
        | "request_body_invalid"
        | "api_version_invalid"
        | "form_param_format_invalid"
        | "form_param_missing"
        | "form_param_value_invalid"
        | "form_param_unknown" => ErrorKind::Validation,
        _ => return None,
    };
    Some(kind)
}

fn classify(response: &RawResponse, now: SystemTime) -> Failure {
    let status = response.status;
    let body = parse_error_body(&response.body);
    let by_status = ErrorKind::from_status(status);
    // The entry whose code decides the kind, if any: the first that says more than the status
    // (an invalid email among other validation errors), else the first known code; with none,
    // the status decides.
    let decided = match status.as_u16() {
        409 | 429 | 500..=599 => None,
        400..=499 => {
            let known: Vec<(usize, ErrorKind)> = body
                .errors
                .iter()
                .enumerate()
                .filter_map(|(i, entry)| kind_for_code(entry).map(|kind| (i, kind)))
                .collect();
            known
                .iter()
                .find(|(_, kind)| *kind != by_status)
                .or_else(|| known.first())
                .copied()
        }
        _ => None,
    };
    let kind = decided.map_or(by_status, |(_, kind)| kind);
    let retry = match status {
        // Clerk did not apply a conflicting change; it can be sent again.
        StatusCode::CONFLICT => RetryHint::After(
            headers::retry_after(&response.headers).unwrap_or(Wait::Backoff {
                floor: Duration::ZERO,
            }),
        ),
        _ => status_retry(status, &response.headers),
    };

    // The deciding entry first, then the others in Clerk's order.
    let mut order: Vec<&ErrorEntry> = Vec::with_capacity(body.errors.len());
    if let Some((first, _)) = decided {
        order.push(&body.errors[first]);
    }
    order.extend(
        body.errors
            .iter()
            .enumerate()
            .filter(|(i, _)| decided.map(|(first, _)| first) != Some(*i))
            .map(|(_, entry)| entry),
    );
    let messages: Vec<&str> = order
        .iter()
        .filter_map(|entry| entry.message.as_deref())
        .collect();
    let details = VendorDetails {
        codes: order
            .iter()
            .filter_map(|entry| entry.code.clone())
            .collect(),
        message: if messages.is_empty() {
            None
        } else {
            Some(messages.join("; "))
        },
        request_id: body.trace_id.or_else(|| header_trace_id(&response.headers)),
    };
    Failure::answer(ORIGIN, response, now, kind, retry, details)
}

/// How a roster file's `clerk` entries are checked: a role key (`org:...`), no logins, no
/// teams.
#[cfg(feature = "roster")]
pub(crate) const ROSTER_RULES: vendors::RosterRules = vendors::RosterRules {
    provider: ProviderKind::Clerk,
    role: |role| {
        let key = role.strip_prefix("org:").unwrap_or_default();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_graphic()) {
            Err(format!(
                "unknown role {role:?} (a role key: org:admin, org:member, or a custom org:...)"
            ))
        } else {
            Ok(role_from_clerk(role))
        }
    },
    check_login: None,
    check_team: None,
    with_teams: |request, _| request,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_back() {
        assert_eq!(role_from_clerk("org:admin"), Role::Admin);
        assert_eq!(role_from_clerk("org:member"), Role::Member);
        assert_eq!(
            role_from_clerk("org:viewer"),
            Role::Custom("org:viewer".into())
        );
    }

    #[test]
    fn expiry_must_be_whole_days_within_a_year() {
        assert_eq!(expiry_days(DAY).unwrap(), 1);
        assert_eq!(expiry_days(DAY * 30).unwrap(), 30);
        assert_eq!(expiry_days(DAY * 365).unwrap(), 365);
        for bad in [
            Duration::ZERO,
            DAY * 366,
            Duration::from_secs(36 * 60 * 60),
            DAY + Duration::from_secs(1),
            DAY + Duration::from_nanos(1),
            Duration::from_secs(u64::MAX),
        ] {
            match expiry_days(bad).unwrap_err() {
                Error::InvalidRequest(e) => {
                    assert_eq!(e.field, "expires_in", "{bad:?}");
                    assert_eq!(e.provider, Some(ProviderKind::Clerk), "{bad:?}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn error_bodies_are_read_leniently() {
        let body = parse_error_body(
            br#"{"errors":[{"code":"form_param_format_invalid","message":"is invalid",
                "long_message":"email_address must be a valid email address.",
                "meta":{"param_name":"email_address"}}],"clerk_trace_id":"t1"}"#,
        );
        assert_eq!(body.errors.len(), 1);
        assert_eq!(
            body.errors[0].message.as_deref(),
            Some("email_address must be a valid email address.")
        );
        assert_eq!(body.errors[0].param_name.as_deref(), Some("email_address"));
        assert_eq!(body.trace_id.as_deref(), Some("t1"));
        for odd in [
            &b""[..],
            b"<html></html>",
            b"[]",
            b"{\"errors\":{}}",
            b"{\"errors\":[1,null,{\"code\":7}]}",
        ] {
            let body = parse_error_body(odd);
            assert!(body.errors.iter().all(|e| e.code.is_none()));
            assert!(body.trace_id.is_none());
        }
        let only_short = parse_error_body(br#"{"errors":[{"code":"x","message":"short"}]}"#);
        assert_eq!(only_short.errors[0].message.as_deref(), Some("short"));
    }

    #[test]
    fn inviter_name_falls_back_to_the_identifier() {
        let raw: ClerkInvitation = serde_json::from_value(serde_json::json!({
            "id": "orginv_1",
            "public_inviter_data": {"user_id": "user_1", "first_name": null, "last_name": "",
                                    "identifier": "boss@example.com"}
        }))
        .unwrap();
        assert_eq!(
            inviter(&raw),
            Some(Inviter {
                id: Some("user_1".into()),
                name: Some("boss@example.com".into())
            })
        );
        let none: ClerkInvitation =
            serde_json::from_value(serde_json::json!({"id": "orginv_1"})).unwrap();
        assert_eq!(inviter(&none), None);
    }
}
