//! Lookups after creates in doubt, shared: one read of an organization's pending invitations
//! answers every lookup it can, so that many creates in doubt at once cost one list.
//!
//! A lookup needs a read that began after it was due: after the create's answer (or failure)
//! came, or later in the reconcile window; a read from before cannot be trusted to show the
//! invitation. So reads of one organization are ordered by a counter, not a clock: callers
//! arriving while a read that began after them is under way wait for it; callers arriving
//! while an older read is under way wait for it to end and then share the next one, which
//! begins after all of them; a lookup whose time passed long ago (a create an earlier run may
//! have sent) takes any read that began after its time, for nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use jiff::Timestamp;
use tokio::sync::watch;

use crate::model::error::Error;
use crate::model::invitation::Invitation;
use crate::model::request::Invitee;
use crate::ops::ensure::CLOCK_SKEW;
use crate::ops::Ops;
use crate::vendors::Vendor;

/// How much further back than its own create a read listing newest first goes, so that it can
/// answer the lookups of creates sent a little earlier too.
const REACH: Duration = Duration::from_secs(10 * 60);

/// One read of an organization's pending invitations, indexed by case-folded email and login.
#[derive(Debug)]
pub(crate) struct Read {
    /// The read's place in the order reads began in: it shows what was answered before any
    /// [`Reads::mark`] lower than this.
    seq: u64,
    /// When the read began, on the client's clock.
    started: SystemTime,
    /// The oldest creation time it is complete from, for a read that stopped early (vendors
    /// listing newest first); `None` when it read everything.
    complete_from: Option<Timestamp>,
    by_email: HashMap<String, Invitation>,
    by_login: HashMap<String, Invitation>,
}

impl Read {
    /// `invitee`'s pending invitation, if the read shows one.
    pub(crate) fn find(&self, invitee: &Invitee) -> Option<&Invitation> {
        match invitee {
            Invitee::Email(email) => self.by_email.get(&email.to_lowercase()),
            Invitee::Login(login) => self.by_login.get(&login.to_lowercase()),
            Invitee::UserId(_) => None,
        }
    }

    /// Whether the read began after `mark` and shows every invitation a create sent at
    /// `since` may have made.
    fn serves(&self, mark: u64, since: SystemTime) -> bool {
        self.seq > mark && covers(self.complete_from, since)
    }
}

/// Whether a read complete from `complete_from` shows what a create sent at `since` made.
fn covers(complete_from: Option<Timestamp>, since: SystemTime) -> bool {
    complete_from.is_none_or(|from| from <= oldest_of(since))
}

/// The oldest creation time the vendor may give an invitation a create sent at `since` made:
/// the clocks may disagree.
fn oldest_of(since: SystemTime) -> Timestamp {
    let at = since
        .checked_sub(CLOCK_SKEW)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Timestamp::try_from(at).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// What one read answers its waiting callers: the read, or its error. `None` until it ends.
type Answer = Option<Result<Arc<Read>, Error>>;

/// A read under way.
struct Reading {
    seq: u64,
    complete_from: Option<Timestamp>,
    answer: watch::Receiver<Answer>,
}

/// The reads of one organization.
#[derive(Default)]
struct Organization {
    latest: Option<Arc<Read>>,
    reading: Vec<Reading>,
}

/// The reads of every organization of one client, shared by its clones.
#[derive(Default)]
pub(crate) struct Reads {
    organizations: Mutex<HashMap<String, Organization>>,
    /// How many reads began: the last one's `seq`.
    began: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Reads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reads").finish_non_exhaustive()
    }
}

/// Removes a read from those under way when its reader ends, however it ends.
struct Leave<'r> {
    reads: &'r Reads,
    key: &'r str,
    seq: u64,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let mut organizations = self.reads.lock();
        if let Some(organization) = organizations.get_mut(self.key) {
            organization
                .reading
                .retain(|reading| reading.seq != self.seq);
        }
    }
}

enum Role {
    /// Share a read under way that began after the caller was due.
    Follow(watch::Receiver<Answer>),
    /// Wait for an older read under way to end, then share the next.
    Next(watch::Receiver<Answer>),
    /// Read.
    Lead {
        answer: watch::Sender<Answer>,
        seq: u64,
        complete_from: Timestamp,
    },
}

