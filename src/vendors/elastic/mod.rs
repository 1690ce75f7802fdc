//! Elastic Cloud: `POST {base}/organizations/{organization_id}/invitations`.
//!
//! | unified | Elastic Cloud |
//! |---|---|
//! | [`Invitee::Email`] | `emails: [email]` |
//! | [`Invitee::UserId`] | unsupported: Elastic Cloud invites by email only |
//! | [`Role::Member`] | no role assignment (a plain member) |
//! | [`Role::Admin`] | organization role `organization-admin` |
//! | [`Role::BillingManager`] | organization role `billing-admin` |
//! | [`Role::Custom`] | organization role with that role id |
//! | [`ElasticOptions::role_assignments`] | `role_assignments`, merged with the role above |
//! | [`CreateInvitation::expires_in`] | `expires_in`: whole days `Nd`, else whole hours `Nh`, else refused |
//!
//! The role from [`CreateInvitation::role`] is added to the organization roles of
//! [`ElasticOptions::role_assignments`], unless an organization entry with the same role id is
//! already there: the same role is never sent twice. Every entry scoped to an organization
//! gets the request's organization as `organization_id`.
//!
//! Success is `201 Created` with a list of invitations; the one for the invited email (compared
//! case-insensitively) becomes the [`Invitation`]. A success that lists no invitation for that
//! email is a [`Decode`](crate::ErrorKind::Decode) error that may have created the invitation.
//!
//! Failures are classified by the codes in the body (`errors[].code`) and in the
//! `x-cloud-error-codes` header (comma-separated; the only source when the body is not JSON):
//!
//! | code | kind |
//! |---|---|
//! | `organization.invitation_invalid_email` | `invalid_email` |
//! | `organization.invitation_already_exists` | `already_invited` |
//! | `organization.user_organization_already_belongs` | `already_member` |
//! | `organization.invitations_pending_limit_exceeded` | `quota_exceeded` |
//! | `root.invalid_authentication` | `unauthenticated` |
//! | `organization.not_found`, `user.not_found` | `not_found` |
//! | `organization.user_organization_does_not_belong` | `permission_denied` |
//! | `organization.invitations_rate_limit_exceeded`, or status 429 | `rate_limited` (retried) |
//! | status 449 (elevated permissions required) | `permission_denied` |
//!
//! Other answers are classified by status. A rate limit waits for `Retry-After` when present,
//! else for `x-ratelimit-interval` when `x-ratelimit-remaining` is 0, else backs off with the
//! policy's capped, jittered backoff. Elastic Cloud documents no request-id header; when an
//! answer carries `x-request-id`, it becomes the error's request id.

mod roles;

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::builder::{ClientBuilder, CommonSettings, Connection, VendorSettings};
use crate::engine::headers;
use crate::engine::pacing::Pacing;
use crate::engine::retry::{RetryHint, Wait};
use crate::engine::{
    status_retry, Call, Decode, Engine, Failure, HttpPlan, Origin, RawResponse, Subject,
    VendorDetails,
};
use crate::model::error::{Error, ErrorKind, RateLimitInfo};
use crate::model::extension::{sealed, Payload, VendorOptions};
use crate::model::invitation::{Invitation, InvitationStatus};
use crate::model::kind::ProviderKind;
use crate::model::outcome::Cancelled;
use crate::model::request::{CreateInvitation, Invitee, ListInvitations, Role};
use crate::model::snapshot::Member;
use crate::vendors::{self, MemberAnswer, Page, Vendor, CANCEL, CANCEL_MANY, LIST, MEMBERSHIP};

pub use roles::{
    DeploymentRole, OrganizationRole, PlatformRole, ProjectRole, ProjectRoles, RoleAssignments,
    BILLING_ADMIN, ORGANIZATION_ADMIN,
};

/// Elastic Cloud's public API. GovCloud:
/// `https://api.us-gov-east-1.aws.elastic-cloud.com/api/v1`.
pub const DEFAULT_BASE_URL: &str = "https://api.elastic-cloud.com/api/v1";

