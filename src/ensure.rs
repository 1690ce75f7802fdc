//! Never in doubt: inviting someone so that the answer is always definite ([`Ensured`]), and
//! re-sending an invitation ([`Resent`]). Built on the vendors' operations; no wire types here.

use std::time::{Duration, SystemTime};

use crate::engine::Engine;
use crate::lifecycle::find;
use crate::mapping::Vendor;
use crate::{CreateInvitation, Error, ErrorKind, Invitation, Invitee};

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
    /// Sets how many lookups are made (at least one).
    pub fn lookups(mut self, lookups: u32) -> Reconcile {
        self.lookups = lookups.max(1);
        self
    }

    /// Sets the window the lookups are spread over.
    pub fn window(mut self, window: Duration) -> Reconcile {
        self.window = window;
        self
    }

    /// The wait before lookup number `n` (0-based).
    fn wait_before(&self, n: u32) -> Duration {
        if n == 0 || self.lookups < 2 {
            Duration::ZERO
        } else {
            self.window / (self.lookups - 1)
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

/// How much earlier than a call's start an invitation found by its lookup may have been
/// created and still be the call's own: the vendor's clock and this one may disagree.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// What a lookup after a create in doubt found: the call's own invitation, unless it was
/// created well before the call began (then someone else invited the person before).
pub(crate) fn found(invitation: Invitation, started: SystemTime) -> Ensured {
    let before_the_call = invitation.created_at.is_some_and(|created| {
        let started = started
            .checked_sub(CLOCK_SKEW)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        SystemTime::from(created) < started
    });
    if before_the_call {
        Ensured::AlreadyInvited {
            invitation: Some(invitation),
        }
    } else {
        Ensured::Created {
            invitation,
            reconciled: true,
        }
    }
}

/// Creates `request`'s invitation unless the person has one or is a member, settling any
/// doubt with lookups: never a second create while the first may have worked.
pub(crate) async fn ensure<V: Vendor>(
    engine: &Engine,
    vendor: &V,
    request: &CreateInvitation,
) -> Result<Ensured, Error> {
    let organization = request.organization.as_str();
    let started = engine.sleeper.now();
    // Names become ids; lookups still find the person by what the caller gave.
    let resolved = crate::lifecycle::prepare(engine, vendor, request).await?;
    let mut sent = 0;
    loop {
        sent += 1;
        let call = vendor.create(&resolved)?;
        let error = match engine.run(call).await {
            Ok(invitation) => {
                return Ok(Ensured::Created {
                    invitation,
                    reconciled: false,
                })
            }
            Err(error) => error,
        };
        match error.kind() {
            ErrorKind::AlreadyMember => return Ok(Ensured::AlreadyMember),
            ErrorKind::AlreadyInvited => {
                // The answer is definite; the lookup only adds the invitation when it can.
                let invitation = find(engine, vendor, organization, &request.invitee)
                    .await
                    .ok()
                    .flatten();
                return Ok(match invitation {
                    // A create of this call that was not found in time made it.
                    Some(invitation) if sent > 1 => found(invitation, started),
                    invitation => Ensured::AlreadyInvited { invitation },
                });
            }
            _ if error.may_have_been_created() => {}
            _ => return Err(error),
        }
        match lookup(engine, vendor, organization, &request.invitee).await {
            Ok(Some(invitation)) => {
                tracing::info!(
                    attempt = sent,
                    "a create that ended in doubt: the invitation is there"
                );
                return Ok(found(invitation, started));
            }
            // Not there after the whole window: the create did not happen, and may be sent
            // again within the policy's attempts.
            Ok(None) if sent < engine.policy.attempts() => {
                tracing::warn!(
                    attempt = sent,
                    "a create that ended in doubt had not created the invitation; sending it again"
                );
            }
            Ok(None) => {
                let mut error = error;
                error.clear_may_have_been_created();
                return Err(error);
            }
            // The lookup failed: still in doubt, and never a second blind create.
            Err(lookup_error) => {
                tracing::warn!(
                    kind = lookup_error.kind().as_str(),
                    "could not look up an invitation whose create ended in doubt"
                );
                return Err(error);
            }
        }
    }
}

/// `invitee`'s pending invitation, looked for as many times as [`Reconcile`] says.
pub(crate) async fn lookup<V: Vendor>(
    engine: &Engine,
    vendor: &V,
    organization: &str,
    invitee: &Invitee,
) -> Result<Option<Invitation>, Error> {
    let reconcile = &engine.reconcile;
    for n in 0..reconcile.lookups.max(1) {
        let wait = reconcile.wait_before(n);
        if !wait.is_zero() {
            engine.sleeper.sleep(wait).await;
        }
        if let Some(invitation) = find(engine, vendor, organization, invitee).await? {
            return Ok(Some(invitation));
        }
    }
    Ok(None)
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

/// Cancels `invitee`'s pending invitation and creates it again with the same role and the
/// options the vendor reports on it.
pub(crate) async fn resend<V: Vendor>(
    engine: &Engine,
    vendor: &V,
    organization: &str,
    invitee: &Invitee,
) -> Result<Resent, Error> {
    let Some(previous) = find(engine, vendor, organization, invitee).await? else {
        return Ok(Resent::NothingPending);
    };
    // Everything the new invitation needs is known before the old one goes.
    let mut request = vendor.recreate(organization, &previous)?;
    if let Some(call) = vendor.invitation_teams(organization, &previous)? {
        request.github.team_ids = engine.run(call).await?;
    }
    // The new invitation passes every check this crate makes, its names looked up, before
    // the old one goes.
    let request = crate::lifecycle::prepare(engine, vendor, &request)
        .await?
        .into_owned();
    drop(vendor.create(&request)?);
    engine
        .run(vendor.cancel(organization, &previous.id)?)
        .await?;
    Ok(match ensure(engine, vendor, &request).await {
        Ok(outcome) => Resent::Resent { previous, outcome },
        Err(error) => Resent::CancelledOnly { previous, error },
    })
}
