//! Bulk onboarding: many invitations in one call, each with its own definite outcome.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::engine::{later, Controls, Gate};
use crate::model::boxed::{BoxFuture, BoxStream};
use crate::model::error::Error;
use crate::model::outcome::{BulkItem, BulkObserver, BulkOptions, Ensured};
use crate::model::request::{CreateInvitation, Invitee};
use crate::model::snapshot::{Presence, Snapshot};
use crate::ops::ensure::{ensure, ensure_after, found, lookup_many};
use crate::ops::{organization_key, Ops};
use crate::vendors::{Doom, Vendor};

/// A unit of work: one request alone, several in one batch request, or one an earlier run
/// may have sent, looked up before anything is sent for it.
enum Unit {
    Single(usize),
    Batch(Vec<usize>),
    MaybeSent(usize, SystemTime),
    /// One an earlier run may have sent, which a snapshot since showed absent.
    NotFound(usize, SystemTime),
}

/// Who a request is for, to find the same person asked for twice in one organization.
fn person<V: Vendor>(request: &CreateInvitation) -> (String, String) {
    let who = match &request.invitee {
        Invitee::Email(email) => format!("email:{}", email.to_lowercase()),
        Invitee::UserId(id) => format!("id:{id}"),
        Invitee::Login(login) => format!("login:{}", login.to_lowercase()),
    };
    (organization_key::<V>(&request.organization), who)
}

/// What stops a run's later requests: an answer no other request can escape, the caller's
/// cancellation, or its observer refusing a request.
struct Run<V> {
    /// Answers that doom every request (`all`) or those of one organization.
    dooms: Mutex<(Option<Error>, HashMap<String, Error>)>,
    /// Cancelled when the run stops as a whole: waits for a turn are abandoned.
    stopped: CancellationToken,
    /// Why the run stopped, when the caller or its observer stopped it.
    stop_reason: Mutex<Option<String>>,
    observer: Option<Arc<dyn BulkObserver>>,
    /// The requests announced as sent (or about to be).
    sent: Mutex<HashSet<usize>>,
    /// The vendor, which says how far an answer dooms the rest.
    vendor: V,
}

impl<V: Vendor> Run<V> {
    fn new(vendor: &V, options: &BulkOptions) -> Run<V> {
        Run {
            dooms: Mutex::default(),
            stopped: options
                .cancel
                .as_ref()
                .map_or_else(CancellationToken::new, CancellationToken::child_token),
            stop_reason: Mutex::default(),
            observer: options.observer.clone(),
            sent: Mutex::default(),
            vendor: vendor.clone(),
        }
    }

    /// Notes `error`, the answer to a request about `organization`, if it dooms others: any
    /// answer to a create the vendor says does; to a read (a lookup, a list), a refused
    /// credential only, since a read can be refused for reasons a create is not.
    fn note(&self, organization: &str, creates: bool, error: &Error) {
        let doom = match self.vendor.doom(error) {
            Some(Doom::All) => Doom::All,
            Some(doom) if creates => doom,
            _ => return,
        };
        let mut dooms = self.dooms.lock().unwrap_or_else(PoisonError::into_inner);
        match doom {
            Doom::All => {
                dooms.0.get_or_insert_with(|| error.clone());
                // Nothing more can be sent: waits end now.
                self.stopped.cancel();
            }
            Doom::Organization => {
                dooms
                    .1
                    .entry(organization_key::<V>(organization))
                    .or_insert_with(|| error.clone());
            }
        }
    }

    /// Whether a request that may create the invitation of `index` was sent.
    fn was_sent(&self, index: usize) -> bool {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&index)
    }

    /// Stops the run for `reason`, unless it stopped already.
    fn stop(&self, reason: String) {
        self.stop_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(reason);
        self.stopped.cancel();
    }

    fn refusal(&self, organization: &str) -> Option<Error> {
        {
            let dooms = self.dooms.lock().unwrap_or_else(PoisonError::into_inner);
            let cause = dooms
                .0
                .clone()
                .or_else(|| dooms.1.get(&organization_key::<V>(organization)).cloned());
            if let Some(cause) = cause {
                return Some(Error::Skipped {
                    cause: Box::new(cause),
                });
            }
        }
        if !self.stopped.is_cancelled() {
            return None;
        }
        let reason = self
            .stop_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| "the run was cancelled".to_owned());
        Some(Error::cancelled(reason))
    }
}

