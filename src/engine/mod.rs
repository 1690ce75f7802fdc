//! The one engine every vendor goes through: sending, bounded reading, timeouts, tracing,
//! retry decisions and sleeping. Vendors only map requests and answers (see
//! `crate::vendors::Vendor`).

pub(crate) mod builder;
pub(crate) mod credentials;
pub(crate) mod headers;
pub(crate) mod observe;
pub(crate) mod pacing;
pub(crate) mod retry;
pub(crate) mod sleep;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use tracing::Instrument;
use url::Url;

use crate::model::boxed::BoxFuture;
use crate::model::error::{DecodeError, Error, RateLimitInfo, TransportError};
use crate::model::kind::ProviderKind;
use crate::model::request::Invitee;
use observe::{Observer, RateLimitEvent, RequestEvent, RequestKind};
pub(crate) use pacing::Traffic;
use pacing::{millis, Denied, Pacer};
use retry::{Decision, Idempotency, RetryHint, RetryPolicy, Wait};
use sleep::Sleeper;

/// How far ahead "never in practice" is: waits are clamped to this instead of overflowing.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// `at + wait`, saturating (at a hundred years ahead) instead of overflowing: hostile
/// `Retry-After` and rate-limit headers can ask for any wait.
pub(crate) fn later(at: SystemTime, wait: Duration) -> SystemTime {
    at.checked_add(wait.min(FAR_FUTURE))
        .or_else(|| at.checked_add(Duration::from_secs(365 * 24 * 60 * 60)))
        .unwrap_or(at)
}

/// The default cap on a response body.
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Reads the rate-limit headers of a vendor's answer, as that vendor means them.
pub type RateLimitReader = fn(&HeaderMap, SystemTime) -> RateLimitInfo;

/// The vendor a call goes to, as the engine needs to know it: its name, and how its answers
/// tell rate limits (each vendor reads its own headers).
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub(crate) provider: ProviderKind,
    pub(crate) rate_limit: RateLimitReader,
}

impl Origin {
    /// The vendor `provider`, whose answers' rate limits `rate_limit` reads.
    pub(crate) const fn new(provider: ProviderKind, rate_limit: RateLimitReader) -> Origin {
        Origin {
            provider,
            rate_limit,
        }
    }
}

/// One HTTP request, fully built by a vendor mapping: the engine sends it as it is.
#[derive(Debug, Clone)]
pub struct HttpPlan {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// Headers, the `Authorization` value marked sensitive.
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The answer is a whole list in one body (a vendor that does not page): it may be
    /// [`WHOLE_LIST_SCALE`] times as large as other answers.
    pub(crate) whole_list: bool,
}

/// How many times the body cap a list answered whole may be.
pub(crate) const WHOLE_LIST_SCALE: usize = 16;

impl HttpPlan {
    /// The same request, its answer a whole list in one body.
    pub(crate) fn whole_list(mut self) -> HttpPlan {
        self.whole_list = true;
        self
    }
}

/// One answer, read whole (up to the body cap) before a vendor mapping decodes it.
#[derive(Debug)]
pub struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The body passed the cap and was not read: `body` is empty.
    oversized: bool,
    /// An earlier attempt of the same call failed in a way that may have reached the vendor
    /// (a 5xx, a timeout, a broken connection), so this answer may describe what that attempt
    /// did: a delete answered "not found" after one has most likely already happened.
    pub(crate) after_doubt: bool,
}

impl RawResponse {
    /// A whole answer, read on the first attempt: what the fuzzing entry points decode.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn read(status: StatusCode, headers: HeaderMap, body: Bytes) -> RawResponse {
        RawResponse {
            status,
            headers,
            body,
            oversized: false,
            after_doubt: false,
        }
    }
}

/// A failed attempt: the error to return, and whether and when it may be tried again.
#[derive(Debug)]
pub struct Failure {
    pub(crate) error: Error,
    retry: RetryHint,
    /// The vendor said it did not process the request (an HTTP/2 stream it refused): it is
    /// sent again at once, outside the policy's attempts, [`UNPROCESSED_RESENDS`] times at
    /// most.
    unprocessed: bool,
}

/// How many times one call sends again at once a request the vendor refused unprocessed,
/// before such refusals are retried as the policy says (as reqwest's own retries did).
const UNPROCESSED_RESENDS: u32 = 2;

/// What a vendor's error body said, for [`Failure::answer`].
#[derive(Debug, Default)]
pub(crate) struct VendorDetails {
    /// Vendor error codes, most specific first.
    pub(crate) codes: Vec<String>,
    /// The vendor's message.
    pub(crate) message: Option<String>,
    /// The request or trace id.
    pub(crate) request_id: Option<String>,
}

impl Failure {
    /// `error`, never tried again.
    pub(crate) fn final_error(error: Error) -> Failure {
        Failure {
            error,
            retry: RetryHint::Never,
            unprocessed: false,
        }
    }

