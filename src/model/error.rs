//! The crate's one error type, [`Error`], and what it keeps about a vendor's answer.
//!
//! Programs branch on [`Error::kind`], which is the same for every vendor; the vendor's own
//! code, message and request id stay available for logs and support tickets.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

use crate::model::kind::ProviderKind;

/// What went wrong, in terms that are the same for every vendor.
///
/// [`ErrorKind::as_str`] gives a stable `snake_case` name for logs, metrics and command-line
/// output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A pending invitation for this person already exists.
    AlreadyInvited,
    /// The person is already a member of the organization.
    AlreadyMember,
    /// The vendor rejected the email address.
    InvalidEmail,
    /// The organization, user or role does not exist, or the credentials cannot see it.
    NotFound,
    /// The credentials are missing, malformed, expired or revoked.
    Unauthenticated,
    /// The credentials are valid but not allowed to invite to this organization.
    PermissionDenied,
    /// No pending invitation has this id any more: it was accepted, cancelled or expired, or
    /// never existed. What cancelling such an invitation answers on every vendor.
    NotPending,
    /// A quota or invitation cap is reached (GitHub's 24-hour invitation cap, Clerk's membership
    /// quota, Elastic Cloud's pending-invitation limit). Waiting seconds does not help.
    QuotaExceeded,
    /// The vendor's plan does not allow this (Clerk's 402).
    PaymentRequired,
    /// The vendor rejected the request as invalid for another reason.
    Validation,
    /// A concurrent change conflicted with this one; it is safe to try again later.
    Conflict,
    /// A rate limit answered; see [`Error::retry_after`].
    RateLimited,
    /// The vendor failed (5xx).
    ServerError,
    /// The vendor answered with a status this crate does not expect for this call.
    UnexpectedStatus,
    /// An attempt timed out.
    Timeout,
    /// The connection failed or broke.
    Transport,
    /// The vendor's answer could not be understood (not JSON, wrong shape, too large).
    Decode,
    /// The request was refused before anything was sent.
    InvalidRequest,
    /// The provider cannot honour an option of the request; nothing was sent.
    Unsupported,
    /// The client was configured wrongly (missing token, bad base URL, ...).
    InvalidConfig,
    /// The pacer shared through Redis could not be reached and the client fails closed;
    /// nothing was sent (feature `redis`).
    PacerUnavailable,
    /// The caller stopped the run before this request was sent (a cancellation, a hook that
    /// refused it); nothing was sent.
    Cancelled,
}