const DAY: u64 = 24 * 60 * 60;
const HOUR: u64 = 60 * 60;

/// Options only Elastic Cloud has; other providers ignore them.
///
/// ```
/// use orginvite::elastic::{DeploymentRole, ElasticOptions, RoleAssignments};
/// use orginvite::CreateInvitation;
///
/// let roles = RoleAssignments::new().deployment(DeploymentRole::all("deployment-viewer"));
/// let request = CreateInvitation::email("1234567890", "jane@example.com")
///     .with(ElasticOptions::new().role_assignments(roles));
/// let options = request.options::<ElasticOptions>().unwrap();
/// assert!(options.role_assignments.is_some());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ElasticOptions {
    /// The roles the person gets on accepting, beyond the one from
    /// [`CreateInvitation::role`]. Leave `organization_id` unset in the entries: the request's
    /// organization is filled in.
    pub role_assignments: Option<RoleAssignments>,
}

impl sealed::Sealed for ElasticOptions {}
impl VendorOptions for ElasticOptions {}

impl ElasticOptions {
    /// No options.
    pub fn new() -> ElasticOptions {
        ElasticOptions::default()
    }

    setters! {
        /// Sets the role assignments.
        role_assignments(self, role_assignments: RoleAssignments) { self.role_assignments = Some(role_assignments) }
    }
}

/// Elastic Cloud documents no invitation rate: no spacing or rate of its own, only what its
/// `x-ratelimit-*` headers and 429s teach (learning stays on).
pub fn default_pacing() -> Pacing {
    Pacing::off()
}

/// Elastic Cloud-only builder settings; see [`ElasticCloud::builder`](crate::ElasticCloud).
/// There are none yet.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ElasticSettings {}

impl VendorSettings for ElasticSettings {
    type Vendor = ElasticVendor;
}

/// Builds an [`ElasticCloud`](crate::ElasticCloud) client:
/// [`ElasticCloud::builder`](crate::Client::builder).
pub type ElasticCloudBuilder = ClientBuilder<ElasticSettings>;

/// Elastic Cloud's API, as the vendor of a [`Client`](crate::Client): see
/// [`ElasticCloud`](crate::ElasticCloud).
///
/// Defaults: `https://api.elastic-cloud.com/api/v1`, and [`default_pacing`]. GovCloud:
/// `.base_url("https://api.us-gov-east-1.aws.elastic-cloud.com/api/v1")`. The credential is
/// an Elastic Cloud API key, sent as `Authorization: ApiKey <key>`.
#[derive(Clone)]
pub struct ElasticVendor {
    connection: Connection,
}

impl fmt::Debug for ElasticVendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.connection, f)
    }
}

/// The most invitations one create request carries when several people get the same roles.
/// Elastic Cloud documents no limit; this keeps requests and answers small.
pub const MAX_BATCH: usize = 100;

/// The JSON body of the request (`OrganizationInvitationRequest`): only the fields that are set.
#[derive(Serialize)]
struct Body<E> {
    emails: E,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role_assignments: Option<RoleAssignments>,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::invalid(Some(ProviderKind::ElasticCloud), field, reason)
}

/// A unified expiry as Elastic Cloud's duration: whole days as `Nd`, else whole hours as `Nh`.
fn expires_in(duration: Duration) -> Result<String, Error> {
    let seconds = duration.as_secs();
    if seconds == 0 || duration.subsec_nanos() != 0 || seconds % HOUR != 0 {
        return Err(invalid(
            "expires_in",
            format!("must be a whole number of hours or days for Elastic Cloud, not {duration:?}"),
        ));
    }
    Ok(if seconds % DAY == 0 {
        format!("{}d", seconds / DAY)
    } else {
        format!("{}h", seconds / HOUR)
    })
}