    /// A classified error answer. Adds what every vendor's answer shares: the status, the
    /// rate-limit headers, the wait to report, and "may have been created" (true for a 5xx
    /// that is not retried: the vendor may have acted before failing).
    pub(crate) fn answer(
        origin: Origin,
        response: &RawResponse,
        now: SystemTime,
        kind: crate::model::error::ErrorKind,
        retry: RetryHint,
        details: VendorDetails,
    ) -> Failure {
        let mut error = crate::model::error::ApiError::new(origin.provider, response.status, kind);
        error.codes = details.codes;
        error.message = details.message;
        error.request_id = details.request_id;
        error.rate_limit = (origin.rate_limit)(&response.headers, now);
        error.retry_after = match retry {
            RetryHint::After(wait) => headers::wait_from(wait, now),
            RetryHint::Never => None,
        };
        error.may_have_been_created =
            response.status.is_server_error() && retry == RetryHint::Never;
        Failure {
            error: error.into(),
            retry,
            unprocessed: false,
        }
    }

    /// A success status whose body is not the `expected` thing: the invitation was probably
    /// created, so this is never retried.
    pub(crate) fn undecodable(
        provider: ProviderKind,
        response: &RawResponse,
        expected: &str,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
        request_id: Option<String>,
    ) -> Failure {
        let reason = describe_unreadable(&response.body, expected);
        let mut error = DecodeError::new(provider, response.status, reason);
        error.may_have_been_created =
            response.status.is_success() || response.status.is_server_error();
        error.request_id = request_id;
        error.source = source.map(Arc::from);
        Failure::final_error(error.into())
    }

    /// A success answer that makes no sense (a link to another host, an unknown state): a
    /// decode error that cannot have created anything.
    pub(crate) fn inconsistent(
        provider: ProviderKind,
        response: &RawResponse,
        reason: impl Into<String>,
        request_id: Option<String>,
    ) -> Failure {
        let mut error = DecodeError::new(provider, response.status, reason.into());
        error.request_id = request_id;
        Failure::final_error(error.into())
    }
}

/// The retry hint a bare status gives when the vendor says nothing more specific: a 429 waits
/// for `Retry-After` or backs off, a 503 with `Retry-After` waits for it, anything else is
/// final.
pub(crate) fn status_retry(status: StatusCode, response_headers: &HeaderMap) -> RetryHint {
    let retry_after = headers::retry_after(response_headers);
    match (status.as_u16(), retry_after) {
        (429, Some(wait)) | (503, Some(wait)) => RetryHint::After(wait),
        (429, None) => RetryHint::After(Wait::Backoff {
            floor: Duration::ZERO,
        }),
        _ => RetryHint::Never,
    }
}

/// A success answer whose body is not what the vendor documents.
#[derive(Debug)]
pub(crate) struct Undecodable {
    /// What the body should have been, for the error's reason.
    pub(crate) expected: &'static str,
    /// The parse error, when there was one.
    pub(crate) source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl From<serde_json::Error> for Undecodable {
    fn from(error: serde_json::Error) -> Undecodable {
        Undecodable {
            expected: "an organization invitation",
            source: Some(Box::new(error)),
        }
    }
}

/// What the engine must know about an operation to run it safely, besides its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The operation's name in logs: `create_invitation`, `list_invitations`, ...
    pub(crate) name: &'static str,
    /// Whether the request may be sent again after it may have reached the vendor.
    pub(crate) idempotency: Idempotency,
    /// Which pacing rules the request follows: requests that notify people are spaced,
    /// serialized and rate-limited as the pacing says; others only wait out holds.
    pub(crate) traffic: Traffic,
}

impl Operation {
    /// An operation that may create something, and notifies people: never sent again once it
    /// may have acted.
    pub(crate) const fn creates(name: &'static str) -> Operation {
        Operation {
            name,
            idempotency: Idempotency::Creates,
            traffic: Traffic::Notifying,
        }
    }

    /// A read: sent again after a 5xx, a timeout or a broken connection, within the policy.
    pub(crate) const fn reads(name: &'static str) -> Operation {
        Operation {
            name,
            idempotency: Idempotency::Reads,
            traffic: Traffic::Quiet,
        }
    }

    /// A delete of named invitations: sent again as a read is, since repeating it removes
    /// nothing else.
    pub(crate) const fn deletes(name: &'static str) -> Operation {
        Operation {
            idempotency: Idempotency::DeletesNamed,
            ..Operation::reads(name)
        }
    }

    /// The same operation, paced as `traffic`.
    pub(crate) const fn paced_as(self, traffic: Traffic) -> Operation {
        Operation { traffic, ..self }
    }
}

/// Who or what a call is about, for its tracing span.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// Nobody in particular (a list).
    None,
    /// A person (masked unless the caller opted in to full emails).
    Invitee(&'a Invitee),
    /// One invitation, by its vendor id.
    Invitation(&'a str),
    /// Several invitations.
    Invitations(usize),
}

/// Decodes a whole answer (any status) into an operation's output or a classified failure.
/// Pure: no IO, no clock of its own (`now` is passed in).
pub trait Decode<T>: Fn(&RawResponse, SystemTime) -> Result<T, Failure> + Send + Sync {}

impl<T, F> Decode<T> for F where F: Fn(&RawResponse, SystemTime) -> Result<T, Failure> + Send + Sync {}

/// One request of an operation, built by a vendor mapping and ready for the engine: what to
/// send, how to read the answer, and how safe it is to send again.
pub struct Call<'a, D> {
    pub(crate) operation: Operation,
    pub(crate) origin: Origin,
    pub(crate) organization: &'a str,
    pub(crate) subject: Subject<'a>,
    pub(crate) plan: HttpPlan,
    pub(crate) decode: D,
}

