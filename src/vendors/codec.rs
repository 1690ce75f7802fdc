//! Each vendor's encoder and decoders with the vendor's type forgotten: what the fuzzing and
//! benchmark entry points feed (`crate::fuzzing`).

use std::time::SystemTime;

use reqwest::header::HeaderMap;

use super::Vendor;
use crate::engine::{Failure, HttpPlan, RawResponse};
use crate::model::error::{Error, RateLimitInfo};
use crate::model::invitation::Invitation;
use crate::model::request::{CreateInvitation, ListInvitations};

/// An answer, and when it is read.
pub(crate) struct Reading<'r> {
    pub(crate) response: &'r RawResponse,
    pub(crate) now: SystemTime,
}

/// One vendor's mapping, reached through its `ProviderKind`.
pub(crate) trait Codec: Send + Sync {
    /// The HTTP request a create sends.
    fn encode(&self, request: &CreateInvitation) -> Result<HttpPlan, Error>;
    /// What a create of `request` makes of an answer.
    fn created(
        &self,
        request: &CreateInvitation,
        answer: Reading<'_>,
    ) -> Result<Invitation, Failure>;
    /// How many invitations a list makes of an answer to its first page.
    fn page(&self, query: &ListInvitations, answer: Reading<'_>) -> Result<usize, Failure>;
    /// The rate limits an answer's headers tell.
    fn rate_limit(&self, headers: &HeaderMap, now: SystemTime) -> RateLimitInfo;
}

impl<V: Vendor> Codec for V {
    fn encode(&self, request: &CreateInvitation) -> Result<HttpPlan, Error> {
        self.create(request).map(|call| call.plan)
    }

    fn created(
        &self,
        request: &CreateInvitation,
        answer: Reading<'_>,
    ) -> Result<Invitation, Failure> {
        self.decode_created(request, answer.response, answer.now)
    }

    fn page(&self, query: &ListInvitations, answer: Reading<'_>) -> Result<usize, Failure> {
        let call = self
            .list_page(query, V::Cursor::default())
            .map_err(Failure::final_error)?;
        (call.decode)(answer.response, answer.now).map(|page| page.items.len())
    }

    fn rate_limit(&self, headers: &HeaderMap, now: SystemTime) -> RateLimitInfo {
        (V::ORIGIN.rate_limit)(headers, now)
    }
}