impl ErrorKind {
    /// A stable `snake_case` name, for example `already_invited` or `rate_limited`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::AlreadyInvited => "already_invited",
            ErrorKind::AlreadyMember => "already_member",
            ErrorKind::InvalidEmail => "invalid_email",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotPending => "not_pending",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::PaymentRequired => "payment_required",
            ErrorKind::Validation => "validation",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::ServerError => "server_error",
            ErrorKind::UnexpectedStatus => "unexpected_status",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::Decode => "decode",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::InvalidConfig => "invalid_config",
            ErrorKind::PacerUnavailable => "pacer_unavailable",
            ErrorKind::Cancelled => "cancelled",
        }
    }

    /// The kind a bare HTTP error status means when the vendor gave no more precise code.
    pub(crate) fn from_status(status: StatusCode) -> ErrorKind {
        match status.as_u16() {
            400 | 422 => ErrorKind::Validation,
            401 => ErrorKind::Unauthenticated,
            402 => ErrorKind::PaymentRequired,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::ServerError,
            _ => ErrorKind::UnexpectedStatus,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rate-limit headers of a vendor's answer, as far as the vendor sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitInfo {
    /// Requests allowed in the current window (`x-ratelimit-limit`).
    pub limit: Option<u64>,
    /// Requests left in the current window (`x-ratelimit-remaining`).
    pub remaining: Option<u64>,
    /// Requests used in the current window (`x-ratelimit-used`).
    pub used: Option<u64>,
    /// When the window resets (GitHub's `x-ratelimit-reset`).
    pub reset: Option<jiff::Timestamp>,
    /// The window's length (Elastic Cloud's `x-ratelimit-interval`).
    pub interval: Option<Duration>,
    /// Which limit this is (GitHub's `x-ratelimit-resource`, e.g. `core`).
    pub resource: Option<String>,
    /// The wait the vendor asked for in `Retry-After`, resolved to a duration.
    pub retry_after: Option<Duration>,
}

impl RateLimitInfo {
    /// True when no rate-limit header was present.
    pub fn is_empty(&self) -> bool {
        *self == RateLimitInfo::default()
    }
}

/// An error answer from the vendor, classified.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The vendor-neutral classification.
    pub kind: ErrorKind,
    /// Which vendor answered.
    pub provider: ProviderKind,
    /// The HTTP status of the answer.
    pub status: StatusCode,
    /// The vendor's error code(s), most specific first (empty when the body had none).
    pub codes: Vec<String>,
    /// The vendor's message, when the body had one.
    pub message: Option<String>,
    /// The request or trace id to quote to the vendor's support
    /// (`x-github-request-id`, Clerk's trace id, ...).
    pub request_id: Option<String>,
    /// The rate-limit headers of the answer.
    pub rate_limit: RateLimitInfo,
    /// How long to wait before trying again, when it is known.
    pub retry_after: Option<Duration>,
    /// Whether the invitation may exist despite this error (a 5xx after the body was sent).
    pub may_have_been_created: bool,
    /// How many attempts were made, this one included.
    pub attempts: u32,
    /// The answer concerns a name the request used (an unknown login or team slug), not the
    /// organization or the credential.
    pub(crate) about_request: bool,
}

impl ApiError {
    /// A new error of `kind` for an answer with `status`; the other details start empty.
    pub(crate) fn new(provider: ProviderKind, status: StatusCode, kind: ErrorKind) -> ApiError {
        ApiError {
            kind,
            provider,
            status,
            codes: Vec::new(),
            message: None,
            request_id: None,
            rate_limit: RateLimitInfo::default(),
            retry_after: None,
            may_have_been_created: false,
            attempts: 1,
            about_request: false,
        }
    }

    /// The vendor's most specific error code, if any.
    pub fn code(&self) -> Option<&str> {
        self.codes.first().map(String::as_str)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered {}", self.provider, self.status.as_u16())?;
        if let Some(code) = self.code() {
            write!(f, " ({code})")?;
        }
        match &self.message {
            Some(message) => write!(f, ": {message}")?,
            None => f.write_str(": no readable error body")?,
        }
        if let Some(wait) = self.retry_after {
            write!(f, "; retry after {}s", wait.as_secs_f64())?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl StdError for ApiError {}

/// A request refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidRequestError {
    /// The provider whose rules refused it, or `None` for rules shared by every provider.
    pub provider: Option<ProviderKind>,
    /// The field at fault, e.g. `organization`, `email` or `expires_in`.
    pub field: &'static str,
    /// Why it was refused.
    pub reason: String,
}

impl fmt::Display for InvalidRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(provider) = self.provider {
            write!(f, "{provider}: ")?;
        }
        write!(f, "`{}` {}", self.field, self.reason)
    }
}

impl StdError for InvalidRequestError {}