impl<'a, D> Call<'a, D> {
    /// A call of `operation` on `organization` sending `plan`, its answer read by `decode`.
    pub(crate) fn new<T>(
        operation: Operation,
        origin: Origin,
        organization: &'a str,
        plan: HttpPlan,
        decode: D,
    ) -> Call<'a, D>
    where
        D: Fn(&RawResponse, SystemTime) -> Result<T, Failure> + Send + Sync,
    {
        Call {
            operation,
            origin,
            organization,
            subject: Subject::None,
            plan,
            decode,
        }
    }

    /// Names who or what the call is about, for its span.
    pub(crate) fn about(mut self, subject: Subject<'a>) -> Call<'a, D> {
        self.subject = subject;
        self
    }
}

/// IO, pacing and retries, shared by every clone of a client.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) http: reqwest::Client,
    pub(crate) sleeper: Arc<dyn Sleeper>,
    pub(crate) policy: RetryPolicy,
    pub(crate) pacer: Pacer,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) max_body_bytes: usize,
    pub(crate) trace_emails: bool,
    /// Where the credential of a request without its own `Authorization` comes from.
    pub(crate) credentials: Option<Arc<dyn crate::engine::credentials::Credentials>>,
    /// The `Authorization` header of a fixed token, built once; used instead of asking
    /// `credentials` (which would give the same token every time and never refresh it).
    pub(crate) static_authorization: Option<reqwest::header::HeaderValue>,
    /// The scheme the credential is sent with: `Bearer`, `ApiKey`.
    pub(crate) scheme: &'static str,
}

/// What a caller above the engine asks of each request it runs, beyond the call itself: a
/// bulk run's start-by time, its patience with the pacer, and its gate. A single call asks
/// nothing ([`Controls::NONE`]).
#[derive(Clone, Copy, Default)]
pub(crate) struct Controls<'a> {
    /// No request that creates starts after this (a bulk run's deadline). Requests already
    /// sent, and reads, are not cut short by it.
    pub(crate) start_by: Option<SystemTime>,
    /// Whether turns of the pacer are waited for however long they take (a bulk run, bounded
    /// by its deadline), rather than up to the policy's `max_wait`.
    pub(crate) patient: bool,
    /// What may stop a request before it is sent.
    pub(crate) gate: Option<&'a dyn Gate>,
}

impl Controls<'_> {
    /// Nothing asked.
    pub(crate) const NONE: Controls<'static> = Controls {
        start_by: None,
        patient: false,
        gate: None,
    };

    /// Why a request about `organization` must not be sent, if the gate says so.
    fn refusal(&self, organization: &str) -> Option<Error> {
        self.gate?.refusal(organization)
    }
}

/// What may stop a request before it is sent, asked by the engine at each step of a call: a
/// bulk run stopped by an answer that dooms the rest, or by its caller.
pub(crate) trait Gate: Send + Sync {
    /// Why a request about `organization` must not be sent, if it must not: asked before each
    /// attempt waits for its turn, and again once the turn is there.
    fn refusal(&self, organization: &str) -> Option<Error>;

    /// Completes once requests that are not on the wire yet must be abandoned: a wait for a
    /// turn then ends at once, with [`Gate::refusal`]'s error.
    fn abandoned(&self) -> BoxFuture<'_, ()>;

    /// Called once the turn is there, right before a request that may create something is
    /// sent, and waited for; an error means it is not sent.
    fn sending(&self) -> BoxFuture<'_, Result<(), Error>>;

    /// Told of every call about `organization` that ends in an error (`creates`: the call
    /// may create something), whatever it was for: a refused credential stops a bulk run
    /// even when a lookup is the one that hears it.
    fn failed(&self, organization: &str, creates: bool, error: &Error);
}

impl fmt::Debug for Controls<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controls")
            .field("start_by", &self.start_by)
            .field("patient", &self.patient)
            .field("gate", &self.gate.is_some())
            .finish()
    }
}

/// What one call has been through so far, kept across its attempts.
#[derive(Debug)]
struct Progress {
    /// When the call started.
    started: SystemTime,
    /// The end of the call's time budget.
    deadline: Option<SystemTime>,
    /// No turn is taken after this: the budget's end, or a create's start-by time.
    turn_by: Option<SystemTime>,
    /// The next attempt starts no earlier (a backoff, a refreshed credential's wait).
    not_before: Option<SystemTime>,
    /// The latest attempt's error, when it is tried again.
    previous: Option<Error>,
    /// Failures of the same kind in a row: some vendors' waits double on them.
    repeat: u32,
    /// The latest failure's kind.
    last_kind: Option<crate::model::error::ErrorKind>,
    /// The attempt under way, from 1.
    attempt: u32,
    /// Whether a failed attempt may have reached the vendor and been acted on.
    doubt: bool,
    /// Whether a 401 already had its one retry with a refreshed credential.
    refused_once: bool,
    /// Requests the vendor refused unprocessed and this call sent again at once.
    unprocessed_resends: u32,
}

