//! Webhook deliveries from the fakes: what happens in a fake (an invitation made, accepted,
//! revoked) goes, signed as the vendor signs it, to a URL the test gives.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};

use super::{lock, FakeInvitation, FakeMember, FakeServer, Vendor};

/// What happened in a fake that a vendor may tell a webhook about.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Happened<'a> {
    /// An invitation was made.
    Invited(&'a FakeInvitation),
    /// An invitation was accepted: the invitee is this member now.
    Accepted(&'a FakeInvitation, &'a FakeMember),
    /// An invitation was withdrawn.
    Revoked(&'a FakeInvitation),
}

/// One webhook delivery a fake sent: what the receiver got, and how it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// The delivery's id (`X-GitHub-Delivery`, `svix-id`): the same when it is redelivered.
    pub id: String,
    /// The vendor's event: GitHub's `organization` (its action is in the body), Clerk's type
    /// (`organizationInvitation.accepted`, ...).
    pub event: String,
    /// The headers sent, signature included, as (lower-case name, value).
    pub headers: Vec<(String, String)>,
    /// The body sent.
    pub body: Vec<u8>,
    /// The receiver's answer status; `None` when it gave none (no listener, a timeout).
    pub answered: Option<u16>,
}

enum Outgoing {
    Send(WebhookDelivery),
    Flush(oneshot::Sender<()>),
}

/// Where a fake sends its deliveries.
pub(crate) struct Hooks {
    secret: String,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    sent: u64,
}

impl Hooks {
    /// Signs and queues what `happened`, as the vendor would send it.
    pub(crate) fn announce(
        &mut self,
        vendor: &dyn Vendor,
        happened: Happened<'_>,
        now: SystemTime,
    ) {
        let today = Timestamp::try_from(now).unwrap_or(Timestamp::UNIX_EPOCH);
        for (event, body) in vendor.webhook_events(happened, today) {
            self.sent += 1;
            let body = serde_json::to_vec(&body).unwrap_or_default();
            let id = vendor.webhook_delivery_id(self.sent);
            let headers = vendor.sign_webhook(&self.secret, &id, &event, &body, now);
            let delivery = WebhookDelivery {
                id,
                event,
                headers,
                body,
                answered: None,
            };
            let _ = self.outgoing.send(Outgoing::Send(delivery));
        }
    }
}

/// Sends queued deliveries in order, one at a time, recording each with its answer.
async fn deliver(
    url: String,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    log: Arc<Mutex<Vec<WebhookDelivery>>>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    while let Some(outgoing) = queue.recv().await {
        match outgoing {
            Outgoing::Send(mut delivery) => {
                let mut request = client.post(&url).body(delivery.body.clone());
                for (name, value) in &delivery.headers {
                    request = request.header(name, value);
                }
                delivery.answered = request.send().await.ok().map(|r| r.status().as_u16());
                log.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(delivery);
            }
            Outgoing::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Webhook deliveries to a test's receiver.
impl<V> FakeServer<V> {
    /// From now on, sends a signed webhook delivery to `url` for what happens in the fake, as
    /// the vendor would: GitHub `organization` events (`member_invited` when an invitation is
    /// made, `member_added` when one is accepted; nothing when one is cancelled, expires or
    /// fails), signed with `X-Hub-Signature-256`; Clerk `organizationInvitation.created`,
    /// `.accepted` (followed by `organizationMembership.created`) and `.revoked`, signed as
    /// Svix signs (`secret` is then a `whsec_` secret); Elastic Cloud sends none. Deliveries
    /// go one at a time, in order, from a task on the current Tokio runtime; their
    /// timestamps follow the fake's clock.
    ///
    /// ```
    /// use orginvite::testkit::Sandbox;
    /// use orginvite::{CreateInvitation, Provider};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), orginvite::Error> {
    /// let (fake, github) = Sandbox::github().await;
    /// // A port nothing listens on: the delivery is made and gets no answer.
    /// fake.deliver_webhooks_to("http://127.0.0.1:9/hooks", "It's a Secret to Everybody");
    /// github
    ///     .create_invitation(&CreateInvitation::email(fake.organization(), "jane@example.com"))
    ///     .await?;
    /// let deliveries = fake.webhook_deliveries().await;
    /// assert_eq!(deliveries.len(), 1);
    /// assert_eq!(deliveries[0].event, "organization");
    /// # Ok(())
    /// # }
    /// ```
    pub fn deliver_webhooks_to(&self, url: impl Into<String>, secret: impl Into<String>) -> &Self {
        let (outgoing, queue) = mpsc::unbounded_channel();
        tokio::spawn(deliver(url.into(), queue, self.hook_log.clone()));
        let mut state = lock(&self.state);
        // Delivery ids go on from the last receiver's: an id never names two deliveries.
        let sent = state.hooks.as_ref().map_or(0, |hooks| hooks.sent);
        state.hooks = Some(Hooks {
            secret: secret.into(),
            outgoing,
            sent,
        });
        drop(state);
        self
    }

    /// Every delivery sent so far, with the receiver's answers, once all queued ones are
    /// sent and answered.
    pub async fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        let flushed = {
            let state = lock(&self.state);
            state.hooks.as_ref().map(|hooks| {
                let (done, flushed) = oneshot::channel();
                let _ = hooks.outgoing.send(Outgoing::Flush(done));
                flushed
            })
        };
        if let Some(flushed) = flushed {
            let _ = flushed.await;
        }
        self.hook_log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sends the delivery `id` again, with the same id and body, as a vendor's redelivery
    /// does: GitHub's with the same headers, Clerk's signed again at the fake's clock as Svix
    /// signs each attempt. `false` when no delivery `id` has been sent and answered yet.
    pub fn redeliver(&self, id: &str) -> bool {
        let delivery = self
            .hook_log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|d| d.id == id)
            .cloned();
        let now = self.clock.now();
        let state = lock(&self.state);
        match (delivery, state.hooks.as_ref()) {
            (Some(mut delivery), Some(hooks)) => {
                delivery.headers = self.rules.sign_webhook(
                    &hooks.secret,
                    &delivery.id,
                    &delivery.event,
                    &delivery.body,
                    now,
                );
                delivery.answered = None;
                hooks.outgoing.send(Outgoing::Send(delivery)).is_ok()
            }
            _ => false,
        }
    }
}

/// The HMAC-SHA256 of `parts` under `key`.
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut context = hmac::Context::with_key(&key);
    for part in parts {
        context.update(part);
    }
    context.sign().as_ref().to_vec()
}
