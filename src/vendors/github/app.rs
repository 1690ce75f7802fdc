//! GitHub as a GitHub App: JWTs signed with the app's private key, the organization's
//! installation found, installation tokens minted, cached until shortly before they expire,
//! and refreshed once for every call that needs them at the same time.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::header::AUTHORIZATION;
use reqwest::{Method, StatusCode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivatePkcs1KeyDer, PrivatePkcs8KeyDer};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::engine::builder::Connection;
use crate::engine::credentials::Credentials;
use crate::engine::{later, Call, Engine, Failure, Operation, RawResponse};
use crate::model::boxed::BoxFuture;
use crate::model::error::Error;

/// How long before `iat` is set, against clocks that run a little ahead (GitHub's advice).
const ISSUED_BEFORE: Duration = Duration::from_secs(60);
/// How long a JWT is valid: GitHub allows at most ten minutes.
const VALID_FOR: Duration = Duration::from_secs(9 * 60);
/// How long after minting a 401 is taken for GitHub's replication lag rather than a bad token.
const REPLICATION_LAG: Duration = Duration::from_secs(5);
/// How long to wait before trying a freshly minted token again.
const LAG_WAIT: Duration = Duration::from_secs(1);

/// Requests the app makes for itself: finding installations, minting tokens. Sending them
/// again changes nothing that matters (a second token is as good as the first).
const APP_AUTHENTICATION: Operation = Operation::reads("app_authentication");

/// Who the app is: GitHub's client id (recommended) or its numeric app id.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Issuer {
    ClientId(String),
    AppId(u64),
}

/// A GitHub App to act as: its id, its private key and, optionally, its installation.
///
/// The app needs the organization permission **Members: write** to invite (read is enough
/// for lists and lookups), and must be installed on the organization.
///
/// ```no_run
/// use orginvite::github::GitHubApp;
/// use orginvite::{CreateInvitation, GitHub};
///
/// # async fn run() -> Result<(), orginvite::Error> {
/// let pem = std::fs::read_to_string("app.private-key.pem").unwrap_or_default();
/// let github = GitHub::builder()
///     .app(GitHubApp::new("Iv23liExampleClientId", pem).installation_id(12345678))
///     .build()?;
/// github
///     .create_invitation(&CreateInvitation::email("acme", "jane@example.com"))
///     .await?;
/// # Ok(())
/// # }
/// ```
///
/// Without [`GitHubApp::installation_id`], the installation of each organization is found
/// through `GET /orgs/{org}/installation` and remembered. Installation tokens (one hour) are
/// minted with `POST /app/installations/{id}/access_tokens`, kept until
/// [`refresh_margin`](GitHubApp::refresh_margin) before they expire (5 minutes by default), and
/// refreshed by one request however many calls need a token at once. The private key never
/// appears in `Debug`, errors or logs.
#[derive(Clone)]
pub struct GitHubApp {
    issuer: Issuer,
    private_key: SecretString,
    installation_id: Option<u64>,
    refresh_margin: Duration,
}

impl fmt::Debug for GitHubApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubApp")
            .field("issuer", &self.issuer)
            .field("private_key", &"[redacted]")
            .field("installation_id", &self.installation_id)
            .field("refresh_margin", &self.refresh_margin)
            .finish()
    }
}

impl GitHubApp {
    /// The app with this client id (`Iv1...`, `Iv23...`; GitHub recommends it) or numeric app
    /// id, and its private key in PEM (the `.pem` file GitHub gives, PKCS#1 or PKCS#8). The key
    /// is checked when the client is built: a bad one is
    /// [`InvalidConfig`](crate::ErrorKind::InvalidConfig).
    pub fn new(
        client_id_or_app_id: impl Into<String>,
        private_key_pem: impl Into<SecretString>,
    ) -> GitHubApp {
        let id: String = client_id_or_app_id.into();
        let issuer = match id.trim().parse::<u64>() {
            Ok(app_id) => Issuer::AppId(app_id),
            Err(_) => Issuer::ClientId(id.trim().to_owned()),
        };
        GitHubApp {
            issuer,
            private_key: private_key_pem.into(),
            installation_id: None,
            refresh_margin: Duration::from_secs(5 * 60),
        }
    }