impl Progress {
    /// A call of `operation` starting now on `engine`.
    fn new(engine: &Engine, operation: Operation, controls: &Controls<'_>) -> Progress {
        let started = engine.sleeper.now();
        let deadline = engine.policy.budget().map(|budget| later(started, budget));
        // A create waits for its turn no later than the run's start-by time.
        let turn_by = match (deadline, controls.start_by) {
            (a, Some(b)) if operation.idempotency == Idempotency::Creates => {
                Some(a.map_or(b, |a| a.min(b)))
            }
            (a, _) => a,
        };
        Progress {
            started,
            deadline,
            turn_by,
            not_before: None,
            previous: None,
            repeat: 0,
            last_kind: None,
            attempt: 0,
            doubt: false,
            refused_once: false,
            unprocessed_resends: 0,
        }
    }
}

/// An attempt that failed, with what the engine needs to decide what follows.
struct Failed {
    failure: Failure,
    /// The attempt's turn, still held.
    turn: pacing::Turn,
    /// The credential the attempt was sent with, when a source gave it.
    token: Option<secrecy::SecretString>,
    /// When the request was sent.
    sent: SystemTime,
    /// When the answer (or the failure) came.
    now: SystemTime,
}

/// A call's subject for logs: an email shows only the first character of its local part and
/// its domain, unless the caller opted in to full addresses.
fn loggable(subject: Subject<'_>, full: bool) -> String {
    match subject {
        Subject::None => String::new(),
        Subject::Invitee(Invitee::Email(email)) if full => email.clone(),
        Subject::Invitee(Invitee::Email(email)) => match email.rsplit_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".to_owned(),
        },
        Subject::Invitee(Invitee::UserId(id)) => format!("user id {id}"),
        Subject::Invitee(Invitee::Login(login)) => format!("login {login}"),
        Subject::Invitation(id) => format!("invitation {id}"),
        Subject::Invitations(count) => format!("{count} invitations"),
    }
}

impl Engine {
    /// Tells the observer of a request that went on the wire.
    fn sent(
        &self,
        provider: ProviderKind,
        operation: Operation,
        outcome: &Result<RawResponse, Failure>,
    ) {
        let Some(observer) = &self.observer else {
            return;
        };
        let status = match outcome {
            Ok(response) => Some(response.status.as_u16()),
            Err(failure) => failure.error.status().map(|status| status.as_u16()),
        };
        let kind = match operation.idempotency {
            Idempotency::Creates => RequestKind::Create,
            Idempotency::DeletesNamed => RequestKind::Cancel,
            Idempotency::Reads if operation.name.starts_with("list_") => RequestKind::ListPage,
            Idempotency::Reads => RequestKind::Lookup,
        };
        observer.on_request(&RequestEvent {
            provider,
            operation: operation.name,
            kind,
            status,
        });
    }

    fn emit(&self, event: RateLimitEvent) {
        if let Some(observer) = &self.observer {
            observer.on_event(&event);
        }
    }

