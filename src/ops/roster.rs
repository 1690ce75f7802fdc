//! Rosters: who should be in each vendor's organization, read from one TOML file, and the
//! problems a file can have.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::vendors::roster_rules;

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
/// A vendor's section is named by its key (`github`, `clerk`, `elastic`), and so is a person's
/// entry for it. A section may also say `reinvite_rounds` (how many times an expired or
/// failed invitation is sent again, 3 by default). Unknown keys inside a section or an entry
/// are refused when the file is read, and an unknown vendor key is one of
/// [`Roster::lint`]'s problems, so that a typo does not silently drop a setting.
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
#[non_exhaustive]
pub struct Roster {
    /// The people, in the file's order.
    #[serde(default)]
    pub people: Vec<Person>,
    /// The organizations it manages, by vendor key (`github`, `clerk`, `elastic`); a vendor
    /// without a section is not managed.
    #[serde(flatten)]
    pub organizations: BTreeMap<String, VendorSection>,
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

/// One person, and what they should have at each vendor, by vendor key; a vendor left out
/// does not want them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Person {
    /// Their email address: who they are to Clerk and Elastic Cloud, and to GitHub without a
    /// login.
    pub email: String,
    /// What they should have at each vendor, by vendor key.
    #[serde(flatten)]
    pub vendors: BTreeMap<String, Entry>,
}

/// What a person should have at one vendor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Entry {
    /// Their login, on a vendor that invites by login (GitHub): invited by it, and recognised
    /// as a member.
    #[serde(default)]
    pub login: Option<String>,
    /// The role, as the vendor's section of the docs names them: GitHub `admin`, `member`
    /// (the default) or `billing-manager`; Clerk a role key (`org:admin`, `org:member`, the
    /// default, or a custom `org:...`); Elastic Cloud `admin`, `member` (the default),
    /// `billing-manager`, or an organization role id.
    #[serde(default)]
    pub role: Option<String>,
    /// Teams they are invited into, on a vendor with teams (GitHub: team slugs).
    #[serde(default)]
    pub teams: Vec<String>,
}

impl Person {
    /// Their entry for the vendor keyed `key`, if they are wanted there.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.vendors.get(key)
    }
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

impl Roster {
    /// Reads a roster from TOML text. Unknown keys are refused.
    pub fn from_toml(text: &str) -> Result<Roster, RosterError> {
        Ok(toml::from_str(text)?)
    }

    /// The key and section of `provider`'s organization, when the roster manages one.
    pub fn organization(
        &self,
        provider: crate::model::kind::ProviderKind,
    ) -> Option<(&str, &VendorSection)> {
        self.organizations
            .iter()
            .find(|(key, _)| roster_rules(key).is_some_and(|rules| rules.provider == provider))
            .map(|(key, section)| (key.as_str(), section))
    }

    /// The problems of the roster, in the file's order: a section of no known vendor, a
    /// vendor's organization left empty, a person named twice (emails and logins compared
    /// without regard to case), a malformed email or login, a role the vendor does not have,
    /// a login or teams where the vendor has none, a person given a vendor the roster does
    /// not manage. Empty when the roster is sound.
    pub fn lint(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let general = |message: String| Problem {
            person: None,
            email: None,
            message,
        };
        for (key, section) in &self.organizations {
            if roster_rules(key).is_none() {
                problems.push(general(format!(
                    "[{key}]: no such vendor (github, clerk or elastic)"
                )));
            } else if let Err(error) = crate::model::request::check_organization(&section.org) {
                problems.push(general(format!("[{key}] org: {}", reason(&error))));
            }
        }
        let mut emails: HashMap<String, usize> = HashMap::new();
        let mut logins: HashMap<(String, String), usize> = HashMap::new();
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
            for (key, entry) in &person.vendors {
                let Some(rules) = roster_rules(key) else {
                    problem(format!("{key}: no such vendor (github, clerk or elastic)"));
                    continue;
                };
                if let Some(login) = &entry.login {
                    match rules.check_login {
                        None => problem(format!("{key}: takes no login (people are its emails)")),
                        Some(check) => {
                            if let Err(why) = check(login) {
                                problem(format!("{key}: {why}"));
                            } else if let Some(first) =
                                logins.insert((key.clone(), login.to_lowercase()), at)
                            {
                                logins.insert((key.clone(), login.to_lowercase()), first);
                                problem(format!(
                                    "{key}: login {login:?} is people[{first}]'s too (logins \
                                     are compared without regard to case)"
                                ));
                            }
                        }
                    }
                }
                if let Some(role) = entry.role.as_deref() {
                    if let Err(why) = (rules.role)(role) {
                        problem(format!("{key}: {why}"));
                    }
                }
                for team in &entry.teams {
                    match rules.check_team {
                        None => {
                            problem(format!("{key}: has no teams"));
                            break;
                        }
                        Some(check) => {
                            if let Err(why) = check(team) {
                                problem(format!("{key}: {why}"));
                            }
                        }
                    }
                }
                if !self.organizations.contains_key(key) {
                    problem(format!("{key}: the roster has no [{key}] section"));
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
