//! Taking a [`Snapshot`] of an organization: its invitations and its members, each read once,
//! page by page, into the snapshot's index.

use futures_util::StreamExt;

use crate::model::error::Error;
use crate::model::snapshot::Snapshot;
use crate::ops::lifecycle::{follow, list};
use crate::ops::Ops;
use crate::vendors::Vendor;

/// Reads `organization`'s invitations (pending and, where the vendor lists them, expired and
/// failed) and its members into a snapshot, one page at a time: memory holds the index and
/// one page.
pub(crate) async fn snapshot<V: Vendor>(
    ops: Ops<'_, V>,
    organization: &str,
) -> Result<Snapshot, Error> {
    let query = ops.vendor.snapshot_query(organization)?;
    let mut snapshot = Snapshot::new(V::PROVIDER, organization, ops.now(), V::MEMBERS_SHOW_EMAILS);
    let mut invitations = list(ops, &query);
    while let Some(invitation) = invitations.next().await {
        snapshot.add_invitation(invitation?);
    }
    drop(invitations);
    let mut members = follow(ops, |cursor: V::Cursor| {
        ops.vendor.members_page(organization, cursor)
    });
    while let Some(member) = members.next().await {
        snapshot.add_member(member?);
    }
    drop(members);
    snapshot.shrink();
    Ok(snapshot)
}
