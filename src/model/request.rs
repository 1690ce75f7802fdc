//! The unified request: [`CreateInvitation`], [`Invitee`] and [`Role`], and the checks every
//! provider makes before anything is sent.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::model::error::Error;
use crate::model::extension::{OptionSet, VendorListOptions, VendorOptions};
use crate::model::invitation::{Invitation, InvitationStatus};

/// `with` and `options` for a type that carries vendors' own options of the kind `$kind`,
/// each with the docs given.
macro_rules! vendor_options {
    ($kind:ident, $(#[$with:meta])* with, $(#[$get:meta])* options) => {
        $(#[$with])*
        pub fn with<O: $kind>(mut self, options: O) -> Self {
            self.options.set(options);
            self
        }

        $(#[$get])*
        pub fn options<O: $kind>(&self) -> Option<&O> {
            self.options.get()
        }
    };
}

/// Who is invited, or looked up: an email address, a user id in the vendor's own user
/// directory, or a login.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Invitee {
    /// An email address. The person may or may not have an account with the vendor yet.
    Email(String),
    /// The vendor's id of an existing user (GitHub: the numeric user id).
    UserId(String),
    /// The vendor's login or username of an existing user (GitHub: `octocat`; Clerk: the
    /// username). Used to look people up ([`Provider::membership`](crate::Provider::membership),
    /// [`Provider::find_invitation`](crate::Provider::find_invitation)); no provider invites by
    /// login yet.
    Login(String),
}

impl Invitee {
    /// Invite by email address.
    pub fn email(address: impl Into<String>) -> Invitee {
        Invitee::Email(address.into())
    }

    /// Invite an existing user by the vendor's user id.
    pub fn user_id(id: impl Into<String>) -> Invitee {
        Invitee::UserId(id.into())
    }

    /// An existing user, by the vendor's login or username.
    pub fn login(login: impl Into<String>) -> Invitee {
        Invitee::Login(login.into())
    }

    /// Builds an invitee from two optional inputs (a form, command-line flags, a config file).
    ///
    /// Exactly one of them must be given: both or neither is an
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).
    ///
    /// ```
    /// use orginvite::{ErrorKind, Invitee};
    ///
    /// let invitee = Invitee::from_parts(Some("jane@example.com".into()), None).unwrap();
    /// assert_eq!(invitee.as_email(), Some("jane@example.com"));
    /// let both = Invitee::from_parts(Some("jane@example.com".into()), Some("42".into()));
    /// assert_eq!(both.unwrap_err().kind(), ErrorKind::InvalidRequest);
    /// ```
    pub fn from_parts(email: Option<String>, user_id: Option<String>) -> Result<Invitee, Error> {
        match (email, user_id) {
            (Some(email), None) => Ok(Invitee::Email(email)),
            (None, Some(id)) => Ok(Invitee::UserId(id)),
            (Some(_), Some(_)) => Err(Error::invalid(
                None,
                "invitee",
                "takes an email or a user id, not both",
            )),
            (None, None) => Err(Error::invalid(
                None,
                "invitee",
                "needs an email or a user id",
            )),
        }
    }

    /// The email address, when inviting by email.
    pub fn as_email(&self) -> Option<&str> {
        match self {
            Invitee::Email(email) => Some(email),
            _ => None,
        }
    }

    /// Checks the invitee's shape: a well-formed email, or a non-empty id or login without
    /// spaces or control characters.
    pub fn validate(&self) -> Result<(), Error> {
        let (field, value) = match self {
            Invitee::Email(email) => return validate_email(email),
            Invitee::UserId(id) => ("user_id", id),
            Invitee::Login(login) => ("login", login),
        };
        if value.trim().is_empty() {
            return Err(Error::invalid(None, field, "must not be empty"));
        }
        if has_control_or_space(value) {
            return Err(Error::invalid(
                None,
                field,
                "must not contain spaces or control characters",
            ));
        }
        Ok(())
    }

    /// Whether `invitation` is for this person: the same email (without regard to case) or
    /// the same login (GitHub). No vendor lists invitees' user ids, so a user id matches
    /// nothing.
    pub fn matches(&self, invitation: &Invitation) -> bool {
        match self {
            Invitee::Email(email) => invitation
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email)),
            Invitee::Login(login) => invitation
                .login
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(login)),
            Invitee::UserId(_) => false,
        }
    }
}

/// The role the person gets in the organization.
///
/// Each provider maps the three shared roles onto its own names (see the provider's docs);
/// [`Role::Custom`] passes a vendor's own role string through unchanged. Parsing with
/// [`str::parse`] accepts `admin`, `member`, `billing_manager` (or `billing-manager`) and treats
/// anything else as a custom role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// An owner or administrator of the organization.
    Admin,
    /// An ordinary member. The default.
    #[default]
    Member,
    /// Someone who manages billing without being an administrator.
    BillingManager,
    /// A vendor's own role string, sent as it is (for example Clerk's `org:viewer`).
    Custom(String),
}

