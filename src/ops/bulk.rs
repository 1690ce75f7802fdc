//! Bulk onboarding: many invitations in one call, each with its own definite outcome.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;

use crate::engine::{later, Doom, Engine, Stop};
use crate::model::boxed::BoxStream;
use crate::model::error::Error;
use crate::model::outcome::{BulkItem, BulkOptions, Ensured};
use crate::model::request::{CreateInvitation, Invitee};
use crate::ops::ensure::{ensure, found, lookup};
use crate::vendors::Vendor;

/// A unit of work: one request alone, or several in one batch request.
enum Unit {
    Single(usize),
    Batch(Vec<usize>),
}

/// Who a request is for, to find the same person asked for twice in one organization.
fn person<V: Vendor>(request: &CreateInvitation) -> (String, String) {
    let who = match &request.invitee {
        Invitee::Email(email) => format!("email:{}", email.to_lowercase()),
        Invitee::UserId(id) => format!("id:{id}"),
        Invitee::Login(login) => format!("login:{}", login.to_lowercase()),
    };
    let organization = if V::ORGANIZATIONS_IGNORE_CASE {
        request.organization.to_lowercase()
    } else {
        request.organization.clone()
    };
    (organization, who)
}

/// Invites everyone of `requests`: bounded concurrency, every request through the client's
/// pacer, outcomes streamed as they finish.
pub(crate) fn invite_all<'a, V: Vendor>(
    engine: &'a Engine,
    vendor: &'a V,
    requests: Vec<CreateInvitation>,
    options: BulkOptions,
) -> BoxStream<'a, BulkItem> {
    let deadline = options
        .deadline
        .map(|deadline| later(engine.sleeper.now(), deadline));
    let engine = engine.until(deadline, Arc::new(Stop::new(V::ORGANIZATIONS_IGNORE_CASE)));
    let requests = Arc::new(requests);

    // Refused input answers at once; a person asked for again waits for the first asking.
    let mut ready = Vec::new();
    let mut first_of: HashMap<(String, String), usize> = HashMap::new();
    let mut duplicates: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut primaries = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        // Names (GitHub's logins, team slugs) are looked up when the request runs; stand-in
        // ids let everything else be checked now.
        let stand_ins: Vec<_> = vendor
            .names(request)
            .into_iter()
            .map(|name| (name, 1))
            .collect();
        if let Err(error) = vendor.create(&vendor.with_ids(request, &stand_ins)) {
            ready.push(BulkItem {
                index,
                request: request.clone(),
                outcome: Err(error),
                skipped: false,
                duplicate_of: None,
            });
            continue;
        }
        let key = person::<V>(request);
        match first_of.get(&key) {
            Some(first) => duplicates.entry(*first).or_default().push(index),
            None => {
                first_of.insert(key, index);
                primaries.push(index);
            }
        }
    }

    // Requests that can share a batch request go together, in order of first appearance.
    let mut units: Vec<Unit> = Vec::new();
    let mut open: HashMap<String, usize> = HashMap::new();
    for index in primaries {
        let key = (options.batches && V::MAX_CREATE_BATCH > 1)
            .then(|| vendor.batch_key(&requests[index]))
            .flatten();
        let Some(key) = key else {
            units.push(Unit::Single(index));
            continue;
        };
        match open.get(&key).copied() {
            Some(at) => {
                if let Unit::Batch(members) = &mut units[at] {
                    members.push(index);
                    if members.len() == V::MAX_CREATE_BATCH {
                        open.remove(&key);
                    }
                }
            }
            None => {
                open.insert(key, units.len());
                units.push(Unit::Batch(vec![index]));
            }
        }
    }

    let duplicates = Arc::new(duplicates);
    let run = futures_util::stream::iter(units)
        .map(move |unit| {
            let engine = engine.clone();
            let requests = requests.clone();
            let duplicates = duplicates.clone();
            async move {
                let outcomes = match unit {
                    Unit::Single(index) => {
                        vec![(index, single(&engine, vendor, &requests[index]).await)]
                    }
                    Unit::Batch(members) if members.len() == 1 => vec![(
                        members[0],
                        single(&engine, vendor, &requests[members[0]]).await,
                    )],
                    Unit::Batch(members) => batch(&engine, vendor, &requests, &members).await,
                };
                let mut items = Vec::with_capacity(outcomes.len());
                for (index, outcome) in outcomes {
                    let skipped = outcome.as_ref().is_err_and(skipped);
                    let copies = duplicates
                        .get(&index)
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    for &copy in copies {
                        items.push(BulkItem {
                            index: copy,
                            request: requests[copy].clone(),
                            outcome: outcome.clone(),
                            skipped,
                            duplicate_of: Some(index),
                        });
                    }
                    items.push(BulkItem {
                        index,
                        request: requests[index].clone(),
                        outcome,
                        skipped,
                        duplicate_of: None,
                    });
                }
                futures_util::stream::iter(items)
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .flatten();
    Box::pin(futures_util::stream::iter(ready).chain(run))
}

/// Whether an error means nothing was sent for the request: the run stopped it, or its
/// deadline passed before its turn.
fn skipped(error: &Error) -> bool {
    matches!(error, Error::Skipped { .. } | Error::Throttled { .. })
}

/// One request, settled as `ensure_invited` settles it; a dooming answer stops the run.
async fn single<V: Vendor>(
    engine: &Engine,
    vendor: &V,
    request: &CreateInvitation,
) -> Result<Ensured, Error> {
    let outcome = ensure(engine, vendor, request).await;
    if let (Err(error), Some(stop)) = (&outcome, &engine.stop) {
        if let Some(doom) = vendor.doom(error) {
            stop.note(&request.organization, doom, error);
        }
    }
    outcome
}

/// Several requests in one batch request. Every member's outcome stays known: a created
/// invitation is matched by email; one missing from the answer, or a batch that ended in
/// doubt, is looked up before anything is sent for it again; a refused batch falls back to
/// single requests, which say what the vendor thinks of each.
async fn batch<V: Vendor>(
    engine: &Engine,
    vendor: &V,
    requests: &[CreateInvitation],
    members: &[usize],
) -> Vec<(usize, Result<Ensured, Error>)> {
    let batch: Vec<&CreateInvitation> = members.iter().map(|&i| &requests[i]).collect();
    let organization = batch[0].organization.as_str();
    let started = engine.sleeper.now();
    let answer = match vendor.create_batch(&batch) {
        Ok(call) => engine.run(call).await,
        Err(error) => Err(error),
    };
    let error = match answer {
        Ok(invitations) => {
            let mut outcomes = Vec::with_capacity(members.len());
            for &index in members {
                let request = &requests[index];
                let email = request.invitee.as_email().unwrap_or_default();
                let created = invitations.iter().find(|invitation| {
                    invitation
                        .email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                });
                let outcome = match created {
                    Some(invitation) => Ok(Ensured::Created {
                        invitation: invitation.clone(),
                        reconciled: false,
                    }),
                    None => {
                        let doubt = Error::missing_from_batch(V::PROVIDER);
                        settle(engine, vendor, request, &doubt, started).await
                    }
                };
                outcomes.push((index, outcome));
            }
            return outcomes;
        }
        Err(error) => error,
    };
    // Nothing was sent, or the credential itself was refused: every member shares that.
    if skipped(&error) || vendor.doom(&error) == Some(Doom::All) {
        if let (Some(stop), Some(doom)) = (&engine.stop, vendor.doom(&error)) {
            stop.note(organization, doom, &error);
        }
        return members.iter().map(|&i| (i, Err(error.clone()))).collect();
    }
    // In doubt, each member is looked up before anything is sent for it again; refused for
    // any other reason (one member already in, a quota a few seats short), each goes alone
    // and the vendor's answer to it decides, and stops the run if it must.
    let mut outcomes = Vec::with_capacity(members.len());
    for &index in members {
        let request = &requests[index];
        let outcome = if error.may_have_been_created() {
            settle(engine, vendor, request, &error, started).await
        } else {
            single(engine, vendor, request).await
        };
        outcomes.push((index, outcome));
    }
    outcomes
}

/// A member whose invitation may exist (`doubt` says why): looked up first, created alone
/// only when it is not there; when the lookup fails, still in doubt.
async fn settle<V: Vendor>(
    engine: &Engine,
    vendor: &V,
    request: &CreateInvitation,
    doubt: &Error,
    started: std::time::SystemTime,
) -> Result<Ensured, Error> {
    match lookup(engine, vendor, &request.organization, &request.invitee).await {
        Ok(Some(invitation)) => Ok(found(invitation, started)),
        Ok(None) => single(engine, vendor, request).await,
        Err(_) => Err(doubt.clone()),
    }
}
