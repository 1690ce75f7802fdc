//! Operations built from the vendors' mappings and the one engine: preparing a request,
//! lists, finding, cancelling and membership, never-in-doubt invitations and bulk runs. They
//! never see a vendor's wire types.

pub(crate) mod bulk;
pub(crate) mod ensure;
pub(crate) mod lifecycle;
pub(crate) mod prepare;