impl Role {
    /// The role's name: `admin`, `member`, `billing_manager`, or the custom string.
    pub fn as_str(&self) -> &str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::BillingManager => "billing_manager",
            Role::Custom(role) => role,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Role, Self::Err> {
        Ok(match s {
            "admin" => Role::Admin,
            "member" => Role::Member,
            "billing_manager" | "billing-manager" => Role::BillingManager,
            other => Role::Custom(other.to_owned()),
        })
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One invitation to create: the same request for every provider.
///
/// Build it with [`CreateInvitation::email`] (or [`CreateInvitation::new`]) and chained
/// setters. Options only one vendor has are that vendor's own type, added with
/// [`CreateInvitation::with`] ([`GitHubOptions`](crate::github::GitHubOptions),
/// [`ClerkOptions`](crate::clerk::ClerkOptions),
/// [`ElasticOptions`](crate::elastic::ElasticOptions)): each provider reads its own and
/// ignores the others', so one request can carry options for several vendors.
/// Shared options a provider cannot honour, such as an expiry on GitHub, are refused with
/// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) before anything is sent.
///
/// ```
/// use std::time::Duration;
/// use orginvite::github::GitHubOptions;
/// use orginvite::{CreateInvitation, Role};
///
/// let request = CreateInvitation::email("acme", "jane@example.com")
///     .role(Role::Admin)
///     .with(GitHubOptions::new().team_id(12).team_id(34));
/// assert_eq!(request.organization, "acme");
/// let github = request.options::<GitHubOptions>().unwrap();
/// assert_eq!(github.team_ids, [12, 34]);
/// assert!(request.validate().is_ok());
///
/// let bad = CreateInvitation::email("acme", "not an email");
/// assert!(bad.validate().is_err());
/// # let _ = Duration::ZERO;
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CreateInvitation {
    /// The organization: GitHub's login (`acme`), Clerk's `org_...` id, Elastic Cloud's id.
    pub organization: String,
    /// Who is invited.
    pub invitee: Invitee,
    /// The role to give. Defaults to [`Role::Member`].
    pub role: Role,
    /// How long the invitation stays valid, where the vendor lets the caller choose.
    pub expires_in: Option<Duration>,
    /// Each vendor's own options, one value per vendor.
    options: OptionSet,
}

impl CreateInvitation {
    /// An invitation of `invitee` to `organization`, as a [`Role::Member`].
    pub fn new(organization: impl Into<String>, invitee: Invitee) -> CreateInvitation {
        CreateInvitation {
            organization: organization.into(),
            invitee,
            role: Role::Member,
            expires_in: None,
            options: OptionSet::default(),
        }
    }

    /// An invitation of the person with this email address to `organization`.
    pub fn email(organization: impl Into<String>, email: impl Into<String>) -> CreateInvitation {
        CreateInvitation::new(organization, Invitee::email(email))
    }

    /// An invitation of an existing GitHub user by login, to `organization`: the login is
    /// looked up through `GET /users/{login}` (and remembered by the client) and sent as
    /// `invitee_id`. Other vendors refuse it as unsupported.
    pub fn github_login(
        organization: impl Into<String>,
        login: impl Into<String>,
    ) -> CreateInvitation {
        CreateInvitation::new(organization, Invitee::login(login))
    }

    /// An invitation of an existing user, by the vendor's user id, to `organization`.
    pub fn user_id(organization: impl Into<String>, id: impl Into<String>) -> CreateInvitation {
        CreateInvitation::new(organization, Invitee::user_id(id))
    }

    vendor_options! {
        VendorOptions,
        /// Adds one vendor's own options ([`GitHubOptions`](crate::github::GitHubOptions),
        /// [`ClerkOptions`](crate::clerk::ClerkOptions),
        /// [`ElasticOptions`](crate::elastic::ElasticOptions)), replacing any given before for
        /// that vendor; other vendors ignore them.
        with,
        /// The options of type `O` given with [`with`](Self::with), if any.
        options
    }

    setters! {
        /// Sets the role.
        role(self, role: Role) { self.role = role }

        /// Sets how long the invitation stays valid (Clerk: whole days, Elastic Cloud: whole hours
        /// or days; GitHub's invitations always last 7 days and refuse this option).
        expires_in(self, expires_in: Duration) { self.expires_in = Some(expires_in) }
    }

    /// Checks the rules every provider shares: a plain organization, a well-formed email or a
    /// non-empty user id, a role name without control characters.
    ///
    /// Providers run this, and their own checks, before sending anything; call it yourself to
    /// reject bad input early.
    pub fn validate(&self) -> Result<(), Error> {
        validate_organization(&self.organization)?;
        self.invitee.validate()?;
        validate_role(&self.role)?;
        if self.expires_in == Some(Duration::ZERO) {
            return Err(Error::invalid(
                None,
                "expires_in",
                "must be longer than zero",
            ));
        }
        Ok(())
    }
}

fn validate_role(role: &Role) -> Result<(), Error> {
    if let Role::Custom(role) = role {
        if role.trim().is_empty() {
            return Err(Error::invalid(None, "role", "must not be empty"));
        }
        if role.chars().any(char::is_control) {
            return Err(Error::invalid(
                None,
                "role",
                "must not contain control characters",
            ));
        }
    }
    Ok(())
}

/// Which invitations to list: the same query for every provider.
///
/// By default it lists the pending invitations of the organization. Statuses, a role and an
/// email narrow it; each provider applies on its server what its API can filter and the rest
/// on the client (each provider's docs say which), so the stream holds exactly the matching
/// invitations either way. A status the vendor never lists (a revoked invitation on GitHub,
/// say) is refused with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) before
/// anything is sent.
///
/// ```
/// use orginvite::{InvitationStatus, ListInvitations, Role};
///
/// let pending_admins = ListInvitations::new("acme").role(Role::Admin);
/// assert_eq!(pending_admins.statuses, [InvitationStatus::Pending]);
///
/// let everything = ListInvitations::new("acme").any_status();
/// assert!(everything.statuses.is_empty());
///
/// let jane = ListInvitations::new("acme")
///     .statuses([InvitationStatus::Pending, InvitationStatus::Expired])
///     .email("jane@example.com");
/// assert!(jane.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListInvitations {
    /// The organization: GitHub's login, Clerk's `org_...` id, Elastic Cloud's id.
    pub organization: String,
    /// The statuses to list; empty means every status the vendor lists. Defaults to
    /// [`InvitationStatus::Pending`].
    pub statuses: Vec<InvitationStatus>,
    /// Only invitations giving this role.
    pub role: Option<Role>,
    /// Only invitations for this email address (compared without regard to case).
    pub email: Option<String>,
    /// How many invitations one page asks for; the provider's largest page when unset
    /// (GitHub: 100, Clerk: 500; Elastic Cloud lists everything at once).
    pub page_size: Option<u32>,
    /// Each vendor's own list options, one value per vendor.
    options: OptionSet,
    /// Whether the invitations may come without the vendor's payload (a snapshot's read,
    /// which keeps no payload): a vendor whose payload costs much to decode then skips it.
    pub(crate) brief: bool,
}

impl ListInvitations {
    /// The pending invitations of `organization`.
    pub fn new(organization: impl Into<String>) -> ListInvitations {
        ListInvitations {
            organization: organization.into(),
            statuses: vec![InvitationStatus::Pending],
            role: None,
            email: None,
            page_size: None,
            options: OptionSet::default(),
            brief: false,
        }
    }