/// The connection failed, broke or timed out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportError {
    /// Which vendor was being called.
    pub provider: ProviderKind,
    /// True when the failure was a timeout.
    pub timed_out: bool,
    /// Whether the request may have reached the vendor.
    pub sent: bool,
    /// Whether the request may have created an invitation: it was a create, may have reached
    /// the vendor, and the vendor did not say it left it unprocessed (an HTTP/2 stream it
    /// refused reached it, `sent`, but created nothing).
    pub may_have_been_created: bool,
    /// How many attempts were made, this one included.
    pub attempts: u32,
    /// The underlying error, reached through [`std::error::Error::source`].
    pub(crate) source: Arc<reqwest::Error>,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.timed_out {
            "timed out"
        } else if self.sent {
            "broke off after it was sent"
        } else {
            "could not connect"
        };
        write!(f, "{} request {what}", self.provider)?;
        if self.may_have_been_created {
            f.write_str("; the invitation may have been created")?;
        }
        Ok(())
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// The vendor's answer could not be understood.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecodeError {
    /// Which vendor answered.
    pub provider: ProviderKind,
    /// The HTTP status of the answer.
    pub status: StatusCode,
    /// What was wrong with it.
    pub reason: String,
    /// Whether the invitation may exist (true for a success status whose body was unreadable).
    pub may_have_been_created: bool,
    /// The request id of the answer, when it had one.
    pub request_id: Option<String>,
    /// How many attempts were made, this one included.
    pub attempts: u32,
    /// The parse error, when there was one.
    pub source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl DecodeError {
    /// An answer with `status` from `provider` that could not be read, for `reason`; it may
    /// have created nothing, and has no request id or source until they are set.
    pub(crate) fn new(provider: ProviderKind, status: StatusCode, reason: String) -> DecodeError {
        DecodeError {
            provider,
            status,
            reason,
            may_have_been_created: false,
            request_id: None,
            attempts: 1,
            source: None,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not decode {}'s {} answer: {}",
            self.provider,
            self.status.as_u16(),
            self.reason
        )
    }
}

impl StdError for DecodeError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Everything that can go wrong when calling a vendor.
///
/// The variants say where it went wrong (before sending, in the vendor's answer, on the wire,
/// in decoding); [`Error::kind`] says what went wrong, the same way for every vendor.
///
/// Errors are cheap to clone (the underlying causes are shared), so one cause can be
/// reported for every item it affects.
///
/// ```
/// use orginvite::{Error, ErrorKind};
///
/// fn describe(error: &Error) -> String {
///     match error.kind() {
///         ErrorKind::AlreadyInvited | ErrorKind::AlreadyMember => "nothing to do".into(),
///         ErrorKind::RateLimited => format!("try again in {:?}", error.retry_after()),
///         _ if error.may_have_been_created() => "check before inviting again".into(),
///         kind => format!("failed: {kind}"),
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was refused before anything was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(InvalidRequestError),
    /// The provider cannot honour an option of the request; nothing was sent.
    #[non_exhaustive]
    #[error("{provider} does not support {feature}")]
    Unsupported {
        /// The provider that was asked.
        provider: ProviderKind,
        /// What it cannot do.
        feature: String,
    },
    /// The client was configured wrongly; nothing was sent.
    #[non_exhaustive]
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong. Never contains a secret.
        reason: String,
    },
    /// The vendor answered with an error.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The client's own pacing (a rate-limit hold, spacing or a rate) would make the
    /// call wait past its time budget; nothing was sent.
    #[non_exhaustive]
    #[error("{provider}: the next request may start in {}s, after the call's time budget", retry_after.as_secs_f64())]
    Throttled {
        /// The provider that was asked.
        provider: ProviderKind,
        /// How long until a request may start.
        retry_after: Duration,
    },
    /// The pacer shared through Redis could not be reached and the client is set to fail
    /// closed; nothing was sent. Safe to try again once Redis answers.
    #[non_exhaustive]
    #[error("{provider}: nothing sent, the shared pacer cannot be reached: {reason}")]
    PacerUnavailable {
        /// The provider that was asked.
        provider: ProviderKind,
        /// What went wrong with Redis, in words. Never contains the URL or its password.
        reason: String,
    },
    /// Nothing was sent: an earlier answer in the same bulk run dooms this request too (the
    /// credential was refused, the organization is unknown, its quota is reached). Its kind is
    /// the cause's.
    #[non_exhaustive]
    #[error("not sent: {cause}")]
    Skipped {
        /// The answer that stopped the run.
        #[source]
        cause: Box<Error>,
    },
    /// Nothing was sent: the caller stopped the run first (a bulk run's cancellation, or its
    /// observer refusing to let the request go).
    #[non_exhaustive]
    #[error("not sent: {reason}")]
    Cancelled {
        /// Why, in words.
        reason: String,
    },
    /// The connection failed, broke or timed out.
    #[error(transparent)]
    Transport(Box<TransportError>),
    /// The vendor's answer could not be understood.
    #[error(transparent)]
    Decode(Box<DecodeError>),
}

