//! Rosters: who should be in each vendor's organization, read from one TOML file, and the
//! problems a file can have.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How many times an expired or failed invitation is sent again by default.
pub const DEFAULT_REINVITE_ROUNDS: u32 = 3;

/// A roster: the organizations it manages, and the people who should be in them.
///
/// ```toml
/// [github]
/// org = "acme"            # each vendor section is optional; a vendor without one is not managed
/// [clerk]
/// org = "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S"
/// [elastic]
/// org = "1234567890"
///
/// [[people]]
/// email = "ada@example.com"
/// github = { login = "ada", role = "admin", teams = ["design"] }   # admin | member | billing-manager
/// clerk = { role = "org:admin" }
/// elastic = { role = "admin" }
///
/// [[people]]
/// email = "grace@example.com"
/// github = {}             # invited with the defaults; a person without a vendor key is not wanted there
/// ```
///
/// Keys beyond these are refused, so that a typo does not silently drop a setting. A vendor
/// section may also say `reinvite_rounds` (how many times an expired or failed invitation is
/// sent again, 3 by default).
///
/// ```
/// use orginvite::roster::Roster;
///
/// let roster = Roster::from_toml(
///     r#"
///     [github]
///     org = "acme"
///
///     [[people]]
///     email = "ada@example.com"
///     github = { login = "ada", role = "admin" }
///
///     [[people]]
///     email = "ADA@example.com"
///     github = { role = "owner" }
///     "#,
/// )?;
/// let problems: Vec<String> = roster.lint().iter().map(ToString::to_string).collect();
/// assert_eq!(
///     problems,
///     [
///         "people[1] (ADA@example.com): the same person as people[0] (emails are compared without regard to case)",
///         "people[1] (ADA@example.com): github: unknown role \"owner\" (admin, member or billing-manager)",
///     ]
/// );
/// # Ok::<(), orginvite::roster::RosterError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Roster {
    /// GitHub's organization, when the roster manages one.
    #[serde(default)]
    pub github: Option<VendorSection>,
    /// Clerk's organization, when the roster manages one.
    #[serde(default)]
    pub clerk: Option<VendorSection>,
    /// Elastic Cloud's organization, when the roster manages one.
    #[serde(default)]
    pub elastic: Option<VendorSection>,
    /// The people, in the file's order.
    #[serde(default)]
    pub people: Vec<Person>,
}

/// A vendor's section: its organization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct VendorSection {
    /// The organization: GitHub's login, Clerk's `org_...` id, Elastic Cloud's id.
    pub org: String,
    /// How many times an expired or failed invitation is sent again; 3 when unset.
    #[serde(default)]
    pub reinvite_rounds: Option<u32>,
}

/// One person, and what they should have at each vendor; a vendor left out does not want them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Person {
    /// Their email address: who they are to Clerk and Elastic Cloud, and to GitHub without a
    /// login.
    pub email: String,
    /// What they should have on GitHub.
    #[serde(default)]
    pub github: Option<GitHubEntry>,
    /// What they should have on Clerk.
    #[serde(default)]
    pub clerk: Option<RoleEntry>,
    /// What they should have on Elastic Cloud.
    #[serde(default)]
    pub elastic: Option<RoleEntry>,
}

/// A person on GitHub.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GitHubEntry {
    /// Their login, when they have an account: invited by it, and recognised as a member.
    #[serde(default)]
    pub login: Option<String>,
    /// `admin`, `member` (the default) or `billing-manager`.
    #[serde(default)]
    pub role: Option<String>,
    /// Team slugs they are invited into.
    #[serde(default)]
    pub teams: Vec<String>,
}

/// A person on a vendor that knows roles only (Clerk, Elastic Cloud).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RoleEntry {
    /// The role: Clerk's role key (`org:admin`, `org:member`, the default, or a custom
    /// `org:...`); Elastic Cloud's `admin`, `member` (the default), `billing-manager`, or an
    /// organization role id (`organization-admin`, `billing-admin`).
    #[serde(default)]
    pub role: Option<String>,
}

/// A roster file that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RosterError {
    /// Not TOML, or not a roster's shape: the parser's message says where.
    #[error("not a roster: {0}")]
    Shape(#[from] toml::de::Error),
}

