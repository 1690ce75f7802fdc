//! What a vendor is to the rest of the crate ([`Vendor`]: one pure mapping per operation),
//! and the vendors, one folder each.
//!
//! Each mapping builds the [`Call`] for one request (the HTTP request, how to read its answer,
//! how safe it is to send again) and does no IO. The engine runs calls; the operations built
//! from several calls (a list's pages, finding, membership, cancelling many) live in
//! `crate::ops` and never see a vendor's wire types.

pub mod clerk;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod codec;
pub mod elastic;
pub mod github;
pub(crate) mod payload;
pub(crate) mod timestamp;

use std::fmt;
use std::time::SystemTime;

use crate::engine::builder::{CommonSettings, VendorSettings};
use crate::engine::{
    Call, Decode, Engine, Failure, HttpPlan, Operation, Origin, RawResponse, Subject, Traffic,
};
use crate::model::error::{Error, ErrorKind};
use crate::model::extension::sealed;
use crate::model::invitation::Invitation;
use crate::model::kind::ProviderKind;
use crate::model::outcome::Cancelled;
use crate::model::request::{CreateInvitation, Invitee, ListInvitations, Role};
use crate::model::snapshot::Member;

/// Creating an invitation: notifies the person, never sent again once it may have acted.
pub(crate) const CREATE: Operation = Operation::creates("create_invitation");

/// Creating several invitations in one request (Clerk's bulk endpoint, Elastic Cloud's
/// `emails`): like [`CREATE`], paced by the vendor as its batch endpoint is.
pub(crate) const CREATE_MANY: Operation =
    Operation::creates("create_invitations").paced_as(Traffic::Batch);

/// One page of a list of invitations.
pub(crate) const LIST: Operation = Operation::reads("list_invitations");

/// Cancelling one invitation by id. Vendors whose cancellation notifies people (GitHub) pace
/// it as [`Traffic::Notifying`].
pub(crate) const CANCEL: Operation = Operation::deletes("cancel_invitation");

/// Cancelling several invitations in one request.
pub(crate) const CANCEL_MANY: Operation = Operation::deletes("cancel_invitations");

/// Looking up the teams a pending invitation adds the person to.
pub(crate) const INVITATION_TEAMS: Operation = Operation::reads("invitation_teams");

/// Looking up whether someone is a member.
pub(crate) const MEMBERSHIP: Operation = Operation::reads("membership");

/// Looking up a name's id.
pub(crate) const LOOKUP: Operation = Operation::reads("lookup");

/// One page of an organization's members.
pub(crate) const MEMBERS: Operation = Operation::reads("list_members");

/// One page of a list (invitations, or members) and where the next one starts (the vendor's
/// cursor `C`), if there is one.
#[derive(Debug)]
pub struct Page<C, T = Invitation> {
    pub(crate) items: Vec<T>,
    pub(crate) next: Option<C>,
}

/// What a vendor's member lookup says about one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberAnswer {
    /// An active member with this role.
    Member(Role),
    /// Invited, not yet a member (GitHub's `state: pending`).
    Pending,
    /// Neither.
    NotMember,
}

/// A name a request uses where the vendor wants an id: GitHub's logins and team slugs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Name {
    /// A user's login, for a request to `organization`.
    Login {
        /// The organization the request is for (logins are global; its credential is used).
        organization: String,
        /// The login.
        login: String,
    },
    /// A team's slug in an organization.
    TeamSlug {
        /// The organization.
        organization: String,
        /// The slug.
        slug: String,
    },
}

impl Name {
    /// The key the client remembers the id under: names compared without regard to case.
    pub(crate) fn key(&self) -> String {
        match self {
            Name::Login { login, .. } => format!("login:{}", login.to_lowercase()),
            Name::TeamSlug { organization, slug } => {
                format!(
                    "team:{}:{}",
                    organization.to_lowercase(),
                    slug.to_lowercase()
                )
            }
        }
    }
}