/// The organization role a unified role stands for; `None` for a plain member.
fn organization_role(role: &Role) -> Option<&str> {
    match role {
        Role::Member => None,
        Role::Admin => Some(ORGANIZATION_ADMIN),
        Role::BillingManager => Some(BILLING_ADMIN),
        Role::Custom(role) => Some(role),
    }
}

impl ElasticVendor {
    /// `GET /organizations/{id}/members`: every member in one answer.
    fn members_plan(&self, organization: &str) -> HttpPlan {
        self.connection
            .get(&["organizations", organization, "members"], [])
            .whole_list()
    }

    fn body<'a>(&self, request: &'a CreateInvitation) -> Result<Body<[&'a str; 1]>, Error> {
        request.validate()?;
        let email = vendors::invited_email(ProviderKind::ElasticCloud, &request.invitee)?;
        let expires_in = request.expires_in.map(expires_in).transpose()?;
        let mut roles = request
            .options::<ElasticOptions>()
            .and_then(|options| options.role_assignments.clone())
            .unwrap_or_default();
        if let Some(role_id) = organization_role(&request.role) {
            if !roles.organization.iter().any(|r| r.role_id == role_id) {
                roles.organization.insert(0, OrganizationRole::new(role_id));
            }
        }
        roles.prepare(&request.organization)?;
        Ok(Body {
            emails: [email],
            expires_in,
            role_assignments: (!roles.is_empty()).then_some(roles),
        })
    }
}

/// Checks the statuses a list asks for: Elastic Cloud lists its open invitations, pending,
/// expired or accepted.
fn check_statuses(query: &ListInvitations) -> Result<(), Error> {
    match query.statuses.iter().find(|status| {
        !matches!(
            status,
            InvitationStatus::Pending | InvitationStatus::Expired | InvitationStatus::Accepted
        )
    }) {
        Some(other) => Err(Error::unsupported(
            ProviderKind::ElasticCloud,
            format!(
                "listing {other} invitations (Elastic Cloud lists its open invitations: \
                 pending, expired or accepted)"
            ),
        )),
        None => Ok(()),
    }
}

/// A success whose body is not what was expected.
fn undecodable(
    response: &RawResponse,
    expected: &'static str,
    source: serde_json::Error,
) -> Failure {
    Failure::undecodable(
        ProviderKind::ElasticCloud,
        response,
        expected,
        Some(Box::new(source)),
        request_id(&response.headers),
    )
}

/// A cancellation's answer: `None` when the invitations are gone. An invitation Elastic Cloud
/// does not hold (or "no valid invitation token") is not pending, unless an earlier attempt of
/// the same call may have deleted it: then it is that deletion.
fn cancel_failure(response: &RawResponse, now: SystemTime) -> Option<Failure> {
    if response.status.is_success() {
        return None;
    }
    let failure = classify(response, now);
    let not_held = failure
        .error
        .as_api()
        .is_some_and(|api| api.codes.iter().any(|c| c == INVITATION_NOT_FOUND));
    let no_valid_token =
        response.status == StatusCode::BAD_REQUEST && failure.kind() == ErrorKind::Validation;
    match (not_held || no_valid_token, response.after_doubt) {
        (true, true) => None,
        (true, false) => Some(failure.with_kind(ErrorKind::NotPending)),
        (false, _) => Some(failure),
    }
}

const INVITATION_NOT_FOUND: &str = "organization.invitation_not_found";

/// The `OrganizationMemberships` answer: `{"members": [...]}`.
#[derive(Deserialize)]
struct Members {
    members: Vec<ElasticMember>,
}

/// The part of an `OrganizationMembership` this crate reads.
#[derive(Deserialize)]
struct ElasticMember {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    role_assignments: Option<RoleAssignments>,
}

/// The members of an `OrganizationMemberships` answer, or the failure it says.
fn read_members(response: &RawResponse, now: SystemTime) -> Result<Vec<ElasticMember>, Failure> {
    if !response.status.is_success() {
        return Err(classify(response, now));
    }
    let reply: Members = serde_json::from_slice(&response.body)
        .map_err(|source| undecodable(response, "a list of members", source))?;
    Ok(reply.members)
}

