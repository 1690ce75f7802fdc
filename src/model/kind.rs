//! [`ProviderKind`]: which vendor a client, an invitation or an error belongs to.

use std::fmt;

/// Which vendor a client, an invitation or an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ProviderKind {
    /// GitHub (github.com or GitHub Enterprise Server).
    GitHub,
    /// Clerk's Backend API.
    Clerk,
    /// Elastic Cloud (Elasticsearch Service), including GovCloud.
    ElasticCloud,
}

impl ProviderKind {
    /// Every vendor, in the order of the enum.
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::GitHub,
        ProviderKind::Clerk,
        ProviderKind::ElasticCloud,
    ];

    /// A stable, lower-case identifier: `github`, `clerk` or `elastic_cloud`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderKind::GitHub => "github",
            ProviderKind::Clerk => "clerk",
            ProviderKind::ElasticCloud => "elastic_cloud",
        }
    }

    /// The vendor's name as a person writes it: `GitHub`, `Clerk` or `Elastic Cloud`.
    pub const fn display_name(self) -> &'static str {
        match self {
            ProviderKind::GitHub => "GitHub",
            ProviderKind::Clerk => "Clerk",
            ProviderKind::ElasticCloud => "Elastic Cloud",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

impl serde::Serialize for ProviderKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ProviderKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        ProviderKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| {
                serde::de::Error::custom(format_args!(
                    "unknown vendor `{name}`: expected github, clerk or elastic_cloud"
                ))
            })
    }
}
