//! The crate's vocabulary, the same for every vendor: requests, invitations, outcomes, errors,
//! and which vendor is which. Depends on nothing else in the crate.

pub(crate) mod boxed;
pub(crate) mod error;
pub(crate) mod event;
pub(crate) mod extension;
pub(crate) mod invitation;
pub(crate) mod kind;
pub(crate) mod outcome;
pub(crate) mod request;
pub(crate) mod snapshot;
#[cfg(feature = "webhooks")]
pub(crate) mod webhook;