/// Elastic Cloud's rate-limit headers: the common ones and `x-ratelimit-interval`, the length
/// of its window (`1m`, `1h0m0s`).
fn rate_limit(headers: &HeaderMap, now: SystemTime) -> RateLimitInfo {
    headers::rate_limit_info(headers, now, |field, value, info| {
        if field == "interval" && info.interval.is_none() {
            info.interval = headers::parse_duration(value);
        }
    })
}

/// Elastic Cloud, as the engine knows it.
const ORIGIN: Origin = Origin::new(ProviderKind::ElasticCloud, rate_limit);

impl sealed::Sealed for ElasticVendor {}

impl Vendor for ElasticVendor {
    type Settings = ElasticSettings;
    /// Elastic Cloud lists everything in one answer: there is only the first page.
    type Cursor = ();

    /// Checks the settings and builds the engine and the mapping. Nothing is sent.
    fn build(_settings: ElasticSettings, common: CommonSettings) -> Result<(Engine, Self), Error> {
        // Elastic Cloud publishes no number: pace by what its rate-limit headers say.
        let built = common.build("Elastic Cloud", DEFAULT_BASE_URL, default_pacing(), false)?;
        let (engine, connection) = built.into_parts("ApiKey", "application/json", []);
        Ok((engine, ElasticVendor { connection }))
    }

