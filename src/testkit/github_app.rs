//! The fake GitHub's side of GitHub App authentication: JWTs checked against the test app's
//! public key and the fake's clock, installations, and installation tokens that expire.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_lc_rs::signature::{KeyPair, RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs1KeyDer;
use serde_json::{json, Value};

use crate::engine::later;

/// The private key of the testkit's GitHub App, in PEM: a throwaway key made for these
/// tests, which opens nothing anywhere. Give it to [`GitHubApp::new`](crate::github::GitHubApp::new)
/// to act as the app registered with [`FakeServer::install_app`](super::FakeServer::install_app).
pub const TEST_APP_PRIVATE_KEY: &str = include_str!("keys/test-app.private-key.pem");

/// The test app's public key, as GitHub would hold it (DER `RSAPublicKey`).
fn public_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let der = PrivatePkcs1KeyDer::from_pem_slice(TEST_APP_PRIVATE_KEY.as_bytes())
            .expect("the test key is PKCS#1 PEM");
        let pair = RsaKeyPair::from_der(der.secret_pkcs1_der()).expect("the test key is RSA");
        pair.public_key().as_ref().to_vec()
    })
}

/// An installation token the fake issued.
#[derive(Clone, Debug)]
struct Issued {
    installation: u64,
    minted_at: SystemTime,
    valid_until: SystemTime,
}

/// The registered app: who it is, where it is installed, the tokens it was given.
#[derive(Debug)]
pub(crate) struct FakeApp {
    /// The `iss` the app signs with: its client id, or its app id as digits.
    issuer: String,
    installations: HashMap<String, u64>,
    tokens: HashMap<String, Issued>,
    /// How long tokens really work (they always claim an hour).
    lifetime: Duration,
    /// How long a fresh token is refused, as GitHub's replicas may for a moment.
    lag: Duration,
    /// GitHub's clock minus the fake's, for JWT times and the `Date` header.
    offset_seconds: i64,
    /// The requests that minted a token.
    pub(crate) minted: u64,
}

impl FakeApp {
    pub(crate) fn new(issuer: &str) -> FakeApp {
        FakeApp {
            issuer: issuer.to_owned(),
            installations: HashMap::new(),
            tokens: HashMap::new(),
            lifetime: Duration::from_secs(3600),
            lag: Duration::ZERO,
            offset_seconds: 0,
            minted: 0,
        }
    }

    pub(crate) fn install(&mut self, organization: &str, id: u64) {
        self.installations.insert(organization.to_lowercase(), id);
    }

    pub(crate) fn set_lifetime(&mut self, lifetime: Duration) {
        self.lifetime = lifetime;
    }

    pub(crate) fn set_lag(&mut self, lag: Duration) {
        self.lag = lag;
    }

    pub(crate) fn set_offset(&mut self, seconds: i64) {
        self.offset_seconds = seconds;
    }

    /// GitHub's time, in Unix seconds.
    fn github_now(&self, now: SystemTime) -> i64 {
        let ours = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        ours + self.offset_seconds
    }

    /// GitHub's `Date` header for `now`.
    pub(crate) fn date(&self, now: SystemTime) -> String {
        let at = jiff::Timestamp::from_second(self.github_now(now)).unwrap_or_default();
        jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&at)
            .unwrap_or_default()
    }

    /// Checks an app JWT: RS256, signed by the test app's key, `iss` this app, `iat` and `exp`
    /// numbers with `exp` in the future by GitHub's clock and at most ten minutes ahead.
    /// `Err` is GitHub's message.
    pub(crate) fn check_jwt(&self, jwt: &str, now: SystemTime) -> Result<(), &'static str> {
        const UNDECODABLE: &str = "A JSON web token could not be decoded";
        let mut parts = jwt.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(UNDECODABLE);
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| UNDECODABLE);
        let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| UNDECODABLE)?;
        if header["alg"] != "RS256" {
            return Err(UNDECODABLE);
        }
        let signed = &jwt[..jwt.len() - signature.len() - 1];
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key())
            .verify(signed.as_bytes(), &decode(signature)?)
            .map_err(|_| UNDECODABLE)?;
        let claims: Value = serde_json::from_slice(&decode(claims)?).map_err(|_| UNDECODABLE)?;
        let issuer = match &claims["iss"] {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => return Err("Issuer claim ('iss') must be an Integer or a String"),
        };
        if issuer != self.issuer {
            return Err(UNDECODABLE);
        }
        let Some(issued) = claims["iat"].as_i64() else {
            return Err("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
        };
        let Some(expires) = claims["exp"].as_i64() else {
            return Err("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
        };
        let github_now = self.github_now(now);
        if expires <= github_now {
            return Err("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
        }
        if expires > github_now + 600 {
            return Err("'Expiration time' claim ('exp') is too far in the future");
        }
        if issued > github_now + 60 {
            return Err("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
        }
        Ok(())
    }

    /// The installation on `organization`, if the app is installed there.
    pub(crate) fn installation(&self, organization: &str) -> Option<u64> {
        self.installations
            .get(&organization.to_lowercase())
            .copied()
    }

    /// Whether `id` is one of the app's installations.
    pub(crate) fn has_installation(&self, id: u64) -> bool {
        self.installations.values().any(|i| *i == id)
    }

    /// Mints a token for installation `id`: the body of GitHub's 201.
    pub(crate) fn mint(&mut self, id: u64, now: SystemTime) -> Value {
        self.minted += 1;
        let token = format!("ghs_sandbox{id:010}{:014}", self.minted);
        self.tokens.insert(
            token.clone(),
            Issued {
                installation: id,
                minted_at: now,
                valid_until: later(now, self.lifetime),
            },
        );
        let expires_at = jiff::Timestamp::from_second(self.github_now(now) + 3600)
            .unwrap_or_default()
            .to_string();
        json!({
            "token": token,
            "expires_at": expires_at,
            "permissions": {"members": "write"},
            "repository_selection": "selected",
        })
    }

    /// Whether `token` is an installation token that works at `now`, for `organization`
    /// when the route names one (a token works only where its installation is).
    pub(crate) fn accepts(&self, token: &str, now: SystemTime, organization: Option<&str>) -> bool {
        self.tokens.get(token).is_some_and(|issued| {
            now >= later(issued.minted_at, self.lag)
                && now < issued.valid_until
                && organization
                    .is_none_or(|org| self.installation(org) == Some(issued.installation))
        })
    }
}
