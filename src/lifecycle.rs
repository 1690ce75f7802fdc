//! Seeing and undoing invitations: the results of listing, finding, cancelling and looking up
//! members, and those operations built from the vendors' mappings and the one engine.

use std::borrow::Cow;
use std::collections::HashSet;

use futures_util::StreamExt;

use crate::engine::Engine;
use crate::mapping::{Cursor, MemberAnswer, Vendor};
use crate::{
    BoxStream, CreateInvitation, Error, ErrorKind, Invitation, Invitee, ListInvitations,
    ProviderKind, Role,
};

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
    /// The cancellation, or why it failed: [`ErrorKind::NotPending`] when the invitation was
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

/// Whether `request` would be sent as it is: everything a create checks before sending,
/// with any login or team slug standing for an id it would be looked up as.
pub(crate) fn check<V: Vendor>(vendor: &V, request: &CreateInvitation) -> Result<(), Error> {
    check_with_names(vendor, request, &vendor.names(request))
}

/// [`check`], with the names `request` uses already listed.
fn check_with_names<V: Vendor>(
    vendor: &V,
    request: &CreateInvitation,
    names: &[crate::mapping::Name],
) -> Result<(), Error> {
    if names.is_empty() {
        return vendor.create(request).map(drop);
    }
    let stand_ins: Vec<_> = names.iter().map(|name| (name.clone(), 1)).collect();
    vendor.create(&vendor.with_ids(request, &stand_ins))?;
    for name in names {
        drop(vendor.name_call(name)?);
    }
    Ok(())
}

/// `request` with every name it uses looked up (GitHub's logins and team slugs), ready to
/// encode; the caller builds its create call next, which checks it before anything is sent.
/// When there are names, the whole request is checked before the first lookup is sent; an id
/// looked up once is remembered by the client.
pub(crate) async fn prepare<'r, V: Vendor>(
    engine: &Engine,
    vendor: &V,
    request: &'r CreateInvitation,
) -> Result<Cow<'r, CreateInvitation>, Error> {
    let names = vendor.names(request);
    if names.is_empty() {
        // Nothing to look up: building the create call that follows is the whole check, and
        // it is done before anything is sent (checking here too would encode it twice).
        return Ok(Cow::Borrowed(request));
    }
    // Every name is checked before the first lookup goes out.
    check_with_names(vendor, request, &names)?;
    // Boxed: a create without names (most) should not carry a lookup's future in its own.
    Box::pin(look_up(engine, vendor, request, names)).await
}

/// `request` with `names` replaced by their ids, each looked up unless the client remembers
/// it.
async fn look_up<'r, V: Vendor>(
    engine: &Engine,
    vendor: &V,
    request: &'r CreateInvitation,
    names: Vec<crate::mapping::Name>,
) -> Result<Cow<'r, CreateInvitation>, Error> {
    let remembered = |key: &str| {
        engine
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .copied()
    };
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let key = name.key();
        let id = match remembered(&key) {
            Some(id) => id,
            None => {
                let id = engine.run(vendor.name_call(&name)?).await?;
                engine
                    .ids
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key, id);
                id
            }
        };
        ids.push((name, id));
    }
    Ok(Cow::Owned(vendor.with_ids(request, &ids)))
}

/// The most pages one list follows: far beyond any organization's invitations (GitHub caps
/// invitations at 500 a day, each open for a week), and an end to a vendor whose pages never
/// stop.
const MAX_PAGES: usize = 100_000;

