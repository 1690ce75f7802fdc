//! Seeing and undoing invitations: list, find, cancel and membership on every vendor. Against
//! wiremock: the exact requests, pagination, and every documented error; against the sandbox
//! fakes: the routes' contracts and the whole flow through `dyn Provider`.

mod bulk;
mod clerk;
mod doubt;
mod elastic;
mod ensure;
mod github;
mod github_app;
mod retries;
mod sandbox;
#[cfg(feature = "redis")]
mod shared_pacer;
mod soak;
mod spend;

use futures_util::{StreamExt, TryStreamExt};
use orginvite::{
    BulkItem, BulkOptions, CreateInvitation, Error, Invitation, ListInvitations, Provider,
};

/// Every item of a bulk run, in the input's order.
pub async fn run(
    provider: &dyn Provider,
    requests: Vec<CreateInvitation>,
    options: BulkOptions,
) -> Vec<BulkItem> {
    let mut items: Vec<BulkItem> = provider.invite_all(requests, options).collect().await;
    items.sort_by_key(|item| item.index);
    items
}

/// Every item of a list, or its first error.
pub async fn collect(
    provider: &dyn Provider,
    query: &ListInvitations,
) -> Result<Vec<Invitation>, Error> {
    provider.list_invitations(query).try_collect().await
}

/// The ids of every item of a list, panicking on an error.
pub async fn ids(provider: &dyn Provider, query: &ListInvitations) -> Vec<String> {
    collect(provider, query)
        .await
        .expect("the list")
        .into_iter()
        .map(|invitation| invitation.id)
        .collect()
}

/// The first item of a list: an error when the input is refused.
pub async fn first(
    provider: &dyn Provider,
    query: &ListInvitations,
) -> Option<Result<Invitation, Error>> {
    provider.list_invitations(query).next().await
}
