//! Seeing and undoing invitations: the results of listing, finding, cancelling and looking up
//! members, and those operations built from the vendors' mappings and the one engine.

use std::collections::HashSet;

use futures_util::StreamExt;

use crate::engine::{Call, Decode};
use crate::model::boxed::BoxStream;
use crate::model::error::{Error, ErrorKind};
use crate::model::invitation::Invitation;
use crate::model::outcome::{CancelOutcome, Cancelled, Membership};
use crate::ops::Ops;
use crate::vendors::{MemberAnswer, Page, Vendor};

use crate::model::request::{Invitee, ListInvitations};

/// The most pages one list follows: far beyond any organization's invitations (GitHub caps
/// invitations at 500 a day, each open for a week), and an end to a vendor whose pages never
/// stop.
const MAX_PAGES: usize = 100_000;

/// The invitations `query` asks for, page by page: the next page is fetched only when the
/// stream is polled past the end of the current one, and only one page is held at a time.
/// The first error ends the stream.
pub(crate) fn list<'a, V: Vendor>(
    ops: Ops<'a, V>,
    query: &'a ListInvitations,
) -> BoxStream<'a, Result<Invitation, Error>> {
    let pages = follow(ops, move |cursor: V::Cursor| {
        ops.vendor.list_page(query, cursor)
    });
    // Filters the vendor could not apply on its side are applied here.
    Box::pin(pages.filter(move |invitation| {
        std::future::ready(invitation.as_ref().map_or(true, |i| query.matches(i)))
    }))
}

/// The items of a paged list, page by page, each page's call built by `page` from the
/// vendor's cursor: the next page is fetched only when the stream is polled past the end of
/// the current one, and only one page is held at a time. The first error ends the stream.
pub(crate) fn follow<'a, V, T, D, F>(ops: Ops<'a, V>, page: F) -> BoxStream<'a, Result<T, Error>>
where
    V: Vendor,
    T: Send + 'a,
    D: Decode<Page<V::Cursor, T>> + 'a,
    F: Fn(V::Cursor) -> Result<Call<'a, D>, Error> + Send + 'a,
{
    struct State<C, T, F> {
        page: std::vec::IntoIter<T>,
        next: Option<C>,
        pages: usize,
        /// Every page asked for so far, by its address: a vendor whose links lead back to one
        /// of them (by another route to it, or its query in another order) would otherwise be
        /// followed round the circle.
        visited: HashSet<String>,
        call: F,
    }
    let start = State::<V::Cursor, T, F> {
        page: Vec::new().into_iter(),
        next: Some(V::Cursor::default()),
        pages: 0,
        visited: HashSet::new(),
        call: page,
    };
    Box::pin(futures_util::stream::unfold(
        start,
        move |mut state| async move {
            loop {
                if let Some(item) = state.page.next() {
                    return Some((Ok(item), state));
                }
                let cursor = state.next.take()?;
                state.pages += 1;
                let page = match (state.call)(cursor) {
                    Ok(_) if state.pages > MAX_PAGES => Err(Error::inconsistent(
                        V::PROVIDER,
                        format!("the list goes on past {MAX_PAGES} pages; it is not followed"),
                    )),
                    Ok(call) if !state.visited.insert(page_address(&call.plan.url)) => {
                        Err(Error::inconsistent(
                            V::PROVIDER,
                            "the list's next page is one it read before: its pages link in a \
                             circle, which is not followed",
                        ))
                    }
                    Ok(call) => ops.run(call).await,
                    Err(error) => Err(error),
                };
                match page {
                    Ok(page) => {
                        state.page = page.items.into_iter();
                        state.next = page.next;
                    }
                    Err(error) => return Some((Err(error), state)),
                }
            }
        },
    ))
}

/// A page's address as the vendor tells pages apart: its origin and path, and its query's
/// pairs in order of name (so that the same query written in another order is the same page).
fn page_address(url: &url::Url) -> String {
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    pairs.sort();
    format!(
        "{}{}?{pairs:?}",
        url.origin().ascii_serialization(),
        url.path()
    )
}