    /// Lists invitations in any of these statuses instead.
    pub fn statuses(
        mut self,
        statuses: impl IntoIterator<Item = InvitationStatus>,
    ) -> ListInvitations {
        self.statuses = statuses.into_iter().collect();
        self
    }

    /// Lists invitations in this status instead.
    pub fn status(self, status: InvitationStatus) -> ListInvitations {
        self.statuses([status])
    }

    setters! {
        /// Lists invitations in every status the vendor lists.
        any_status(self) { self.statuses.clear() }

        /// Only invitations giving `role`.
        role(self, role: Role) { self.role = Some(role) }

        /// Only invitations for `email`.
        email(self, email: impl Into<String>) { self.email = Some(email.into()) }

        /// Asks for pages of `size` invitations.
        page_size(self, size: u32) { self.page_size = Some(size) }
    }

    vendor_options! {
        VendorListOptions,
        /// Adds one vendor's own list options
        /// ([`GitHubListOptions`](crate::github::GitHubListOptions),
        /// [`ClerkListOptions`](crate::clerk::ClerkListOptions)), replacing any given before
        /// for that vendor; other vendors ignore them.
        with,
        /// The list options of type `O` given with [`with`](Self::with), if any.
        options
    }

    /// Checks the rules every provider shares: a plain organization, a well-formed email, a
    /// role name without control characters, a page size of at least one.
    pub fn validate(&self) -> Result<(), Error> {
        validate_organization(&self.organization)?;
        if let Some(email) = &self.email {
            validate_email(email)?;
        }
        if let Some(role) = &self.role {
            validate_role(role)?;
        }
        if self.page_size == Some(0) {
            return Err(Error::invalid(None, "page_size", "must be at least 1"));
        }
        Ok(())
    }

