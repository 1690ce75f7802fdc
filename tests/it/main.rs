//! The integration tests, one test binary with a module per concern: requests, answers and
//! errors per vendor, retries and pacing, the sandbox, secrets, and (in `lifecycle`) lists,
//! cancellations, memberships, never-in-doubt invitations, bulk runs, GitHub Apps and the
//! pacer shared through Redis.

mod common;

mod architecture;
mod budgets;
mod clerk_decode;
mod clerk_errors;
mod clerk_requests;
mod clerk_retry;
mod clerk_validation;
mod elastic_decode;
mod elastic_errors;
mod elastic_requests;
mod elastic_retry;
mod elastic_secrets;
mod elastic_validation;
mod entry_points;
#[cfg(feature = "webhooks")]
mod events;
mod fault_matrix;
mod github_decode;
mod github_errors;
mod github_requests;
mod github_retry;
mod hostile_headers;
mod http2;
mod lifecycle;
mod pacing;
#[cfg(feature = "roster")]
mod roster;
mod sandbox_clerk;
mod sandbox_elastic;
mod sandbox_github;
mod secrets;
mod spans;
mod transport_safety;
mod validation;
#[cfg(feature = "webhooks")]
mod webhooks;
