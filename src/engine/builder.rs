//! The client builder every provider shares: credentials, base URL, user agent, timeouts,
//! retry policy, and an optional caller-supplied `reqwest::Client`.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT};
use reqwest::Method;
use secrecy::SecretString;
use url::{Host, Url};

use crate::engine::credentials::{check_token, Credentials, StaticToken};
use crate::engine::observe::Observer;
use crate::engine::pacing::{Pacer, Pacing};
use crate::engine::retry::RetryPolicy;
use crate::engine::sleep::{Sleeper, TokioSleeper};
use crate::engine::{Engine, HttpPlan, DEFAULT_MAX_BODY_BYTES};
use crate::model::error::Error;

/// The user agent sent unless the caller sets one.
pub(crate) const DEFAULT_USER_AGENT: &str = concat!("orginvite/", env!("CARGO_PKG_VERSION"));

/// Builds a provider client. Each provider adds its own settings: see
/// [`GitHub::builder`](crate::GitHub::builder), [`Clerk::builder`](crate::Clerk::builder) and
/// [`ElasticCloud::builder`](crate::ElasticCloud::builder).
///
/// Defaults: the vendor's public base URL, a 10 s connect timeout, a 30 s timeout per
/// attempt, [`RetryPolicy::default`], a 4 MiB cap on response bodies, redirects not followed.
#[must_use]
pub struct ClientBuilder<V> {
    pub(crate) common: CommonSettings,
    pub(crate) vendor: V,
}

/// Where a builder's credential comes from.
#[derive(Clone)]
pub(crate) enum CredentialChoice {
    /// One token.
    Token(SecretString),
    /// A source of the caller's own.
    Source(Arc<dyn Credentials>),
}

/// The settings every vendor's builder shares.
#[derive(Clone)]
pub struct CommonSettings {
    pub(crate) credentials: Option<CredentialChoice>,
    base_url: Option<String>,
    user_agent: Option<String>,
    connect_timeout: Duration,
    attempt_timeout: Option<Duration>,
    retry: RetryPolicy,
    http: Option<reqwest::Client>,
    sleeper: Option<Arc<dyn Sleeper>>,
    max_body_bytes: usize,
    pacing: Option<Pacing>,
    pacer: Option<Pacer>,
    observer: Option<Arc<dyn Observer>>,
    trace_emails: bool,
    pub(crate) reconcile: crate::model::outcome::Reconcile,
}

impl fmt::Debug for CommonSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field(
                "credentials",
                &match &self.credentials {
                    None => "none".to_owned(),
                    Some(CredentialChoice::Token(_)) => "[redacted token]".to_owned(),
                    Some(CredentialChoice::Source(source)) => format!("{source:?}"),
                },
            )
            .field("base_url", &self.base_url)
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("retry", &self.retry)
            .field("custom_http_client", &self.http.is_some())
            .field("sleeper", &self.sleeper)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("pacing", &self.pacing)
            .field("pacer", &self.pacer)
            .field("observer", &self.observer)
            .field("trace_emails", &self.trace_emails)
            .field("reconcile", &self.reconcile)
            .finish()
    }
}

impl<V: fmt::Debug> fmt::Debug for ClientBuilder<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("common", &self.common)
            .field("vendor", &self.vendor)
            .finish()
    }
}

impl<V> ClientBuilder<V> {
    pub(crate) fn with_vendor(vendor: V) -> ClientBuilder<V> {
        ClientBuilder {
            common: CommonSettings {
                credentials: None,
                base_url: None,
                user_agent: None,
                connect_timeout: Duration::from_secs(10),
                attempt_timeout: Some(Duration::from_secs(30)),
                retry: RetryPolicy::default(),
                http: None,
                sleeper: None,
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                pacing: None,
                pacer: None,
                observer: None,
                trace_emails: false,
                reconcile: crate::model::outcome::Reconcile::default(),
            },
            vendor,
        }
    }