impl Reads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Organization>> {
        self.organizations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the order of reads stands now: a read that serves a lookup due now must begin
    /// after this.
    pub(crate) fn mark(&self) -> u64 {
        self.began.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A read already done that began after `at` on the client's clock and shows what a
    /// create sent at `since` made, if there is one: it costs nothing.
    pub(crate) fn done_after<V: Vendor>(
        &self,
        organization: &str,
        at: SystemTime,
        since: SystemTime,
    ) -> Option<Arc<Read>> {
        let organizations = self.lock();
        let latest = organizations
            .get(&crate::ops::organization_key::<V>(organization))?
            .latest
            .as_ref()?;
        (latest.started > at && covers(latest.complete_from, since)).then(|| latest.clone())
    }

    /// A read of `organization`'s pending invitations that began after `mark` and shows what
    /// a create sent at `since` made: one under way, or the next one.
    pub(crate) async fn read<V: Vendor>(
        &self,
        ops: Ops<'_, V>,
        organization: &str,
        mark: u64,
        since: SystemTime,
    ) -> Result<Arc<Read>, Error> {
        let key = crate::ops::organization_key::<V>(organization);
        loop {
            let role = {
                let mut organizations = self.lock();
                let known = organizations.entry(key.clone()).or_default();
                if let Some(latest) = known.latest.as_ref().filter(|l| l.serves(mark, since)) {
                    return Ok(latest.clone());
                }
                let covering = |reading: &&Reading| covers(reading.complete_from, since);
                let after = known
                    .reading
                    .iter()
                    .filter(covering)
                    .find(|reading| reading.seq > mark);
                let before = known.reading.iter().find(covering);
                match (after, before) {
                    (Some(reading), _) => Role::Follow(reading.answer.clone()),
                    (None, Some(reading)) => Role::Next(reading.answer.clone()),
                    (None, None) => {
                        let (answer, receiver) = watch::channel(None);
                        let seq = self.began.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        let reach = since.checked_sub(REACH).unwrap_or(SystemTime::UNIX_EPOCH);
                        let complete_from = oldest_of(reach);
                        known.reading.push(Reading {
                            seq,
                            complete_from: Some(complete_from),
                            answer: receiver,
                        });
                        Role::Lead {
                            answer,
                            seq,
                            complete_from,
                        }
                    }
                }
            };
            match role {
                Role::Next(mut ended) => {
                    wait(ops, organization, ended.wait_for(Option::is_some)).await?;
                    continue;
                }
                Role::Follow(mut answer) => {
                    match wait(ops, organization, answer.wait_for(Option::is_some)).await? {
                        Some(answer) => return answer,
                        // The reader stopped without an answer (its caller stopped it): read
                        // again.
                        None => continue,
                    }
                }
                Role::Lead {
                    answer,
                    seq,
                    complete_from,
                } => {
                    let leave = Leave {
                        reads: self,
                        key: &key,
                        seq,
                    };
                    let read = read_pending(ops, organization, seq, complete_from)
                        .await
                        .map(Arc::new);
                    drop(leave);
                    match &read {
                        Ok(done) => {
                            let mut organizations = self.lock();
                            let known = organizations.entry(key.clone()).or_default();
                            if known
                                .latest
                                .as_ref()
                                .is_none_or(|latest| latest.seq < done.seq)
                            {
                                known.latest = Some(done.clone());
                            }
                        }
                        // Stopped by its own caller: the others read again rather than share
                        // a stop that is not theirs.
                        Err(error) if error.stopped_by_caller() => return read,
                        Err(_) => {}
                    }
                    let _ = answer.send(Some(read.clone()));
                    return read;
                }
            }
        }
    }
}

/// Reads `organization`'s pending invitations by the vendor's list for lookups, stopping at
/// `complete_from` on a list that shows the newest first.
async fn read_pending<V: Vendor>(
    ops: Ops<'_, V>,
    organization: &str,
    seq: u64,
    complete_from: Timestamp,
) -> Result<Read, Error> {
    let (query, newest_first) = ops.vendor.recent_query(organization)?;
    let mut read = Read {
        seq,
        started: ops.now(),
        complete_from: newest_first.then_some(complete_from),
        by_email: HashMap::new(),
        by_login: HashMap::new(),
    };
    let mut invitations = crate::ops::lifecycle::list(ops, &query);
    while let Some(invitation) = invitations.next().await {
        let invitation = invitation?;
        if newest_first
            && invitation
                .created_at
                .is_some_and(|created| created < complete_from)
        {
            break;
        }
        if let Some(login) = &invitation.login {
            read.by_login
                .entry(login.to_lowercase())
                .or_insert_with(|| invitation.clone());
        }
        if let Some(email) = &invitation.email {
            read.by_email
                .entry(email.to_lowercase())
                .or_insert(invitation);
        }
    }
    Ok(read)
}

/// Waits for a read's answer, unless the caller's run is stopped first; `None` when the read
/// ended without one.
async fn wait<'w, V: Vendor, F>(
    ops: Ops<'_, V>,
    organization: &str,
    answer: F,
) -> Result<Answer, Error>
where
    F: std::future::Future<Output = Result<watch::Ref<'w, Answer>, watch::error::RecvError>>,
{
    let answer = std::pin::pin!(answer);
    let waited = match ops.controls.gate {
        None => answer.await,
        Some(gate) => match futures_util::future::select(answer, gate.abandoned()).await {
            futures_util::future::Either::Left((answer, _)) => answer,
            futures_util::future::Either::Right(_) => {
                return Err(gate
                    .refusal(organization)
                    .unwrap_or_else(|| Error::cancelled("the run was asked to stop")))
            }
        },
    };
    Ok(waited.ok().and_then(|answer| answer.clone()))
}
