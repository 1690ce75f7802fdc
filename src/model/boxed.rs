//! The boxed future and stream types [`Provider`](crate::Provider) methods return.

use std::future::Future;
use std::pin::Pin;

/// A boxed, `Send` future: what [`Provider`](crate::Provider) methods return.
///
/// Native `async fn` in traits cannot be called through `dyn Provider`, so the trait returns
/// this boxed future instead. The box costs one allocation per call, which is nothing next to
/// an HTTPS round trip.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A boxed, `Send` stream: what [`Provider::list_invitations`](crate::Provider::list_invitations) returns.
///
/// Consume it with any stream combinators, for example `futures::StreamExt::next` or
/// `futures::TryStreamExt::try_collect`.
pub type BoxStream<'a, T> = Pin<Box<dyn futures_core::Stream<Item = T> + Send + 'a>>;