    setters! {
        /// The installation to act as, for every organization; without it, each organization's is
        /// found and remembered.
        installation_id(self, installation_id: u64) { self.installation_id = Some(installation_id) }

        /// How long before its expiry an installation token is replaced. Defaults to 5 minutes.
        refresh_margin(self, margin: Duration) { self.refresh_margin = margin }
    }

    /// Checks the settings and reads the key.
    pub(crate) fn signer(&self) -> Result<Signer, Error> {
        if let Issuer::ClientId(id) = &self.issuer {
            if id.is_empty() || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(Error::config(
                    "the GitHub App id must be a client id or a numeric app id",
                ));
            }
        }
        Ok(Signer {
            issuer: self.issuer.clone(),
            key: Arc::new(read_key(&self.private_key)?),
        })
    }
}

/// Reads an RSA private key from PEM, PKCS#1 or PKCS#8.
fn read_key(pem: &SecretString) -> Result<RsaKeyPair, Error> {
    let pem = pem.expose_secret().as_bytes();
    let bad = || {
        Error::config(
            "the GitHub App private key is not an RSA private key in PEM (PKCS#1 or PKCS#8)",
        )
    };
    if let Ok(der) = PrivatePkcs1KeyDer::from_pem_slice(pem) {
        return RsaKeyPair::from_der(der.secret_pkcs1_der()).map_err(|_| bad());
    }
    if let Ok(der) = PrivatePkcs8KeyDer::from_pem_slice(pem) {
        return RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).map_err(|_| bad());
    }
    Err(bad())
}

/// Signs the app's JWTs.
#[derive(Clone)]
pub(crate) struct Signer {
    issuer: Issuer,
    key: Arc<RsaKeyPair>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("issuer", &self.issuer)
            .field("key", &"[redacted]")
            .finish()
    }
}

fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