    const ORIGIN: Origin = ORIGIN;
    const CANCELS_IN_BATCHES: bool = true;
    const MAX_CREATE_BATCH: usize = MAX_BATCH;

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
            .map_err(|e| invalid("request", e.to_string()))?;
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
        let email = request.invitee.as_email().unwrap_or_default();
        decode_created(&response.body, email).map_err(|source| {
            Failure::undecodable(
                ProviderKind::ElasticCloud,
                response,
                "a list of invitations holding one for the invited email",
                Some(source),
                request_id(&response.headers),
            )
        })
    }

    fn batch_key(&self, request: &CreateInvitation) -> Option<String> {
        // One request invites every address in `emails` with the same expiry and roles.
        let body = self.body(request).ok()?;
        let shared = (
            &request.organization,
            &body.expires_in,
            &body.role_assignments,
        );
        serde_json::to_string(&shared).ok()
    }

    fn create_batch<'a>(
        &'a self,
        requests: &'a [&'a CreateInvitation],
    ) -> Result<Call<'a, impl Decode<Vec<Invitation>> + 'a>, Error> {
        let first = requests
            .first()
            .ok_or_else(|| invalid("requests", "must not be empty"))?;
        if requests.len() > MAX_BATCH {
            return Err(invalid("requests", "at most 100 go in one request"));
        }
        let key = self.batch_key(first);
        if key.is_none() || requests.iter().any(|r| self.batch_key(r) != key) {
            return Err(invalid(
                "requests",
                "must share the organization, expiry and roles to go in one request",
            ));
        }
        let shared = self.body(first)?;
        let body = Body {
            emails: requests
                .iter()
                .filter_map(|r| r.invitee.as_email())
                .collect::<Vec<_>>(),
            expires_in: shared.expires_in,
            role_assignments: shared.role_assignments,
        };
        let organization = first.organization.as_str();
        let plan = self
            .connection
            .post_json(&["organizations", organization, "invitations"], &body)
            .map_err(|e| invalid("request", e.to_string()))?;
        let decode = |response: &RawResponse, now: SystemTime| {
            if !response.status.is_success() {
                return Err(classify(response, now));
            }
            let reply: Invitations = serde_json::from_slice(&response.body)
                .map_err(|source| undecodable(response, "a list of invitations", source))?;
            Ok(reply.invitations.into_iter().map(unify).collect())
        };
        // The same endpoint as one invitation: paced as invitations are.
        let operation = vendors::CREATE_MANY.paced_as(crate::engine::Traffic::Notifying);
        Ok(Call::new(operation, ORIGIN, organization, plan, decode)
            .about(Subject::Invitations(requests.len())))
    }

    fn list_page<'a>(
        &'a self,
        query: &'a ListInvitations,
        _first: (),
    ) -> Result<Call<'a, impl Decode<Page<()>> + 'a>, Error> {
        query.validate()?;
        check_statuses(query)?;
        // No paging: the answer is every invitation of the organization.
        let plan = self
            .connection
            .get(&["organizations", &query.organization, "invitations"], [])
            .whole_list();
        let decode = |response: &RawResponse, now: SystemTime| {
            if !response.status.is_success() {
                return Err(classify(response, now));
            }
            let reply: Invitations = serde_json::from_slice(&response.body)
                .map_err(|source| undecodable(response, "a list of invitations", source))?;
            let invitations = reply.invitations.into_iter().map(unify).collect();
            Ok(Page {
                items: invitations,
                next: None,
            })
        };
        Ok(Call::new(LIST, ORIGIN, &query.organization, plan, decode))
    }

    fn cancel<'a>(
        &'a self,
        organization: &'a str,
        id: &'a str,
    ) -> Result<Call<'a, impl Decode<Cancelled> + 'a>, Error> {
        crate::model::request::check_organization(organization)?;
        check_token(id)?;
        let url = self
            .connection
            .url(&["organizations", organization, "invitations", id]);
        let plan = self.connection.plan(Method::DELETE, url);
        let decode =
            move |response: &RawResponse, now: SystemTime| match cancel_failure(response, now) {
                None => Ok(Cancelled::new(ProviderKind::ElasticCloud, id, None)),
                Some(failure) => Err(failure),
            };
        Ok(Call::new(CANCEL, ORIGIN, organization, plan, decode).about(Subject::Invitation(id)))
    }

    fn cancel_batch<'a>(
        &'a self,
        organization: &'a str,
        ids: &'a [&'a str],
    ) -> Result<Call<'a, impl Decode<()> + 'a>, Error> {
        crate::model::request::check_organization(organization)?;
        for id in ids {
            check_token(id)?;
        }
        let url = self
            .connection
            .url_with_list(&["organizations", organization, "invitations"], ids);
        let plan = self.connection.plan(Method::DELETE, url);
        let decode = |response: &RawResponse, now: SystemTime| match cancel_failure(response, now) {
            None => Ok(()),
            Some(failure) => Err(failure),
        };
        Ok(Call::new(CANCEL_MANY, ORIGIN, organization, plan, decode)
            .about(Subject::Invitations(ids.len())))
    }

    fn recreate<'a>(
        &'a self,
        organization: &'a str,
        previous: &'a Invitation,
    ) -> Result<vendors::Recreate<'a, impl Decode<CreateInvitation> + 'a>, Error> {
        let raw = previous.payload.get::<ElasticInvitation>().ok_or_else(|| {
            Error::unsupported(
                ProviderKind::ElasticCloud,
                "re-creating another vendor's invitation",
            )
        })?;
        // The roles are the invitation's own, whole: the unified role adds none.
        let mut request =
            CreateInvitation::email(organization, raw.email.clone()).role(Role::Member);
        if let Some(roles) = raw.role_assignments.clone().filter(|r| !r.is_empty()) {
            request = request.with(ElasticOptions::new().role_assignments(roles));
        }
        Ok(vendors::Recreate::ready(request))
    }

    /// Every invitation Elastic Cloud shows (it has no filter): pending and expired ones.
    fn snapshot_query(&self, organization: &str) -> Result<ListInvitations, Error> {
        crate::model::request::check_organization(organization)?;
        Ok(ListInvitations::new(organization)
            .statuses([InvitationStatus::Pending, InvitationStatus::Expired]))
    }

    /// `GET /organizations/{id}/members`: every member in one answer, with the email where
    /// Elastic Cloud has one and the organization role.
    fn members_page<'a>(
        &'a self,
        organization: &'a str,
        _first: (),
    ) -> Result<Call<'a, impl Decode<Page<(), Member>> + 'a>, Error> {
        crate::model::request::check_organization(organization)?;
        let plan = self.members_plan(organization);
        let decode = |response: &RawResponse, now: SystemTime| {
            let items = read_members(response, now)?
                .into_iter()
                .map(|listed| {
                    let role = role_from_elastic(listed.role_assignments.as_ref());
                    Member::listed(listed.user_id, None, listed.email, Some(role))
                })
                .collect();
            Ok(Page { items, next: None })
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
        if let Invitee::Login(_) = invitee {
            return Err(Error::unsupported(
                ProviderKind::ElasticCloud,
                "looking up a member by login (look up by email or user id)",
            ));
        }
        let plan = self.members_plan(organization);
        let decode = move |response: &RawResponse, now: SystemTime| {
            let found = read_members(response, now)?
                .into_iter()
                .find(|member| match invitee {
                    Invitee::Email(email) => member
                        .email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email)),
                    Invitee::UserId(id) => member.user_id.as_deref() == Some(id.as_str()),
                    Invitee::Login(_) => false,
                });
            Ok(match found {
                Some(member) => {
                    MemberAnswer::Member(role_from_elastic(member.role_assignments.as_ref()))
                }
                None => MemberAnswer::NotMember,
            })
        };
        Ok(Some(
            Call::new(MEMBERSHIP, ORIGIN, organization, plan, decode)
                .about(Subject::Invitee(invitee)),
        ))
    }
}

