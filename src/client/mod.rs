//! The [`Provider`] trait, and [`Client`]: one client for every vendor, its operations
//! written once.

use std::fmt;
use std::sync::Arc;

use crate::engine::builder::{ClientBuilder, VendorSettings};
use crate::engine::Engine;
use crate::model::boxed::{BoxFuture, BoxStream};
use crate::model::error::Error;
use crate::model::event::{EventCursor, InvitationEvent};
use crate::model::invitation::Invitation;
use crate::model::kind::ProviderKind;
use crate::model::outcome::{
    BulkItem, BulkOptions, CancelOutcome, Cancelled, Ensured, Membership, Resent,
};
use crate::model::request::{CreateInvitation, Invitee, ListInvitations};
use crate::model::snapshot::Snapshot;
use crate::ops::{Ops, Shared};
use crate::vendors::Vendor;

/// A client that invites people to an organization on one vendor, and sees and undoes those
/// invitations.
///
/// The trait is dyn-compatible: pick vendors at run time and keep them as
/// `Box<dyn Provider>` or `Arc<dyn Provider>`. Its futures and streams are `Send`, so calls
/// can be moved into `tokio::spawn`. Every implementation validates its input before anything
/// is sent, paces and retries through the crate's one engine, and never retries an attempt
/// that may already have created an invitation. Reads and cancellations of a named invitation
/// are also retried after a 5xx, a timeout or a broken connection, since repeating them
/// cannot create or remove anything else.
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// use orginvite::{CreateInvitation, GitHub, Invitee, ListInvitations, Provider, Role};
///
/// # async fn run() -> Result<(), orginvite::Error> {
/// let providers: Vec<Box<dyn Provider>> = vec![Box::new(
///     GitHub::builder().token("ghp_example").build()?,
/// )];
/// for provider in &providers {
///     let request = CreateInvitation::email("acme", "jane@example.com").role(Role::Member);
///     let invitation = provider.create_invitation(&request).await?;
///     println!("{}: invited {:?} as {}", provider.kind(), invitation.email, invitation.role);
///
///     let pending: Vec<_> = provider
///         .list_invitations(&ListInvitations::new("acme"))
///         .try_collect()
///         .await?;
///     println!("{} pending", pending.len());
///
///     let jane = Invitee::email("jane@example.com");
///     if let Some(found) = provider.find_invitation("acme", &jane).await? {
///         provider.cancel_invitation("acme", &found.id).await?;
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub trait Provider: Send + Sync + fmt::Debug {
    /// Which vendor this client talks to.
    fn kind(&self) -> ProviderKind;

    /// Creates one invitation.
    ///
    /// Returns the vendor's invitation decoded into the unified [`Invitation`], or a typed
    /// [`Error`]; [`Error::may_have_been_created`] tells whether a failed call could still have
    /// created it.
    fn create_invitation<'a>(
        &'a self,
        request: &'a CreateInvitation,
    ) -> BoxFuture<'a, Result<Invitation, Error>>;

    /// Checks `request` as a create would before sending anything, without sending anything:
    /// the rules every provider shares ([`CreateInvitation::validate`]) and this vendor's own
    /// (its roles, its options, the expiry it accepts). A login or team slug is checked for
    /// form only; whether it exists is known when it is looked up.
    ///
    /// The default checks the shared rules only; the crate's providers check their own too.
    fn check_invitation(&self, request: &CreateInvitation) -> Result<(), Error> {
        request.validate()
    }

    /// Whether `error`, the answer to one request about `organization`, means this vendor
    /// would refuse the other requests to it too: a refused credential, a missing
    /// permission, an unknown organization, a spent quota or plan. What
    /// [`invite_all`](Provider::invite_all) stops on; an error about the request itself (a
    /// malformed email, an unknown role, on Clerk an inviter who is no administrator) is not.
    ///
    /// The default judges by the error's kind; the crate's providers know their vendor's
    /// exceptions.
    fn dooms_other_requests(&self, error: &Error) -> bool {
        crate::vendors::default_doom(error).is_some()
    }

    /// Makes sure the person of `request` is invited or a member, with a definite answer.
    ///
    /// It creates the invitation; a vendor's "already invited" is looked up and returned as
    /// [`Ensured::AlreadyInvited`], "already a member" is [`Ensured::AlreadyMember`] (a
    /// success). When the create ends in doubt (a timeout or broken connection after sending,
    /// a 5xx, an unreadable success) it looks for the invitation as
    /// [`Reconcile`](crate::Reconcile) says: found, it is [`Ensured::Created`] with
    /// `reconciled`; not found after the whole window, the create is sent again within the
    /// retry policy's attempts. When the lookup itself fails, the create's error is returned,
    /// still [`may_have_been_created`](Error::may_have_been_created): never a second blind
    /// create. GitHub cannot look invitations up by user id, so a doubtful create by user id
    /// stays in doubt.
    fn ensure_invited<'a>(
        &'a self,
        request: &'a CreateInvitation,
    ) -> BoxFuture<'a, Result<Ensured, Error>>;

    /// Invites everyone of `requests`, each with its own definite outcome, streamed as they
    /// finish.
    ///
    /// Each request is settled as [`Provider::ensure_invited`] settles one. At most
    /// [`BulkOptions::concurrency`] are in flight, and every request goes through the
    /// client's pacer, so the vendor's limits hold. A person asked for twice in one
    /// organization is invited once; each later occurrence repeats the first's outcome
    /// ([`BulkItem::duplicate_of`]). Requests refused before sending come first. After an
    /// answer that dooms the rest (a refused credential for every organization; no
    /// permission, an unknown organization, a refused plan or a reached quota for its
    /// organization), nothing more is sent for them: they are [`skipped`](BulkItem::skipped)
    /// with that cause ([`Error::Skipped`]); so is every invitation that could not start
    /// before the deadline. Requests already sent run to their end.
    ///
    /// With [`BulkOptions::precheck`] (on by default), a [`snapshot`](Provider::snapshot) of
    /// each organization is taken first, and whoever it shows as a member or invited is
    /// answered without a create.
    ///
    /// With [`BulkOptions::batches`], Clerk's bulk endpoint (up to 10 invitations a request,
    /// paced at its own 50 an hour) and Elastic Cloud's `emails` (people with the same roles
    /// and expiry) carry several invitations at once. Every outcome stays known: an
    /// invitation is matched to its person by email, those missing from the answer or every
    /// member of a batch that ended in doubt are looked up together before anything is sent
    /// again, a batch refused for one member's sake falls back to one request per person,
    /// and one refused for all (no permission, say) is that answer for each.
    fn invite_all<'a>(
        &'a self,
        requests: Vec<CreateInvitation>,
        options: BulkOptions,
    ) -> BoxStream<'a, BulkItem>;

    /// The invitations `query` asks for, as a stream.
    ///
    /// Pages are fetched lazily: the next one only when the stream is polled past the end of
    /// the current one, so dropping the stream early sends nothing more and memory holds one
    /// page. Invalid input is the stream's first and only item, and nothing is sent; the first
    /// error ends the stream.
    fn list_invitations<'a>(
        &'a self,
        query: &'a ListInvitations,
    ) -> BoxStream<'a, Result<Invitation, Error>>;

    /// The pending invitation for `invitee` in `organization`, if there is one.
    ///
    /// Emails match without regard to case, logins too (GitHub). Each provider takes its
    /// cheapest route: Clerk filters on its server; GitHub and Elastic Cloud page through the
    /// pending invitations and stop at the first match. No vendor lists invitees' user ids, so
    /// finding by user id is [`Unsupported`](crate::ErrorKind::Unsupported).
    fn find_invitation<'a>(
        &'a self,
        organization: &'a str,
        invitee: &'a Invitee,
    ) -> BoxFuture<'a, Result<Option<Invitation>, Error>>;

    /// Cancels the pending invitation `id` (GitHub's number, Clerk's `orginv_...`, Elastic
    /// Cloud's token).
    ///
    /// An invitation that is no longer pending (accepted, cancelled, expired) or never existed
    /// is [`ErrorKind::NotPending`](crate::ErrorKind::NotPending) on every vendor. A
    /// cancellation is sent again after a 5xx or a timeout; when the vendor then answers
    /// "not pending", the earlier attempt most likely did it, and the call succeeds.
    fn cancel_invitation<'a>(
        &'a self,
        organization: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Cancelled, Error>>;

    /// Cancels every distinct id once, in the order given, with one outcome per id.
    ///
    /// Elastic Cloud cancels them in batches of up to 100 (after one list that tells which
    /// ids are open); the others send one paced request per id. Malformed ids are refused
    /// alone, before anything is sent. After an error that no other id can escape
    /// (unauthenticated, permission denied, and on Elastic Cloud an unknown organization)
    /// nothing more is sent and the remaining ids get that error. GitHub and Clerk answer a
    /// cancellation in an organization they do not show with the same 404 as an unknown
    /// invitation, so there every id reports [`NotPending`](crate::ErrorKind::NotPending).
    fn cancel_invitations<'a>(
        &'a self,
        organization: &'a str,
        ids: Vec<String>,
    ) -> BoxFuture<'a, Vec<CancelOutcome>>;

    /// Sends `invitee` a new invitation in place of their pending one: the pending invitation
    /// is cancelled and created again with the same role (and the teams, metadata or role
    /// assignments the vendor reports on it). No vendor has a resend endpoint, so the person
    /// receives a new email (and, on GitHub, a notification of the cancellation).
    ///
    /// Nothing is sent when no invitation is pending ([`Resent::NothingPending`]) or when the
    /// new one could not be made from the old or fails this crate's checks (an invitation by
    /// user id on GitHub); a new invitation the vendor refuses after the cancellation (a
    /// custom role it no longer knows, say) is [`Resent::CancelledOnly`].
    fn resend_invitation<'a>(
        &'a self,
        organization: &'a str,
        invitee: &'a Invitee,
    ) -> BoxFuture<'a, Result<Resent, Error>>;

    /// Whether `invitee` is a member of `organization`, has a pending invitation, or neither.
    ///
    /// See each provider for what it can look up: GitHub knows members by login only (it
    /// does not show members' emails, so by email the answer is
    /// [`Membership::Unknown`] unless an invitation is pending); Clerk and Elastic Cloud
    /// invite by email, so a user id or username that is no member is
    /// [`Membership::Unknown`].
    fn membership<'a>(
        &'a self,
        organization: &'a str,
        invitee: &'a Invitee,
    ) -> BoxFuture<'a, Result<Membership, Error>>;

    /// Takes a [`Snapshot`] of `organization`: its pending invitations (and, where the vendor
    /// lists them, its expired and failed ones) and its members, each read once, page by
    /// page, into an index by case-folded email, login and user id. Where many people's state
    /// is wanted, one snapshot replaces a lookup per person.
    ///
    /// The requests: GitHub reads 100 pending invitations, 100 failed ones and 100 members a
    /// page (`/orgs/{org}/invitations`, `/failed_invitations`, `/members`); Clerk reads 500
    /// invitations (pending and expired) and 500 memberships a page; Elastic Cloud answers
    /// each list whole, in one request. Memory holds the index (a few hundred bytes a person)
    /// and one page; Elastic Cloud's unpaged answers are read whole (up to 16 times the
    /// client's [`max_body_bytes`](crate::ClientBuilder::max_body_bytes): 64 MiB by default).
    /// The first error ends it.
    fn snapshot<'a>(&'a self, organization: &'a str) -> BoxFuture<'a, Result<Snapshot, Error>>;

    /// Polls `organization` for what became of its invitations: takes one [`snapshot`]
    /// (its requests are paced as reads), compares it with what `cursor` saw last, and
    /// returns the changes as [`InvitationEvent`]s (invited, accepted, revoked, expired,
    /// failed, member added or removed), moving `cursor` on. The first poll of a new cursor
    /// only sets its starting point. Save the cursor (it serializes) after handling the
    /// events, and a restart neither replays nor loses any. On error the cursor is left as it
    /// was.
    ///
    /// Polling is the only signal Elastic Cloud gives, and the one for expiry and failure on
    /// GitHub and Clerk, whose webhooks say nothing of them. See [`EventCursor`] for what each
    /// vendor lets polling tell.
    ///
    /// [`snapshot`]: Provider::snapshot
    fn poll_events<'a>(
        &'a self,
        organization: &'a str,
        cursor: &'a mut EventCursor,
    ) -> BoxFuture<'a, Result<Vec<InvitationEvent>, Error>> {
        Box::pin(async move {
            let snapshot = self.snapshot(organization).await?;
            Ok(cursor.advance(&snapshot))
        })
    }
}