    /// Whether `invitation` is one this query asks for: its status, role and email match.
    pub fn matches(&self, invitation: &Invitation) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&invitation.status))
            && self
                .role
                .as_ref()
                .is_none_or(|role| *role == invitation.role)
            && self.email.as_deref().is_none_or(|email| {
                invitation
                    .email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
    }
}

/// Checks an organization name or id the way every provider does.
pub(crate) fn check_organization(organization: &str) -> Result<(), Error> {
    validate_organization(organization)
}

fn has_control_or_space(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// The longest organization name or id accepted.
const MAX_ORGANIZATION_LEN: usize = 256;

fn validate_organization(organization: &str) -> Result<(), Error> {
    let reason = if organization.is_empty() {
        "must not be empty"
    } else if organization.len() > MAX_ORGANIZATION_LEN {
        "is longer than 256 bytes"
    } else if organization.chars().any(char::is_control) {
        "must not contain control characters"
    } else if organization.trim() != organization {
        "must not start or end with white space"
    } else if organization == "." || organization == ".." {
        "must not be `.` or `..`"
    } else {
        return Ok(());
    };
    Err(Error::invalid(None, "organization", reason))
}

/// Checks that `email` has the shape `local@domain`; the vendor has the last word.
pub(crate) fn validate_email(email: &str) -> Result<(), Error> {
    let malformed = |why: &str| Err(Error::invalid(None, "email", format!("{why}: {email:?}")));
    if email.len() > 254 {
        return malformed("is longer than 254 bytes");
    }
    if has_control_or_space(email) {
        return malformed("contains spaces or control characters");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return malformed("has no `@`");
    };
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return malformed("has a malformed part before the `@`");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return malformed("has a misplaced `.` before the `@`");
    }
    let domain_ok = !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if !domain_ok {
        return malformed("has a malformed domain");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::error::ErrorKind;

    #[test]
    fn emails() {
        for good in [
            "jane@example.com",
            "jane.doe+onboarding@sub.example.co.uk",
            "x@localhost",
            "jöran@exämple.de",
        ] {
            assert!(validate_email(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "jane",
            "@example.com",
            "jane@",
            "jane@@example.com",
            "ja ne@example.com",
            "jane@exa mple.com",
            "jane@example..com",
            "jane@.example.com",
            "jane@example.com.",
            ".jane@example.com",
            "jane.@example.com",
            "jane@-example.com",
            "jane\n@example.com",
            "jane@example.com\r\nBcc: x@y.z",
        ] {
            let err = validate_email(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad}");
        }
    }

    #[test]
    fn organizations() {
        for bad in ["", " acme", "acme ", "ac\nme", "ac\u{0}me", ".", ".."] {
            let err = CreateInvitation::email(bad, "a@b.c")
                .validate()
                .unwrap_err();
            match err {
                Error::InvalidRequest(e) => assert_eq!(e.field, "organization", "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let long = "a".repeat(257);
        assert!(CreateInvitation::email(long, "a@b.c").validate().is_err());
        for good in [
            "acme",
            "my-org",
            "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
            "a/b",
            "ünï",
        ] {
            assert!(
                CreateInvitation::email(good, "a@b.c").validate().is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn user_ids_and_roles() {
        assert!(CreateInvitation::user_id("acme", "").validate().is_err());
        assert!(CreateInvitation::user_id("acme", "4 2").validate().is_err());
        assert!(CreateInvitation::user_id("acme", "42").validate().is_ok());
        let custom =
            |r: &str| CreateInvitation::email("acme", "a@b.c").role(Role::Custom(r.into()));
        assert!(custom("").validate().is_err());
        assert!(custom("org:x\r\n").validate().is_err());
        assert!(custom("org:viewer").validate().is_ok());
    }

    #[test]
    fn zero_expiry_is_refused() {
        let req = CreateInvitation::email("acme", "a@b.c").expires_in(Duration::ZERO);
        assert_eq!(
            req.validate().unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn roles_parse_and_print() {
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert_eq!("member".parse::<Role>().unwrap(), Role::Member);
        assert_eq!(
            "billing-manager".parse::<Role>().unwrap(),
            Role::BillingManager
        );
        assert_eq!(
            "billing_manager".parse::<Role>().unwrap(),
            Role::BillingManager
        );
        assert_eq!(
            "org:viewer".parse::<Role>().unwrap(),
            Role::Custom("org:viewer".into())
        );
        assert_eq!(Role::BillingManager.to_string(), "billing_manager");
    }
}