/// A vendor of a [`Client`](crate::Client): GitHub's, Clerk's or Elastic Cloud's API, as one
/// pure mapping per operation.
///
/// Each method builds the request of one operation and the way its answer is read, and does
/// no IO, sleeps or reads a clock; the crate's one engine runs what they build, and the
/// operations above the engine combine them. The trait is sealed: its methods speak the
/// engine's own types, which are not part of this crate's API, so that they can change
/// without breaking anyone. A new vendor is added to the crate itself, in a folder of its own
/// (see `docs/adding-a-vendor.md` in the repository).
pub trait Vendor: sealed::Sealed + Clone + fmt::Debug + Send + Sync + 'static {
    /// What this vendor adds to the [`ClientBuilder`](crate::ClientBuilder).
    type Settings: VendorSettings<Vendor = Self> + Default + Clone + fmt::Debug;

    /// Where a page of this vendor's lists starts (GitHub: a link; Clerk: an offset); the
    /// default is the first page. Two equal cursors name the same page.
    #[doc(hidden)]
    type Cursor: Clone + Default + fmt::Debug + Send + Sync + 'static;

    /// The vendor, as the engine knows it: its name, and how its answers tell rate limits.
    #[doc(hidden)]
    const ORIGIN: Origin;

    /// The vendor.
    const PROVIDER: ProviderKind = Self::ORIGIN.provider;

    /// Checks the builder's settings and builds the engine and the mapping. Nothing is sent.
    #[doc(hidden)]
    fn build(settings: Self::Settings, common: CommonSettings) -> Result<(Engine, Self), Error>;

    /// Whether [`Vendor::cancel_batch`] cancels several invitations in one request. None does
    /// by default.
    const CANCELS_IN_BATCHES: bool = false;

    /// How many invitations [`Vendor::create_batch`] creates in one request at most; 0 (the
    /// default) for a vendor without a batch create.
    const MAX_CREATE_BATCH: usize = 0;

    /// Whether organization names are the same whatever their case (GitHub's logins).
    const ORGANIZATIONS_IGNORE_CASE: bool = false;

    /// Whether the vendor's member list shows members' email addresses (GitHub's does not).
    const MEMBERS_SHOW_EMAILS: bool = true;

    /// How far a create's `error` dooms the other requests of a bulk run: the credential or
    /// plan refused dooms all; an organization unknown, out of reach or full dooms its own.
    /// Vendors leave out answers about one request only (Clerk's unknown role, say).
    fn doom(&self, error: &Error) -> Option<Doom> {
        default_doom(error)
    }

    /// The names `request` uses that must be looked up before it can be sent (GitHub: an
    /// invitee's login, team slugs). None by default.
    fn names(&self, request: &CreateInvitation) -> Vec<Name> {
        let _ = request;
        Vec::new()
    }

    /// Looking up the id of `name`, one of [`Vendor::names`]'s. A vendor that uses no names
    /// (the default) looks none up.
    fn name_call<'a>(&'a self, name: &'a Name) -> Result<Call<'a, impl Decode<u64> + 'a>, Error> {
        let _ = name;
        unsupported::<u64>(Self::PROVIDER, "looking up names")
    }

    /// `request` with its names replaced by the ids looked up (every name of
    /// [`Vendor::names`] given, in that order).
    fn with_ids(&self, request: &CreateInvitation, ids: &[(Name, u64)]) -> CreateInvitation {
        let _ = ids;
        request.clone()
    }

    /// Creating one invitation. An error means nothing is sent.
    fn create<'a>(
        &'a self,
        request: &'a CreateInvitation,
    ) -> Result<Call<'a, impl Decode<Invitation> + 'a>, Error>;

    /// Reads the answer to [`create`](Vendor::create)'s request for `request`. Pure: what the
    /// create call's decoder does.
    fn decode_created(
        &self,
        request: &CreateInvitation,
        response: &RawResponse,
        now: SystemTime,
    ) -> Result<Invitation, Failure>;

    /// What requests must share to be created in one batch request: `None` when `request`
    /// cannot be batched (the vendor has no batch create, the default, or it invites by id).
    fn batch_key(&self, request: &CreateInvitation) -> Option<String> {
        let _ = request;
        None
    }

    /// Creating every one of `requests` (sharing one [`Vendor::batch_key`]) in one request;
    /// the answer lists the invitations created. Unsupported by default.
    fn create_batch<'a>(
        &'a self,
        requests: &'a [&'a CreateInvitation],
    ) -> Result<Call<'a, impl Decode<Vec<Invitation>> + 'a>, Error> {
        let _ = requests;
        unsupported::<Vec<Invitation>>(
            Self::PROVIDER,
            "creating several invitations in one request",
        )
    }

    /// One page of `query`'s invitations, starting at `cursor`. The page may hold invitations
    /// the query does not ask for (filters the vendor cannot apply); the caller filters.
    fn list_page<'a>(
        &'a self,
        query: &'a ListInvitations,
        cursor: Self::Cursor,
    ) -> Result<Call<'a, impl Decode<Page<Self::Cursor>> + 'a>, Error>;

    /// The cheapest list in which `invitee`'s pending invitation shows, if it is there:
    /// filtered on the vendor's server where it can be. By default, the vendor's invitations
    /// name an email address only: a person is found by email, with the list filtered by it.
    fn find_query(&self, organization: &str, invitee: &Invitee) -> Result<ListInvitations, Error> {
        invitee.validate()?;
        match invitee {
            Invitee::Email(email) => Ok(ListInvitations::new(organization).email(email.clone())),
            _ => Err(Error::unsupported(
                Self::PROVIDER,
                format!(
                    "finding an invitation by user id or login ({}'s invitations name the email \
                     address only)",
                    Self::PROVIDER
                ),
            )),
        }
    }

    /// The list a lookup after a create in doubt reads, shared by every such lookup of the
    /// organization, and whether it shows the newest invitations first (then a read stops at
    /// the first invitation older than the creates it must show). By default the pending
    /// invitations, in the vendor's order.
    fn recent_query(&self, organization: &str) -> Result<(ListInvitations, bool), Error> {
        crate::model::request::check_organization(organization)?;
        Ok((ListInvitations::new(organization), false))
    }

    /// The invitations a [`Snapshot`](crate::Snapshot) reads: the pending ones and, where the
    /// vendor lists them, the expired and failed ones. By default the pending ones.
    fn snapshot_query(&self, organization: &str) -> Result<ListInvitations, Error> {
        crate::model::request::check_organization(organization)?;
        Ok(ListInvitations::new(organization))
    }

    /// One page of `organization`'s members, starting at `cursor`.
    fn members_page<'a>(
        &'a self,
        organization: &'a str,
        cursor: Self::Cursor,
    ) -> Result<Call<'a, impl Decode<Page<Self::Cursor, Member>> + 'a>, Error>;

    /// Cancelling one invitation.
    fn cancel<'a>(
        &'a self,
        organization: &'a str,
        id: &'a str,
    ) -> Result<Call<'a, impl Decode<Cancelled> + 'a>, Error>;

    /// Cancelling several invitations in one request, on a vendor that can
    /// ([`Vendor::CANCELS_IN_BATCHES`]). Unsupported by default.
    fn cancel_batch<'a>(
        &'a self,
        organization: &'a str,
        ids: &'a [&'a str],
    ) -> Result<Call<'a, impl Decode<()> + 'a>, Error> {
        let _ = (organization, ids);
        unsupported::<()>(
            Self::PROVIDER,
            "cancelling several invitations in one request",
        )
    }

    /// The request that creates `previous` again, for the same person with the same role and
    /// the options the vendor reports on it (Clerk's metadata, Elastic Cloud's role
    /// assignments), or the read whose answer completes it (GitHub's teams of the invitation).
    fn recreate<'a>(
        &'a self,
        organization: &'a str,
        previous: &'a Invitation,
    ) -> Result<Recreate<'a, impl Decode<CreateInvitation> + 'a>, Error>;

    /// Looking `invitee` up among the members. `None` when the vendor cannot tell (GitHub does
    /// not show members' email addresses); an error when the vendor cannot look up this kind
    /// of invitee at all.
    fn member<'a>(
        &'a self,
        organization: &'a str,
        invitee: &'a Invitee,
    ) -> Result<Option<Call<'a, impl Decode<MemberAnswer> + 'a>>, Error>;
}