impl Error {
    pub(crate) fn invalid(
        provider: Option<ProviderKind>,
        field: &'static str,
        reason: impl Into<String>,
    ) -> Error {
        Error::InvalidRequest(InvalidRequestError {
            provider,
            field,
            reason: reason.into(),
        })
    }

    pub(crate) fn unsupported(provider: ProviderKind, feature: impl Into<String>) -> Error {
        Error::Unsupported {
            provider,
            feature: feature.into(),
        }
    }

    /// Vendor answers that each made sense but contradict each other.
    pub(crate) fn inconsistent(provider: ProviderKind, reason: impl Into<String>) -> Error {
        DecodeError::new(provider, StatusCode::OK, reason.into()).into()
    }

    /// A batch create whose success did not list one of its invitations: it may exist.
    pub(crate) fn missing_from_batch(provider: ProviderKind) -> Error {
        let reason = "the batch's answer does not list this invitation".to_owned();
        let mut error = DecodeError::new(provider, StatusCode::OK, reason);
        error.may_have_been_created = true;
        error.into()
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn pacer_unavailable(provider: ProviderKind, reason: impl Into<String>) -> Error {
        Error::PacerUnavailable {
            provider,
            reason: reason.into(),
        }
    }

    pub(crate) fn cancelled(reason: impl Into<String>) -> Error {
        Error::Cancelled {
            reason: reason.into(),
        }
    }

    /// Whether the call was stopped by its caller before it was sent, rather than answered: a
    /// run's stop or cancellation ([`Error::Skipped`], [`Error::Cancelled`]) or its deadline
    /// ([`Error::Throttled`]).
    pub(crate) fn stopped_by_caller(&self) -> bool {
        matches!(
            self,
            Error::Skipped { .. } | Error::Throttled { .. } | Error::Cancelled { .. }
        )
    }

    pub(crate) fn config(reason: impl Into<String>) -> Error {
        Error::InvalidConfig {
            reason: reason.into(),
        }
    }

    /// What went wrong, the same way for every vendor.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidRequest(_) => ErrorKind::InvalidRequest,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::InvalidConfig { .. } => ErrorKind::InvalidConfig,
            Error::Api(e) => e.kind,
            Error::Throttled { .. } => ErrorKind::RateLimited,
            Error::PacerUnavailable { .. } => ErrorKind::PacerUnavailable,
            Error::Skipped { cause } => cause.kind(),
            Error::Cancelled { .. } => ErrorKind::Cancelled,
            Error::Transport(e) if e.timed_out => ErrorKind::Timeout,
            Error::Transport(_) => ErrorKind::Transport,
            Error::Decode(_) => ErrorKind::Decode,
        }
    }

    /// The vendor involved, when the error came from a call.
    pub fn provider(&self) -> Option<ProviderKind> {
        match self {
            Error::InvalidRequest(e) => e.provider,
            Error::Unsupported { provider, .. } => Some(*provider),
            Error::InvalidConfig { .. } => None,
            Error::Api(e) => Some(e.provider),
            Error::Throttled { provider, .. } => Some(*provider),
            Error::PacerUnavailable { provider, .. } => Some(*provider),
            Error::Skipped { cause } => cause.provider(),
            Error::Cancelled { .. } => None,
            Error::Transport(e) => Some(e.provider),
            Error::Decode(e) => Some(e.provider),
        }
    }

    /// The HTTP status of the vendor's answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode(e) => Some(e.status),
            _ => None,
        }
    }

    /// The vendor's most specific error code, when it gave one.
    pub fn vendor_code(&self) -> Option<&str> {
        self.as_api().and_then(ApiError::code)
    }

    /// The vendor's message, when it gave one.
    pub fn vendor_message(&self) -> Option<&str> {
        self.as_api().and_then(|e| e.message.as_deref())
    }

    /// The vendor's request or trace id, when the answer had one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::Decode(e) => e.request_id.as_deref(),
            _ => None,
        }
    }

    /// How long to wait before trying again, when the vendor or the retry policy knows.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Throttled { retry_after, .. } => Some(*retry_after),
            _ => self.as_api().and_then(|e| e.retry_after),
        }
    }

    /// The rate-limit headers of the vendor's answer.
    pub fn rate_limit(&self) -> Option<&RateLimitInfo> {
        self.as_api().map(|e| &e.rate_limit)
    }

    /// Whether nothing was sent for this request, because of the client's own limits: its
    /// pacing or deadline ([`Error::Throttled`]), an unreachable shared pacer
    /// ([`Error::PacerUnavailable`]), the caller stopping the run ([`Error::Cancelled`]), an
    /// earlier answer of the same bulk run
    /// ([`Error::Skipped`]), or input refused before sending.
    pub fn nothing_sent(&self) -> bool {
        matches!(
            self,
            Error::Throttled { .. }
                | Error::PacerUnavailable { .. }
                | Error::Skipped { .. }
                | Error::Cancelled { .. }
                | Error::InvalidRequest(_)
                | Error::Unsupported { .. }
                | Error::InvalidConfig { .. }
        )
    }

    /// Whether the invitation may exist despite this error.
    ///
    /// True after a timeout or broken connection once the request was sent, after a 5xx
    /// answer, and when a success answer could not be decoded, for a call that creates an
    /// invitation; always false for the other operations (lists, lookups, cancellations),
    /// which cannot create one. Check with
    /// [`Provider::find_invitation`](crate::Provider::find_invitation) before inviting the
    /// same person again.
    pub fn may_have_been_created(&self) -> bool {
        match self {
            Error::Api(e) => e.may_have_been_created,
            Error::Transport(e) => e.may_have_been_created,
            Error::Decode(e) => e.may_have_been_created,
            _ => false,
        }
    }

    /// The classified vendor answer, for [`Error::Api`].
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// Marks the error as one that cannot have created an invitation (the call was not a
    /// create).
    pub(crate) fn clear_may_have_been_created(&mut self) {
        match self {
            Error::Api(e) => e.may_have_been_created = false,
            Error::Transport(e) => e.may_have_been_created = false,
            Error::Decode(e) => e.may_have_been_created = false,
            _ => {}
        }
    }

    pub(crate) fn set_attempts(&mut self, attempts: u32) {
        match self {
            Error::Api(e) => e.attempts = attempts,
            Error::Transport(e) => e.attempts = attempts,
            Error::Decode(e) => e.attempts = attempts,
            _ => {}
        }
    }
}

