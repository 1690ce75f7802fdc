//! What only one vendor has, carried through the shared types without them knowing the
//! vendor: a request's vendor options ([`VendorOptions`], [`VendorListOptions`]) and an
//! invitation's vendor payload ([`Payload`]). Each vendor module defines its own types and
//! reads them back by type.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

pub(crate) mod sealed {
    /// Only the crate's vendor modules define vendor options and payloads.
    pub trait Sealed {}
}

/// Options only one vendor has, set on a [`CreateInvitation`](crate::CreateInvitation) with
/// [`with`](crate::CreateInvitation::with) and read by that vendor alone; other vendors ignore
/// them, so one request can carry options for several vendors.
///
/// Implemented by each vendor's options type: [`GitHubOptions`](crate::github::GitHubOptions),
/// [`ClerkOptions`](crate::clerk::ClerkOptions), [`ElasticOptions`](crate::elastic::ElasticOptions).
pub trait VendorOptions:
    Any + Clone + fmt::Debug + PartialEq + Send + Sync + sealed::Sealed
{
}

/// Options only one vendor's lists have, set on a
/// [`ListInvitations`](crate::ListInvitations) with [`with`](crate::ListInvitations::with);
/// other vendors ignore them.
///
/// Implemented by [`GitHubListOptions`](crate::github::GitHubListOptions) and
/// [`ClerkListOptions`](crate::clerk::ClerkListOptions).
pub trait VendorListOptions:
    Any + Clone + fmt::Debug + PartialEq + Send + Sync + sealed::Sealed
{
}

/// One value of a set, its type forgotten.
trait Erased: Any + fmt::Debug + Send + Sync {
    fn clone_box(&self) -> Box<dyn Erased>;
    fn equals(&self, other: &dyn Erased) -> bool;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any + Clone + fmt::Debug + PartialEq + Send + Sync> Erased for T {
    fn clone_box(&self) -> Box<dyn Erased> {
        Box::new(self.clone())
    }

    fn equals(&self, other: &dyn Erased) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// At most one value of each type: the vendor options a request carries. Empty, it allocates
/// nothing.
#[derive(Default)]
pub(crate) struct OptionSet(Vec<Box<dyn Erased>>);

impl OptionSet {
    /// The value of type `T`, if there is one.
    pub(crate) fn get<T: Any>(&self) -> Option<&T> {
        self.0
            .iter()
            .find_map(|value| value.as_any().downcast_ref())
    }

    /// Sets the value of type `T`, replacing any earlier one.
    pub(crate) fn set<T: Any + Clone + fmt::Debug + PartialEq + Send + Sync>(&mut self, value: T) {
        self.0.retain(|held| !held.as_any().is::<T>());
        self.0.push(Box::new(value));
    }
}

impl Clone for OptionSet {
    fn clone(&self) -> OptionSet {
        OptionSet(self.0.iter().map(|value| value.clone_box()).collect())
    }
}

impl PartialEq for OptionSet {
    fn eq(&self, other: &OptionSet) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .all(|value| other.0.iter().any(|theirs| value.equals(&**theirs)))
    }
}

impl Eq for OptionSet {}

impl fmt::Debug for OptionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

/// A vendor's own invitation object, as the vendor module decoded it.
pub(crate) trait VendorObject: Any + fmt::Debug + Send + Sync + sealed::Sealed {
    /// The object as JSON, for serializing the invitation.
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error>;
    /// Whether `other` is the same object.
    fn same(&self, other: &dyn Any) -> bool;
    /// Itself, for reading it back by type.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any + fmt::Debug + PartialEq + Serialize + Send + Sync + sealed::Sealed> VendorObject
    for T
{
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn same(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>() == Some(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Everything the vendor sent about an invitation, decoded without loss into the vendor's own
/// type: [`GitHubInvitation`](crate::github::GitHubInvitation),
/// [`ClerkInvitation`](crate::clerk::ClerkInvitation) or
/// [`ElasticInvitation`](crate::elastic::ElasticInvitation). Read it back with
/// [`Payload::get`]. Cheap to clone (shared); serializing gives the vendor's object.
#[derive(Clone)]
pub struct Payload(Arc<dyn VendorObject>);

impl Payload {
    /// Wraps a vendor's object.
    pub(crate) fn new(object: impl VendorObject) -> Payload {
        Payload(Arc::new(object))
    }

    /// The vendor's object, when it is a `T`.
    ///
    /// ```
    /// use orginvite::github::GitHubInvitation;
    /// use orginvite::Invitation;
    ///
    /// fn teams(invitation: &Invitation) -> Option<u64> {
    ///     invitation.payload.get::<GitHubInvitation>()?.team_count()
    /// }
    /// # let _ = teams;
    /// ```
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }
}

/// The payload of an invitation whose vendor object was not kept (one a
/// [`Snapshot`](crate::Snapshot) returns): serializes as `null`, and [`Payload::get`] finds no
/// vendor type in it.
#[derive(Debug, PartialEq, Serialize)]
pub(crate) struct Omitted;

impl sealed::Sealed for Omitted {}

impl Payload {
    /// The payload of an invitation whose vendor object was not kept: one shared value.
    pub(crate) fn omitted() -> Payload {
        static OMITTED: std::sync::OnceLock<Payload> = std::sync::OnceLock::new();
        OMITTED.get_or_init(|| Payload::new(Omitted)).clone()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.0.same(other.0.as_any())
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        self.0
            .to_json()
            .map_err(S::Error::custom)?
            .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct A(u32);
    #[derive(Clone, Debug, PartialEq)]
    struct B(&'static str);

    #[test]
    fn one_value_per_type_compared_as_a_set() {
        let mut one = OptionSet::default();
        assert_eq!(one.get::<A>(), None);
        one.set(A(1));
        one.set(B("x"));
        one.set(A(2));
        assert_eq!(one.get::<A>(), Some(&A(2)));
        assert_eq!(one.get::<B>(), Some(&B("x")));
        let mut other = OptionSet::default();
        other.set(B("x"));
        assert_ne!(one, other);
        other.set(A(2));
        assert_eq!(one, other);
        assert_eq!(one.clone(), one);
        other.set(A(3));
        assert_ne!(one, other);
        assert_eq!(format!("{one:?}"), r#"[B("x"), A(2)]"#);
    }
}