    /// Paces, sends, decodes and retries one call of any operation: the whole life of one
    /// request. Nothing here knows the vendor or the operation beyond what [`Call`] says.
    ///
    /// The way through an answer that succeeds is kept short; whatever follows a failed
    /// attempt (retry decisions, holds, a refreshed credential) is [`Engine::after_failure`],
    /// a future of its own, boxed, so that a call that succeeds neither carries its size nor
    /// runs through its code.
    pub(crate) fn run<'a, T: 'a, D: Decode<T> + 'a>(
        &'a self,
        call: Call<'a, D>,
    ) -> impl std::future::Future<Output = Result<T, Error>> + 'a {
        self.run_with(call, Controls::NONE)
    }

    /// [`Engine::run`], with what the caller asks of the request (a bulk run's gate,
    /// start-by time and patience).
    pub(crate) fn run_with<'a, T: 'a, D: Decode<T> + 'a>(
        &'a self,
        call: Call<'a, D>,
        controls: Controls<'a>,
    ) -> impl std::future::Future<Output = Result<T, Error>> + 'a {
        let (operation, origin, organization) = (call.operation, call.origin, call.organization);
        let (plan, decode) = (call.plan, call.decode);
        let provider = origin.provider;
        let class = operation.traffic;
        let span = tracing::info_span!(
            "orginvite.call",
            operation = operation.name,
            provider = provider.as_str(),
            organization = %organization,
            subject = %loggable(call.subject, self.trace_emails),
        );
        let gate = controls.gate;
        let finish = move |mut error: Error| {
            let creates = operation.idempotency == Idempotency::Creates;
            // Only a create can leave an invitation behind.
            if !creates {
                error.clear_may_have_been_created();
            }
            if let Some(gate) = gate {
                gate.failed(organization, creates, &error);
            }
            error
        };
        async move {
            let mut progress = Progress::new(self, operation, &controls);
            // The clock's reading at the start, for the first turn: nothing happened since.
            let mut first = Some(progress.started);
            loop {
                progress.attempt += 1;
                if let Some(cause) = controls.refusal(organization) {
                    let denied = Denied::Unavailable(cause);
                    return Err(finish(self.denied(&mut progress, denied, provider)));
                }

                let ask = pacing::Ask {
                    provider,
                    sleeper: &*self.sleeper,
                    observer: self.observer.as_deref(),
                    not_before: progress.not_before,
                    deadline: progress.turn_by,
                    max_wait: self.policy.longest_wait(),
                    patient: controls.patient,
                    class,
                };
                // A turn that needs no wait is taken at once; waiting for one is a future of
                // its own, boxed, so that a call that never waits does not carry it. The first
                // attempt's clock reading is the call's start: nothing happened in between.
                let now = match first.take() {
                    Some(started) => started,
                    None => self.sleeper.now(),
                };
                let (turn, now) = match self.pacer.turn_now(&ask, now) {
                    Some(turn) => (Ok(turn), now),
                    None => {
                        let acquire = Box::pin(self.pacer.acquire(ask));
                        let turn = match controls.gate {
                            None => acquire.await,
                            // A run asked to stop abandons the wait: nothing more is sent.
                            Some(gate) => {
                                match futures_util::future::select(acquire, gate.abandoned()).await
                                {
                                    futures_util::future::Either::Left((turn, _)) => turn,
                                    futures_util::future::Either::Right(((), _)) => {
                                        let cause =
                                            gate.refusal(organization).unwrap_or_else(|| {
                                                Error::cancelled("the run was asked to stop")
                                            });
                                        let denied = Denied::Unavailable(cause);
                                        return Err(finish(self.denied(
                                            &mut progress,
                                            denied,
                                            provider,
                                        )));
                                    }
                                }
                            }
                        };
                        (turn, self.sleeper.now())
                    }
                };
                // What is left of the call's budget bounds this attempt too.
                let left = progress
                    .deadline
                    .map(|deadline| deadline.duration_since(now).unwrap_or(Duration::ZERO));
                let late = progress.turn_by.is_some_and(|by| now > by);
                let turn = match (turn, left) {
                    (Ok(_), Some(Duration::ZERO)) => Err(Denied::TooLate(Duration::ZERO)),
                    (Ok(_), _) if late => Err(Denied::TooLate(Duration::ZERO)),
                    (turn, _) => turn,
                };
                let turn = match turn {
                    Ok(turn) => turn,
                    Err(denied) => {
                        return Err(finish(self.denied(&mut progress, denied, provider)))
                    }
                };
                // The credential, asked for once the turn is there (so a wait in the queue
                // cannot outlast it), unless the request carries its own (a GitHub App's JWT).
                // A run asked to stop abandons the wait for it too.
                let own = plan.headers.contains_key(reqwest::header::AUTHORIZATION);
                let (token, authorization) = match (&self.static_authorization, &self.credentials) {
                    _ if own => (None, None),
                    (Some(fixed), _) => (None, Some(fixed.clone())),
                    (None, Some(source)) => {
                        let asking = source.token(organization);
                        let token = match controls.gate {
                            None => asking.await,
                            Some(gate) => {
                                match futures_util::future::select(asking, gate.abandoned()).await {
                                    futures_util::future::Either::Left((token, _)) => token,
                                    futures_util::future::Either::Right(_) => {
                                        Err(gate.refusal(organization).unwrap_or_else(|| {
                                            Error::cancelled("the run was asked to stop")
                                        }))
                                    }
                                }
                            }
                        }
                        .map_err(finish)?;
                        let header =
                            crate::engine::credentials::authorization(self.scheme, &token)?;
                        (Some(token), Some(header))
                    }
                    (None, None) => (None, None),
                };
                // Asked again once the turn and the credential are there: a run stopped
                // meanwhile sends nothing more.
                if let Some(cause) = controls.refusal(organization) {
                    let denied = Denied::Unavailable(cause);
                    return Err(finish(self.denied(&mut progress, denied, provider)));
                }
                let timeout = match (self.attempt_timeout, left) {
                    (Some(timeout), Some(left)) => Some(timeout.min(left)),
                    (timeout, left) => timeout.or(left),
                };
                // A request that may create something is announced to the gate, which may still
                // stop it (a bulk run records it first, so that a crash cannot lose it).
                let announced =
                    operation.idempotency == Idempotency::Creates && controls.gate.is_some();
                if let (true, Some(gate)) = (announced, controls.gate) {
                    // Stopped while it was being announced: still not sent.
                    let sending = gate.sending().await;
                    if let Some(cause) = sending.err().or_else(|| gate.refusal(organization)) {
                        let denied = Denied::Unavailable(cause);
                        return Err(finish(self.denied(&mut progress, denied, provider)));
                    }
                }
                // Asking a credential source, or the gate, may have taken a while.
                let sent = if token.is_some() || announced {
                    self.sleeper.now()
                } else {
                    now
                };
                let attempt = progress.attempt;
                let mut outcome = self
                    .attempt(attempt, provider, &plan, authorization.as_ref(), timeout)
                    .await;
                let now = self.sleeper.now();
                self.sent(provider, operation, &outcome);
                if let Ok(response) = &mut outcome {
                    response.after_doubt = progress.doubt;
                    self.pacer
                        .observe_answer(
                            &response.headers,
                            origin.rate_limit,
                            now,
                            provider,
                            self.observer.as_deref(),
                        )
                        .await;
                }
                let failure = match outcome {
                    Ok(response) if response.oversized => {
                        self.oversized(decode(&response, now), &response, provider)
                    }
                    Ok(response) => match decode(&response, now) {
                        Ok(output) => {
                            self.pacer.accepted(sent, now, class);
                            turn.release().await;
                            tracing::info!(attempt, status = response.status.as_u16(), "done");
                            return Ok(output);
                        }
                        Err(failure) => failure,
                    },
                    Err(failure) => failure,
                };
                let failed = Failed {
                    failure,
                    turn,
                    token,
                    sent,
                    now,
                };
                let next = Box::pin(self.after_failure(
                    &mut progress,
                    failed,
                    operation,
                    provider,
                    organization,
                ))
                .await;
                if let Some(error) = next {
                    return Err(finish(error));
                }
            }
        }
        .instrument(span)
    }

    /// The error for a call whose turn was refused: the earlier attempt's, when it says more.
    #[cold]
    fn denied(&self, progress: &mut Progress, denied: Denied, provider: ProviderKind) -> Error {
        let attempt = progress.attempt;
        match denied {
            Denied::Unavailable(error) => {
                // An earlier attempt's answer says more than "nothing sent now": it may have
                // created the invitation.
                match progress.previous.take() {
                    Some(mut earlier) if earlier.may_have_been_created() => {
                        earlier.set_attempts(attempt - 1);
                        earlier
                    }
                    _ => error,
                }
            }
            Denied::TooLate(needed) => {
                let error = match progress.previous.take() {
                    Some(mut error) => {
                        error.set_attempts(attempt - 1);
                        if let Error::Api(api) = &mut error {
                            api.retry_after = Some(needed);
                        }
                        error
                    }
                    None => Error::Throttled {
                        provider,
                        retry_after: needed,
                    },
                };
                tracing::warn!(
                    retry_after_ms = millis(needed),
                    "giving up: the next turn comes after the call's time budget"
                );
                self.emit(RateLimitEvent::GaveUp {
                    provider,
                    attempts: attempt - 1,
                    kind: error.kind(),
                    retry_after: Some(needed),
                });
                error
            }
        }
    }

    /// What follows a failed attempt: a refused credential sent once more, a rate-limit
    /// answer's hold, the retry policy's decision. `None` when the call goes on (the wait
    /// before the next attempt is in `progress`); else the error it ends with.
    async fn after_failure(
        &self,
        progress: &mut Progress,
        failed: Failed,
        operation: Operation,
        provider: ProviderKind,
        organization: &str,
    ) -> Option<Error> {
        let Failed {
            failure,
            turn,
            token,
            sent,
            now,
        } = failed;
        let class = operation.traffic;
        let attempt = progress.attempt;
        // Held until a rate-limit answer's hold is shared, so that no other process takes the
        // turn and sends into the vendor's wait.
        let mut turn = Some(turn);
        if failure.unprocessed && progress.unprocessed_resends < UNPROCESSED_RESENDS {
            // Nothing was done: sent again at once, with a turn of its own, and not one of the
            // policy's attempts.
            progress.unprocessed_resends += 1;
            release(&mut turn).await;
            tracing::info!(
                attempt,
                "the vendor refused the request unprocessed; sending it again"
            );
            progress.previous = Some(failure.error);
            progress.attempt -= 1;
            return None;
        }
        let elapsed = now
            .duration_since(progress.started)
            .unwrap_or(Duration::ZERO);
        let status = failure.error.status().map(|s| s.as_u16());
        let kind = failure.error.kind();
        progress.repeat = if progress.last_kind == Some(kind) {
            progress.repeat + 1
        } else {
            1
        };
        progress.last_kind = Some(kind);
        // A refused credential: the source may refresh it, and the request is sent once more.
        // A 401 means nothing was done, so this cannot duplicate anything.
        let refused = failure.error.status() == Some(StatusCode::UNAUTHORIZED);
        if refused && !progress.refused_once {
            if let (Some(source), Some(token)) = (&self.credentials, &token) {
                release(&mut turn).await;
                progress.refused_once = true;
                if let Some(wait) = source.refused(organization, token).await {
                    tracing::info!(
                        attempt,
                        wait_ms = millis(wait),
                        "credential refused; sending once more with a refreshed one"
                    );
                    progress.not_before = Some(later(self.sleeper.now(), wait));
                    progress.previous = Some(failure.error);
                    // Not one of the policy's attempts: the credential's own retry.
                    progress.attempt -= 1;
                    return None;
                }
            }
        }
        let hint = retry::hint_for(operation.idempotency, failure.retry, kind);
        progress.doubt |= failure.retry == RetryHint::Never && hint != RetryHint::Never;
        let decision = self.policy.decide(
            hint,
            attempt,
            progress.repeat,
            elapsed,
            now,
            fastrand::f64(),
        );
        if kind == crate::model::error::ErrorKind::RateLimited {
            // The whole client is over the limit: hold every request until the wait is over,
            // whether or not this call waits for it.
            let wait = match decision {
                Decision::RetryAfter(wait) => Some(wait),
                Decision::Stop { retry_after } => retry_after,
            };
            if let Some(wait) = wait {
                self.pacer.refused(now, sent, wait, class);
                self.pacer
                    .hold_until(later(now, wait), now, provider, self.observer.as_deref())
                    .await;
            }
        } else if failure.error.status().is_some() {
            // Answered without a rate-limit refusal: the vendor took it.
            self.pacer.accepted(sent, now, class);
        }
        release(&mut turn).await;
        match decision {
            Decision::RetryAfter(wait) => {
                tracing::warn!(
                    attempt,
                    status,
                    kind = kind.as_str(),
                    wait_ms = millis(wait),
                    "attempt not processed by the vendor; retrying after a wait"
                );
                self.emit(RateLimitEvent::Retried {
                    provider,
                    attempt,
                    kind,
                    status,
                    wait,
                });
                progress.not_before = Some(later(now, wait));
                progress.previous = Some(failure.error);
                None
            }
            Decision::Stop { retry_after } => {
                let mut error = failure.error;
                error.set_attempts(attempt);
                if let (Error::Api(api), Some(wait)) = (&mut error, retry_after) {
                    api.retry_after = Some(wait);
                }
                if hint != RetryHint::Never {
                    tracing::warn!(
                        attempt,
                        status,
                        kind = kind.as_str(),
                        retry_after_ms = retry_after.map(millis),
                        "giving up: the wait is over the policy's limits or attempts are spent"
                    );
                    self.emit(RateLimitEvent::GaveUp {
                        provider,
                        attempts: attempt,
                        kind,
                        retry_after,
                    });
                }
                Some(error)
            }
        }
    }

    /// An answer whose body passed the cap: a decode error, keeping what the status and
    /// headers told the vendor's mapping (request id, retry hint, "may have been created").
    fn oversized<T>(
        &self,
        classified: Result<T, Failure>,
        response: &RawResponse,
        provider: ProviderKind,
    ) -> Failure {
        let (may_have_been_created, request_id, retry) = match classified {
            Ok(_) => (true, None, RetryHint::Never),
            Err(failure) => (
                failure.error.may_have_been_created() || response.status.is_success(),
                failure.error.request_id().map(str::to_owned),
                failure.retry,
            ),
        };
        let reason = format!(
            "the body is larger than the {} byte limit",
            self.max_body_bytes
        );
        let mut error = DecodeError::new(provider, response.status, reason);
        error.may_have_been_created = may_have_been_created;
        error.request_id = request_id;
        Failure {
            error: error.into(),
            retry,
            unprocessed: false,
        }
    }

    /// Sends the plan once and reads the answer, up to the body cap, in a span of its own
    /// (`orginvite.attempt`, numbered `attempt`). The request is built at once, so that the
    /// future holds neither it nor the plan.
    fn attempt(
        &self,
        attempt: u32,
        provider: ProviderKind,
        plan: &HttpPlan,
        authorization: Option<&reqwest::header::HeaderValue>,
        timeout: Option<Duration>,
    ) -> impl std::future::Future<Output = Result<RawResponse, Failure>> {
        let span =
            tracing::info_span!("orginvite.attempt", attempt, status = tracing::field::Empty);
        // Built directly rather than through `RequestBuilder`, which would hash every header
        // again; the plan stays whole for a retry (the body is shared, not copied).
        let mut request = reqwest::Request::new(plan.method.clone(), plan.url.clone());
        *request.headers_mut() = plan.headers.clone();
        if let Some(authorization) = authorization {
            request
                .headers_mut()
                .insert(reqwest::header::AUTHORIZATION, authorization.clone());
        }
        *request.body_mut() = Some(plan.body.clone().into());
        // Set only when there is one: setting it, even to none, fills the request's
        // extensions (an allocation and a hash map).
        if timeout.is_some() {
            *request.timeout_mut() = timeout;
        }
        let sending = self.http.execute(request);
        let max_body_bytes = if plan.whole_list {
            self.max_body_bytes.saturating_mul(WHOLE_LIST_SCALE)
        } else {
            self.max_body_bytes
        };
        async move {
            let mut response = sending
                .await
                .map_err(|error| transport_failure(provider, error, None))?;
            let status = response.status();
            let headers = std::mem::take(response.headers_mut());
            tracing::Span::current().record("status", status.as_u16());
            tracing::debug!(status = status.as_u16(), "answer received");
            match read_capped(response, max_body_bytes).await {
                Ok(body) => Ok(RawResponse {
                    status,
                    headers,
                    body,
                    oversized: false,
                    after_doubt: false,
                }),
                // The status and headers still say what happened; the vendor's mapping reads
                // them.
                Err(BodyProblem::TooLarge) => Ok(RawResponse {
                    status,
                    headers,
                    body: Bytes::new(),
                    oversized: true,
                    after_doubt: false,
                }),
                Err(BodyProblem::Read(error)) => {
                    Err(transport_failure(provider, error, Some(status)))
                }
            }
        }
        .instrument(span)
    }
}