impl From<DecodeError> for Error {
    fn from(error: DecodeError) -> Error {
        Error::Decode(Box::new(error))
    }
}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Error {
        Error::Api(Box::new(error))
    }
}

impl From<InvalidRequestError> for Error {
    fn from(error: InvalidRequestError) -> Error {
        Error::InvalidRequest(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_stable_snake_case_names() {
        assert_eq!(ErrorKind::AlreadyMember.as_str(), "already_member");
        assert_eq!(ErrorKind::AlreadyInvited.to_string(), "already_invited");
        assert_eq!(ErrorKind::InvalidEmail.as_str(), "invalid_email");
        assert_eq!(ErrorKind::RateLimited.as_str(), "rate_limited");
        assert_eq!(ErrorKind::InvalidRequest.as_str(), "invalid_request");
        assert_eq!(ErrorKind::QuotaExceeded.as_str(), "quota_exceeded");
    }

    #[test]
    fn bare_statuses_classify() {
        let cases = [
            (400, ErrorKind::Validation),
            (401, ErrorKind::Unauthenticated),
            (402, ErrorKind::PaymentRequired),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (409, ErrorKind::Conflict),
            (410, ErrorKind::UnexpectedStatus),
            (422, ErrorKind::Validation),
            (429, ErrorKind::RateLimited),
            (502, ErrorKind::ServerError),
        ];
        for (status, kind) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(ErrorKind::from_status(status), kind, "{status}");
        }
    }
}