    setters! {
        /// The credential: GitHub token, Clerk secret key, Elastic Cloud API key. This, a
        /// [`credentials`](ClientBuilder::credentials) source, or (GitHub) an App is required.
        ///
        /// It is kept as a [`SecretString`] and, built once, as the `Authorization` header value
        /// marked sensitive that every request sends; no `Debug`, `Display`, error or log line
        /// shows it. (The header value lives as long as the client and, unlike the
        /// `SecretString`, is not zeroed when dropped; a [`credentials`](ClientBuilder::credentials)
        /// source's tokens become header values per request instead.)
        token(self, token: impl Into<SecretString>) { self.common.credentials = Some(CredentialChoice::Token(token.into())) }

        /// A source the credential is asked from before every attempt, and told when the vendor
        /// refused it: rotating tokens, a vault, a token of your own making. Replaces
        /// [`ClientBuilder::token`].
        credentials(self, source: impl Credentials + 'static) { self.common.credentials = Some(CredentialChoice::Source(Arc::new(source))) }

        /// The API's base URL, for GitHub Enterprise Server, GovCloud, a proxy or a test server.
        /// Its path is kept: `https://ghe.example.com/api/v3` gives
        /// `https://ghe.example.com/api/v3/orgs/...`. Plain `http://` is refused except for
        /// loopback hosts.
        base_url(self, url: impl Into<String>) { self.common.base_url = Some(url.into()) }

        /// The `User-Agent` header. Defaults to `orginvite/<version>`.
        user_agent(self, user_agent: impl Into<String>) { self.common.user_agent = Some(user_agent.into()) }

        /// How long to wait for a connection. Applies to the client this builder creates, not to
        /// one passed in with [`ClientBuilder::http_client`].
        connect_timeout(self, timeout: Duration) { self.common.connect_timeout = timeout }

        /// How long one attempt may take, from connecting to the last byte of the answer; `None`
        /// for no limit. A timeout after the request was sent is never retried and is reported
        /// as "may have been created".
        timeout(self, timeout: Option<Duration>) { self.common.attempt_timeout = timeout }

        /// Which failures are retried, and how long the client may wait.
        retry_policy(self, policy: RetryPolicy) { self.common.retry = policy }

        /// Sends through this `reqwest::Client` (for a proxy, custom roots, a shared pool).
        /// Configure its redirect policy yourself: the crate's own client follows no redirects.
        /// Its retries are its own too: the crate's client turns reqwest's off
        /// (`.retry(reqwest::retry::never().max_retries_per_request(0))`), since the client sends
        /// again what may be sent again, an HTTP/2 stream refused unprocessed included.
        http_client(self, client: reqwest::Client) { self.common.http = Some(client) }

        /// The clock and sleep used between attempts; see [`RecordingSleeper`](crate::sleep::RecordingSleeper)
        /// for tests.
        sleeper(self, sleeper: impl Sleeper + 'static) { self.common.sleeper = Some(Arc::new(sleeper)) }

        /// How this client paces its requests (its own [`Pacer`], shared by its clones). Each
        /// provider documents its default.
        pacing(self, pacing: Pacing) { self.common.pacing = Some(pacing) }

        /// Paces through `pacer`, shared with every other client given the same one: use it
        /// when several clients spend one vendor account's budget. Overrides
        /// [`ClientBuilder::pacing`].
        pacer(self, pacer: Pacer) { self.common.pacer = Some(pacer) }

        /// Reports waits, retries and give-ups to `observer` (for metrics).
        observer(self, observer: impl Observer + 'static) { self.common.observer = Some(Arc::new(observer)) }

        /// Whether `tracing` spans show the invitee's full email. Off by default: spans show only
        /// its first character and domain (`j***@example.com`). Tokens are never shown.
        trace_emails(self, full: bool) { self.common.trace_emails = full }

        /// How [`ensure_invited`](crate::Provider::ensure_invited) looks for an invitation whose
        /// create ended in doubt before it concludes that none was created. See
        /// [`Reconcile`](crate::Reconcile) for the default.
        reconcile(self, reconcile: crate::model::outcome::Reconcile) { self.common.reconcile = reconcile }

        /// The largest response body read, in bytes; a larger answer is a
        /// [`Decode`](crate::ErrorKind::Decode) error. Defaults to 4 MiB. A list the vendor
        /// answers whole, in one answer (Elastic Cloud's invitations and members), may be 16
        /// times as large: 64 MiB by default, about 180,000 invitations.
        max_body_bytes(self, limit: usize) { self.common.max_body_bytes = limit }
    }
}

/// The settings a vendor adds to the [`ClientBuilder`], and which vendor they build.
pub trait VendorSettings {
    /// The vendor the builder builds a client of.
    type Vendor;
}

/// What every provider gets out of the shared settings.
pub(crate) struct Built {
    pub engine: Engine,
    /// The token set with [`ClientBuilder::token`], whose header is built once.
    pub static_token: Option<SecretString>,
    pub base_url: Url,
    pub user_agent: HeaderValue,
}

impl Built {
    /// The engine, sending credentials as `Authorization: <scheme> <token>`, and the
    /// connection a vendor mapping sends through: `Accept: accept`, the user agent and the
    /// vendor's `extra` headers on every request.
    pub(crate) fn into_parts(
        mut self,
        scheme: &'static str,
        accept: &'static str,
        extra: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
    ) -> (Engine, Connection) {
        self.engine.scheme = scheme;
        // A fixed token's header is the same on every request: built once, not per request.
        // (It was checked to fit in a header; a token that does not falls back to the
        // per-request path, which reports it.)
        self.engine.static_authorization = self
            .static_token
            .as_ref()
            .and_then(|token| crate::engine::credentials::authorization(scheme, token).ok());
        let mut headers = HeaderMap::with_capacity(6);
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        headers.insert(USER_AGENT, self.user_agent);
        headers.extend(extra.into_iter().map(|(name, value)| (Some(name), value)));
        let mut json_headers = headers.clone();
        json_headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let connection = Connection {
            base_url: self.base_url,
            headers,
            json_headers,
        };
        (self.engine, connection)
    }
}

/// Where and as whom a vendor mapping sends: the checked base URL and the headers of every
/// request (the `Authorization` value marked sensitive, `Accept`, `User-Agent` and the
/// vendor's own). Every vendor builds its requests through it, so those are set in one place.
#[derive(Clone)]
pub(crate) struct Connection {
    base_url: Url,
    headers: HeaderMap,
    /// `headers` and `Content-Type: application/json`, for requests with a JSON body.
    json_headers: HeaderMap,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = self.headers.iter().map(|(name, value)| {
            let shown = if value.is_sensitive() {
                "[redacted]"
            } else {
                value.to_str().unwrap_or("[not text]")
            };
            (name.as_str(), shown)
        });
        f.debug_struct("Connection")
            .field("base_url", &self.base_url.as_str())
            .field("headers", &f_map(headers))
            .finish()
    }
}

/// Shows pairs as a map in `Debug` output.
fn f_map<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> impl fmt::Debug {
    struct Map(Vec<(String, String)>);
    impl fmt::Debug for Map {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_map()
                .entries(self.0.iter().map(|(k, v)| (k, v)))
                .finish()
        }
    }
    Map(pairs.map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

impl Connection {
    /// `base` + `/` + each of `segments`, each percent-encoded whole.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        endpoint(&self.base_url, segments, None)
    }

    /// [`Connection::url`] with one more segment: `list`, each item percent-encoded whole and
    /// the items joined by unencoded commas (Elastic Cloud's "CSV list" path parameters).
    pub(crate) fn url_with_list(&self, segments: &[&str], list: &[&str]) -> Url {
        endpoint(&self.base_url, segments, Some(list))
    }

    /// Whether `url` is on the base URL's scheme, host and port: only there may the
    /// credential go (a link from an answer is checked with this before it is followed).
    pub(crate) fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.base_url.origin()
    }

    /// A request with no body.
    pub(crate) fn plan(&self, method: Method, url: Url) -> HttpPlan {
        HttpPlan {
            method,
            url,
            headers: self.headers.clone(),
            body: Bytes::new(),
            whole_list: false,
        }
    }

    /// A `GET` of `segments` with the query `pairs` (form-encoded).
    pub(crate) fn get<'q>(
        &self,
        segments: &[&str],
        pairs: impl IntoIterator<Item = (&'q str, &'q str)>,
    ) -> HttpPlan {
        let mut url = self.url(segments);
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in pairs {
                query.append_pair(name, value);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        self.plan(Method::GET, url)
    }

    /// A JSON request with `body`: `Content-Type: application/json`.
    pub(crate) fn json(
        &self,
        method: Method,
        url: Url,
        body: &impl serde::Serialize,
    ) -> Result<HttpPlan, serde_json::Error> {
        let body = serde_json::to_vec(body)?;
        Ok(HttpPlan {
            method,
            url,
            headers: self.json_headers.clone(),
            body: Bytes::from(body),
            whole_list: false,
        })
    }

    /// A JSON `POST` of `body` to `segments`.
    pub(crate) fn post_json(
        &self,
        segments: &[&str],
        body: &impl serde::Serialize,
    ) -> Result<HttpPlan, serde_json::Error> {
        self.json(Method::POST, self.url(segments), body)
    }
}

impl CommonSettings {
    /// Checks the settings and builds the engine. `vendor` names the provider in messages.
    /// `credential_optional`: the vendor brings its own when none is set (a GitHub App).
    pub(crate) fn build(
        self,
        vendor: &str,
        default_base_url: &str,
        default_pacing: Pacing,
        credential_optional: bool,
    ) -> Result<Built, Error> {
        let mut static_token = None;
        let credentials: Option<Arc<dyn Credentials>> = match self.credentials {
            Some(CredentialChoice::Token(token)) => {
                check_token(vendor, &token)?;
                static_token = Some(token.clone());
                Some(Arc::new(StaticToken(token)))
            }
            Some(CredentialChoice::Source(source)) => Some(source),
            None if credential_optional => None,
            None => {
                return Err(Error::config(format!(
                    "{vendor} needs a credential: call `.token(...)`"
                )))
            }
        };
        let base_url = parse_base_url(self.base_url.as_deref().unwrap_or(default_base_url))?;
        let user_agent = self.user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT);
        let user_agent = header_text(user_agent)
            .ok_or_else(|| Error::config("the user agent must be printable text on one line"))?;
        let http = match self.http {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                // The engine sends again what may be sent again (an HTTP/2 stream refused
                // unprocessed included); reqwest's own retries would copy every request.
                .retry(reqwest::retry::never().max_retries_per_request(0))
                .build()
                .map_err(|e| Error::config(format!("could not build the HTTP client: {e}")))?,
        };
        Ok(Built {
            engine: Engine {
                http,
                sleeper: self.sleeper.unwrap_or_else(|| Arc::new(TokioSleeper)),
                policy: self.retry,
                pacer: self
                    .pacer
                    .unwrap_or_else(|| Pacer::new(self.pacing.unwrap_or(default_pacing))),
                observer: self.observer,
                attempt_timeout: self.attempt_timeout,
                max_body_bytes: self.max_body_bytes,
                trace_emails: self.trace_emails,
                credentials,
                static_authorization: None,
                scheme: "Bearer",
            },
            static_token,
            base_url,
            user_agent,
        })
    }
}