/// The create call sending `plan` for `request`, its answer read by the vendor's own
/// [`Vendor::decode_created`].
pub(crate) fn create_call<'a, V: Vendor>(
    vendor: &'a V,
    request: &'a CreateInvitation,
    plan: HttpPlan,
) -> Call<'a, impl Decode<Invitation> + 'a> {
    let decode = move |response: &RawResponse, now: SystemTime| {
        vendor.decode_created(request, response, now)
    };
    Call::new(CREATE, V::ORIGIN, &request.organization, plan, decode)
        .about(Subject::Invitee(&request.invitee))
}

/// The email address `invitee` is invited by, on a vendor that invites by email only.
pub(crate) fn invited_email(provider: ProviderKind, invitee: &Invitee) -> Result<&str, Error> {
    let by = match invitee {
        Invitee::Email(email) => return Ok(email),
        Invitee::UserId(_) => "user id",
        Invitee::Login(_) => "login",
    };
    Err(Error::unsupported(
        provider,
        format!("inviting by {by} ({provider} invites by email address)"),
    ))
}

/// Checks one name of a roster entry (a login, a team): why it is refused, if it is.
#[cfg(feature = "roster")]
pub(crate) type NameCheck = fn(&str) -> Result<(), String>;

/// How a vendor's entries in a roster file are read and checked: what its key names.
#[cfg(feature = "roster")]
pub(crate) struct RosterRules {
    /// The vendor.
    pub(crate) provider: ProviderKind,
    /// The role a roster's role names, or why it is none of the vendor's.
    pub(crate) role: fn(&str) -> Result<Role, String>,
    /// Checks a login, on a vendor that invites by login.
    pub(crate) check_login: Option<NameCheck>,
    /// Checks a team, on a vendor with teams.
    pub(crate) check_team: Option<NameCheck>,
    /// The request with the entry's teams (a vendor without teams leaves it as it is).
    pub(crate) with_teams: fn(CreateInvitation, &[String]) -> CreateInvitation,
}