/// An invitation token: non-empty, no spaces or control characters.
fn check_token(token: &str) -> Result<(), Error> {
    if token.is_empty() || token.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(
            "id",
            "must be an invitation token: non-empty, without spaces or control characters",
        ));
    }
    Ok(())
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers::text(headers, "x-request-id")
}

/// Elastic Cloud's `OrganizationInvitation`, decoded leniently: unknown fields are kept in
/// [`ElasticInvitation::extra`], missing optional ones default. Timestamps are kept as Elastic
/// Cloud wrote them (RFC 3339).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ElasticInvitation {
    /// The token that identifies the invitation (used to accept or delete it).
    pub token: String,
    /// The invited email.
    pub email: String,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it expires.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Whether it has expired.
    #[serde(default)]
    pub expired: Option<bool>,
    /// When it was accepted, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<String>,
    /// The organization it invites to.
    #[serde(default)]
    pub organization: Option<ElasticOrganization>,
    /// The roles the person gets on accepting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_assignments: Option<RoleAssignments>,
    /// Every other field Elastic Cloud sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl sealed::Sealed for ElasticInvitation {}

/// Elastic Cloud's `Organization`: the fields this crate reads, the rest in `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ElasticOrganization {
    /// The organization id.
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Every other field Elastic Cloud sent (contacts, alert settings, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The 201 answer: `{"invitations": [...]}`.
#[derive(Deserialize)]
struct Invitations {
    invitations: Vec<ElasticInvitation>,
}

/// The unified role an invitation's organization roles stand for: the strongest known one,
/// else the first other organization role, else a plain member.
fn role_from_elastic(roles: Option<&RoleAssignments>) -> Role {
    let organization = roles.map(|r| r.organization.as_slice()).unwrap_or_default();
    let has = |id: &str| organization.iter().any(|r| r.role_id == id);
    if has(ORGANIZATION_ADMIN) {
        Role::Admin
    } else if has(BILLING_ADMIN) {
        Role::BillingManager
    } else if let Some(other) = organization.first() {
        Role::Custom(other.role_id.clone())
    } else {
        Role::Member
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Decodes a create's answer: the invitation for `email` among those listed.
fn decode_created(body: &[u8], email: &str) -> Result<Invitation, BoxError> {
    let reply: Invitations = serde_json::from_slice(body)?;
    let count = reply.invitations.len();
    let raw = reply
        .invitations
        .into_iter()
        .find(|invitation| invitation.email.eq_ignore_ascii_case(email))
        .ok_or_else(|| -> BoxError {
            format!("the answer lists {count} invitation(s), none for the invited email").into()
        })?;
    Ok(unify(raw))
}

fn unify(raw: ElasticInvitation) -> Invitation {
    let timestamp = |t: &Option<String>| t.as_deref().and_then(crate::vendors::timestamp::parse);
    let status = if raw.accepted_at.is_some() {
        InvitationStatus::Accepted
    } else if raw.expired == Some(true) {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    };
    Invitation {
        provider: ProviderKind::ElasticCloud,
        id: raw.token.clone(),
        email: Some(raw.email.clone()),
        login: None,
        role: role_from_elastic(raw.role_assignments.as_ref()),
        status,
        created_at: timestamp(&raw.created_at),
        expires_at: timestamp(&raw.expires_at),
        inviter: None,
        accept_url: None,
        payload: Payload::new(raw),
    }
}

/// Elastic Cloud's `BasicFailedReply`, read leniently.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorElement>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorElement {
    code: Option<String>,
    message: Option<String>,
    fields: Option<Vec<String>>,
}

const RATE_LIMIT_CODE: &str = "organization.invitations_rate_limit_exceeded";

/// The kind a documented error code means.
fn kind_of_code(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "organization.invitation_invalid_email" => ErrorKind::InvalidEmail,
        "organization.invitation_already_exists" => ErrorKind::AlreadyInvited,
        "organization.user_organization_already_belongs" => ErrorKind::AlreadyMember,
        "organization.invitations_pending_limit_exceeded" => ErrorKind::QuotaExceeded,
        "root.invalid_authentication" => ErrorKind::Unauthenticated,
        "organization.not_found" | "user.not_found" => ErrorKind::NotFound,
        INVITATION_NOT_FOUND => ErrorKind::NotPending,
        "organization.user_organization_does_not_belong" => ErrorKind::PermissionDenied,
        RATE_LIMIT_CODE => ErrorKind::RateLimited,
        _ => return None,
    })
}

