//! The client for `--provider`: with the credential from the environment, or against a local
//! fake with `--sandbox`.

use std::any::Any;
use std::sync::Arc;

use orginvite::clerk::ClerkVendor;
use orginvite::elastic::ElasticVendor;
use orginvite::github::{GitHubApp, GitHubBuilder, GitHubVendor};
use orginvite::{Clerk, ClientBuilder, ElasticCloud, GitHub, Pacer, Pacing, Provider};

use crate::progress::Progress;
use crate::{Global, Usage, Vendor};

/// A connected client, and the fake it talks to with `--sandbox` (kept alive with it).
pub(crate) struct Client {
    pub(crate) provider: Box<dyn Provider>,
    _fake: Option<Box<dyn Any + Send + Sync>>,
}

/// Reads a credential from the environment, explaining what is needed when it is missing.
fn credential(variable: &str, what: &str) -> Result<String, Usage> {
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(Usage(format!(
            "invalid_config: {variable} is not set; export {what} as {variable} (nothing was sent)"
        ))),
    }
}

/// A GitHub builder with `GITHUB_TOKEN`, or else the GitHub App of `GITHUB_APP_ID` and
/// `GITHUB_APP_PRIVATE_KEY` (a path or the PEM itself), with `GITHUB_APP_INSTALLATION_ID` when
/// set.
fn github_credentials(builder: GitHubBuilder) -> Result<GitHubBuilder, Usage> {
    if let Ok(token) = credential("GITHUB_TOKEN", "") {
        return Ok(builder.token(token));
    }
    let Ok(id) = credential("GITHUB_APP_ID", "") else {
        return Err(Usage(
            "invalid_config: set GITHUB_TOKEN (a token that can administer the organization), \
            or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for a GitHub App with the organization \
            permission Members: write (nothing was sent)"
                .to_owned(),
        ));
    };
    let key = credential(
        "GITHUB_APP_PRIVATE_KEY",
        "the GitHub App's private key (the .pem file's path or its text)",
    )?;
    let pem = if key.trim_start().starts_with("-----BEGIN") {
        key
    } else {
        std::fs::read_to_string(key.trim()).map_err(|e| {
            Usage(format!(
                "invalid_config: GITHUB_APP_PRIVATE_KEY names a file that cannot be read: {e}"
            ))
        })?
    };
    let mut app = GitHubApp::new(id, pem);
    if let Ok(installation) = std::env::var("GITHUB_APP_INSTALLATION_ID") {
        let installation = installation.trim().parse().map_err(|_| {
            Usage("invalid_config: GITHUB_APP_INSTALLATION_ID must be a number".to_owned())
        })?;
        app = app.installation_id(installation);
    }
    Ok(builder.app(app))
}

/// `N/s`, `N/min` or `N/h`: at most N invitations in any such window.
pub(crate) fn parse_rate(text: &str) -> Result<Pacing, String> {
    let bad = || format!("takes N/s, N/min or N/h (such as 20/s), not {text:?}");
    let (number, unit) = text.split_once('/').ok_or_else(bad)?;
    let number: u32 = number.trim().parse().map_err(|_| bad())?;
    let period = match unit.trim() {
        "s" => 1,
        "min" => 60,
        "h" => 3600,
        _ => return Err(bad()),
    };
    if number == 0 {
        return Err(bad());
    }
    Ok(Pacing::rate(number, std::time::Duration::from_secs(period)))
}

/// The pacing for `vendor`: `--rate` when given, else the library's default for the vendor.
#[cfg(feature = "redis")]
fn pacing(global: &Global, vendor: Vendor) -> Pacing {
    match (&global.rate, vendor) {
        (Some(rate), _) => rate.clone(),
        (None, Vendor::Github) => orginvite::github::default_pacing(),
        (None, Vendor::Clerk) => orginvite::clerk::default_pacing(),
        (None, Vendor::Elastic) => orginvite::elastic::default_pacing(),
    }
}