impl Signer {
    /// A JWT for GitHub's `now` (this clock's time corrected by what GitHub's `Date` said):
    /// RS256, `iat` 60 s before, `exp` 9 minutes after, `iss` the client id or app id.
    pub(crate) fn jwt(&self, now: i64) -> Result<SecretString, Error> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let issuer = match &self.issuer {
            Issuer::ClientId(id) => serde_json::Value::from(id.as_str()),
            Issuer::AppId(id) => serde_json::Value::from(*id),
        };
        let claims = serde_json::json!({
            "iat": now - ISSUED_BEFORE.as_secs() as i64,
            "exp": now + VALID_FOR.as_secs() as i64,
            "iss": issuer,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let message = format!("{header}.{claims}");
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message.as_bytes(),
                &mut signature,
            )
            .map_err(|_| Error::config("the GitHub App private key could not sign"))?;
        Ok(SecretString::from(format!(
            "{message}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// What a request the app makes for itself answered.
enum AppAnswer<T> {
    /// What was asked for.
    Done(T),
    /// GitHub refused the JWT's times; its `Date` says what time it is there.
    Skewed(Option<SystemTime>),
}

/// Whether a 401 names the JWT's `exp` or `iat` claim: the clocks disagree.
fn names_jwt_times(response: &RawResponse) -> bool {
    let body = String::from_utf8_lossy(&response.body);
    response.status == StatusCode::UNAUTHORIZED
        && (body.contains("('exp')") || body.contains("('iat')"))
}

fn date(response: &RawResponse) -> Option<SystemTime> {
    let date = response.headers.get(reqwest::header::DATE)?.to_str().ok()?;
    httpdate(date)
}

/// An HTTP date (`Tue, 01 Dec 2026 10:00:00 GMT`).
fn httpdate(text: &str) -> Option<SystemTime> {
    crate::engine::headers::parse_http_date(text)
}

#[derive(Deserialize)]
struct Installation {
    id: u64,
}

#[derive(Deserialize)]
struct InstallationToken {
    token: String,
    expires_at: String,
}

/// An installation token and its times.
#[derive(Clone)]
struct Minted {
    token: SecretString,
    expires_at: SystemTime,
    minted_at: SystemTime,
}

/// The credential source of a client acting as a GitHub App.
pub(crate) struct AppSource {
    signer: Signer,
    installation_id: Option<u64>,
    refresh_margin: Duration,
    /// The engine for the app's own requests (it carries no credential source).
    engine: Engine,
    connection: Connection,
    /// GitHub's clock minus this one, in seconds, as its `Date` told after a refusal.
    offset: Mutex<i64>,
    /// Installations by organization (lower case), found once each.
    installations: tokio::sync::Mutex<HashMap<String, u64>>,
    /// One slot per installation; a slot's lock is held while its token is minted, so one
    /// request serves every call waiting for it, and other installations are not held up.
    tokens: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<Slot>>>>,
}

/// An installation's token, and the last failure to mint one.
#[derive(Default)]
struct Slot {
    minted: Option<Minted>,
    /// When minting last failed, and why: calls that were waiting for that mint get the same
    /// answer instead of each sending another request.
    failed: Option<(SystemTime, Error)>,
}

impl fmt::Debug for AppSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubAppCredentials")
            .field("signer", &self.signer)
            .field("installation_id", &self.installation_id)
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

impl AppSource {
    pub(crate) fn new(
        app: &GitHubApp,
        engine: Engine,
        connection: Connection,
    ) -> Result<Self, Error> {
        Ok(AppSource {
            signer: app.signer()?,
            installation_id: app.installation_id,
            refresh_margin: app.refresh_margin,
            engine,
            connection,
            offset: Mutex::new(0),
            installations: tokio::sync::Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    fn offset(&self) -> i64 {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// GitHub's time now, as far as its `Date` answers have told.
    fn github_now(&self) -> SystemTime {
        let now = self.engine.sleeper.now();
        let offset = self.offset();
        let shift = Duration::from_secs(offset.unsigned_abs());
        if offset >= 0 {
            later(now, shift)
        } else {
            now.checked_sub(shift).unwrap_or(now)
        }
    }

    fn slot(&self, installation: u64) -> Arc<tokio::sync::Mutex<Slot>> {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(installation)
            .or_default()
            .clone()
    }

    /// A request of the app's own, signed with a fresh JWT; when GitHub refuses the JWT's
    /// times, signed once more on GitHub's clock (read from its `Date`).
    async fn app_request<T>(
        &self,
        organization: &str,
        plan: impl Fn() -> crate::engine::HttpPlan,
        decode: impl Fn(&RawResponse, SystemTime) -> Result<AppAnswer<T>, Failure> + Send + Sync,
    ) -> Result<T, Error> {
        for _ in 0..2 {
            let now = unix_seconds(self.engine.sleeper.now()) + self.offset();
            let jwt = self.signer.jwt(now)?;
            let mut plan = plan();
            plan.headers.insert(
                AUTHORIZATION,
                crate::engine::credentials::authorization("Bearer", &jwt)?,
            );
            let call = Call::new(
                APP_AUTHENTICATION,
                super::ORIGIN,
                organization,
                plan,
                &decode,
            );
            match self.engine.run(call).await? {
                AppAnswer::Done(value) => return Ok(value),
                AppAnswer::Skewed(github_now) => {
                    // Without a `Date`, what was learned before stays.
                    if let Some(github_now) = github_now.map(unix_seconds) {
                        let offset = github_now - unix_seconds(self.engine.sleeper.now());
                        tracing::warn!(
                            offset_seconds = offset,
                            "GitHub refused the app's JWT times; signing again on GitHub's clock"
                        );
                        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) = offset;
                    }
                }
            }
        }
        Err(Error::config(
            "GitHub refused the app's JWT times twice; check this machine's clock",
        ))
    }

    /// The installation of `organization`.
    async fn installation(&self, organization: &str) -> Result<u64, Error> {
        if let Some(id) = self.installation_id {
            return Ok(id);
        }
        let key = organization.to_lowercase();
        let mut installations = self.installations.lock().await;
        if let Some(id) = installations.get(&key) {
            return Ok(*id);
        }
        let id = self
            .app_request(
                organization,
                || {
                    let url = self.connection.url(&["orgs", organization, "installation"]);
                    self.connection.plan(Method::GET, url)
                },
                |response, now| {
                    if names_jwt_times(response) {
                        return Ok(AppAnswer::Skewed(date(response)));
                    }
                    if !response.status.is_success() {
                        return Err(crate::vendors::github::classify(response, now));
                    }
                    serde_json::from_slice::<Installation>(&response.body)
                        .map(|installation| AppAnswer::Done(installation.id))
                        .map_err(|source| {
                            crate::vendors::github::undecodable_as(
                                response,
                                "an installation",
                                source,
                            )
                        })
                },
            )
            .await?;
        installations.insert(key, id);
        Ok(id)
    }

    /// A new installation token.
    async fn mint(&self, organization: &str, installation: u64) -> Result<Minted, Error> {
        let id = installation.to_string();
        let minted_at = self.engine.sleeper.now();
        self.app_request(
            organization,
            || {
                let url = self
                    .connection
                    .url(&["app", "installations", &id, "access_tokens"]);
                self.connection
                    .json(Method::POST, url, &serde_json::json!({}))
                    .expect("an empty object serializes")
            },
            |response, now| {
                if names_jwt_times(response) {
                    return Ok(AppAnswer::Skewed(date(response)));
                }
                if !response.status.is_success() {
                    return Err(crate::vendors::github::classify(response, now));
                }
                let token: InstallationToken =
                    serde_json::from_slice(&response.body).map_err(|source| {
                        crate::vendors::github::undecodable_as(
                            response,
                            "an installation token",
                            source,
                        )
                    })?;
                let expires_at = crate::vendors::timestamp::parse(&token.expires_at)
                    .map(SystemTime::from)
                    // An unreadable expiry: GitHub's tokens last an hour.
                    .unwrap_or_else(|| later(now, Duration::from_secs(3600)));
                Ok(AppAnswer::Done(Minted {
                    token: SecretString::from(token.token),
                    expires_at,
                    minted_at,
                }))
            },
        )
        .await
    }
}

impl Credentials for AppSource {
    fn token<'a>(&'a self, organization: &'a str) -> BoxFuture<'a, Result<SecretString, Error>> {
        Box::pin(async move {
            let installation = self.installation(organization).await?;
            let slot = self.slot(installation);
            let waited_since = self.engine.sleeper.now();
            let mut slot = slot.lock().await;
            if let Some(minted) = &slot.minted {
                let renew_at = minted
                    .expires_at
                    .checked_sub(self.refresh_margin)
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                if self.github_now() < renew_at {
                    return Ok(minted.token.clone());
                }
            }
            // A mint this call waited for failed: the same answer, not one more request.
            if let Some((failed_at, error)) = &slot.failed {
                if *failed_at >= waited_since {
                    return Err(error.clone());
                }
            }
            match self.mint(organization, installation).await {
                Ok(minted) => {
                    let token = minted.token.clone();
                    slot.minted = Some(minted);
                    slot.failed = None;
                    Ok(token)
                }
                Err(error) => {
                    slot.failed = Some((self.engine.sleeper.now(), error.clone()));
                    if error.kind() == crate::model::error::ErrorKind::NotFound
                        && self.installation_id.is_none()
                    {
                        // Reinstalled, perhaps: look the installation up again next time.
                        self.installations
                            .lock()
                            .await
                            .remove(&organization.to_lowercase());
                    }
                    Err(error)
                }
            }
        })
    }

    fn refused<'a>(
        &'a self,
        organization: &'a str,
        token: &'a SecretString,
    ) -> BoxFuture<'a, Option<Duration>> {
        Box::pin(async move {
            let Ok(installation) = self.installation(organization).await else {
                return Some(Duration::ZERO);
            };
            let slot = self.slot(installation);
            let mut slot = slot.lock().await;
            let now = self.engine.sleeper.now();
            match &slot.minted {
                Some(minted) if minted.token.expose_secret() == token.expose_secret() => {
                    if now
                        .duration_since(minted.minted_at)
                        .unwrap_or(Duration::ZERO)
                        < REPLICATION_LAG
                    {
                        // Minted a moment ago: GitHub's replicas may not know it yet.
                        Some(LAG_WAIT)
                    } else {
                        // Older: expired or revoked early; the next call mints a new one.
                        slot.minted = None;
                        Some(Duration::ZERO)
                    }
                }
                // Already replaced by another call.
                _ => Some(Duration::ZERO),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_are_configuration_errors() {
        for pem in [
            "",
            "not a key",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        ] {
            let error = GitHubApp::new("Iv1", pem).signer().unwrap_err();
            assert_eq!(error.kind(), crate::model::error::ErrorKind::InvalidConfig);
            assert!(!error.to_string().contains("AAAA"));
        }
    }

    #[test]
    fn ids_are_client_ids_or_app_ids() {
        assert_eq!(GitHubApp::new("12345", "").issuer, Issuer::AppId(12345));
        assert_eq!(
            GitHubApp::new("Iv23li", "").issuer,
            Issuer::ClientId("Iv23li".into())
        );
    }
}