/// A transport failure: retried only when the request certainly did not leave, or the vendor
/// said it did not process it.
fn transport_failure(
    provider: ProviderKind,
    error: reqwest::Error,
    status: Option<StatusCode>,
) -> Failure {
    let not_sent = status.is_none() && error.is_connect();
    let unprocessed = status.is_none() && refused_unprocessed(&error);
    let may_have_been_created = match status {
        // The answer's status was read: the vendor decided, and only a success or a 5xx can
        // have left an invitation behind.
        Some(status) => status.is_success() || status.is_server_error(),
        None => !not_sent && !unprocessed,
    };
    let retry = if not_sent || unprocessed {
        RetryHint::After(Wait::Backoff {
            floor: Duration::ZERO,
        })
    } else {
        RetryHint::Never
    };
    Failure {
        error: Error::Transport(Box::new(TransportError {
            provider,
            timed_out: error.is_timeout(),
            sent: !not_sent,
            may_have_been_created,
            attempts: 1,
            source: Arc::new(error),
        })),
        retry,
        unprocessed,
    }
}

/// Whether an HTTP/2 server said it did not process the request, so that sending it again
/// cannot do anything twice (RFC 9113, section 8.7): it reset the stream with
/// `REFUSED_STREAM`, or closed the connection (`GOAWAY`, `NO_ERROR`) before reaching it.
///
/// The crate's own HTTP client leaves such requests to the engine (its retry layer is off, so
/// that it does not copy every request in case it needs to send it again); a client passed to
/// the builder may have sent it again already.
fn refused_unprocessed(error: &reqwest::Error) -> bool {
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        if let Some(h2) = error.downcast_ref::<h2::Error>() {
            // Said by the vendor, not by this side of the connection.
            let reason = h2.reason();
            return h2.is_remote()
                && ((h2.is_reset() && reason == Some(h2::Reason::REFUSED_STREAM))
                    || (h2.is_go_away() && reason == Some(h2::Reason::NO_ERROR)));
        }
        cause = error.source();
    }
    false
}