/// The pacer when the flags ask for one: shared through Redis with `--redis`, this
/// process's own at `--rate`; `None` leaves the client's default.
fn pacer(global: &Global, vendor: Vendor, organization: &str) -> Result<Option<Pacer>, Usage> {
    let Some(url) = &global.redis else {
        if global.redis_ca.is_some() || global.redis_cert.is_some() {
            return Err(Usage(
                "invalid_request: --redis-ca and --redis-cert go with --redis rediss://..."
                    .to_owned(),
            ));
        }
        return Ok(global.rate.as_ref().map(|rate| Pacer::new(rate.clone())));
    };
    #[cfg(feature = "redis")]
    {
        let pacing = pacing(global, vendor);
        // The provider as the library names it (`ProviderKind::as_str`), so that a service
        // using the library can share the same key.
        let provider = match vendor {
            Vendor::Github => orginvite::ProviderKind::GitHub,
            Vendor::Clerk => orginvite::ProviderKind::Clerk,
            Vendor::Elastic => orginvite::ProviderKind::ElasticCloud,
        };
        let shared = if global.redis_cluster {
            orginvite::RedisPacer::cluster(url.split(',').map(str::trim))
        } else {
            orginvite::RedisPacer::new(url.clone())
        };
        let mut shared = shared.key(redis_key(provider, organization));
        let read = |path: &std::path::Path, what: &str| {
            std::fs::read(path).map_err(|e| {
                Usage(format!(
                    "invalid_config: cannot read the {what} {}: {e}",
                    path.display()
                ))
            })
        };
        if let Some(ca) = &global.redis_ca {
            shared = shared.ca_pem(read(ca, "Redis certificate authority")?);
        }
        if let (Some(certificate), Some(key)) = (&global.redis_cert, &global.redis_key) {
            shared = shared.client_certificate(
                read(certificate, "Redis client certificate")?,
                read(key, "Redis client key")?,
            );
        }
        Ok(Some(Pacer::redis(shared, pacing)?))
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = (url, vendor, organization);
        Err(Usage(
            "invalid_config: --redis needs orginvite built with the `redis` feature \
            (cargo install --path cli --features redis)"
                .to_owned(),
        ))
    }
}

/// The Redis key `--redis` paces under: `orginvite:<provider>:<organization>`, the provider
/// as [`ProviderKind::as_str`](orginvite::ProviderKind::as_str) names it (`github`, `clerk`,
/// `elastic_cloud`).
#[cfg(feature = "redis")]
fn redis_key(provider: orginvite::ProviderKind, organization: &str) -> String {
    format!("orginvite:{}:{organization}", provider.as_str())
}

/// Connects to the vendor of `--provider`. With `--sandbox`, starts its fake first, knowing
/// `organization`, and the logins and team slugs of `names`.
pub(crate) async fn connect(
    global: &Global,
    organization: &str,
    names: &(Vec<String>, Vec<String>),
    progress: Arc<Progress>,
) -> Result<Client, Usage> {
    let Some(vendor) = global.provider else {
        return Err(Usage(
            "invalid_request: --provider is required (github, clerk or elastic)".to_owned(),
        ));
    };
    connect_to(global, vendor, organization, names, progress).await
}

/// Connects to `vendor`, with the flags of `global`; see [`connect`].
pub(crate) async fn connect_to(
    global: &Global,
    vendor: Vendor,
    organization: &str,
    names: &(Vec<String>, Vec<String>),
    progress: Arc<Progress>,
) -> Result<Client, Usage> {
    if global.sandbox && global.base_url.is_some() {
        return Err(Usage(
            "invalid_request: --sandbox and --base-url do not go together".to_owned(),
        ));
    }
    let settings = Settings {
        global,
        vendor,
        organization,
        progress,
    };
    if global.sandbox {
        return sandbox::connect(settings, names).await;
    }
    let provider = match vendor {
        Vendor::Github => {
            settings.finish::<GitHubVendor>(github_credentials(GitHub::builder())?)?
        }
        Vendor::Clerk => {
            let key = credential(
                "CLERK_SECRET_KEY",
                "the secret key of the Clerk instance (sk_live_... or sk_test_...)",
            )?;
            settings.finish::<ClerkVendor>(Clerk::builder().token(key))?
        }
        Vendor::Elastic => {
            let key = credential(
                "EC_API_KEY",
                "an Elastic Cloud API key with the organization owner role",
            )?;
            settings.finish::<ElasticVendor>(ElasticCloud::builder().token(key))?
        }
    };
    Ok(Client {
        provider,
        _fake: None,
    })
}