/// The invitations `query` asks for, page by page: the next page is fetched only when the
/// stream is polled past the end of the current one, and only one page is held at a time.
/// The first error ends the stream.
pub(crate) fn list<'a, V: Vendor>(
    engine: &'a Engine,
    vendor: &'a V,
    query: &'a ListInvitations,
) -> BoxStream<'a, Result<Invitation, Error>> {
    struct State {
        page: std::vec::IntoIter<Invitation>,
        next: Option<Cursor>,
        pages: usize,
        /// Every page asked for so far: a vendor whose links lead back to one of them would
        /// otherwise be followed round the circle.
        visited: HashSet<Cursor>,
        /// The error that ends the list once the page at hand is yielded.
        end: Option<Error>,
    }
    let start = State {
        page: Vec::new().into_iter(),
        next: Some(Cursor::FIRST),
        pages: 0,
        visited: HashSet::new(),
        end: None,
    };
    Box::pin(futures_util::stream::unfold(
        start,
        move |mut state| async move {
            loop {
                // Filters the vendor could not apply on its side are applied here.
                if let Some(invitation) = state.page.by_ref().find(|i| query.matches(i)) {
                    return Some((Ok(invitation), state));
                }
                if let Some(error) = state.end.take() {
                    return Some((Err(error), state));
                }
                let cursor = state.next.take()?;
                state.visited.insert(cursor.clone());
                state.pages += 1;
                let page = if state.pages > MAX_PAGES {
                    Err(Error::inconsistent(
                        V::PROVIDER,
                        format!("the list goes on past {MAX_PAGES} pages; it is not followed"),
                    ))
                } else {
                    match vendor.list_page(query, &cursor) {
                        Ok(call) => engine.run(call).await,
                        Err(error) => Err(error),
                    }
                };
                match page {
                    Ok(page) => {
                        state.page = page.invitations.into_iter();
                        match page.next {
                            Some(next) if state.visited.contains(&next) => {
                                state.end = Some(Error::inconsistent(
                                    V::PROVIDER,
                                    format!(
                                        "page {} of the list names an earlier page as the next \
                                         one; the circle is not followed",
                                        state.pages
                                    ),
                                ));
                            }
                            next => state.next = next,
                        }
                    }
                    Err(error) => return Some((Err(error), state)),
                }
            }
        },
    ))
}

/// The pending invitation for `invitee`, by the vendor's cheapest list; stops at the first
/// match.
pub(crate) async fn find<V: Vendor>(
    engine: &Engine,
    vendor: &V,
    organization: &str,
    invitee: &Invitee,
) -> Result<Option<Invitation>, Error> {
    let query = vendor.find_query(organization, invitee)?;
    let mut invitations = list(engine, vendor, &query);
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
    engine: &Engine,
    vendor: &V,
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
        .map(|id| vendor.cancel(organization, id).err())
        .collect();
    let valid: Vec<String> = ids
        .iter()
        .zip(&refused)
        .filter(|(_, refused)| refused.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    let mut sent = None;
    if V::CANCELS_IN_BATCHES && valid.len() > 1 {
        sent = cancel_in_batch(engine, vendor, organization, &valid).await;
    }
    let mut sent = match sent {
        Some(outcomes) => outcomes,
        None => cancel_one_by_one(engine, vendor, organization, &valid).await,
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
    engine: &Engine,
    vendor: &V,
    organization: &str,
    ids: &[String],
) -> Vec<CancelOutcome> {
    let mut outcomes = Vec::with_capacity(ids.len());
    let mut doom: Option<Error> = None;
    for id in ids {
        let result = match &doom {
            Some(error) => Err(error.clone()),
            None => match vendor.cancel(organization, id) {
                Ok(call) => engine.run(call).await,
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
    engine: &Engine,
    vendor: &V,
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
    let mut invitations = list(engine, vendor, &query);
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
            None => match vendor.cancel_batch(organization, batch) {
                Ok(call) => engine.run(call).await,
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
                for outcome in cancel_one_by_one(engine, vendor, organization, &alone).await {
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
        None => cancel_one_by_one(engine, vendor, organization, &lone).await,
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
    engine: &Engine,
    vendor: &V,
    organization: &str,
    invitee: &Invitee,
) -> Result<Membership, Error> {
    let member = match vendor.member(organization, invitee)? {
        Some(call) => Some(engine.run(call).await?),
        None => None,
    };
    if let Some(MemberAnswer::Member(role)) = member {
        return Ok(Membership::Member { role });
    }
    let found = match find(engine, vendor, organization, invitee).await {
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