fn classify(response: &RawResponse, now: SystemTime) -> Failure {
    let status = response.status;
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let mut codes: Vec<String> = body
        .errors
        .iter()
        .filter_map(|e| e.code.as_deref())
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
        .collect();
    // Every line of the header counts, each split on commas.
    let header_codes = response
        .headers
        .get_all("x-cloud-error-codes")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim);
    for code in header_codes {
        if !code.is_empty() && !codes.iter().any(|c| c == code) {
            codes.push(code.to_owned());
        }
    }

    let rate_limited = status.as_u16() == 429 || codes.iter().any(|code| code == RATE_LIMIT_CODE);
    let (kind, retry) = if rate_limited {
        let rate_limit = rate_limit(&response.headers, now);
        let wait = match (headers::retry_after(&response.headers), rate_limit.interval) {
            (Some(wait), _) => wait,
            (None, Some(interval)) if rate_limit.remaining == Some(0) && !interval.is_zero() => {
                Wait::For(interval)
            }
            _ => Wait::Backoff {
                floor: Duration::ZERO,
            },
        };
        (ErrorKind::RateLimited, RetryHint::After(wait))
    } else if status.as_u16() == 449 {
        (ErrorKind::PermissionDenied, RetryHint::Never)
    } else {
        let kind = codes
            .iter()
            .find_map(|code| kind_of_code(code))
            .unwrap_or_else(|| ErrorKind::from_status(status));
        (kind, status_retry(status, &response.headers))
    };

    let messages: Vec<String> = body
        .errors
        .iter()
        .filter_map(|e| {
            let message = e.message.as_deref()?.trim();
            match e.fields.as_deref() {
                Some(fields) if !fields.is_empty() => {
                    Some(format!("{message} (fields: {})", fields.join(", ")))
                }
                _ => Some(message.to_owned()),
            }
        })
        .filter(|m| !m.is_empty())
        .collect();
    let details = VendorDetails {
        codes,
        message: (!messages.is_empty()).then(|| messages.join("; ")),
        request_id: request_id(&response.headers),
    };
    Failure::answer(ORIGIN, response, now, kind, retry, details)
}

