//! Never in doubt: inviting someone so that the answer is always definite ([`Ensured`]), and
//! re-sending an invitation ([`Resent`]). Built on the vendors' operations; no wire types here.

use std::time::{Duration, SystemTime};

use crate::engine::Engine;
use crate::model::error::{Error, ErrorKind};
use crate::model::invitation::Invitation;
use crate::model::outcome::{Ensured, Resent};
use crate::model::request::{CreateInvitation, Invitee};
use crate::ops::lifecycle::find;
use crate::vendors::{Recreate, Vendor};

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
    let resolved = crate::ops::prepare::prepare(engine, vendor, request).await?;
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
    let request = match vendor.recreate(organization, &previous)? {
        Recreate::Ready(request) => request,
        Recreate::After(call) => engine.run(call).await?,
    };
    // The new invitation passes every check this crate makes, its names looked up, before
    // the old one goes.
    let request = crate::ops::prepare::prepare(engine, vendor, &request)
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