/// One problem [`Roster::lint`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// The person's position in `people` (0-based), when the problem is one person's.
    pub person: Option<usize>,
    /// The person's email as written, when the problem is one person's.
    pub email: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    /// `people[3] (ada@example.com): the message`, or the message alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.person, &self.email) {
            (Some(at), Some(email)) => write!(f, "people[{at}] ({email}): {}", self.message),
            (Some(at), None) => write!(f, "people[{at}]: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// GitHub's roles, as a roster names them.
const GITHUB_ROLES: [&str; 3] = ["admin", "member", "billing-manager"];
/// Elastic Cloud's roles, as a roster names them, and its organization role ids.
const ELASTIC_ROLES: [&str; 5] = [
    "admin",
    "member",
    "billing-manager",
    "organization-admin",
    "billing-admin",
];

impl Roster {
    /// Reads a roster from TOML text. Unknown keys are refused.
    pub fn from_toml(text: &str) -> Result<Roster, RosterError> {
        Ok(toml::from_str(text)?)
    }

    /// The problems of the roster, in the file's order: a vendor's organization left empty,
    /// a person named twice (emails and logins compared without regard to case), a malformed
    /// email or login, a role the vendor does not have, a person given a vendor the roster
    /// does not manage. Empty when the roster is sound.
    pub fn lint(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let general = |message: String| Problem {
            person: None,
            email: None,
            message,
        };
        for (name, section) in [
            ("github", &self.github),
            ("clerk", &self.clerk),
            ("elastic", &self.elastic),
        ] {
            if let Some(section) = section {
                if let Err(error) = crate::model::request::check_organization(&section.org) {
                    problems.push(general(format!("[{name}] org: {error}")));
                }
            }
        }
        let mut emails: HashMap<String, usize> = HashMap::new();
        let mut logins: HashMap<String, usize> = HashMap::new();
        for (at, person) in self.people.iter().enumerate() {
            let mut problem = |message: String| {
                problems.push(Problem {
                    person: Some(at),
                    email: Some(person.email.clone()).filter(|e| !e.is_empty()),
                    message,
                })
            };
            if let Err(error) = crate::model::request::validate_email(&person.email) {
                problem(format!("email: {}", reason(&error)));
            } else if let Some(first) = emails.insert(person.email.to_lowercase(), at) {
                emails.insert(person.email.to_lowercase(), first);
                problem(format!(
                    "the same person as people[{first}] (emails are compared without regard to \
                     case)"
                ));
            }
            if let Some(github) = &person.github {
                if let Some(login) = &github.login {
                    if !valid_login(login) {
                        problem(format!(
                            "github: login {login:?} is not a GitHub login (letters, digits and \
                             single hyphens, at most 39)"
                        ));
                    } else if let Some(first) = logins.insert(login.to_lowercase(), at) {
                        logins.insert(login.to_lowercase(), first);
                        problem(format!(
                            "github: login {login:?} is people[{first}]'s too (logins are \
                             compared without regard to case)"
                        ));
                    }
                }
                if let Some(role) = github.role.as_deref() {
                    if !GITHUB_ROLES.contains(&role) {
                        problem(format!(
                            "github: unknown role {role:?} (admin, member or billing-manager)"
                        ));
                    }
                }
                for team in &github.teams {
                    if !valid_slug(team) {
                        problem(format!("github: team {team:?} is not a team slug"));
                    }
                }
                if self.github.is_none() {
                    problem("github: the roster has no [github] section".to_owned());
                }
            }
            if let Some(clerk) = &person.clerk {
                if let Some(role) = clerk.role.as_deref() {
                    let key = role.strip_prefix("org:").unwrap_or_default();
                    if key.is_empty() || !key.chars().all(|c| c.is_ascii_graphic()) {
                        problem(format!(
                            "clerk: unknown role {role:?} (a role key: org:admin, org:member, or \
                             a custom org:...)"
                        ));
                    }
                }
                if self.clerk.is_none() {
                    problem("clerk: the roster has no [clerk] section".to_owned());
                }
            }
            if let Some(elastic) = &person.elastic {
                if let Some(role) = elastic.role.as_deref() {
                    if !ELASTIC_ROLES.contains(&role) {
                        problem(format!(
                            "elastic: unknown role {role:?} (admin, member, billing-manager, \
                             organization-admin or billing-admin)"
                        ));
                    }
                }
                if self.elastic.is_none() {
                    problem("elastic: the roster has no [elastic] section".to_owned());
                }
            }
        }
        problems
    }
}

/// The reason of an invalid-input error, without the error's prefix.
fn reason(error: &crate::model::error::Error) -> String {
    match error {
        crate::model::error::Error::InvalidRequest(invalid) => invalid.reason.clone(),
        other => other.to_string(),
    }
}

/// A GitHub login: letters, digits and single hyphens, not at either end, at most 39.
fn valid_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 39
        && !login.starts_with('-')
        && !login.ends_with('-')
        && !login.contains("--")
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A team slug: lower-case letters, digits, hyphens and underscores.
fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[github]
org = "acme"
[clerk]
org = "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S"
[elastic]
org = "1234567890"
reinvite_rounds = 5

[[people]]
email = "ada@example.com"
github = { login = "ada", role = "admin", teams = ["design"] }
clerk = { role = "org:admin" }
elastic = { role = "admin" }

[[people]]
email = "grace@example.com"
github = {}
"#;

    #[test]
    fn the_documented_shape_reads_and_is_sound() {
        let roster = Roster::from_toml(EXAMPLE).unwrap();
        assert_eq!(roster.github.as_ref().unwrap().org, "acme");
        assert_eq!(roster.elastic.as_ref().unwrap().reinvite_rounds, Some(5));
        assert_eq!(roster.people.len(), 2);
        let ada = &roster.people[0];
        let github = ada.github.as_ref().unwrap();
        assert_eq!(
            (
                github.login.as_deref(),
                github.role.as_deref(),
                &github.teams[..]
            ),
            (Some("ada"), Some("admin"), &["design".to_owned()][..])
        );
        assert_eq!(
            ada.clerk.as_ref().unwrap().role.as_deref(),
            Some("org:admin")
        );
        let grace = &roster.people[1];
        assert_eq!(grace.github, Some(GitHubEntry::default()));
        assert_eq!((grace.clerk.as_ref(), grace.elastic.as_ref()), (None, None));
        assert_eq!(roster.lint(), []);
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused() {
        for bad in [
            "[github]\norg = \"acme\"\norganisation = \"x\"\n",
            "[[people]]\nemail = \"a@example.com\"\ngithub = { role = \"admin\", team = [] }\n",
            "[[people]]\nemail = 42\n",
            "[gitlab]\norg = \"x\"\n",
            "not toml at all [",
        ] {
            let error = Roster::from_toml(bad).unwrap_err();
            assert!(
                error.to_string().starts_with("not a roster: "),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn lint_names_each_problem_with_its_person() {
        let roster = Roster::from_toml(
            r#"
[clerk]
org = "org_1"

[[people]]
email = "ada@example.com"
clerk = { role = "org:admin" }

[[people]]
email = "Ada@Example.com"
clerk = { role = "admin" }

[[people]]
email = "not-an-email"
github = { login = "-bad-", role = "member", teams = ["Design Team"] }

[[people]]
email = "linus@example.com"
elastic = { role = "superuser" }
"#,
        )
        .unwrap();
        let lines: Vec<String> = roster.lint().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "people[1] (Ada@Example.com): the same person as people[0] (emails are compared without regard to case)",
                "people[1] (Ada@Example.com): clerk: unknown role \"admin\" (a role key: org:admin, org:member, or a custom org:...)",
                "people[2] (not-an-email): email: has no `@`: \"not-an-email\"",
                "people[2] (not-an-email): github: login \"-bad-\" is not a GitHub login (letters, digits and single hyphens, at most 39)",
                "people[2] (not-an-email): github: team \"Design Team\" is not a team slug",
                "people[2] (not-an-email): github: the roster has no [github] section",
                "people[3] (linus@example.com): elastic: unknown role \"superuser\" (admin, member, billing-manager, organization-admin or billing-admin)",
                "people[3] (linus@example.com): elastic: the roster has no [elastic] section",
            ]
        );
    }
}
