//! What operations answer, in one shape for every vendor: a cancellation, a membership, a
//! definite invitation ([`Ensured`]), a resend, a bulk run's items, and the settings of the
//! operations that take some ([`Reconcile`], [`BulkOptions`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::model::boxed::BoxFuture;
use crate::model::error::Error;
use crate::model::invitation::Invitation;
use crate::model::kind::ProviderKind;
use crate::model::request::{CreateInvitation, Role};

/// A cancelled invitation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Cancelled {
    /// The vendor.
    pub provider: ProviderKind,
    /// The id of the cancelled invitation, as given.
    pub id: String,
    /// The invitation as the vendor returned it after cancelling (Clerk returns it, with
    /// status `revoked`; GitHub and Elastic Cloud answer with no body).
    pub invitation: Option<Invitation>,
}

impl Cancelled {
    pub(crate) fn new(provider: ProviderKind, id: &str, invitation: Option<Invitation>) -> Self {
        Cancelled {
            provider,
            id: id.to_owned(),
            invitation,
        }
    }
}

/// What became of one id given to
/// [`Provider::cancel_invitations`](crate::Provider::cancel_invitations).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CancelOutcome {
    /// The invitation id, as given.
    pub id: String,
    /// The cancellation, or why it failed: [`ErrorKind::NotPending`](crate::ErrorKind::NotPending) when the invitation was
    /// no longer pending (or never existed).
    pub result: Result<Cancelled, Error>,
}

/// Whether a person is in an organization, invited to it, or neither.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
// Returned by value once per lookup; boxing the invitation would only make matching clumsy.
#[allow(clippy::large_enum_variant)]
pub enum Membership {
    /// An active member.
    #[non_exhaustive]
    Member {
        /// Their role in the organization.
        role: Role,
    },
    /// Not a member yet, with a pending invitation.
    Invited(Invitation),
    /// Neither a member nor invited.
    NotMember,
    /// Not found as a member nor as invited, but the vendor cannot rule one of them out:
    /// GitHub does not show members' email addresses (a lookup by email with no pending
    /// invitation ends here; look the person up by login), and Clerk's and Elastic Cloud's
    /// invitations name email addresses only (a lookup by user id or username of someone who
    /// is not a member ends here; look them up by email).
    Unknown,
}

impl Membership {
    /// Whether the person is an active member.
    pub fn is_member(&self) -> bool {
        matches!(self, Membership::Member { .. })
    }

    /// The pending invitation, when the person has one.
    pub fn invitation(&self) -> Option<&Invitation> {
        match self {
            Membership::Invited(invitation) => Some(invitation),
            _ => None,
        }
    }
}

/// How [`ensure_invited`](crate::Provider::ensure_invited) looks for an invitation whose
/// create ended in doubt (a timeout or broken connection after sending, a 5xx, an unreadable
/// success) before it concludes that none was created.
///
/// The default is three lookups over five seconds: at once, after 2.5 s and after 5 s. Reads
/// can trail a write for a moment: GitHub serves them from replicas, and its own clients give
/// a freshly written credential about five seconds to reach them all. Whether invitation lists
/// lag as long is not documented, so the default covers the same window; a longer one makes a
/// doubtful call slower, never less safe.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use orginvite::Reconcile;
///
/// let patient = Reconcile::default().lookups(5).window(Duration::from_secs(20));
/// assert_eq!(patient.lookups, 5);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconcile {
    /// How many lookups, at least one.
    pub lookups: u32,
    /// Over how long they are spread: the first at once, the last at the end.
    pub window: Duration,
}

impl Default for Reconcile {
    fn default() -> Reconcile {
        Reconcile {
            lookups: 3,
            window: Duration::from_secs(5),
        }
    }
}

impl Reconcile {
    setters! {
        /// Sets how many lookups are made (at least one).
        lookups(self, lookups: u32) { self.lookups = lookups.max(1) }

        /// Sets the window the lookups are spread over.
        window(self, window: Duration) { self.window = window }
    }

    /// How long after the start of the window lookup number `n` (0-based) is made: the first
    /// at once, the last at the window's end, the others evenly between.
    pub(crate) fn offset_of(&self, n: u32) -> Duration {
        if n == 0 || self.lookups < 2 {
            Duration::ZERO
        } else {
            self.window / (self.lookups - 1) * n
        }
    }
}