/// What every vendor's client takes from the flags.
struct Settings<'a> {
    global: &'a Global,
    vendor: Vendor,
    organization: &'a str,
    progress: Arc<Progress>,
}

impl Settings<'_> {
    /// The client of `builder`, with the flags' base URL and pacer and the progress bar
    /// watching its waits.
    fn finish<V: orginvite::Vendor>(
        self,
        builder: ClientBuilder<V::Settings>,
    ) -> Result<Box<dyn Provider>, Usage> {
        let builder = match &self.global.base_url {
            Some(url) => builder.base_url(url),
            None => builder,
        };
        let builder = match pacer(self.global, self.vendor, self.organization)? {
            Some(pacer) => builder.pacer(pacer),
            None => builder,
        };
        Ok(Box::new(builder.observer(self.progress).build()?))
    }
}

/// `--sandbox`: a local fake of the vendor, started in this process.
#[cfg(feature = "sandbox")]
mod sandbox {
    use std::any::Any;

    use orginvite::clerk::ClerkVendor;
    use orginvite::elastic::ElasticVendor;
    use orginvite::github::GitHubVendor;
    use orginvite::testkit::{FakeClerk, FakeElasticCloud, FakeGitHub, FakeServer};

    use super::{Client, Settings, Usage, Vendor};

    /// Starts the fake of `settings.vendor`, knowing the organization and the logins and team
    /// slugs of `names`, and connects to it.
    pub(super) async fn connect(
        settings: Settings<'_>,
        names: &(Vec<String>, Vec<String>),
    ) -> Result<Client, Usage> {
        let organization = settings.organization;
        match settings.vendor {
            Vendor::Github => {
                let fake = FakeGitHub::start().await;
                // The sandbox knows the logins and the teams asked for.
                for (n, login) in names.0.iter().enumerate() {
                    fake.add_user(login, 583_231 + n as u64);
                }
                for (n, slug) in names.1.iter().enumerate() {
                    fake.add_team(organization, slug, 100 + n as u64);
                }
                let builder = fake.client_builder();
                finish::<_, GitHubVendor>(settings, fake, builder)
            }
            Vendor::Clerk => {
                let fake = FakeClerk::start().await;
                let builder = fake.client_builder();
                finish::<_, ClerkVendor>(settings, fake, builder)
            }
            Vendor::Elastic => {
                let fake = FakeElasticCloud::start().await;
                let builder = fake.client_builder();
                finish::<_, ElasticVendor>(settings, fake, builder)
            }
        }
    }

    fn finish<S: Send + Sync + 'static, V: orginvite::Vendor>(
        settings: Settings<'_>,
        fake: FakeServer<S>,
        builder: orginvite::ClientBuilder<V::Settings>,
    ) -> Result<Client, Usage> {
        fake.add_organization(settings.organization);
        let provider = settings.finish::<V>(builder)?;
        eprintln!(
            "sandbox: a local fake {} at {} (nothing leaves this machine)",
            provider.kind(),
            fake.uri()
        );
        Ok(Client {
            provider,
            _fake: Some(Box::new(fake) as Box<dyn Any + Send + Sync>),
        })
    }
}

/// `--sandbox` in a build without the `sandbox` feature.
#[cfg(not(feature = "sandbox"))]
mod sandbox {
    use super::{Client, Settings, Usage};

    pub(super) async fn connect(
        _settings: Settings<'_>,
        _names: &(Vec<String>, Vec<String>),
    ) -> Result<Client, Usage> {
        Err(Usage(
            "invalid_config: --sandbox needs orginvite built with the `sandbox` feature \
            (on by default: cargo install --path cli)"
                .to_owned(),
        ))
    }
}

#[cfg(all(test, feature = "redis"))]
mod tests {
    use super::*;

    #[test]
    fn the_redis_key_names_the_provider_as_the_library_does() {
        assert_eq!(
            redis_key(orginvite::ProviderKind::ElasticCloud, "org-1"),
            "orginvite:elastic_cloud:org-1"
        );
        assert_eq!(
            redis_key(orginvite::ProviderKind::GitHub, "acme"),
            "orginvite:github:acme"
        );
    }
}