/// How a roster file's `elastic` entries are checked: the shared roles or an organization
/// role id, no logins, no teams.
#[cfg(feature = "roster")]
pub(crate) const ROSTER_RULES: vendors::RosterRules = vendors::RosterRules {
    provider: ProviderKind::ElasticCloud,
    role: |role| match role {
        "admin" | ORGANIZATION_ADMIN => Ok(Role::Admin),
        "member" => Ok(Role::Member),
        "billing-manager" | BILLING_ADMIN => Ok(Role::BillingManager),
        other => Err(format!(
            "unknown role {other:?} (admin, member, billing-manager, {ORGANIZATION_ADMIN} or \
             {BILLING_ADMIN})"
        )),
    },
    check_login: None,
    check_team: None,
    with_teams: |request, _| request,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_header_is_the_window() {
        let headers = |pairs: &[(&str, &[u8])]| -> HeaderMap {
            pairs
                .iter()
                .map(|(name, value)| {
                    let value = reqwest::header::HeaderValue::from_bytes(value).unwrap();
                    (
                        reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        value,
                    )
                })
                .collect()
        };
        let now = SystemTime::UNIX_EPOCH;
        let info = rate_limit(
            &headers(&[
                ("x-ratelimit-interval", b"\xff"),
                ("x-ratelimit-interval", b"later"),
                ("x-ratelimit-interval", b"1h0m0s"),
                ("x-ratelimit-reset", b"60"),
            ]),
            now,
        );
        assert_eq!(info.interval, Some(Duration::from_secs(3_600)));
        // GitHub's reset is not Elastic Cloud's.
        assert_eq!(info.reset, None);
        let info = rate_limit(&headers(&[("x-ratelimit-interval", b"-5s")]), now);
        assert!(info.is_empty());
    }

    #[test]
    fn expiries() {
        let hours = |h: u64| Duration::from_secs(h * HOUR);
        assert_eq!(expires_in(hours(72)).unwrap(), "3d");
        assert_eq!(expires_in(hours(24 * 7)).unwrap(), "7d");
        assert_eq!(expires_in(hours(1)).unwrap(), "1h");
        assert_eq!(expires_in(hours(36)).unwrap(), "36h");
        for bad in [
            Duration::ZERO,
            Duration::from_secs(90 * 60),
            Duration::from_secs(59),
            hours(1) + Duration::from_millis(1),
        ] {
            let error = expires_in(bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{bad:?}");
        }
    }

    #[test]
    fn roles_map_back() {
        let roles = |ids: &[&str]| {
            ids.iter().fold(RoleAssignments::new(), |r, id| {
                r.organization(OrganizationRole::new(*id))
            })
        };
        assert_eq!(role_from_elastic(None), Role::Member);
        assert_eq!(role_from_elastic(Some(&roles(&[]))), Role::Member);
        assert_eq!(
            role_from_elastic(Some(&roles(&["billing-admin", "organization-admin"]))),
            Role::Admin
        );
        assert_eq!(
            role_from_elastic(Some(&roles(&["billing-admin"]))),
            Role::BillingManager
        );
        assert_eq!(
            role_from_elastic(Some(&roles(&["organization-viewer"]))),
            Role::Custom("organization-viewer".into())
        );
    }

    #[test]
    fn every_documented_code_is_known() {
        for code in [
            "organization.invitation_invalid_email",
            "organization.invitation_already_exists",
            "organization.user_organization_already_belongs",
            "organization.invitations_pending_limit_exceeded",
            "root.invalid_authentication",
            "organization.not_found",
            "user.not_found",
            "organization.user_organization_does_not_belong",
            "organization.invitations_rate_limit_exceeded",
        ] {
            assert!(kind_of_code(code).is_some(), "{code}");
        }
        assert_eq!(kind_of_code("invitation_invalid_email"), None);
    }
}