/// The definite answer of [`ensure_invited`](crate::Provider::ensure_invited): the person has
/// exactly one pending invitation, or is a member.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
// Returned by value once per call; boxing the invitation would only make matching clumsy.
#[allow(clippy::large_enum_variant)]
pub enum Ensured {
    /// This call created the invitation.
    #[non_exhaustive]
    Created {
        /// The invitation.
        invitation: Invitation,
        /// The create ended in doubt and a lookup found the invitation it had created.
        reconciled: bool,
    },
    /// The person already had a pending invitation.
    #[non_exhaustive]
    AlreadyInvited {
        /// That invitation, when the lookup after the vendor's "already invited" found it
        /// (GitHub cannot look up an invitation by user id).
        invitation: Option<Invitation>,
    },
    /// The person is already a member.
    AlreadyMember,
}

impl Ensured {
    /// The invitation, when it is known.
    pub fn invitation(&self) -> Option<&Invitation> {
        match self {
            Ensured::Created { invitation, .. } => Some(invitation),
            Ensured::AlreadyInvited { invitation } => invitation.as_ref(),
            Ensured::AlreadyMember => None,
        }
    }

    /// Whether this call created the invitation.
    pub fn created(&self) -> bool {
        matches!(self, Ensured::Created { .. })
    }

    /// Whether a create that ended in doubt was settled by a lookup.
    pub fn reconciled(&self) -> bool {
        matches!(
            self,
            Ensured::Created {
                reconciled: true,
                ..
            }
        )
    }

    /// A stable `snake_case` name: `created`, `already_invited` or `already_member`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Ensured::Created { .. } => "created",
            Ensured::AlreadyInvited { .. } => "already_invited",
            Ensured::AlreadyMember => "already_member",
        }
    }
}

/// What [`resend_invitation`](crate::Provider::resend_invitation) did.
#[derive(Clone, Debug)]
#[non_exhaustive]
// Returned by value once per call; boxing the invitations would only make matching clumsy.
#[allow(clippy::large_enum_variant)]
pub enum Resent {
    /// The pending invitation was cancelled and a new one created: the person receives a new
    /// email (and on GitHub a notification of the cancellation).
    #[non_exhaustive]
    Resent {
        /// The cancelled invitation.
        previous: Invitation,
        /// The new one, as [`ensure_invited`](crate::Provider::ensure_invited) settled it.
        outcome: Ensured,
    },
    /// The person has no pending invitation: nothing was sent.
    NothingPending,
    /// The pending invitation was cancelled, but the new one could not be created: invite the
    /// person again.
    #[non_exhaustive]
    CancelledOnly {
        /// The cancelled invitation.
        previous: Invitation,
        /// Why the new one was not created.
        error: Error,
    },
}

/// How [`invite_all`](crate::Provider::invite_all) runs.
///
/// ```
/// use std::time::Duration;
/// use orginvite::{BulkOptions, CancellationToken};
///
/// let stop = CancellationToken::new();
/// let options = BulkOptions::default()
///     .concurrency(8)
///     .deadline(Duration::from_secs(15 * 60))
///     .batches(false)
///     .cancel_on(stop.clone());
/// assert_eq!(options.concurrency, 8);
/// // Later, from a Ctrl-C handler: nothing that is not on the wire yet is sent.
/// stop.cancel();
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkOptions {
    /// How many requests (or batches) are in flight at most. Defaults to 4. The client's
    /// pacing still decides when each may start: GitHub's invitations go one at a time
    /// whatever this says.
    pub concurrency: usize,
    /// A deadline for the whole run, counted from the call: what has not been sent by then is
    /// skipped. No deadline by default: the run waits for the client's pacing as long as the
    /// vendor's limits require (hours for a thousand invitations on Clerk), where a single call
    /// would give up after the retry policy's `max_wait`.
    pub deadline: Option<Duration>,
    /// Whether the vendor's batch endpoints are used (Clerk's bulk call, Elastic Cloud's
    /// `emails`). On by default.
    pub batches: bool,
    /// Whether a [`Snapshot`](crate::Snapshot) of each organization is taken first, so that
    /// people it shows as members or invited are answered without a create
    /// ([`Ensured::AlreadyMember`], [`Ensured::AlreadyInvited`] with the invitation). On by
    /// default: see [`BulkOptions::precheck`].
    pub precheck: bool,
    /// Cancelling this token stops the run: see [`BulkOptions::cancel_on`].
    pub cancel: Option<CancellationToken>,
    /// Told before each request that may create invitations is sent: see
    /// [`BulkObserver`].
    pub observer: Option<Arc<dyn BulkObserver>>,
    /// Requests an earlier run may have sent, by position, with when: see
    /// [`BulkOptions::maybe_sent`].
    pub maybe_sent: HashMap<usize, SystemTime>,
}

impl Default for BulkOptions {
    fn default() -> BulkOptions {
        BulkOptions {
            concurrency: 4,
            deadline: None,
            batches: true,
            precheck: true,
            cancel: None,
            observer: None,
            maybe_sent: HashMap::new(),
        }
    }
}