/// A client of one vendor: [`GitHub`](crate::GitHub), [`Clerk`](crate::Clerk) or
/// [`ElasticCloud`](crate::ElasticCloud). Cheap to clone; clones share the connection pool,
/// the pacer and what the client remembers (ids looked up by name).
///
/// Its methods are the [`Provider`] operations, without the box: call them directly on a
/// client of a known vendor, or through `dyn Provider` when the vendor is chosen at run time.
///
/// ```no_run
/// use orginvite::{CreateInvitation, GitHub, Role};
///
/// # async fn run() -> Result<(), orginvite::Error> {
/// let github = GitHub::builder()
///     .token(std::env::var("GITHUB_TOKEN").unwrap_or_default())
///     .build()?;
/// let invitation = github
///     .create_invitation(&CreateInvitation::email("acme", "jane@example.com").role(Role::Admin))
///     .await?;
/// println!("invitation {} expires {:?}", invitation.id, invitation.expires_at);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client<V: Vendor> {
    engine: Engine,
    vendor: V,
    /// What the operations keep between calls (ids looked up by name) and their settings.
    shared: Arc<Shared>,
}

impl<V: Vendor> fmt::Debug for Client<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("provider", &V::PROVIDER)
            .field("connection", &self.vendor)
            .field("credentials", &self.engine.credentials)
            .field("retry_policy", &self.engine.policy)
            .finish()
    }
}