/// A header value from text: printable, on one line.
pub(crate) fn header_text(text: &str) -> Option<HeaderValue> {
    if text.is_empty() || text.chars().any(char::is_control) {
        return None;
    }
    HeaderValue::from_str(text).ok()
}

/// Parses and checks a base URL: `https`, or `http` on a loopback host; no credentials, query
/// or fragment. The path is kept, without a trailing slash.
pub(crate) fn parse_base_url(text: &str) -> Result<Url, Error> {
    let mut url = Url::parse(text.trim())
        .map_err(|e| Error::config(format!("the base URL is not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config("the base URL must not contain credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "the base URL must not have a query or fragment: {url}"
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::config(format!(
                "plain http is only allowed for loopback hosts, not {url}"
            )))
        }
        other => {
            return Err(Error::config(format!(
                "the base URL must use https, not {other}"
            )))
        }
    }
    if url.host().is_none() {
        return Err(Error::config(format!("the base URL has no host: {url}")));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// `base` + `/` + each segment, every segment percent-encoded whole: a `/`, `?`, `#`, `%`,
/// `,` or space inside one cannot change the route. `list` adds one more segment of items
/// joined by commas.
fn endpoint(base: &Url, segments: &[&str], list: Option<&[&str]>) -> Url {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    /// Everything but RFC 3986's unreserved characters.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    // The encoder hands a run of characters that need no escaping over whole, so a plain
    // segment is one copy.
    let push =
        |path: &mut String, segment: &str| path.extend(utf8_percent_encode(segment, SEGMENT));
    let base_path = base.path().trim_end_matches('/');
    let mut path = String::with_capacity(base_path.len() + 64);
    path.push_str(base_path);
    for segment in segments {
        path.push('/');
        push(&mut path, segment);
    }
    if let Some(list) = list {
        path.push('/');
        for (i, item) in list.iter().enumerate() {
            if i > 0 {
                path.push(',');
            }
            push(&mut path, item);
        }
    }
    let mut url = base.clone();
    url.set_path(&path);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let ok = |s: &str| parse_base_url(s).unwrap().to_string();
        assert_eq!(ok("https://api.github.com"), "https://api.github.com/");
        assert_eq!(
            ok("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com/api/v3"
        );
        assert_eq!(ok("http://127.0.0.1:8080/v1"), "http://127.0.0.1:8080/v1");
        assert_eq!(ok("http://localhost:1"), "http://localhost:1/");
        assert_eq!(ok("http://[::1]:9/x"), "http://[::1]:9/x");
        for bad in [
            "http://api.github.com",
            "http://10.0.0.1",
            "ftp://example.com",
            "https://user:pw@example.com",
            "https://example.com/?q=1",
            "https://example.com/#x",
            "not a url",
        ] {
            let err = parse_base_url(bad).unwrap_err();
            assert_eq!(
                err.kind(),
                crate::model::error::ErrorKind::InvalidConfig,
                "{bad}"
            );
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }

    #[test]
    fn segments_cannot_change_the_route() {
        let base = parse_base_url("https://ghe.example.com/api/v3").unwrap();
        let cases = [
            ("acme", "/api/v3/orgs/acme/invitations"),
            ("a/b", "/api/v3/orgs/a%2Fb/invitations"),
            ("../../admin", "/api/v3/orgs/..%2F..%2Fadmin/invitations"),
            ("x?y#z", "/api/v3/orgs/x%3Fy%23z/invitations"),
            ("100%", "/api/v3/orgs/100%25/invitations"),
            ("a b", "/api/v3/orgs/a%20b/invitations"),
            ("ünï", "/api/v3/orgs/%C3%BCn%C3%AF/invitations"),
        ];
        for (org, path) in cases {
            let url = endpoint(&base, &["orgs", org, "invitations"], None);
            assert_eq!(url.path(), path, "{org}");
            assert_eq!(url.query(), None);
            assert_eq!(url.fragment(), None);
        }
    }

    #[test]
    fn list_segments_join_encoded_items_with_commas() {
        let base = parse_base_url("https://api.elastic-cloud.com/api/v1").unwrap();
        let url = endpoint(
            &base,
            &["organizations", "o1", "invitations"],
            Some(&["t1", "t,2", "t/3"]),
        );
        assert_eq!(
            url.path(),
            "/api/v1/organizations/o1/invitations/t1,t%2C2,t%2F3"
        );
    }

    #[test]
    fn header_text_refuses_line_breaks() {
        assert!(header_text("orginvite-test/1.0").is_some());
        assert!(header_text("evil\r\nX-Injected: 1").is_none());
        assert!(header_text("").is_none());
    }
}