/// The gate of one unit of a run: the run's stops, and its observer told of the unit's
/// requests that create.
struct UnitGate<'r, V> {
    run: &'r Run<V>,
    indices: &'r [usize],
}

impl<'r, V: Vendor> UnitGate<'r, V> {
    fn new(run: &'r Run<V>, indices: &'r [usize]) -> UnitGate<'r, V> {
        UnitGate { run, indices }
    }

    /// `ops` with this gate asked before each request.
    fn on<'g>(&'g self, ops: Ops<'g, V>) -> Ops<'g, V> {
        ops.with_controls(Controls {
            gate: Some(self),
            ..ops.controls
        })
    }
}

impl<V: Vendor> Gate for UnitGate<'_, V> {
    fn refusal(&self, organization: &str) -> Option<Error> {
        self.run.refusal(organization)
    }

    fn abandoned(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.run.stopped.cancelled())
    }

    fn sending(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            if let Some(observer) = &self.run.observer {
                if let Err(refused) = observer.sending(self.indices).await {
                    let reason =
                        format!("the run's observer refused to let a request go: {refused}");
                    self.run.stop(reason.clone());
                    return Err(Error::cancelled(reason));
                }
            }
            self.run
                .sent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(self.indices);
            Ok(())
        })
    }

    fn failed(&self, organization: &str, creates: bool, error: &Error) {
        self.run.note(organization, creates, error);
    }
}

