//! The unified result: [`Invitation`], and the vendor's own payload kept beside it.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use crate::model::extension::Payload;
use crate::model::kind::ProviderKind;
use crate::model::request::Role;

/// Where an invitation stands.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvitationStatus {
    /// Sent and waiting for the person to accept.
    Pending,
    /// Accepted: the person is a member now.
    Accepted,
    /// Withdrawn by the organization.
    Revoked,
    /// No longer valid because it was not accepted in time.
    Expired,
    /// The vendor could not deliver it (GitHub's `failed_at`).
    Failed,
    /// A status this crate does not know yet, as the vendor wrote it.
    Other(String),
}

impl InvitationStatus {
    /// The status as a lower-case word: `pending`, `accepted`, ... or the vendor's own word.
    pub fn as_str(&self) -> &str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Expired => "expired",
            InvitationStatus::Failed => "failed",
            InvitationStatus::Other(other) => other,
        }
    }

    /// Reads a vendor's status word; unknown words are kept as [`InvitationStatus::Other`].
    pub fn parse(word: &str) -> InvitationStatus {
        match word {
            "pending" => InvitationStatus::Pending,
            "accepted" => InvitationStatus::Accepted,
            "revoked" => InvitationStatus::Revoked,
            "expired" => InvitationStatus::Expired,
            "failed" => InvitationStatus::Failed,
            other => InvitationStatus::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for InvitationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for InvitationStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Who sent an invitation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Inviter {
    /// The inviter's id at the vendor.
    pub id: Option<String>,
    /// A name to show: GitHub's login, Clerk's name or identifier.
    pub name: Option<String>,
}

/// An invitation, in one shape for every vendor.
///
/// The fields every vendor has (or can be derived) are typed here; everything the vendor sent
/// is in [`Invitation::payload`]. Serializing it (with `serde_json`) gives one JSON object with
/// timestamps in RFC 3339.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Invitation {
    /// Which vendor holds it.
    pub provider: ProviderKind,
    /// The vendor's id of the invitation (GitHub's numeric id as text, Clerk's `orginv_...`,
    /// Elastic Cloud's token).
    pub id: String,
    /// The invited email address, when the vendor returns one.
    pub email: Option<String>,
    /// The invitee's login at the vendor, when the vendor names one (GitHub, for a person
    /// who has an account).
    pub login: Option<String>,
    /// The role the person gets, mapped back onto the shared roles where one fits.
    pub role: Role,
    /// Where the invitation stands.
    pub status: InvitationStatus,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it stops being valid.
    pub expires_at: Option<Timestamp>,
    /// Who sent it, when the vendor says.
    pub inviter: Option<Inviter>,
    /// A link the person follows to accept, when the vendor gives one.
    pub accept_url: Option<String>,
    /// Everything the vendor sent about it, in the vendor's own type: read it with
    /// [`Payload::get`].
    pub payload: Payload,
}