enum BodyProblem {
    Read(reqwest::Error),
    TooLarge,
}

/// Reads a body chunk by chunk, refusing it as soon as it passes `cap` bytes.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Bytes, BodyProblem> {
    let announced = response.content_length().unwrap_or(0);
    if announced > cap as u64 {
        return Err(BodyProblem::TooLarge);
    }
    // A body that arrives in one chunk (most answers) is kept as it came, without a copy.
    let Some(first) = response.chunk().await.map_err(BodyProblem::Read)? else {
        return Ok(Bytes::new());
    };
    if first.len() > cap {
        return Err(BodyProblem::TooLarge);
    }
    let Some(second) = response.chunk().await.map_err(BodyProblem::Read)? else {
        return Ok(first);
    };
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0).min(cap));
    body.extend_from_slice(&first);
    let mut chunk = second;
    loop {
        if body.len().saturating_add(chunk.len()) > cap {
            return Err(BodyProblem::TooLarge);
        }
        body.extend_from_slice(&chunk);
        match response.chunk().await.map_err(BodyProblem::Read)? {
            Some(next) => chunk = next,
            None => break,
        }
    }
    Ok(Bytes::from(body))
}

/// `invitation`, when it can be the answer to `request`; a success for someone else is not a
/// silent success.
pub(crate) fn check_answers(
    request: &crate::model::request::CreateInvitation,
    invitation: crate::model::invitation::Invitation,
) -> Result<crate::model::invitation::Invitation, Undecodable> {
    if answers_request(request, invitation.email.as_deref()) {
        Ok(invitation)
    } else {
        Err(Undecodable {
            expected: "an invitation for the invited email",
            source: None,
        })
    }
}