impl<S: VendorSettings> ClientBuilder<S>
where
    S::Vendor: Vendor<Settings = S>,
{
    /// Checks the settings and builds the client. Nothing is sent.
    pub fn build(self) -> Result<Client<S::Vendor>, Error> {
        let shared = Arc::new(Shared::new(self.common.reconcile.clone()));
        let (engine, vendor) = S::Vendor::build(self.vendor, self.common)?;
        Ok(Client {
            engine,
            vendor,
            shared,
        })
    }
}

impl<V: Vendor> Client<V> {
    /// The operations of this client, for one call.
    fn ops(&self) -> Ops<'_, V> {
        Ops::new(&self.engine, &self.vendor, &self.shared)
    }

    /// A builder with the vendor's defaults (its public API, its pacing): see
    /// [`GitHubVendor`](crate::github::GitHubVendor),
    /// [`ClerkVendor`](crate::clerk::ClerkVendor) and
    /// [`ElasticVendor`](crate::elastic::ElasticVendor) for each one's.
    pub fn builder() -> ClientBuilder<V::Settings> {
        ClientBuilder::with_vendor(V::Settings::default())
    }

    /// Which vendor this client talks to.
    pub fn kind(&self) -> ProviderKind {
        V::PROVIDER
    }

    /// Invites one person; see [`Provider::create_invitation`].
    pub async fn create_invitation(&self, request: &CreateInvitation) -> Result<Invitation, Error> {
        let request = crate::ops::prepare::prepare(self.ops(), request).await?;
        let call = self.vendor.create(&request)?;
        self.engine.run(call).await
    }

    /// Checks a request without sending anything; see [`Provider::check_invitation`].
    pub fn check_invitation(&self, request: &CreateInvitation) -> Result<(), Error> {
        crate::ops::prepare::check(&self.vendor, request)
    }

    /// Whether an answer dooms other requests; see [`Provider::dooms_other_requests`].
    pub fn dooms_other_requests(&self, error: &Error) -> bool {
        self.vendor.doom(error).is_some()
    }

    /// Invites with a definite answer; see [`Provider::ensure_invited`].
    pub async fn ensure_invited(&self, request: &CreateInvitation) -> Result<Ensured, Error> {
        crate::ops::ensure::ensure(self.ops(), request).await
    }

    /// Invites many; see [`Provider::invite_all`].
    pub fn invite_all(
        &self,
        requests: impl IntoIterator<Item = CreateInvitation>,
        options: BulkOptions,
    ) -> BoxStream<'_, BulkItem> {
        let requests = requests.into_iter().collect();
        crate::ops::bulk::invite_all(self.ops(), requests, options)
    }

    /// Lists invitations; see [`Provider::list_invitations`].
    pub fn list_invitations<'a>(
        &'a self,
        query: &'a ListInvitations,
    ) -> BoxStream<'a, Result<Invitation, Error>> {
        crate::ops::lifecycle::list(self.ops(), query)
    }

    /// Finds a pending invitation; see [`Provider::find_invitation`].
    pub async fn find_invitation(
        &self,
        organization: &str,
        invitee: &Invitee,
    ) -> Result<Option<Invitation>, Error> {
        crate::ops::lifecycle::find(self.ops(), organization, invitee).await
    }

    /// Cancels one invitation; see [`Provider::cancel_invitation`].
    pub async fn cancel_invitation(
        &self,
        organization: &str,
        id: &str,
    ) -> Result<Cancelled, Error> {
        let call = self.vendor.cancel(organization, id)?;
        self.engine.run(call).await
    }

    /// Cancels several invitations; see [`Provider::cancel_invitations`].
    pub async fn cancel_invitations(
        &self,
        organization: &str,
        ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Vec<CancelOutcome> {
        let ids = ids.into_iter().map(Into::into).collect();
        crate::ops::lifecycle::cancel_many(self.ops(), organization, ids).await
    }

    /// Re-sends an invitation; see [`Provider::resend_invitation`].
    pub async fn resend_invitation(
        &self,
        organization: &str,
        invitee: &Invitee,
    ) -> Result<Resent, Error> {
        crate::ops::ensure::resend(self.ops(), organization, invitee).await
    }

    /// Looks a person up; see [`Provider::membership`].
    pub async fn membership(
        &self,
        organization: &str,
        invitee: &Invitee,
    ) -> Result<Membership, Error> {
        crate::ops::lifecycle::membership(self.ops(), organization, invitee).await
    }

    /// Takes a snapshot of an organization; see [`Provider::snapshot`].
    pub async fn snapshot(&self, organization: &str) -> Result<Snapshot, Error> {
        crate::ops::snapshot::snapshot(self.ops(), organization).await
    }

    /// Polls an organization for invitation events; see [`Provider::poll_events`].
    pub async fn poll_events(
        &self,
        organization: &str,
        cursor: &mut EventCursor,
    ) -> Result<Vec<InvitationEvent>, Error> {
        let snapshot = self.snapshot(organization).await?;
        Ok(cursor.advance(&snapshot))
    }
}

