//! Never in doubt: inviting someone so that the answer is always definite ([`Ensured`]), and
//! re-sending an invitation ([`Resent`]). Built on the vendors' operations; no wire types here.

use std::time::{Duration, SystemTime};

use crate::model::error::{Error, ErrorKind};
use crate::model::invitation::Invitation;
use crate::model::outcome::{Ensured, Resent};
use crate::model::request::{CreateInvitation, Invitee};
use crate::ops::lifecycle::find;
use crate::ops::Ops;
use crate::vendors::{Recreate, Vendor};

/// How much earlier than a call's start an invitation found by its lookup may have been
/// created and still be the call's own: the vendor's clock and this one may disagree.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

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
    ops: Ops<'_, V>,
    request: &CreateInvitation,
) -> Result<Ensured, Error> {
    ensure_after(ops, request, None).await
}

/// [`ensure`], for a request whose create was sent already at `earlier` (in a batch, or by an
/// earlier run) and not found since: that create counts as the first attempt, and an
/// invitation made after it is this call's own.
pub(crate) async fn ensure_after<V: Vendor>(
    ops: Ops<'_, V>,
    request: &CreateInvitation,
    earlier: Option<SystemTime>,
) -> Result<Ensured, Error> {
    let organization = request.organization.as_str();
    let started = earlier.unwrap_or_else(|| ops.now());
    // Names become ids; lookups still find the person by what the caller gave.
    let resolved = crate::ops::prepare::prepare(ops, request).await?;
    let mut sent = u32::from(earlier.is_some());
    loop {
        sent += 1;
        let call = ops.vendor.create(&resolved)?;
        let error = match ops.run(call).await {
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
                let invitation = find(ops, organization, &request.invitee)
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
        match lookup(ops, organization, &request.invitee, ops.now()).await {
            Ok(Some(invitation)) => {
                tracing::info!(
                    attempt = sent,
                    "a create that ended in doubt: the invitation is there"
                );
                return Ok(found(invitation, started));
            }
            // Not there after the whole window: the create did not happen, and may be sent
            // again within the policy's attempts.
            Ok(None) if sent < ops.engine.policy.attempts() => {
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

/// `invitee`'s pending invitation, looked for as [`Reconcile`](crate::Reconcile) says; see
/// [`lookup_many`].
pub(crate) async fn lookup<V: Vendor>(
    ops: Ops<'_, V>,
    organization: &str,
    invitee: &Invitee,
    since: SystemTime,
) -> Result<Option<Invitation>, Error> {
    let mut found = lookup_many(ops, organization, &[invitee], since).await?;
    Ok(found.pop().flatten())
}

/// The pending invitations of `invitees` (in their order), looked for as
/// [`Reconcile`](crate::Reconcile) says, over the window that starts at `since` (when the
/// creates in doubt were sent). Each lookup is a read of the organization's pending
/// invitations that began once the lookup was due, shared with every other lookup it can
/// answer ([`crate::ops::recent`]); the lookups stop once everyone is found. A lookup whose
/// time has passed takes a read made since, for nothing, or is left out, but for the last: a
/// create long past is looked up once.
pub(crate) async fn lookup_many<V: Vendor>(
    ops: Ops<'_, V>,
    organization: &str,
    invitees: &[&Invitee],
    since: SystemTime,
) -> Result<Vec<Option<Invitation>>, Error> {
    // The vendor can find each of them at all (GitHub cannot by user id).
    for invitee in invitees {
        ops.vendor.find_query(organization, invitee)?;
    }
    let reads = &ops.shared.reads;
    let mut found: Vec<Option<Invitation>> = vec![None; invitees.len()];
    let reconcile = &ops.shared.reconcile;
    let lookups = reconcile.lookups.max(1);
    for n in 0..lookups {
        let at = crate::engine::later(since, reconcile.offset_of(n));
        let now = ops.now();
        let read = match reads.done_after::<V>(organization, at, since) {
            Some(read) if at < now => read,
            None if at < now && n + 1 < lookups => continue,
            _ => {
                if let Ok(wait) = at.duration_since(now) {
                    if !wait.is_zero() {
                        ops.sleep(wait, organization).await?;
                    }
                }
                let mark = reads.mark();
                reads.read(ops, organization, mark, since).await?
            }
        };
        for (invitee, found) in invitees.iter().zip(&mut found) {
            if found.is_none() {
                *found = read.find(invitee).cloned();
            }
        }
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    Ok(found)
}

/// Cancels `invitee`'s pending invitation and creates it again with the same role and the
/// options the vendor reports on it.
pub(crate) async fn resend<V: Vendor>(
    ops: Ops<'_, V>,
    organization: &str,
    invitee: &Invitee,
) -> Result<Resent, Error> {
    let Some(previous) = find(ops, organization, invitee).await? else {
        return Ok(Resent::NothingPending);
    };
    // Everything the new invitation needs is known before the old one goes.
    let request = match ops.vendor.recreate(organization, &previous)? {
        Recreate::Ready(request) => request,
        Recreate::After(call) => ops.run(call).await?,
    };
    // The new invitation passes every check this crate makes, its names looked up, before
    // the old one goes.
    let request = crate::ops::prepare::prepare(ops, &request)
        .await?
        .into_owned();
    drop(ops.vendor.create(&request)?);
    ops.run(ops.vendor.cancel(organization, &previous.id)?)
        .await?;
    Ok(match ensure(ops, &request).await {
        Ok(outcome) => Resent::Resent { previous, outcome },
        Err(error) => Resent::CancelledOnly { previous, error },
    })
}