/// The pending invitation for `invitee`, by the vendor's cheapest list; stops at the first
/// match.
pub(crate) async fn find<V: Vendor>(
    ops: Ops<'_, V>,
    organization: &str,
    invitee: &Invitee,
) -> Result<Option<Invitation>, Error> {
    let query = ops.vendor.find_query(organization, invitee)?;
    let mut invitations = list(ops, &query);
    while let Some(invitation) = invitations.next().await {
        let invitation = invitation?;
        if invitee.matches(&invitation) {
            return Ok(Some(invitation));
        }
    }
    Ok(None)
}

/// Errors after which no further id of the same organization can succeed: the credential or
/// the organization is wrong.
fn dooms_the_rest(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Unauthenticated
            | ErrorKind::PermissionDenied
            | ErrorKind::NotFound
            | ErrorKind::PaymentRequired
            | ErrorKind::InvalidConfig
    )
}

/// Cancels each distinct id once, in the order given, with one outcome per id. On a vendor
/// that cancels in batches, one list tells which ids are open, those go in one request, and
/// any other is sent alone so that the vendor's own answer says what became of it.
pub(crate) async fn cancel_many<V: Vendor>(
    ops: Ops<'_, V>,
    organization: &str,
    ids: Vec<String>,
) -> Vec<CancelOutcome> {
    let mut seen = HashSet::new();
    let ids: Vec<String> = ids
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect();
    // Input the vendor would refuse is refused here, before anything is sent for any id.
    let refused: Vec<Option<Error>> = ids
        .iter()
        .map(|id| ops.vendor.cancel(organization, id).err())
        .collect();
    let valid: Vec<String> = ids
        .iter()
        .zip(&refused)
        .filter(|(_, refused)| refused.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    let mut sent = None;
    if V::CANCELS_IN_BATCHES && valid.len() > 1 {
        sent = cancel_in_batch(ops, organization, &valid).await;
    }
    let mut sent = match sent {
        Some(outcomes) => outcomes,
        None => cancel_one_by_one(ops, organization, &valid).await,
    }
    .into_iter();
    ids.into_iter()
        .zip(refused)
        .map(|(id, refused)| match refused {
            Some(error) => CancelOutcome {
                id,
                result: Err(error),
            },
            None => sent.next().expect("one outcome per id sent"),
        })
        .collect()
}

async fn cancel_one_by_one<V: Vendor>(
    ops: Ops<'_, V>,
    organization: &str,
    ids: &[String],
) -> Vec<CancelOutcome> {
    let mut outcomes = Vec::with_capacity(ids.len());
    let mut doom: Option<Error> = None;
    for id in ids {
        let result = match &doom {
            Some(error) => Err(error.clone()),
            None => match ops.vendor.cancel(organization, id) {
                Ok(call) => ops.run(call).await,
                Err(error) => Err(error),
            },
        };
        if let Err(error) = &result {
            if doom.is_none() && dooms_the_rest(error.kind()) {
                doom = Some(error.clone());
            }
        }
        outcomes.push(CancelOutcome {
            id: id.clone(),
            result,
        });
    }
    outcomes
}

/// How many ids one batch request carries at most: with tokens of a few dozen characters this
/// keeps the request line to a few kilobytes, well under common URL limits.
const MAX_BATCH: usize = 100;

/// Cancels `ids` in batches after one list of the open invitations. `None` when there is
/// nothing to batch (one open id at most), so that single calls do better.
async fn cancel_in_batch<V: Vendor>(
    ops: Ops<'_, V>,
    organization: &str,
    ids: &[String],
) -> Option<Vec<CancelOutcome>> {
    let every = |error: &Error| {
        ids.iter()
            .map(|id| CancelOutcome {
                id: id.clone(),
                result: Err(error.clone()),
            })
            .collect::<Vec<_>>()
    };
    let query = ListInvitations::new(organization).any_status();
    let mut open = HashSet::new();
    let mut invitations = list(ops, &query);
    while let Some(invitation) = invitations.next().await {
        match invitation {
            Ok(invitation) => {
                open.insert(invitation.id);
            }
            Err(error) => return Some(every(&error)),
        }
    }
    drop(invitations);
    let known: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| open.contains(*id))
        .collect();
    if known.len() < 2 {
        return None;
    }
    let mut results: std::collections::HashMap<&str, Result<Cancelled, Error>> =
        std::collections::HashMap::with_capacity(ids.len());
    let mut doom: Option<Error> = None;
    for batch in known.chunks(MAX_BATCH) {
        let outcome = match &doom {
            Some(error) => Err(error.clone()),
            None => match ops.vendor.cancel_batch(organization, batch) {
                Ok(call) => ops.run(call).await,
                Err(error) => Err(error),
            },
        };
        match outcome {
            Ok(()) => {
                for id in batch {
                    results.insert(id, Ok(Cancelled::new(V::PROVIDER, id, None)));
                }
            }
            // An invitation went away meanwhile: single calls tell which.
            Err(error) if error.kind() == ErrorKind::NotPending => {
                let alone: Vec<String> = batch.iter().map(|id| (*id).to_owned()).collect();
                for outcome in cancel_one_by_one(ops, organization, &alone).await {
                    let id = batch
                        .iter()
                        .find(|id| **id == outcome.id)
                        .expect("an id of the batch");
                    results.insert(id, outcome.result);
                }
            }
            Err(error) => {
                if dooms_the_rest(error.kind()) {
                    doom = Some(error.clone());
                }
                for id in batch {
                    results.insert(id, Err(error.clone()));
                }
            }
        }
    }
    // Ids that were not open are sent alone, so that the vendor's own answer says what became
    // of them.
    let lone: Vec<String> = ids
        .iter()
        .filter(|id| !open.contains(id.as_str()))
        .cloned()
        .collect();
    let mut lone = match &doom {
        Some(error) => lone
            .into_iter()
            .map(|id| CancelOutcome {
                id,
                result: Err(error.clone()),
            })
            .collect(),
        None => cancel_one_by_one(ops, organization, &lone).await,
    }
    .into_iter();
    let outcomes = ids
        .iter()
        .map(|id| match results.remove(id.as_str()) {
            Some(result) => CancelOutcome {
                id: id.clone(),
                result,
            },
            None => lone.next().expect("one outcome per id sent alone"),
        })
        .collect();
    Some(outcomes)
}