/// The roster rules of the vendor a roster file keys `key` (`github`, `clerk`, `elastic`).
#[cfg(feature = "roster")]
pub(crate) fn roster_rules(key: &str) -> Option<&'static RosterRules> {
    match key {
        "github" => Some(&github::ROSTER_RULES),
        "clerk" => Some(&clerk::ROSTER_RULES),
        "elastic" => Some(&elastic::ROSTER_RULES),
        _ => None,
    }
}

/// How a vendor makes an invitation again: the request at once, or after one more read.
// Made once per resend and matched at once; boxing the call would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Recreate<'a, D> {
    /// The request, ready.
    Ready(CreateInvitation),
    /// A read whose answer is the request.
    After(Call<'a, D>),
}

impl Recreate<'_, NoDecode<CreateInvitation>> {
    /// The request, ready (for vendors that never need the read).
    pub(crate) fn ready(request: CreateInvitation) -> Self {
        Recreate::Ready(request)
    }
}

/// How far an answer dooms the other requests of a bulk run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doom {
    /// Every request: the credential or the account was refused.
    All,
    /// Every request to the same organization: it is unknown, out of reach or full.
    Organization,
}

/// How far an error dooms a bulk run's other requests, by its kind alone.
pub(crate) fn default_doom(error: &Error) -> Option<Doom> {
    match error {
        Error::Skipped { .. } => return None,
        Error::Api(api) if api.about_request => return None,
        _ => {}
    }
    match error.kind() {
        // A refused credential, or a shared pacer the client must not go without.
        ErrorKind::Unauthenticated | ErrorKind::PacerUnavailable => Some(Doom::All),
        ErrorKind::PaymentRequired
        | ErrorKind::PermissionDenied
        | ErrorKind::NotFound
        | ErrorKind::QuotaExceeded => Some(Doom::Organization),
        _ => None,
    }
}

/// The decoder type of a call that is never made, for vendors without an operation.
pub type NoDecode<T> = fn(&RawResponse, SystemTime) -> Result<T, Failure>;

/// "This vendor cannot do that": a call that is never made.
pub(crate) fn unsupported<'a, T>(
    provider: ProviderKind,
    what: &str,
) -> Result<Call<'a, NoDecode<T>>, Error> {
    Err(Error::unsupported(provider, what))
}

impl Failure {
    /// The same failure as another kind (an operation that knows better what a status means,
    /// such as a 404 when cancelling).
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Failure {
        if let Error::Api(api) = &mut self.error {
            api.kind = kind;
        }
        self
    }

    /// The kind of the failure.
    pub(crate) fn kind(&self) -> ErrorKind {
        self.error.kind()
    }
}

/// The codec of `kind`'s vendor, with its default settings.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn codec(kind: ProviderKind) -> &'static dyn codec::Codec {
    use std::sync::OnceLock;
    fn built<V: Vendor>(cell: &'static OnceLock<V>) -> &'static dyn codec::Codec {
        cell.get_or_init(|| {
            let builder =
                crate::engine::builder::ClientBuilder::with_vendor(V::Settings::default())
                    .token("fuzz");
            V::build(builder.vendor, builder.common)
                .expect("the default settings are valid")
                .1
        })
    }
    static GITHUB: OnceLock<github::GitHubVendor> = OnceLock::new();
    static CLERK: OnceLock<clerk::ClerkVendor> = OnceLock::new();
    static ELASTIC: OnceLock<elastic::ElasticVendor> = OnceLock::new();
    match kind {
        ProviderKind::GitHub => built(&GITHUB),
        ProviderKind::Clerk => built(&CLERK),
        ProviderKind::ElasticCloud => built(&ELASTIC),
    }
}
