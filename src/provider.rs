//! The [`Provider`] trait every vendor client implements, and [`ProviderKind`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{CreateInvitation, Error, Invitation};

/// A boxed, `Send` future: what [`Provider`] methods return.
///
/// Native `async fn` in traits cannot be called through `dyn Provider`, so the trait returns
/// this boxed future instead. The box costs one allocation per call, which is nothing next to
/// an HTTPS round trip.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which vendor a client, an invitation or an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ProviderKind {
    /// GitHub (github.com or GitHub Enterprise Server).
    GitHub,
    /// Clerk's Backend API.
    Clerk,
    /// Elastic Cloud (Elasticsearch Service), including GovCloud.
    ElasticCloud,
}

impl ProviderKind {
    /// A stable, lower-case identifier: `github`, `clerk` or `elastic_cloud`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderKind::GitHub => "github",
            ProviderKind::Clerk => "clerk",
            ProviderKind::ElasticCloud => "elastic_cloud",
        }
    }

    /// The vendor's name as a person writes it: `GitHub`, `Clerk` or `Elastic Cloud`.
    pub const fn display_name(self) -> &'static str {
        match self {
            ProviderKind::GitHub => "GitHub",
            ProviderKind::Clerk => "Clerk",
            ProviderKind::ElasticCloud => "Elastic Cloud",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

impl serde::Serialize for ProviderKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A client that can invite a person to an organization on one vendor.
///
/// The trait is dyn-compatible: pick vendors at run time and keep them as
/// `Box<dyn Provider>` or `Arc<dyn Provider>`. Its futures are `Send`, so calls can be
/// moved into `tokio::spawn`. Every implementation validates the request before anything is
/// sent, paces and retries through the crate's one engine, and never retries an attempt that
/// may already have created the invitation.
///
/// ```no_run
/// use orginvite::{CreateInvitation, GitHub, Provider, Role};
///
/// # async fn run() -> Result<(), orginvite::Error> {
/// let providers: Vec<Box<dyn Provider>> = vec![Box::new(
///     GitHub::builder().token("ghp_example").build()?,
/// )];
/// for provider in &providers {
///     let request = CreateInvitation::email("acme", "jane@example.com").role(Role::Member);
///     let invitation = provider.create_invitation(&request).await?;
///     println!("{}: invited {:?} as {}", provider.kind(), invitation.email, invitation.role);
/// }
/// # Ok(())
/// # }
/// ```
pub trait Provider: Send + Sync + fmt::Debug {
    /// Which vendor this client talks to.
    fn kind(&self) -> ProviderKind;

    /// Creates one invitation.
    ///
    /// Returns the vendor's invitation decoded into the unified [`Invitation`], or a typed
    /// [`Error`]; [`Error::may_have_been_created`] tells whether a failed call could still have
    /// created it.
    fn create_invitation<'a>(
        &'a self,
        request: &'a CreateInvitation,
    ) -> BoxFuture<'a, Result<Invitation, Error>>;
}

impl<P: Provider + ?Sized> Provider for Box<P> {
    fn kind(&self) -> ProviderKind {
        (**self).kind()
    }

    fn create_invitation<'a>(
        &'a self,
        request: &'a CreateInvitation,
    ) -> BoxFuture<'a, Result<Invitation, Error>> {
        (**self).create_invitation(request)
    }
}

impl<P: Provider + ?Sized> Provider for Arc<P> {
    fn kind(&self) -> ProviderKind {
        (**self).kind()
    }

    fn create_invitation<'a>(
        &'a self,
        request: &'a CreateInvitation,
    ) -> BoxFuture<'a, Result<Invitation, Error>> {
        (**self).create_invitation(request)
    }
}

/// The parts every vendor client shares, for a client struct with `engine` and `mapping`
/// fields: the inherent `create_invitation` (the engine run with the vendor's mapping), the
/// [`Provider`] impl, and the decode hook property tests and fuzzing use.
macro_rules! vendor_client {
    ($client:ident, $kind:expr) => {
        impl $client {
            /// Invites one person; see [`Provider::create_invitation`](crate::Provider::create_invitation).
            pub async fn create_invitation(
                &self,
                request: &$crate::CreateInvitation,
            ) -> Result<$crate::Invitation, $crate::Error> {
                self.engine.execute(&self.mapping, request).await
            }

            /// Builds the HTTP request exactly as a call does; for fuzzing and benchmarks.
            #[cfg(any(test, feature = "fuzzing"))]
            pub(crate) fn encode_request(
                &self,
                request: &$crate::CreateInvitation,
            ) -> Result<$crate::engine::HttpPlan, $crate::Error> {
                $crate::engine::Mapping::encode(&self.mapping, request)
            }

            /// Decodes an answer exactly as a call does; for property tests and fuzzing.
            #[cfg(any(test, feature = "fuzzing"))]
            pub(crate) fn decode_answer(
                &self,
                request: &$crate::CreateInvitation,
                response: &$crate::engine::RawResponse,
                now: std::time::SystemTime,
            ) -> Result<$crate::Invitation, $crate::engine::Failure> {
                $crate::engine::Mapping::decode(&self.mapping, request, response, now)
            }
        }

        impl $crate::Provider for $client {
            fn kind(&self) -> $crate::ProviderKind {
                $kind
            }

            fn create_invitation<'a>(
                &'a self,
                request: &'a $crate::CreateInvitation,
            ) -> $crate::BoxFuture<'a, Result<$crate::Invitation, $crate::Error>> {
                Box::pin($client::create_invitation(self, request))
            }
        }
    };
}
pub(crate) use vendor_client;