impl BulkOptions {
    setters! {
        /// Sets how many requests are in flight at most (at least one).
        concurrency(self, concurrency: usize) { self.concurrency = concurrency.max(1) }

        /// Sets a deadline for the whole run.
        deadline(self, deadline: Duration) { self.deadline = Some(deadline) }

        /// Turns the vendor's batch endpoints on or off.
        batches(self, batches: bool) { self.batches = batches }

        /// Turns the snapshot before the run on or off. On, each organization's invitations
        /// and members are read once (a few paged requests: see
        /// [`Provider::snapshot`](crate::Provider::snapshot)) and whoever it shows as a member
        /// or invited costs no create; a request an earlier run may have sent
        /// ([`BulkOptions::maybe_sent`]) that it shows invited is settled by it. Where the
        /// snapshot cannot tell, the create is still sent: GitHub does not show members' email
        /// addresses, so a member invited by email hears the vendor's "already a member". A
        /// snapshot that fails leaves its organization's requests to be sent as without one.
        /// Off, nothing is read before the creates: cheaper for a handful of people in a large
        /// organization.
        precheck(self, precheck: bool) { self.precheck = precheck }

        /// Stops the run when `token` is cancelled (a Ctrl-C handler, a shutdown): from then on
        /// no request is sent that is not on the wire already. Requests waiting for their turn
        /// are abandoned at once; they, and every request not started, end with
        /// [`Error::Cancelled`] (or the answer that doomed them, [`Error::Skipped`]), and are
        /// [`skipped`](BulkItem::skipped) unless an earlier run may have sent them. Requests
        /// already sent run to their end.
        cancel_on(self, token: CancellationToken) { self.cancel = Some(token) }

        /// Tells `observer` before each request that may create invitations is sent.
        observer(self, observer: impl BulkObserver + 'static) { self.observer = Some(Arc::new(observer)) }

        /// Says that an earlier run may have sent request `index` (its position in the input) at
        /// `at`, and stopped before its outcome was known (a crash, an interruption): the
        /// invitation is looked up first, over the [`Reconcile`] window from `at`, and created
        /// only when it is not there. Found, it is [`Ensured::Created`] with `reconciled` when it
        /// was created after `at` (give or take the clocks' skew), else
        /// [`Ensured::AlreadyInvited`].
        maybe_sent(self, index: usize, at: SystemTime) { self.maybe_sent.insert(index, at) }
    }
}

/// What a bulk run tells its caller as it goes, besides its items: before each request that
/// may create invitations goes out. A journal records there that the invitations are about to
/// be sent, so that a crash cannot lose one (see [`BulkOptions::maybe_sent`] for resuming).
pub trait BulkObserver: Send + Sync + fmt::Debug {
    /// The request that may create the invitations of `indices` (positions in the input) has
    /// its turn and is about to be sent; it waits until this completes. An error keeps it from
    /// being sent and stops the run, as a cancellation does (its members end
    /// [`Error::Cancelled`], with the error's message).
    fn sending<'a>(
        &'a self,
        indices: &'a [usize],
    ) -> BoxFuture<'a, Result<(), Box<dyn std::error::Error + Send + Sync>>>;
}

/// An observer behind an `Arc`, so that the caller keeps a handle on it.
impl<T: BulkObserver + ?Sized> BulkObserver for Arc<T> {
    fn sending<'a>(
        &'a self,
        indices: &'a [usize],
    ) -> BoxFuture<'a, Result<(), Box<dyn std::error::Error + Send + Sync>>> {
        (**self).sending(indices)
    }
}

/// The outcome of one request of [`invite_all`](crate::Provider::invite_all).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkItem {
    /// The request's position in the input (0-based).
    pub index: usize,
    /// The request.
    pub request: CreateInvitation,
    /// What became of it: the definite answer of
    /// [`ensure_invited`](crate::Provider::ensure_invited), or an error.
    pub outcome: Result<Ensured, Error>,
    /// The request was not carried out, and nothing that could have created its invitation
    /// was sent: an earlier answer doomed it ([`Error::Skipped`]), the run's deadline passed
    /// before its turn ([`Error::Throttled`]), or the run was stopped
    /// ([`Error::Cancelled`]). `outcome` holds the cause. Never set for a request an earlier
    /// run may have sent ([`BulkOptions::maybe_sent`]) that this run could not settle: it is
    /// as much in doubt as before.
    pub skipped: bool,
    /// This run sent a request that may have created the invitation (or was about to send
    /// it when the run stopped): what a journal that recorded it as started must settle.
    pub sent: bool,
    /// The index of an earlier request for the same person in the same organization: this one
    /// was not sent, and `outcome` repeats that request's.
    pub duplicate_of: Option<usize>,
}
