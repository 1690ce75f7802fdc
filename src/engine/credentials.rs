//! Where a client's credential comes from: a static token, a GitHub App's installation tokens,
//! or a source of the caller's own. The engine asks the source before every attempt.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::model::boxed::BoxFuture;
use crate::model::error::Error;

/// A source of the credential a client sends: asked before every attempt, told when the
/// vendor refused it.
///
/// Static tokens ([`ClientBuilder::token`](crate::ClientBuilder::token)), GitHub App
/// installation tokens ([`GitHubApp`](crate::github::GitHubApp)) and sources of your own (tokens from
/// a vault that rotate, say) all go through this one path. Return the token alone: the client
/// adds its vendor's scheme (`Bearer`, `ApiKey`). Keep tokens in [`SecretString`]: the client
/// marks the header sensitive and never shows it in `Debug`, errors or logs.
///
/// ```
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use orginvite::{BoxFuture, Credentials, Error, SecretString};
///
/// /// A token another part of the program rotates.
/// #[derive(Debug)]
/// struct Rotating(Mutex<SecretString>);
///
/// impl Credentials for Rotating {
///     fn token<'a>(&'a self, _organization: &'a str) -> BoxFuture<'a, Result<SecretString, Error>> {
///         let token = self.0.lock().unwrap().clone();
///         Box::pin(async move { Ok(token) })
///     }
///
///     fn refused<'a>(
///         &'a self,
///         _organization: &'a str,
///         _token: &'a SecretString,
///     ) -> BoxFuture<'a, Option<Duration>> {
///         // Try once more in a second: the rotation may have happened meanwhile.
///         Box::pin(async { Some(Duration::from_secs(1)) })
///     }
/// }
/// ```
pub trait Credentials: Send + Sync + fmt::Debug {
    /// The token for the next request about `organization`. An error here fails the call
    /// before anything is sent.
    fn token<'a>(&'a self, organization: &'a str) -> BoxFuture<'a, Result<SecretString, Error>>;

    /// The vendor answered 401 to a request that carried `token`. Return a wait after which
    /// the request is sent once more, with whatever [`Credentials::token`] gives then (refresh
    /// it here), or `None` to return the 401. A 401 means nothing was created, so the retry
    /// can never duplicate an invitation; it happens at most once per call.
    fn refused<'a>(
        &'a self,
        organization: &'a str,
        token: &'a SecretString,
    ) -> BoxFuture<'a, Option<Duration>> {
        let _ = (organization, token);
        Box::pin(async { None })
    }
}

/// One token for ever: what [`ClientBuilder::token`](crate::ClientBuilder::token) sets.
pub(crate) struct StaticToken(pub(crate) SecretString);

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken([redacted])")
    }
}

impl Credentials for StaticToken {
    fn token<'a>(&'a self, _organization: &'a str) -> BoxFuture<'a, Result<SecretString, Error>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// Checks that `token` can go in a header: not empty, ASCII, no white space or control
/// characters. `what` names it in the error, which never shows it.
pub(crate) fn check_token(what: &str, token: &SecretString) -> Result<(), Error> {
    let token = token.expose_secret();
    if token.trim().is_empty() {
        return Err(Error::config(format!("the {what} credential is empty")));
    }
    if token.chars().any(|c| c.is_control() || c.is_whitespace()) || !token.is_ascii() {
        return Err(Error::config(format!(
            "the {what} credential contains white space, control or non-ASCII characters"
        )));
    }
    Ok(())
}

/// `<scheme> <token>` as a header value marked sensitive, so that `Debug` of the headers hides
/// it.
pub(crate) fn authorization(scheme: &str, token: &SecretString) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(&format!("{scheme} {}", token.expose_secret()))
        .map_err(|_| Error::config("the credential cannot be sent in a header"))?;
    value.set_sensitive(true);
    Ok(value)
}