impl<V: Vendor> Provider for Client<V> {
    fn kind(&self) -> ProviderKind {
        V::PROVIDER
    }

    fn create_invitation<'a>(
        &'a self,
        request: &'a CreateInvitation,
    ) -> BoxFuture<'a, Result<Invitation, Error>> {
        Box::pin(Client::create_invitation(self, request))
    }

    fn check_invitation(&self, request: &CreateInvitation) -> Result<(), Error> {
        Client::check_invitation(self, request)
    }

    fn dooms_other_requests(&self, error: &Error) -> bool {
        Client::dooms_other_requests(self, error)
    }

    fn ensure_invited<'a>(
        &'a self,
        request: &'a CreateInvitation,
    ) -> BoxFuture<'a, Result<Ensured, Error>> {
        Box::pin(Client::ensure_invited(self, request))
    }

    fn invite_all<'a>(
        &'a self,
        requests: Vec<CreateInvitation>,
        options: BulkOptions,
    ) -> BoxStream<'a, BulkItem> {
        Client::invite_all(self, requests, options)
    }

    fn list_invitations<'a>(
        &'a self,
        query: &'a ListInvitations,
    ) -> BoxStream<'a, Result<Invitation, Error>> {
        Client::list_invitations(self, query)
    }

    fn find_invitation<'a>(
        &'a self,
        organization: &'a str,
        invitee: &'a Invitee,
    ) -> BoxFuture<'a, Result<Option<Invitation>, Error>> {
        Box::pin(Client::find_invitation(self, organization, invitee))
    }

    fn cancel_invitation<'a>(
        &'a self,
        organization: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Cancelled, Error>> {
        Box::pin(Client::cancel_invitation(self, organization, id))
    }

    fn cancel_invitations<'a>(
        &'a self,
        organization: &'a str,
        ids: Vec<String>,
    ) -> BoxFuture<'a, Vec<CancelOutcome>> {
        Box::pin(Client::cancel_invitations(self, organization, ids))
    }

    fn resend_invitation<'a>(
        &'a self,
        organization: &'a str,
        invitee: &'a Invitee,
    ) -> BoxFuture<'a, Result<Resent, Error>> {
        Box::pin(Client::resend_invitation(self, organization, invitee))
    }

    fn membership<'a>(
        &'a self,
        organization: &'a str,
        invitee: &'a Invitee,
    ) -> BoxFuture<'a, Result<Membership, Error>> {
        Box::pin(Client::membership(self, organization, invitee))
    }

    fn snapshot<'a>(&'a self, organization: &'a str) -> BoxFuture<'a, Result<Snapshot, Error>> {
        Box::pin(Client::snapshot(self, organization))
    }
}
