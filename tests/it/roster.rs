//! Roster files: the documented shape, what is refused when reading, and every problem `lint`
//! names.

use orginvite::roster::{Entry, Roster};
use orginvite::ProviderKind;

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
    let keys: Vec<&str> = roster.organizations.keys().map(String::as_str).collect();
    assert_eq!(keys, ["clerk", "elastic", "github"]);
    assert_eq!(roster.organizations["github"].org, "acme");
    assert_eq!(roster.organizations["elastic"].reinvite_rounds, Some(5));
    let found = |kind| {
        roster
            .organization(kind)
            .map(|(key, s)| (key, s.org.as_str()))
    };
    assert_eq!(found(ProviderKind::GitHub), Some(("github", "acme")));
    assert_eq!(
        found(ProviderKind::Clerk),
        Some(("clerk", "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S"))
    );
    assert_eq!(
        found(ProviderKind::ElasticCloud),
        Some(("elastic", "1234567890"))
    );
    assert_eq!(roster.people.len(), 2);
    let ada = &roster.people[0];
    let github = ada.entry("github").unwrap();
    assert_eq!(
        (
            github.login.as_deref(),
            github.role.as_deref(),
            &github.teams[..]
        ),
        (Some("ada"), Some("admin"), &["design".to_owned()][..])
    );
    assert_eq!(
        ada.entry("clerk").unwrap().role.as_deref(),
        Some("org:admin")
    );
    let grace = &roster.people[1];
    assert_eq!(grace.entry("github"), Some(&Entry::default()));
    assert_eq!((grace.entry("clerk"), grace.entry("elastic")), (None, None));
    assert_eq!(roster.lint(), []);
}

#[test]
fn unknown_keys_and_wrong_types_are_refused_when_read() {
    for bad in [
        "[github]\norg = \"acme\"\norganisation = \"x\"\n",
        "[[people]]\nemail = \"a@example.com\"\ngithub = { role = \"admin\", team = [] }\n",
        "[[people]]\nemail = 42\n",
        "[gitlab]\nname = \"x\"\n",
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

[gitlab]
org = "acme"

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
clerk = { login = "linus", teams = ["a"] }

[[people]]
email = "grace@example.com"
github = { login = "BAD-" }
clerk = {}
"#,
    )
    .unwrap();
    let lines: Vec<String> = roster.lint().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "[gitlab]: no such vendor (github, clerk or elastic)",
            "people[1] (Ada@Example.com): the same person as people[0] (emails are compared without regard to case)",
            "people[1] (Ada@Example.com): clerk: unknown role \"admin\" (a role key: org:admin, org:member, or a custom org:...)",
            "people[2] (not-an-email): email: has no `@`: \"not-an-email\"",
            "people[2] (not-an-email): github: login \"-bad-\" is not a GitHub login (letters, digits and single hyphens, at most 39)",
            "people[2] (not-an-email): github: team \"Design Team\" is not a team slug",
            "people[2] (not-an-email): github: the roster has no [github] section",
            "people[3] (linus@example.com): clerk: takes no login (people are its emails)",
            "people[3] (linus@example.com): clerk: has no teams",
            "people[3] (linus@example.com): elastic: unknown role \"superuser\" (admin, member, billing-manager, organization-admin or billing-admin)",
            "people[3] (linus@example.com): elastic: the roster has no [elastic] section",
            "people[4] (grace@example.com): github: login \"BAD-\" is not a GitHub login (letters, digits and single hyphens, at most 39)",
            "people[4] (grace@example.com): github: the roster has no [github] section",
        ]
    );
    // The same login twice, in another case.
    let twice = Roster::from_toml(
        "[github]\norg = \"acme\"\n[[people]]\nemail = \"a@example.com\"\ngithub = { login = \"Octo\" }\n[[people]]\nemail = \"b@example.com\"\ngithub = { login = \"octo\" }\n",
    )
    .unwrap();
    let lines: Vec<String> = twice.lint().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        ["people[1] (b@example.com): github: login \"octo\" is people[0]'s too (logins are compared without regard to case)"]
    );
}