/// Invites everyone of `requests`: bounded concurrency, every request through the client's
/// pacer, outcomes streamed as they finish.
pub(crate) fn invite_all<'a, V: Vendor>(
    ops: Ops<'a, V>,
    requests: Vec<CreateInvitation>,
    options: BulkOptions,
) -> BoxStream<'a, BulkItem> {
    let deadline = options.deadline.map(|deadline| later(ops.now(), deadline));
    let run = Arc::new(Run::<V>::new(ops.vendor, &options));
    let requests = Arc::new(requests);
    let vendor = ops.vendor;

    // Refused input answers at once; a person asked for again waits for the first asking.
    let mut ready = Vec::new();
    let mut first_of: HashMap<(String, String), usize> = HashMap::new();
    let mut duplicates: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut primaries = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        // Checked whole now, as a create would check it, its names (GitHub's logins, team
        // slugs) standing for the ids they are looked up as when it runs.
        if let Err(error) = crate::ops::prepare::check(vendor, request) {
            ready.push(BulkItem {
                index,
                request: request.clone(),
                outcome: Err(error),
                skipped: false,
                sent: false,
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
    // A person an earlier run may have sent, under any of their requests, is looked up from
    // the earliest such time.
    let mut maybe_sent: HashMap<usize, SystemTime> = HashMap::new();
    for &first in &primaries {
        let copies = duplicates
            .get(&first)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let earliest = std::iter::once(&first)
            .chain(copies)
            .filter_map(|index| options.maybe_sent.get(index))
            .min();
        if let Some(at) = earliest {
            maybe_sent.insert(first, *at);
        }
    }

    let (precheck, batches, concurrency) = (
        options.precheck,
        options.batches,
        options.concurrency.max(1),
    );
    let duplicates = Arc::new(duplicates);
    // One snapshot per organization answers those already members or invited; the others
    // become units of work.
    let planned = {
        let (run, requests) = (run.clone(), requests.clone());
        async move {
            let mut answered = Vec::new();
            let mut looked_up: HashSet<usize> = HashSet::new();
            let mut primaries = primaries;
            if precheck && !primaries.is_empty() {
                let ops = ops.with_controls(Controls {
                    start_by: None,
                    patient: true,
                    gate: None,
                });
                let snapshots = snapshots(ops, &run, &requests, &primaries).await;
                let window = ops.shared.reconcile.window;
                primaries.retain(|&index| {
                    let request = &requests[index];
                    let key = organization_key::<V>(&request.organization);
                    let Some(snapshot) = snapshots.get(&key) else {
                        return true;
                    };
                    let earlier = maybe_sent.get(&index).copied();
                    match precheck_of(snapshot, request, earlier, window) {
                        Precheck::Answered(outcome) => {
                            answered.push((index, outcome));
                            false
                        }
                        Precheck::LookedUp => {
                            looked_up.insert(index);
                            true
                        }
                        Precheck::Unknown => true,
                    }
                });
            }
            let units = units_of(
                vendor,
                &requests,
                primaries,
                &maybe_sent,
                &looked_up,
                batches,
            );
            (answered, units, maybe_sent)
        }
    };
    let stream =
        futures_util::stream::once(planned).flat_map(move |(answered, units, maybe_sent)| {
            let maybe_sent = Arc::new(maybe_sent);
            let answered: Vec<BulkItem> = answered
                .into_iter()
                .flat_map(|(index, outcome)| {
                    items_of(&requests, &duplicates, index, Ok(outcome), false, false)
                })
                .collect();
            let (run, requests, duplicates) = (run.clone(), requests.clone(), duplicates.clone());
            let units = futures_util::stream::iter(units)
                .map(move |unit| {
                    let run = run.clone();
                    let requests = requests.clone();
                    let duplicates = duplicates.clone();
                    let maybe_sent = maybe_sent.clone();
                    async move {
                        // Every request of the run waits for the pacer as long as it takes (up to
                        // the deadline), through its unit's gate.
                        let ops = ops.with_controls(Controls {
                            start_by: deadline,
                            patient: true,
                            gate: None,
                        });
                        let outcomes = match unit {
                            Unit::Single(index) => {
                                let gate = UnitGate::new(&run, std::slice::from_ref(&index));
                                vec![(index, ensure(gate.on(ops), &requests[index]).await)]
                            }
                            Unit::MaybeSent(index, at) => {
                                settle(ops, &run, &requests, &[index], None, at).await
                            }
                            Unit::NotFound(index, at) => {
                                let gate = UnitGate::new(&run, std::slice::from_ref(&index));
                                let outcome =
                                    ensure_after(gate.on(ops), &requests[index], Some(at));
                                vec![(index, outcome.await)]
                            }
                            Unit::Batch(members) => batch(ops, &run, &requests, &members).await,
                        };
                        let mut items = Vec::with_capacity(outcomes.len());
                        for (index, outcome) in outcomes {
                            // Stopped before anything was sent: skipped, unless an earlier run may
                            // have sent it (then it is as much in doubt as it was).
                            let skipped = outcome.as_ref().is_err_and(skipped)
                                && !maybe_sent.contains_key(&index);
                            let sent = run.was_sent(index);
                            items.extend(items_of(
                                &requests,
                                &duplicates,
                                index,
                                outcome,
                                skipped,
                                sent,
                            ));
                        }
                        futures_util::stream::iter(items)
                    }
                })
                .buffer_unordered(concurrency)
                .flatten();
            futures_util::stream::iter(answered).chain(units)
        });
    Box::pin(futures_util::stream::iter(ready).chain(stream))
}

/// The items of request `index` and of each later request for the same person, which repeat
/// its outcome.
fn items_of(
    requests: &[CreateInvitation],
    duplicates: &HashMap<usize, Vec<usize>>,
    index: usize,
    outcome: Result<Ensured, Error>,
    skipped: bool,
    sent: bool,
) -> Vec<BulkItem> {
    let copies = duplicates
        .get(&index)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut items = Vec::with_capacity(copies.len() + 1);
    for &copy in copies {
        items.push(BulkItem {
            index: copy,
            request: requests[copy].clone(),
            outcome: outcome.clone(),
            skipped,
            sent,
            duplicate_of: Some(index),
        });
    }
    items.push(BulkItem {
        index,
        request: requests[index].clone(),
        outcome,
        skipped,
        sent,
        duplicate_of: None,
    });
    items
}

/// The units of work of `primaries`: requests an earlier run may have sent alone (created
/// at once when a snapshot since showed them absent, `looked_up`), and requests that can
/// share a batch request together, in order of first appearance.
fn units_of<V: Vendor>(
    vendor: &V,
    requests: &[CreateInvitation],
    primaries: Vec<usize>,
    maybe_sent: &HashMap<usize, SystemTime>,
    looked_up: &HashSet<usize>,
    batches: bool,
) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    let mut open: HashMap<String, usize> = HashMap::new();
    for index in primaries {
        if let Some(at) = maybe_sent.get(&index) {
            units.push(if looked_up.contains(&index) {
                Unit::NotFound(index, *at)
            } else {
                Unit::MaybeSent(index, *at)
            });
            continue;
        }
        let key = (batches && V::MAX_CREATE_BATCH > 1)
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
    // A batch of one is a single request.
    for unit in &mut units {
        if let Unit::Batch(members) = unit {
            if let [only] = members[..] {
                *unit = Unit::Single(only);
            }
        }
    }
    units
}

/// What a snapshot says of one request before anything is sent for it.
// One per request, matched at once; boxing the answer would only make matching clumsy.
#[allow(clippy::large_enum_variant)]
enum Precheck {
    /// Already a member or invited: nothing to send.
    Answered(Ensured),
    /// An earlier run may have sent it, and the snapshot, taken after that request's lookup
    /// window, does not show it: it is as good as a lookup.
    LookedUp,
    /// The snapshot cannot tell: the request goes on.
    Unknown,
}

/// What `snapshot` says of `request` (sent by an earlier run at `earlier`, if it may have
/// been), the lookups of a create in doubt spanning `window`.
fn precheck_of(
    snapshot: &Snapshot,
    request: &CreateInvitation,
    earlier: Option<SystemTime>,
    window: std::time::Duration,
) -> Precheck {
    match (snapshot.presence(&request.invitee), earlier) {
        (Presence::Member(_), _) => Precheck::Answered(Ensured::AlreadyMember),
        (Presence::Invited(invitation), None) => Precheck::Answered(Ensured::AlreadyInvited {
            invitation: Some(invitation),
        }),
        (Presence::Invited(invitation), Some(at)) => Precheck::Answered(found(invitation, at)),
        (Presence::Absent | Presence::Lapsed(_), Some(at))
            if snapshot.taken_at() > crate::engine::later(at, window) =>
        {
            Precheck::LookedUp
        }
        _ => Precheck::Unknown,
    }
}

/// A snapshot of each organization `primaries` go to, in order of first appearance, taken
/// through the run's gate (a refused credential stops the run). An organization whose
/// snapshot fails is left out: its requests are sent as they would be without one.
async fn snapshots<V: Vendor>(
    ops: Ops<'_, V>,
    run: &Run<V>,
    requests: &[CreateInvitation],
    primaries: &[usize],
) -> HashMap<String, Snapshot> {
    let gate = UnitGate::new(run, &[]);
    let mut taken: HashMap<String, Snapshot> = HashMap::new();
    let mut tried: HashSet<String> = HashSet::new();
    for &index in primaries {
        let organization = requests[index].organization.as_str();
        let key = organization_key::<V>(organization);
        if !tried.insert(key.clone()) {
            continue;
        }
        match crate::ops::snapshot::snapshot(gate.on(ops), organization).await {
            Ok(snapshot) => {
                taken.insert(key, snapshot);
            }
            Err(error) => {
                if run.stopped.is_cancelled() {
                    break;
                }
                tracing::warn!(
                    kind = error.kind().as_str(),
                    "no snapshot of an organization before a bulk run; its requests are sent \
                     without one"
                );
            }
        }
    }
    taken
}

/// Whether an error means nothing was sent for the request: the run stopped it, or its
/// deadline passed before its turn.
fn skipped(error: &Error) -> bool {
    matches!(
        error,
        Error::Skipped { .. } | Error::Throttled { .. } | Error::Cancelled { .. }
    )
}

/// Several requests in one batch request. Every member's outcome stays known: a created
/// invitation is matched by email; those missing from the answer, or every member of a batch
/// that ended in doubt, are looked up together before anything is sent for them again; a
/// batch refused for one of its members falls back to single requests, which say what the
/// vendor thinks of each, and one refused for them all (a refused credential, no permission)
/// is that answer for every member.
async fn batch<V: Vendor>(
    ops: Ops<'_, V>,
    run: &Run<V>,
    requests: &[CreateInvitation],
    members: &[usize],
) -> Vec<(usize, Result<Ensured, Error>)> {
    let batch: Vec<&CreateInvitation> = members.iter().map(|&i| &requests[i]).collect();
    let gate = UnitGate::new(run, members);
    let answer = match ops.vendor.create_batch(&batch) {
        Ok(call) => gate.on(ops).run(call).await,
        Err(error) => Err(error),
    };
    // The lookups' window starts with the answer: the batch may have waited long for its
    // turn, and a list trails a write by some seconds after it.
    let started = ops.now();
    let error = match answer {
        Ok(invitations) => {
            let mut outcomes = Vec::with_capacity(members.len());
            let mut missing = Vec::new();
            for &index in members {
                let email = requests[index].invitee.as_email().unwrap_or_default();
                let created = invitations.iter().find(|invitation| {
                    invitation
                        .email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                });
                match created {
                    Some(invitation) => outcomes.push((
                        index,
                        Ok(Ensured::Created {
                            invitation: invitation.clone(),
                            reconciled: false,
                        }),
                    )),
                    None => missing.push(index),
                }
            }
            if !missing.is_empty() {
                let doubt = Error::missing_from_batch(V::PROVIDER);
                outcomes.extend(settle(ops, run, requests, &missing, Some(&doubt), started).await);
            }
            return outcomes;
        }
        Err(error) => error,
    };
    if error.may_have_been_created() {
        return settle(ops, run, requests, members, Some(&error), started).await;
    }
    // Nothing was sent, or an answer no member can escape: every member shares it.
    if skipped(&error) || ops.vendor.doom(&error).is_some() {
        return members.iter().map(|&i| (i, Err(error.clone()))).collect();
    }
    // Refused for one member's sake (one already in, a quota a few seats short): each goes
    // alone and the vendor's answer to it decides, and stops the run if it must.
    let mut outcomes = Vec::with_capacity(members.len());
    for &index in members {
        let gate = UnitGate::new(run, std::slice::from_ref(&index));
        outcomes.push((index, ensure(gate.on(ops), &requests[index]).await));
    }
    outcomes
}

/// Requests of one organization whose invitations may exist, sent at `since` (`doubt` says
/// why, when this run sent them; else an earlier run did): looked up together, each created
/// alone only when it is not there (that earlier create counting as its first attempt, so
/// that an invitation it made is still this run's). When the lookups fail, they stay in
/// doubt: this run's error, or the lookup's.
async fn settle<V: Vendor>(
    ops: Ops<'_, V>,
    run: &Run<V>,
    requests: &[CreateInvitation],
    indices: &[usize],
    doubt: Option<&Error>,
    since: SystemTime,
) -> Vec<(usize, Result<Ensured, Error>)> {
    let organization = requests[indices[0]].organization.as_str();
    let invitees: Vec<&Invitee> = indices.iter().map(|&i| &requests[i].invitee).collect();
    let gate = UnitGate::new(run, indices);
    let found_all = match lookup_many(gate.on(ops), organization, &invitees, since).await {
        Ok(found_all) => found_all,
        Err(error) => {
            let error = doubt.cloned().unwrap_or(error);
            return indices.iter().map(|&i| (i, Err(error.clone()))).collect();
        }
    };
    let mut outcomes = Vec::with_capacity(indices.len());
    for (&index, invitation) in indices.iter().zip(found_all) {
        let outcome = match invitation {
            Some(invitation) => Ok(found(invitation, since)),
            None => {
                let gate = UnitGate::new(run, std::slice::from_ref(&index));
                ensure_after(gate.on(ops), &requests[index], Some(since)).await
            }
        };
        outcomes.push((index, outcome));
    }
    outcomes
}
