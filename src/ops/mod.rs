//! Operations built from the vendors' mappings and the one engine: preparing a request,
//! lists, finding, cancelling and membership, never-in-doubt invitations and bulk runs. They
//! never see a vendor's wire types, and keep their own state ([`Shared`], [`Ops`]) rather
//! than the engine's.

pub(crate) mod bulk;
pub(crate) mod ensure;
pub(crate) mod lifecycle;
#[cfg(feature = "roster")]
pub(crate) mod plan;
pub(crate) mod prepare;
pub(crate) mod recent;
#[cfg(feature = "roster")]
pub(crate) mod roster;
pub(crate) mod snapshot;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::engine::{Call, Controls, Decode, Engine};
use crate::model::error::Error;
use crate::model::outcome::Reconcile;
use crate::vendors::Vendor;

/// What the operations of one client keep between calls, shared by its clones.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// How `ensure_invited` looks for an invitation whose create ended in doubt.
    pub(crate) reconcile: Reconcile,
    /// Ids looked up by name (GitHub's logins and team slugs), by [`crate::vendors::Name::key`].
    ids: Mutex<HashMap<String, u64>>,
    /// The reads of pending invitations that lookups after creates in doubt share.
    pub(crate) reads: recent::Reads,
}

impl Shared {
    /// The operations' state of a new client.
    pub(crate) fn new(reconcile: Reconcile) -> Shared {
        Shared {
            reconcile,
            ids: Mutex::default(),
            reads: recent::Reads::default(),
        }
    }

    /// The id remembered for a name's key.
    pub(crate) fn id(&self, key: &str) -> Option<u64> {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .copied()
    }

    /// Remembers a name's id.
    pub(crate) fn remember(&self, key: String, id: u64) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, id);
    }
}

/// Everything an operation works with: the engine that sends, the vendor that maps, the
/// client's shared state, and what the caller asks of each request (a bulk run's controls).
pub(crate) struct Ops<'a, V> {
    pub(crate) engine: &'a Engine,
    pub(crate) vendor: &'a V,
    pub(crate) shared: &'a Shared,
    pub(crate) controls: Controls<'a>,
}

impl<V> Clone for Ops<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Ops<'_, V> {}

impl<'a, V: Vendor> Ops<'a, V> {
    /// The operations of one client, for a single call.
    pub(crate) fn new(engine: &'a Engine, vendor: &'a V, shared: &'a Shared) -> Ops<'a, V> {
        Ops {
            engine,
            vendor,
            shared,
            controls: Controls::NONE,
        }
    }

    /// The same operations, each request asked `controls`.
    pub(crate) fn with_controls(self, controls: Controls<'a>) -> Ops<'a, V> {
        Ops { controls, ..self }
    }

    /// Runs one call of the vendor's through the engine, with this context's controls.
    pub(crate) fn run<'c, T: 'c, D: Decode<T> + 'c>(
        &self,
        call: Call<'c, D>,
    ) -> impl Future<Output = Result<T, Error>> + 'c
    where
        'a: 'c,
    {
        self.engine.run_with(call, self.controls)
    }

    /// The client's clock.
    pub(crate) fn now(&self) -> SystemTime {
        self.engine.sleeper.now()
    }

    /// Sleeps on the client's clock; a run asked to stop ends the sleep with its error.
    pub(crate) async fn sleep(&self, wait: Duration, organization: &str) -> Result<(), Error> {
        let sleep = self.engine.sleeper.sleep(wait);
        match self.controls.gate {
            None => {
                sleep.await;
                Ok(())
            }
            Some(gate) => match futures_util::future::select(sleep, gate.abandoned()).await {
                futures_util::future::Either::Left(_) => Ok(()),
                futures_util::future::Either::Right(_) => Err(gate
                    .refusal(organization)
                    .unwrap_or_else(|| Error::cancelled("the run was asked to stop"))),
            },
        }
    }
}

/// An organization as the vendor tells organizations apart.
pub(crate) fn organization_key<V: Vendor>(organization: &str) -> String {
    if V::ORGANIZATIONS_IGNORE_CASE {
        organization.to_lowercase()
    } else {
        organization.to_owned()
    }
}