/// Whether a decoded invitation can be the answer to `request`: when inviting by email and the
/// answer names an email, they must be the same address (compared without regard to case). A
/// success for someone else is not a silent success.
pub(crate) fn answers_request(
    request: &crate::model::request::CreateInvitation,
    email: Option<&str>,
) -> bool {
    match (request.invitee.as_email(), email) {
        (Some(asked), Some(answered)) => asked.eq_ignore_ascii_case(answered),
        _ => true,
    }
}

/// A short description of a body that is not what was expected.
pub(crate) fn describe_unreadable(body: &[u8], expected: &str) -> String {
    if body.iter().all(u8::is_ascii_whitespace) {
        format!("the body is empty, expected {expected}")
    } else if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        format!(
            "the body ({} bytes) is not JSON, expected {expected}",
            body.len()
        )
    } else {
        format!("the JSON body is not {expected}")
    }
}

/// Gives a turn back, if it is still held.
async fn release(turn: &mut Option<pacing::Turn>) {
    if let Some(turn) = turn.take() {
        turn.release().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_bodies_are_described() {
        assert_eq!(
            describe_unreadable(b"", "x"),
            "the body is empty, expected x"
        );
        assert_eq!(
            describe_unreadable(b"<html>", "x"),
            "the body (6 bytes) is not JSON, expected x"
        );
        assert_eq!(describe_unreadable(b"[]", "x"), "the JSON body is not x");
    }
}