/// Whether `invitee` is a member, invited, or neither: the vendor's member lookup first, then
/// the pending invitations.
pub(crate) async fn membership<V: Vendor>(
    ops: Ops<'_, V>,
    organization: &str,
    invitee: &Invitee,
) -> Result<Membership, Error> {
    let member = match ops.vendor.member(organization, invitee)? {
        Some(call) => Some(ops.run(call).await?),
        None => None,
    };
    if let Some(MemberAnswer::Member(role)) = member {
        return Ok(Membership::Member { role });
    }
    let found = match find(ops, organization, invitee).await {
        Ok(found) => found,
        // The vendor's invitations name people by email: whether this user id or login has
        // one cannot be told.
        Err(error) if error.kind() == ErrorKind::Unsupported && member.is_some() => {
            return Ok(Membership::Unknown)
        }
        Err(error) => return Err(error),
    };
    match (found, member) {
        (Some(invitation), _) => Ok(Membership::Invited(invitation)),
        (None, None) => Ok(Membership::Unknown),
        (None, Some(MemberAnswer::Pending)) => Err(Error::inconsistent(
            V::PROVIDER,
            "the vendor reports a pending membership but lists no pending invitation for it",
        )),
        (None, Some(_)) => Ok(Membership::NotMember),
    }
}
