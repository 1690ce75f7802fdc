//! Getting a request ready to send: checking it whole, and looking up the names it uses
//! (GitHub's logins and team slugs) as ids.

use std::borrow::Cow;

use crate::model::error::Error;
use crate::model::request::CreateInvitation;
use crate::ops::Ops;
use crate::vendors::{Name, Vendor};

/// Whether `request` would be sent as it is: everything a create checks before sending,
/// with any login or team slug standing for an id it would be looked up as.
pub(crate) fn check<V: Vendor>(vendor: &V, request: &CreateInvitation) -> Result<(), Error> {
    check_with_names(vendor, request, &vendor.names(request))
}

/// [`check`], with the names `request` uses already listed.
fn check_with_names<V: Vendor>(
    vendor: &V,
    request: &CreateInvitation,
    names: &[Name],
) -> Result<(), Error> {
    if names.is_empty() {
        return vendor.create(request).map(drop);
    }
    let stand_ins: Vec<_> = names.iter().map(|name| (name.clone(), 1)).collect();
    vendor.create(&vendor.with_ids(request, &stand_ins))?;
    for name in names {
        drop(vendor.name_call(name)?);
    }
    Ok(())
}

/// `request` with every name it uses looked up (GitHub's logins and team slugs), ready to
/// encode; the caller builds its create call next, which checks it before anything is sent.
/// When there are names, the whole request is checked before the first lookup is sent; an id
/// looked up once is remembered by the client.
pub(crate) async fn prepare<'r, V: Vendor>(
    ops: Ops<'_, V>,
    request: &'r CreateInvitation,
) -> Result<Cow<'r, CreateInvitation>, Error> {
    let names = ops.vendor.names(request);
    if names.is_empty() {
        // Nothing to look up: building the create call that follows is the whole check, and
        // it is done before anything is sent (checking here too would encode it twice).
        return Ok(Cow::Borrowed(request));
    }
    // Every name is checked before the first lookup goes out.
    check_with_names(ops.vendor, request, &names)?;
    // Boxed: a create without names (most) should not carry a lookup's future in its own.
    Box::pin(look_up(ops, request, names)).await
}

/// `request` with `names` replaced by their ids, each looked up unless the client remembers
/// it.
async fn look_up<'r, V: Vendor>(
    ops: Ops<'_, V>,
    request: &'r CreateInvitation,
    names: Vec<Name>,
) -> Result<Cow<'r, CreateInvitation>, Error> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let key = name.key();
        let id = match ops.shared.id(&key) {
            Some(id) => id,
            None => {
                let id = ops.run(ops.vendor.name_call(&name)?).await?;
                ops.shared.remember(key, id);
                id
            }
        };
        ids.push((name, id));
    }
    Ok(Cow::Owned(ops.vendor.with_ids(request, &ids)))
}
