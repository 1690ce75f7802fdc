//! The `orginvite` binary, run as a user would: against the in-process sandbox (`--sandbox`)
//! or against the testkit's fake vendors served from this test process (`--base-url`), so
//! that what the vendor received, and what it holds, can be checked across runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use orginvite::sleep::TokioSleeper;
use orginvite::testkit::{FakeClerk, FakeElasticCloud, FakeGitHub, FakeServer, Fault};
use orginvite::InvitationStatus;
use serde_json::{json, Value};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_orginvite");

/// Credentials and options of the environment that must not leak into a test.
const ENVIRONMENT: &[&str] = &[
    "GITHUB_TOKEN",
    "GITHUB_APP_ID",
    "GITHUB_APP_PRIVATE_KEY",
    "GITHUB_APP_INSTALLATION_ID",
    "CLERK_SECRET_KEY",
    "EC_API_KEY",
    "ORGINVITE_REDIS_URL",
];

/// How to reach one fake vendor from the command line.
struct Target {
    provider: &'static str,
    org: String,
    base_url: String,
    credential: (&'static str, String),
}

impl Target {
    fn github(fake: &FakeGitHub) -> Target {
        Target {
            provider: "github",
            org: fake.organization().to_owned(),
            base_url: fake.uri(),
            credential: ("GITHUB_TOKEN", fake.token().to_owned()),
        }
    }

    fn clerk(fake: &FakeClerk) -> Target {
        Target {
            provider: "clerk",
            org: fake.organization().to_owned(),
            base_url: format!("{}/v1", fake.uri()),
            credential: ("CLERK_SECRET_KEY", fake.token().to_owned()),
        }
    }

    fn elastic(fake: &FakeElasticCloud) -> Target {
        Target {
            provider: "elastic",
            org: fake.organization().to_owned(),
            base_url: format!("{}/api/v1", fake.uri()),
            credential: ("EC_API_KEY", fake.token().to_owned()),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = bare();
        command
            .args(["--provider", self.provider, "--org", &self.org])
            .args(["--base-url", &self.base_url])
            .args(args)
            .env(self.credential.0, &self.credential.1);
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.expect("orginvite runs")
    }
}

fn bare() -> Command {
    let mut command = Command::new(BIN);
    for variable in ENVIRONMENT {
        command.env_remove(variable);
    }
    command.kill_on_drop(true);
    command
}

async fn sandbox(args: &[&str]) -> Output {
    bare().args(args).output().await.expect("orginvite runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

/// A report's rows and its last line, the run's summary.
fn report_of(path: &std::path::Path) -> (Vec<Value>, Value) {
    let mut rows = json_lines(&std::fs::read_to_string(path).unwrap());
    let summary = rows.pop().expect("a summary line");
    assert!(summary.get("summary").is_some(), "{summary}");
    assert!(rows.iter().all(|row| row.get("line").is_some()));
    (rows, summary["summary"].clone())
}

/// A scratch directory of its own for each test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "orginvite-cli-{name}-{}-{:x}",
        std::process::id(),
        fastrand_seed()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fastrand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The create requests a fake received.
async fn creates<V>(fake: &FakeServer<V>) -> usize {
    fake.requests()
        .await
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/invitations"))
        .count()
}

async fn real_time_github() -> FakeGitHub {
    FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await
}

#[tokio::test]
async fn one_invitation_on_the_sandbox_prints_it_as_json() {
    let output = sandbox(&[
        "--provider",
        "github",
        "--org",
        "acme",
        "--sandbox",
        "invite",
        "--email",
        "jane@example.com",
        "--role",
        "admin",
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let invitation: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(invitation["email"], "jane@example.com");
    assert_eq!(invitation["role"], "admin");
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["provider"], "github");
    assert!(stderr(&output).contains("sandbox: a local fake GitHub"));

    // Bad input: a typed error, exit code 2.
    let output = sandbox(&[
        "--provider",
        "clerk",
        "--org",
        "org_x",
        "--sandbox",
        "invite",
        "--email",
        "not-an-email",
    ])
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("\nerror: invalid_request: `email` has no `@`"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_credential_is_exit_code_2_with_nothing_sent() {
    let fake = real_time_github().await;
    let output = bare()
        .args([
            "--provider",
            "github",
            "--org",
            "acme",
            "--base-url",
            &fake.uri(),
        ])
        .args(["invite", "--email", "jane@example.com"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid_config: set GITHUB_TOKEN"),
        "{}",
        stderr(&output)
    );
    assert!(fake.requests().await.is_empty());
}

const PEOPLE: &str = "email,login,role,teams
jane@example.com,,admin,
not-an-email,,,
,,,
john@example.com,,,
JANE@example.com,,,
bob@example.com,,superuser,
ann@example.com,,member,
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_run_reports_every_row_and_skips_bad_ones_by_line() {
    let fake = real_time_github().await;
    let target = Target::github(&fake);
    let dir = scratch("csv");
    let csv = write(&dir.join("people.csv"), PEOPLE);
    let report = dir.join("report.jsonl");
    let output = target
        .run(&[
            "--rate",
            "100/s",
            "invite",
            "--csv",
            &csv,
            "--report",
            report.to_str().unwrap(),
        ])
        .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let (mut rows, summary) = report_of(&report);
    rows.sort_by_key(|row| row["line"].as_u64());
    let outcomes: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|row| {
            (
                row["line"].as_u64().unwrap(),
                row["outcome"].as_str().unwrap(),
                row["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (2, "created", ""),
            (3, "skipped", "invalid_request"),
            (4, "skipped", "invalid_request"),
            (5, "created", ""),
            (6, "skipped", "invalid_request"),
            (7, "skipped", "invalid_request"),
            (8, "created", ""),
        ]
    );
    assert_eq!(rows[4]["message"], "repeats the person of line 2");
    assert!(rows[5]["message"]
        .as_str()
        .unwrap()
        .contains("unknown role \"superuser\""));
    // The vendor received the three good rows, each once, after one snapshot (pending and
    // failed invitations, members: a page each); the report and the summary count them.
    assert_eq!(creates(&fake).await, 3);
    assert_eq!(
        summary["requests"],
        json!({"list_pages": 3, "lookups": 0, "creates": 3, "refused_creates": 0, "cancels": 0})
    );
    assert_eq!(summary["rows"], 7);
    assert_eq!(summary["outcomes"], json!({"created": 3, "skipped": 4}));
    assert!(
        stderr(&output).contains(
            "6 request(s): 3 list page(s), 0 lookup(s), 3 create(s) (0 refused), 0 cancel(s)"
        ),
        "{}",
        stderr(&output)
    );
    let mut emails: Vec<String> = fake
        .invitations()
        .into_iter()
        .filter_map(|i| i.email)
        .collect();
    emails.sort();
    assert_eq!(
        emails,
        ["ann@example.com", "jane@example.com", "john@example.com"]
    );
    let jane = fake
        .invitations()
        .into_iter()
        .find(|i| i.email.as_deref() == Some("jane@example.com"))
        .unwrap();
    assert_eq!(jane.role, "admin");
    // The summary table on stdout.
    let table = stdout(&output);
    assert!(table.contains("created  3"), "{table}");
    assert!(table.contains("skipped  4"), "{table}");

    // --strict: the whole file refused, nothing sent.
    let fresh = real_time_github().await;
    let output = Target::github(&fresh)
        .run(&["invite", "--csv", &csv, "--strict"])
        .await;
    assert_eq!(output.status.code(), Some(2));
    let errors = stderr(&output);
    assert!(errors.contains("line 3: "), "{errors}");
    assert!(
        errors.contains("line 6: repeats the person of line 2"),
        "{errors}"
    );
    assert!(fresh.requests().await.is_empty());

    // An unknown column: refused before anything is sent.
    let odd = write(&dir.join("odd.csv"), "email,nickname\na@example.com,A\n");
    let output = Target::github(&fresh).run(&["invite", "--csv", &odd]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unknown column \"nickname\""));
    assert!(fresh.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_compares_rows_with_members_and_invitations_and_sends_no_create() {
    let fake = FakeClerk::start_with_clock(Arc::new(TokioSleeper)).await;
    let org = fake.organization().to_owned();
    fake.add_member(&org, "member@example.com");
    let pending = fake.add_invitation(&org, "invited@example.com");
    let dir = scratch("dry");
    let csv = write(
        &dir.join("people.csv"),
        "email,role\nnew@example.com,org:admin\nmember@example.com,\ninvited@example.com,\nbad,\n",
    );
    let output = Target::clerk(&fake)
        .run(&["--output", "json", "invite", "--csv", &csv, "--dry-run"])
        .await;
    let mut rows = json_lines(&stdout(&output));
    rows.sort_by_key(|row| row["line"].as_u64());
    let outcomes: Vec<&str> = rows
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "would_create",
            "already_member",
            "already_invited",
            "invalid"
        ]
    );
    assert_eq!(rows[2]["id"], pending.as_str());
    assert_eq!(creates(&fake).await, 0, "a dry run sends no invitation");
    assert_eq!(fake.invitations().len(), 1);
    // One snapshot: a page of invitations and a page of memberships, whatever the rows.
    let paths: Vec<String> = fake
        .requests()
        .await
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        paths,
        [
            format!("GET /v1/organizations/{org}/invitations"),
            format!("GET /v1/organizations/{org}/memberships")
        ]
    );
    assert!(
        stderr(&output).contains("a real run would send at most 2 list page(s) and 1 create(s)"),
        "{}",
        stderr(&output)
    );
    // An invalid row is not settled: exit code 1.
    assert_eq!(output.status.code(), Some(1));
}

/// Requests by kind: `GET <last path segment>` or `POST`.
async fn spent<V>(fake: &FakeServer<V>) -> std::collections::BTreeMap<String, usize> {
    let mut kinds = std::collections::BTreeMap::new();
    for request in fake.requests().await {
        let kind = match request.method.as_str() {
            "GET" => format!("GET {}", request.url.path().rsplit('/').next().unwrap()),
            other => other.to_owned(),
        };
        *kinds.entry(kind).or_default() += 1;
    }
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_of_300_rows_costs_one_snapshot_and_the_creates_that_count() {
    // 500 pending invitations and 100 members; 100 new people by email, 100 invited by
    // email, 100 members by login.
    let fake = real_time_github().await;
    fake.seed_invitations("acme", 500);
    let mut csv = String::from("email,login\n");
    for i in 0..100 {
        fake.add(
            orginvite::testkit::FakeMember::new("acme")
                .login(format!("member{i}"))
                .user_id((7000 + i).to_string()),
        );
        csv.push_str(&format!("new{i}@example.com,\n"));
        csv.push_str(&format!("seed-{}@example.com,\n", 1 + 5 * i));
        csv.push_str(&format!(",Member{i}\n"));
    }
    let dir = scratch("spend");
    let csv = write(&dir.join("people.csv"), &csv);
    let target = Target::github(&fake);
    let snapshot = [
        ("GET failed_invitations", 1),
        ("GET invitations", 5),
        ("GET members", 1),
    ];
    let kinds = |pairs: &[(&str, usize)]| -> std::collections::BTreeMap<String, usize> {
        pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
    };

    let dry = target
        .run(&["--rate", "100/s", "invite", "--csv", &csv, "--dry-run"])
        .await;
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert_eq!(spent(&fake).await, kinds(&snapshot));
    assert!(
        stderr(&dry).contains("a real run would send at most 7 list page(s) and 100 create(s)"),
        "{}",
        stderr(&dry)
    );

    let report = dir.join("report.jsonl");
    let run = target
        .run(&[
            "--rate",
            "100/s",
            "invite",
            "--csv",
            &csv,
            "--report",
            report.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let mut expected = kinds(&[
        ("GET failed_invitations", 2),
        ("GET invitations", 10),
        ("GET members", 2),
    ]);
    expected.insert("POST".into(), 100);
    assert_eq!(spent(&fake).await, expected);
    let (_, summary) = report_of(&report);
    assert_eq!(
        summary["requests"],
        json!({"list_pages": 7, "lookups": 0, "creates": 100, "refused_creates": 0, "cancels": 0})
    );
    assert_eq!(
        summary["outcomes"],
        json!({"created": 100, "already_invited": 100, "already_member": 100})
    );

    // The same file again, without a journal: one snapshot of 600 invitations, no create.
    let again = target
        .run(&["--rate", "100/s", "invite", "--csv", &csv])
        .await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let mut expected = kinds(&[
        ("GET failed_invitations", 3),
        ("GET invitations", 16),
        ("GET members", 3),
    ]);
    expected.insert("POST".into(), 100);
    assert_eq!(spent(&fake).await, expected);
    assert_eq!(fake.invitations().len(), 600);

    // `check --csv`: everyone from one more snapshot.
    let checked = target
        .run(&["--output", "json", "check", "--csv", &csv])
        .await;
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    let states: Vec<String> = json_lines(&stdout(&checked))
        .iter()
        .map(|r| r["membership"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states.len(), 300);
    for (i, state) in states.iter().enumerate() {
        let expected = if i % 3 == 2 { "member" } else { "invited" };
        assert_eq!(state, expected, "row {i}");
    }
    assert_eq!(fake.requests().await.len(), 7 + 107 + 8 + 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_cancel_resend_and_check_on_every_vendor() {
    let github = real_time_github().await;
    let clerk = FakeClerk::start_with_clock(Arc::new(TokioSleeper)).await;
    let elastic = FakeElasticCloud::start_with_clock(Arc::new(TokioSleeper)).await;
    let targets = [
        (Target::github(&github), "github"),
        (Target::clerk(&clerk), "clerk"),
        (Target::elastic(&elastic), "elastic"),
    ];
    let seed = |name: &str, email: &str| match name {
        "github" => github.add_invitation(github.organization(), email),
        "clerk" => clerk.add_invitation(clerk.organization(), email),
        _ => elastic.add_invitation(elastic.organization(), email),
    };
    for (target, name) in &targets {
        let first = seed(name, "first@example.com");
        let second = seed(name, "second@example.com");
        let _third = seed(name, "third@example.com");

        let listed = target.run(&["--output", "json", "list"]).await;
        assert_eq!(listed.status.code(), Some(0), "{name}: {}", stderr(&listed));
        let ids: Vec<String> = json_lines(&stdout(&listed))
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 3, "{name}");
        assert!(ids.contains(&first) && ids.contains(&second), "{name}");
        let table = target.run(&["list"]).await;
        assert!(stdout(&table).contains("first@example.com"), "{name}");

        let cancelled = target
            .run(&[
                "--output",
                "json",
                "cancel",
                "--id",
                &first,
                "--email",
                "second@example.com",
            ])
            .await;
        assert_eq!(
            cancelled.status.code(),
            Some(0),
            "{name}: {}",
            stderr(&cancelled)
        );
        let outcomes: HashMap<String, String> = json_lines(&stdout(&cancelled))
            .iter()
            .map(|o| {
                (
                    o["id"].as_str().unwrap().to_owned(),
                    o["outcome"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            outcomes.get(&first).map(String::as_str),
            Some("cancelled"),
            "{name}"
        );
        assert_eq!(
            outcomes.get(&second).map(String::as_str),
            Some("cancelled"),
            "{name}"
        );
        let again = target.run(&["cancel", "--id", &first]).await;
        assert_eq!(
            again.status.code(),
            Some(1),
            "{name}: cancelling twice is not pending"
        );
        assert!(stdout(&again).contains("not_pending"), "{name}");

        let resent = target
            .run(&["--output", "json", "resend", "--email", "third@example.com"])
            .await;
        assert_eq!(resent.status.code(), Some(0), "{name}: {}", stderr(&resent));
        let resent = &json_lines(&stdout(&resent))[0];
        assert_eq!(resent["outcome"], "resent", "{name}");
        assert_ne!(resent["id"], resent["previous_id"], "{name}");
        let nothing = target
            .run(&["resend", "--email", "nobody@example.com"])
            .await;
        assert_eq!(nothing.status.code(), Some(1), "{name}");
        assert!(stdout(&nothing).contains("nothing_pending"), "{name}");

        let checked = target
            .run(&["--output", "json", "check", "--email", "third@example.com"])
            .await;
        assert_eq!(
            checked.status.code(),
            Some(0),
            "{name}: {}",
            stderr(&checked)
        );
        assert_eq!(
            json_lines(&stdout(&checked))[0]["membership"],
            "invited",
            "{name}"
        );
    }
    // Check by login on GitHub, and members on Clerk and Elastic Cloud.
    github.add_user("octocat", 583_231);
    let clerk_org = clerk.organization().to_owned();
    clerk.add_member(&clerk_org, "member@example.com");
    let checked = targets[1]
        .0
        .run(&["--output", "json", "check", "--email", "member@example.com"])
        .await;
    assert_eq!(json_lines(&stdout(&checked))[0]["membership"], "member");
    let elastic_org = elastic.organization().to_owned();
    elastic.add_member(&elastic_org, "member@example.com");
    let checked = targets[2]
        .0
        .run(&["--output", "json", "check", "--email", "member@example.com"])
        .await;
    assert_eq!(json_lines(&stdout(&checked))[0]["membership"], "member");
    let checked = targets[0]
        .0
        .run(&["--output", "json", "check", "--login", "octocat"])
        .await;
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    assert_eq!(json_lines(&stdout(&checked))[0]["membership"], "not_member");
    // The fakes hold the cancellations.
    let revoked = github
        .invitations()
        .iter()
        .filter(|i| i.status == InvitationStatus::Revoked)
        .count();
    assert_eq!(revoked, 3, "two cancelled and one replaced by the resend");
    // Every vendor's fake holds the same: only the resent invitation of the third person is
    // pending, with an id the first list did not have.
    for (name, invitations) in [
        ("github", github.invitations()),
        ("clerk", clerk.invitations()),
        ("elastic", elastic.invitations()),
    ] {
        let pending: Vec<_> = invitations
            .iter()
            .filter(|i| i.status == InvitationStatus::Pending)
            .map(|i| i.email.clone().unwrap_or_default())
            .collect();
        assert_eq!(pending, ["third@example.com"], "{name}: {invitations:?}");
        let thirds = invitations
            .iter()
            .filter(|i| i.email.as_deref() == Some("third@example.com"))
            .count();
        assert_eq!(thirds, 2, "{name}: the old one and the resent one");
    }
}

/// A CSV of `n` people, one per row.
fn people(n: usize) -> String {
    let mut csv = String::from("email\n");
    for i in 0..n {
        csv.push_str(&format!("person{i}@example.com\n"));
    }
    csv
}

/// What a journal says so far: rows done, and rows started and not (yet) done or failed.
fn journal_state(journal: &str) -> (usize, usize) {
    let Ok(text) = std::fs::read_to_string(journal) else {
        return (0, 0);
    };
    let mut state: HashMap<String, String> = HashMap::new();
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let (Some(key), Some(s)) = (entry["key"].as_str(), entry["state"].as_str()) {
            state.insert(key.to_owned(), s.to_owned());
        }
    }
    let done = state.values().filter(|s| *s == "done").count();
    let in_flight = state.values().filter(|s| *s == "started").count();
    (done, in_flight)
}

/// Runs `--csv` with a journal until a run ends with every row settled. The first runs are
/// killed (SIGKILL) once the journal holds `k` more done rows and has rows in flight, for
/// each `k` of `kill_points`.
async fn run_to_the_end(
    target: &Target,
    csv: &str,
    journal: &str,
    report: &str,
    kill_points: &[usize],
) -> Vec<i32> {
    let args = [
        "--rate",
        "400/s",
        "invite",
        "--csv",
        csv,
        "--journal",
        journal,
        "--report",
        report,
        "--concurrency",
        "8",
    ];
    run_killed(target, &args, journal, kill_points).await
}

/// Runs `args` once per kill point, killing it once the journal has that many more people
/// done with some in flight, then to the end (at most four more runs); the exit codes, -9
/// for a kill.
async fn run_killed(
    target: &Target,
    args: &[&str],
    journal: &str,
    kill_points: &[usize],
) -> Vec<i32> {
    let mut codes = Vec::new();
    for k in kill_points {
        let mut child = target
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (done_before, _) = journal_state(journal);
        let code = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code().unwrap_or(-1);
            }
            let (done, in_flight) = journal_state(journal);
            if done >= done_before + k && in_flight > 0 {
                child.start_kill().unwrap();
                child.wait().await.unwrap();
                break -9;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        codes.push(code);
    }
    for _ in 0..4 {
        let output = target.run(args).await;
        let code = output.status.code().unwrap_or(-1);
        codes.push(code);
        if code == 0 {
            break;
        }
    }
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_any_moment_a_journaled_run_resumes_with_no_duplicate_and_no_lost_row() {
    const ROWS: usize = 200;
    let dir = scratch("crash");
    let csv = write(&dir.join("people.csv"), &people(ROWS));
    for seed in [1u64, 2, 3] {
        let fake = real_time_github().await;
        // Faults on a tenth of the requests, some of which create the invitation before
        // failing; a repeated create would make a second invitation, so duplicates show.
        fake.chaos(
            0.1,
            [
                Fault::ServerError,
                Fault::CreatedThenServerError,
                Fault::CreatedThenDrop,
            ],
            seed,
        )
        .accept_repeats(true);
        let target = Target::github(&fake);
        let journal = dir.join(format!("journal-{seed}.jsonl"));
        let report = dir.join(format!("report-{seed}.jsonl"));
        // Killed with rows in flight, at moments that differ by seed: early in the first run,
        // then again part-way through the re-run.
        let kills = [(seed as usize * 17) % 40, 30 + (seed as usize * 23) % 50];
        let codes = run_to_the_end(
            &target,
            &csv,
            journal.to_str().unwrap(),
            report.to_str().unwrap(),
            &kills,
        )
        .await;
        assert_eq!(codes.last(), Some(&0), "seed {seed}: exit codes {codes:?}");
        assert_eq!(
            &codes[..2],
            [-9, -9],
            "seed {seed}: both runs killed mid-way"
        );
        let invitations = fake.invitations();
        let mut per_email: HashMap<String, usize> = HashMap::new();
        for invitation in &invitations {
            *per_email
                .entry(invitation.email.clone().unwrap())
                .or_default() += 1;
        }
        assert_eq!(
            per_email.len(),
            ROWS,
            "seed {seed}: a row was lost ({codes:?})"
        );
        let twice: Vec<_> = per_email.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "seed {seed}: invited twice: {twice:?} ({codes:?})"
        );
        // The last run's report is complete: every line once, each created.
        let (rows, _) = report_of(&report);
        let mut lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        lines.sort_unstable();
        assert_eq!(
            lines,
            (2..2 + ROWS as u64).collect::<Vec<_>>(),
            "seed {seed}"
        );
        assert!(
            rows.iter().all(|r| r["outcome"] == "created"),
            "seed {seed}: {:?}",
            rows.iter().find(|r| r["outcome"] != "created")
        );
        println!(
            "seed {seed}: exit codes {codes:?}, {} invitations",
            invitations.len()
        );
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_lets_calls_in_flight_finish_and_the_journal_resumes() {
    const ROWS: usize = 60;
    let fake = real_time_github().await;
    let target = Target::github(&fake);
    let dir = scratch("sigint");
    // 10 a second (a first burst of 10): the run takes about 5 s, signalled after 12 rows.
    let csv = write(&dir.join("people.csv"), &people(ROWS));
    let journal = dir.join("journal.jsonl");
    let journal = journal.to_str().unwrap();
    let child = target
        .command(&[
            "--rate",
            "10/s",
            "invite",
            "--csv",
            &csv,
            "--journal",
            journal,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while journal_state(journal).0 < 12 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = child.id().unwrap().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(signalled.success());
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(errors.contains("interrupted"), "{errors}");
    assert!(errors.contains("to resume"), "{errors}");
    let created_before = fake.invitations().len();
    assert!(
        created_before > 0 && created_before < ROWS,
        "stopped part-way: {created_before}"
    );
    // Every invitation the fake holds is recorded as done in the journal.
    let done = json_lines(&std::fs::read_to_string(journal).unwrap())
        .iter()
        .filter(|entry| entry["state"] == "done")
        .count();
    assert_eq!(done, created_before);

    resume_creates_each_row_once(&target, &fake, &csv, journal, ROWS).await;
}

/// Runs `csv` again with its `journal`, fast, and checks that it ends with each of its `rows`
/// created exactly once.
async fn resume_creates_each_row_once(
    target: &Target,
    fake: &FakeGitHub,
    csv: &str,
    journal: &str,
    rows: usize,
) {
    let args = [
        "--rate",
        "200/s",
        "invite",
        "--csv",
        csv,
        "--journal",
        journal,
    ];
    let output = target.run(&args).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(fake.invitations().len(), rows);
    assert_eq!(creates(fake).await, rows, "every row created exactly once");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_a_progress_bar_and_off_one_plain_lines() {
    // `script` (util-linux) runs the command on a real pseudo-terminal.
    // util-linux's `script` is part of every Debian and Ubuntu system.
    assert!(
        std::process::Command::new("script")
            .arg("--version")
            .output()
            .is_ok(),
        "the `script` command (util-linux) is needed to give the test a terminal"
    );
    let fake = real_time_github().await;
    let target = Target::github(&fake);
    let dir = scratch("tty");
    let csv = write(&dir.join("people.csv"), &people(30));
    let command = format!(
        "{BIN} --provider github --org {} --base-url {} --rate 20/s invite --csv {csv}",
        target.org, target.base_url
    );
    let output = tokio::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("GITHUB_TOKEN", &target.credential.1)
        .env("TERM", "xterm")
        .output()
        .await
        .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "{screen}");
    assert!(screen.contains("/30 rows"), "{screen}");
    assert!(screen.contains("created"), "{screen}");
    assert!(
        !screen.contains("progress: "),
        "plain lines on a terminal: {screen}"
    );

    // Not a terminal: plain lines on stderr.
    let fresh = real_time_github().await;
    let output = Target::github(&fresh)
        .run(&["--rate", "100/s", "invite", "--csv", &csv])
        .await;
    let errors = stderr(&output);
    assert!(errors.contains("progress: 0/30 rows"), "{errors}");
    assert!(
        errors.contains("progress: 30/30 rows  created 30"),
        "{errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_file_costs_under_a_kibibyte_a_row() {
    let dir = scratch("memory");
    let mut peaks = Vec::new();
    for rows in [500usize, 4000] {
        let fake = real_time_github().await;
        let csv = write(&dir.join(format!("people-{rows}.csv")), &people(rows));
        let output = Target::github(&fake)
            .run(&[
                "--rate",
                "4000/s",
                "invite",
                "--csv",
                &csv,
                "--concurrency",
                "8",
            ])
            .await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let summary = stderr(&output);
        let peak: f64 = summary
            .split("peak memory ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|mib| mib.parse().ok())
            .unwrap_or_else(|| panic!("no peak memory in {summary}"));
        println!("{rows} rows: {peak} MiB");
        peaks.push(peak);
        assert_eq!(fake.invitations().len(), rows);
    }
    // Eight times the rows: the rows are read before the run starts, and each is held once
    // (its request moves to the library), so the peak grows by less than a KiB a row.
    let per_row_kib = (peaks[1] - peaks[0]) * 1024.0 / 3500.0;
    assert!(
        per_row_kib < 1.0,
        "peak memory grew from {} to {} MiB: {per_row_kib:.2} KiB a row",
        peaks[0],
        peaks[1]
    );
}

/// A run of `csv` with `journal`, at 100 a second.
async fn journaled(target: &Target, csv: &str, journal: &str) -> Output {
    target
        .run(&[
            "--rate",
            "100/s",
            "invite",
            "--csv",
            csv,
            "--journal",
            journal,
        ])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_knows_people_not_lines_and_tries_failed_rows_again() {
    let fake = real_time_github().await;
    let target = Target::github(&fake);
    let dir = scratch("edited");
    let journal = dir.join("journal.jsonl");
    let journal = journal.to_str().unwrap();
    let first = write(
        &dir.join("first.csv"),
        "email,role\na@example.com,\nb@example.com,superuser\nc@example.com,\n",
    );
    let output = journaled(&target, &first, journal).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(creates(&fake).await, 2);
    // The file edited: a row inserted at the top, b's role fixed, saved with CRLF and a
    // byte-order mark. Only the new row and b are sent; a and c are not sent again.
    let second = write(
        &dir.join("second.csv"),
        "\u{feff}email,role\r\nnew@example.com,\r\na@example.com,\r\nb@example.com,member\r\nc@example.com,\r\n",
    );
    let report = dir.join("report.jsonl");
    let output = target
        .run(&[
            "--rate",
            "100/s",
            "--output",
            "json",
            "invite",
            "--csv",
            &second,
            "--journal",
            journal,
            "--report",
            report.to_str().unwrap(),
        ])
        .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(creates(&fake).await, 4, "new and b only");
    let mut rows = json_lines(&stdout(&output));
    rows.sort_by_key(|r| r["line"].as_u64());
    let lines: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["email"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lines,
        [
            (2, "new@example.com"),
            (3, "a@example.com"),
            (4, "b@example.com"),
            (5, "c@example.com")
        ]
    );
    assert!(rows.iter().all(|r| r["outcome"] == "created"));
    // The same journal against another target is refused before anything is sent.
    let elsewhere = real_time_github().await;
    let output = Target::github(&elsewhere)
        .run(&["invite", "--csv", &second, "--journal", journal])
        .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("belongs to another run"),
        "{}",
        stderr(&output)
    );
    assert!(elsewhere.requests().await.is_empty());
    // A journal cut short mid-line by a crash: the torn entry is ignored and the next one
    // starts on a line of its own.
    let mut text = std::fs::read_to_string(journal).unwrap();
    text.push_str("{\"key\":\"torn@example.com\",\"sta");
    std::fs::write(journal, text).unwrap();
    let third = write(
        &dir.join("third.csv"),
        "email\ntorn@example.com\na@example.com\n",
    );
    let output = journaled(&target, &third, journal).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(creates(&fake).await, 5, "torn only");
    assert_eq!(journal_state(journal), (5, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_default_role_or_a_refused_credential_is_exit_code_2_with_nothing_created() {
    let fake = real_time_github().await;
    let target = Target::github(&fake);
    let dir = scratch("config");
    let csv = write(&dir.join("people.csv"), &people(5));
    let output = target
        .run(&["invite", "--csv", &csv, "--role", "superuser"])
        .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unknown role \"superuser\""));
    assert!(fake.requests().await.is_empty());

    fake.revoke_token();
    let output = target
        .run(&[
            "--rate",
            "100/s",
            "invite",
            "--csv",
            &csv,
            "--concurrency",
            "1",
        ])
        .await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("stopped early: unauthenticated"),
        "{}",
        stderr(&output)
    );
    // The snapshot's first page heard the refusal: nothing more was sent.
    assert_eq!(creates(&fake).await, 0, "no create after the refusal");
    assert_eq!(fake.requests().await.len(), 1);
    assert!(fake.invitations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_column_of_a_clerk_row_reaches_the_request() {
    let clerk = FakeClerk::start_with_clock(Arc::new(TokioSleeper)).await;
    let dir = scratch("clerk-columns");
    let csv = write(
        &dir.join("people.csv"),
        "email,role,inviter,redirect_url,public_metadata,notify,expires_in\n\
         jane@example.com,org:admin,user_2a,https://app.example.com/welcome,\"{\"\"team\"\":\"\"ops\"\"}\",false,14d\n\
         john@example.com,,,,,,\n",
    );
    let output = Target::clerk(&clerk)
        .run(&["--rate", "100/s", "invite", "--csv", &csv])
        .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // One bulk call carries both rows, each with its own options.
    let posts: Vec<_> = clerk
        .requests()
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    assert!(posts[0].url.path().ends_with("/invitations/bulk"));
    let mut bodies: Vec<Value> = match serde_json::from_slice(&posts[0].body).unwrap() {
        Value::Array(items) => items,
        other => panic!("a bulk call carries a list: {other}"),
    };
    bodies.sort_by_key(|b| b["email_address"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        bodies,
        [
            serde_json::json!({
                "email_address": "jane@example.com",
                "role": "org:admin",
                "inviter_user_id": "user_2a",
                "redirect_url": "https://app.example.com/welcome",
                "public_metadata": {"team": "ops"},
                "notify": false,
                "expires_in_days": 14
            }),
            // Empty cells are the defaults: nothing sent for them.
            serde_json::json!({"email_address": "john@example.com", "role": "org:member"}),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_goes_in_the_vendors_batches() {
    let dir = scratch("batches");
    let csv = write(&dir.join("people.csv"), &people(12));

    // Clerk: its bulk route, ten people a call.
    let clerk = FakeClerk::start_with_clock(Arc::new(TokioSleeper)).await;
    let output = Target::clerk(&clerk).run(&["invite", "--csv", &csv]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let posts: Vec<String> = clerk
        .requests()
        .await
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        posts, ["/v1/organizations/org_sandbox/invitations/bulk"; 2],
        "two bulk calls and no single create"
    );
    assert_eq!(clerk.invitations().len(), 12);

    // Elastic Cloud: one create carries many `emails`.
    let elastic = FakeElasticCloud::start_with_clock(Arc::new(TokioSleeper)).await;
    let output = Target::elastic(&elastic)
        .run(&["invite", "--csv", &csv])
        .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let creates: Vec<Value> = elastic
        .requests()
        .await
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(creates.len() <= 2, "{} creates", creates.len());
    let emails: usize = creates
        .iter()
        .map(|body| body["emails"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(emails, 12);
    assert_eq!(elastic.invitations().len(), 12);
}

/// Runs a journaled CSV of `rows` people on `fake` with `pacing` flags, interrupts it once
/// `before` invitations exist, and checks that nothing reached the vendor more than half a
/// second after the signal; then resumes and checks every row is created exactly once.
#[cfg(unix)]
async fn interrupted_while_waiting_for_the_pacer(pacing: &[&str], rows: usize, before: usize) {
    let fake = real_time_github().await;
    let target = Target::github(&fake);
    let dir = scratch(&format!(
        "sigint-pacer-{}",
        pacing.join("-").replace('/', "per")
    ));
    let csv = write(&dir.join("people.csv"), &people(rows));
    let journal = dir.join("journal.jsonl");
    let journal = journal.to_str().unwrap();
    let mut args: Vec<&str> = pacing.to_vec();
    args.extend(["invite", "--csv", &csv, "--journal", journal]);
    let child = target
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while fake.invitations().len() < before {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let signalled_at = orginvite::jiff::Timestamp::now();
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    // The rows waiting for their turn are abandoned: the run ends at once, not when their
    // turn comes (a second apart, or a minute).
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the run stops promptly")
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(errors.contains("interrupted"), "{errors}");
    let invitations = fake.invitations();
    let latest = invitations.iter().map(|i| i.created_at).max().unwrap();
    let after = latest.duration_since(signalled_at);
    assert!(
        after < orginvite::jiff::SignedDuration::from_millis(500),
        "an invitation reached the vendor {after:?} after the signal"
    );
    assert!(
        invitations.len() < rows,
        "stopped part-way: {}",
        invitations.len()
    );
    // Rows that waited were never announced: the journal holds the finished ones only.
    assert_eq!(journal_state(journal), (invitations.len(), 0));

    resume_creates_each_row_once(&target, &fake, &csv, journal, rows).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_abandons_rows_waiting_for_githubs_default_pacing() {
    // GitHub's default: one at a time, a second apart; three rows wait at any moment.
    interrupted_while_waiting_for_the_pacer(&[], 12, 2).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_abandons_rows_waiting_for_a_slow_rate() {
    // Four a minute: the first four go at once, the next wait most of a minute.
    interrupted_while_waiting_for_the_pacer(&["--rate", "4/min"], 12, 4).await;
}

#[tokio::test]
async fn lint_prints_one_line_per_problem_and_exits_1() {
    let dir = scratch("lint");
    let roster = write(
        &dir.join("roster.toml"),
        "[clerk]\norg = \"org_1\"\n\n[[people]]\nemail = \"ada@example.com\"\nclerk = {}\n\n[[people]]\nemail = \"ADA@example.com\"\nclerk = {}\n\n[[people]]\nemail = \"grace@example.com\"\nclerk = { role = \"admin\" }\n\n[[people]]\nemail = \"not-an-email\"\nclerk = {}\n",
    );
    let output = bare().args(["lint", &roster]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        [
            format!("{roster}: people[1] (ADA@example.com): the same person as people[0] (emails are compared without regard to case)"),
            format!("{roster}: people[2] (grace@example.com): clerk: unknown role \"admin\" (a role key: org:admin, org:member, or a custom org:...)"),
            format!("{roster}: people[3] (not-an-email): email: has no `@`: \"not-an-email\""),
        ]
    );
    // A sound file: exit 0; a file that is no roster: exit 2.
    let sound = write(
        &dir.join("sound.toml"),
        "[clerk]\norg = \"org_1\"\n[[people]]\nemail = \"ada@example.com\"\nclerk = {}\n",
    );
    let output = bare().args(["lint", &sound]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    let broken = write(&dir.join("broken.toml"), "[clerk]\norganisation = 1\n");
    let output = bare().args(["lint", &broken]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not a roster"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_reads_one_snapshot_sends_no_write_and_lists_exactly_the_changes() {
    let fake = real_time_github().await;
    fake.add(
        orginvite::testkit::FakeMember::new("acme")
            .login("octocat")
            .user_id("1"),
    );
    fake.add(
        orginvite::testkit::FakeMember::new("acme")
            .login("ghost")
            .user_id("2"),
    );
    let ada = fake.add_invitation("acme", "ada@example.com");
    let stranger = fake.add_invitation("acme", "stranger@example.com");
    let lapsed = fake.add_invitation("acme", "carol@example.com");
    fake.set_invitation_status(&lapsed, orginvite::InvitationStatus::Expired);
    let dir = scratch("plan");
    let roster = write(
        &dir.join("roster.toml"),
        "[github]\norg = \"acme\"\n\n[[people]]\nemail = \"ADA@example.com\"\ngithub = {}\n\n[[people]]\nemail = \"carol@example.com\"\ngithub = {}\n\n[[people]]\nemail = \"octo@example.com\"\ngithub = { login = \"OctoCat\" }\n\n[[people]]\nemail = \"new@example.com\"\ngithub = { role = \"admin\" }\n",
    );
    let target = Target::github(&fake);
    let output = target.run(&["--output", "json", "plan", &roster]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    let changes: Vec<(String, String, String)> = plan["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_owned(),
                c["login"]
                    .as_str()
                    .or(c["email"].as_str())
                    .unwrap()
                    .to_owned(),
                c["invitation"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("unchanged", "ADA@example.com", ada.as_str()),
        ("reinvite", "carol@example.com", lapsed.as_str()),
        ("unchanged", "OctoCat", ""),
        ("invite", "new@example.com", ""),
        ("unmanaged", "stranger@example.com", stranger.as_str()),
        ("unmanaged", "ghost", ""),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(changes, expected);
    // One snapshot: reads only.
    let methods: Vec<String> = fake
        .requests()
        .await
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        methods,
        [
            "GET /orgs/acme/invitations",
            "GET /orgs/acme/failed_invitations",
            "GET /orgs/acme/members"
        ]
    );
    assert!(stderr(&output).contains("plan: no write was sent"));

    // The table, with the summary.
    let output = target.run(&["plan", &roster]).await;
    assert!(
        stdout(&output).contains(
            "Plan: 1 to invite, 1 to reinvite, 0 to update, 0 to cancel; 2 unchanged, 2 unmanaged."
        ),
        "{}",
        stdout(&output)
    );
    // Cancelling the stranger's is one of two pending invitations: over a quarter, refused.
    let output = target.run(&["plan", &roster, "--cancel-unlisted"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("1 of 2 pending invitations would be cancelled"),
        "{}",
        stderr(&output)
    );
    // So is the apply: the plan, then nothing sent.
    let output = target.run(&["apply", &roster, "--cancel-unlisted"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("nothing was sent"),
        "{}",
        stderr(&output)
    );
    assert!(fake
        .requests()
        .await
        .iter()
        .all(|r| r.method.as_str() == "GET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_sends_exactly_the_planned_requests_and_then_there_is_nothing_to_do() {
    let fake = real_time_github().await;
    fake.add(
        orginvite::testkit::FakeMember::new("acme")
            .login("octocat")
            .user_id("1"),
    );
    let _ada = fake.add_invitation("acme", "ada@example.com");
    let stranger = fake.add_invitation("acme", "stranger@example.com");
    let bob = fake.add_invitation("acme", "bob@example.com");
    let lapsed = fake.add_invitation("acme", "carol@example.com");
    fake.set_invitation_status(&lapsed, orginvite::InvitationStatus::Expired);
    let dir = scratch("apply");
    // Ada stays; Bob's invitation is updated to admin; Carol is invited again; Dan is new;
    // Octocat is a member; the stranger's invitation is cancelled.
    let roster = write(
        &dir.join("roster.toml"),
        "[github]\norg = \"acme\"\n\n[[people]]\nemail = \"ada@example.com\"\ngithub = {}\n\n[[people]]\nemail = \"bob@example.com\"\ngithub = { role = \"admin\" }\n\n[[people]]\nemail = \"carol@example.com\"\ngithub = {}\n\n[[people]]\nemail = \"dan@example.com\"\ngithub = {}\n\n[[people]]\nemail = \"octo@example.com\"\ngithub = { login = \"octocat\" }\n",
    );
    let target = Target::github(&fake);
    let journal = dir.join("apply.journal");
    let report = dir.join("apply.jsonl");
    let output = target
        .run(&[
            "--rate",
            "100/s",
            "apply",
            &roster,
            "--update",
            "--cancel-unlisted",
            "--max-cancel-fraction",
            "0.5",
            "--journal",
            journal.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
        .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let writes: Vec<String> = fake
        .requests()
        .await
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        writes,
        [
            format!("DELETE /orgs/acme/invitations/{bob}"),
            format!("DELETE /orgs/acme/invitations/{stranger}"),
            "POST /orgs/acme/invitations".to_owned(),
            "POST /orgs/acme/invitations".to_owned(),
            "POST /orgs/acme/invitations".to_owned(),
        ]
    );
    let reads = fake.requests().await.len() - writes.len();
    assert_eq!(reads, 3, "one snapshot, no other read");
    let (rows, summary) = report_of(&report);
    assert_eq!(rows.len(), 3);
    assert_eq!(summary["outcomes"], json!({"created": 3}));
    // The creates run concurrently: in any order.
    let mut pending: Vec<(String, String)> = fake
        .invitations()
        .into_iter()
        .filter(|i| i.status == orginvite::InvitationStatus::Pending)
        .map(|i| (i.email.unwrap(), i.role))
        .collect();
    pending.sort();
    assert_eq!(
        pending,
        [
            ("ada@example.com".to_owned(), "direct_member".to_owned()),
            ("bob@example.com".to_owned(), "admin".to_owned()),
            ("carol@example.com".to_owned(), "direct_member".to_owned()),
            ("dan@example.com".to_owned(), "direct_member".to_owned()),
        ]
    );

    // Right after: nothing to do, and applying again sends no write.
    let before = fake.requests().await.len();
    let output = target.run(&["plan", &roster, "--update"]).await;
    assert!(
        stdout(&output).contains(
            "Plan: 0 to invite, 0 to reinvite, 0 to update, 0 to cancel; 5 unchanged, 0 unmanaged."
        ),
        "{}",
        stdout(&output)
    );
    let output = target.run(&["apply", &roster, "--update"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(fake.requests().await[before..]
        .iter()
        .all(|r| r.method.as_str() == "GET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_killed_half_way_and_run_again_does_every_planned_change_once() {
    const PEOPLE: usize = 120;
    let dir = scratch("apply-crash");
    let mut text = String::from("[github]\norg = \"acme\"\n");
    for i in 0..PEOPLE {
        text.push_str(&format!(
            "\n[[people]]\nemail = \"p{i}@example.com\"\ngithub = {{}}\n"
        ));
    }
    let roster = write(&dir.join("roster.toml"), &text);
    let fake = real_time_github().await;
    // Creates fault a tenth of the time, some after creating; repeats would show.
    fake.chaos_on_creates(
        0.1,
        [
            Fault::ServerError,
            Fault::CreatedThenServerError,
            Fault::CreatedThenDrop,
        ],
        5,
    )
    .accept_repeats(true);
    let target = Target::github(&fake);
    let journal = dir.join("apply.journal");
    let journal = journal.to_str().unwrap();
    let args = [
        "--rate",
        "400/s",
        "apply",
        &roster,
        "--journal",
        journal,
        "--concurrency",
        "8",
    ];
    let codes = run_killed(&target, &args, journal, &[20, 30]).await;
    assert_eq!(&codes[..2], [-9, -9], "both runs killed mid-way: {codes:?}");
    assert_eq!(codes.last(), Some(&0), "exit codes {codes:?}");
    let mut per_email: HashMap<String, usize> = HashMap::new();
    for invitation in fake.invitations() {
        *per_email.entry(invitation.email.unwrap()).or_default() += 1;
    }
    assert_eq!(per_email.len(), PEOPLE, "a person was lost ({codes:?})");
    assert!(
        per_email.values().all(|n| *n == 1),
        "invited twice ({codes:?})"
    );
    // Nothing left to do.
    fake.chaos(0.0, [], 0);
    let output = target.run(&["plan", &roster]).await;
    assert!(
        stdout(&output).contains(&format!(
            "Plan: 0 to invite, 0 to reinvite, 0 to update, 0 to cancel; {PEOPLE} unchanged, 0 unmanaged."
        )),
        "{}",
        stdout(&output)
    );
}

/// A roster run on one vendor's fake: plan, apply, plan again, apply again.
/// The fake holds a pending invitation the roster keeps, one it does not list, and one that
/// expired; its member is set up by the caller.
async fn roster_round_trip<V>(
    target: &Target,
    fake: &FakeServer<V>,
    member_entry: &str,
    writes: usize,
) {
    fake.add_invitation(&target.org, "keep@example.com");
    fake.add_invitation(&target.org, "stranger@example.com");
    let lapsed = fake.add_invitation(&target.org, "lapsed@example.com");
    assert!(fake.set_invitation_status(&lapsed, orginvite::InvitationStatus::Expired));
    let dir = scratch(&format!("roster-{}", target.provider));
    let roster = write(
        &dir.join("roster.toml"),
        &format!(
            "[{key}]\norg = \"{org}\"\n\n[[people]]\nemail = \"keep@example.com\"\n{key} = {{}}\n\n[[people]]\nemail = \"lapsed@example.com\"\n{key} = {{}}\n\n[[people]]\nemail = \"new@example.com\"\n{key} = {{}}\n\n[[people]]\nemail = \"member@example.com\"\n{key} = {member_entry}\n",
            key = target.provider,
            org = target.org
        ),
    );
    let plan = target
        .run(&[
            "--output",
            "json",
            "plan",
            &roster,
            "--cancel-unlisted",
            "--max-cancel-fraction",
            "0.5",
        ])
        .await;
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}: {}",
        target.provider,
        stderr(&plan)
    );
    let plan: Value = serde_json::from_str(stdout(&plan).trim()).unwrap();
    let actions: Vec<(String, String)> = plan["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_owned(),
                c["login"]
                    .as_str()
                    .or(c["email"].as_str())
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    let member = if target.provider == "github" {
        "octocat"
    } else {
        "member@example.com"
    };
    let expected: Vec<(String, String)> = [
        ("unchanged", "keep@example.com"),
        ("reinvite", "lapsed@example.com"),
        ("invite", "new@example.com"),
        ("unchanged", member),
        ("cancel", "stranger@example.com"),
    ]
    .iter()
    .map(|(a, w)| ((*a).to_owned(), (*w).to_owned()))
    .collect();
    assert_eq!(actions, expected, "{}", target.provider);
    let non_get = |requests: &[orginvite::testkit::wiremock::Request]| {
        requests
            .iter()
            .filter(|r| r.method.as_str() != "GET")
            .count()
    };
    assert_eq!(
        non_get(&fake.requests().await),
        0,
        "{}: plan sends no write",
        target.provider
    );

    let output = target
        .run(&[
            "--rate",
            "100/s",
            "apply",
            &roster,
            "--cancel-unlisted",
            "--max-cancel-fraction",
            "0.5",
        ])
        .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}: {}",
        target.provider,
        stderr(&output)
    );
    assert_eq!(
        non_get(&fake.requests().await),
        writes,
        "{}: the cancel and the creates",
        target.provider
    );
    let mut pending = pending_emails(fake);
    pending.sort();
    assert_eq!(
        pending,
        ["keep@example.com", "lapsed@example.com", "new@example.com"],
        "{}",
        target.provider
    );

    let output = target.run(&["plan", &roster, "--cancel-unlisted"]).await;
    assert!(
        stdout(&output).contains(
            "Plan: 0 to invite, 0 to reinvite, 0 to update, 0 to cancel; 4 unchanged, 0 unmanaged."
        ),
        "{}: {}",
        target.provider,
        stdout(&output)
    );
    let output = target.run(&["apply", &roster, "--cancel-unlisted"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        non_get(&fake.requests().await),
        writes,
        "{}: nothing more",
        target.provider
    );
}

fn pending_emails<V>(fake: &FakeServer<V>) -> Vec<String> {
    fake.invitations()
        .into_iter()
        .filter(|i| i.status == orginvite::InvitationStatus::Pending)
        .filter_map(|i| i.email)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_round_trip_on_every_vendor() {
    let github = real_time_github().await;
    github.add(
        orginvite::testkit::FakeMember::new("acme")
            .login("octocat")
            .user_id("1"),
    );
    roster_round_trip(
        &Target::github(&github),
        &github,
        "{ login = \"octocat\" }",
        3,
    )
    .await;
    let clerk = FakeClerk::start_with_clock(Arc::new(TokioSleeper)).await;
    clerk.add_member(clerk.organization(), "member@example.com");
    roster_round_trip(&Target::clerk(&clerk), &clerk, "{}", 2).await;
    let elastic = FakeElasticCloud::start_with_clock(Arc::new(TokioSleeper)).await;
    elastic.add_member(elastic.organization(), "member@example.com");
    roster_round_trip(&Target::elastic(&elastic), &elastic, "{}", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinvitations_stop_at_the_rounds_the_journal_counts_too() {
    let fake = real_time_github().await;
    let dir = scratch("rounds");
    let roster = write(
        &dir.join("roster.toml"),
        "[github]\norg = \"acme\"\nreinvite_rounds = 2\n\n[[people]]\nemail = \"late@example.com\"\ngithub = {}\n",
    );
    let journal = dir.join("rounds.journal");
    let journal = journal.to_str().unwrap();
    let target = Target::github(&fake);
    let args = ["apply", roster.as_str(), "--journal", journal];
    let apply = || target.run(&args);
    let creates = || async { creates(&fake).await };
    assert_eq!(apply().await.status.code(), Some(0));
    assert_eq!(creates().await, 1);
    // The first invitation expires, and then the vendor no longer lists it (GitHub drops old
    // failed invitations); the second, sent as round 2, expires too.
    let first = fake.invitations()[0].id.clone();
    fake.set_invitation_status(&first, orginvite::InvitationStatus::Expired);
    let output = apply().await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("round 2 of 2"),
        "{}",
        stdout(&output)
    );
    assert_eq!(creates().await, 2);
    fake.set_invitation_status(&first, orginvite::InvitationStatus::Revoked);
    let second = fake.invitations()[1].id.clone();
    fake.set_invitation_status(&second, orginvite::InvitationStatus::Expired);
    // The vendor shows one lapsed invitation; the journal knows of two: no third.
    let output = target
        .run(&["--output", "json", "apply", &roster, "--journal", journal])
        .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("2 rounds were sent: not again"),
        "{}",
        stdout(&output)
    );
    assert_eq!(creates().await, 2);
    // Without the journal, the plan sees one round only.
    let output = target.run(&["plan", &roster]).await;
    assert!(
        stdout(&output).contains("round 2 of 2"),
        "{}",
        stdout(&output)
    );
}

/// Seeds a pending, a member, an expired and an unknown person, runs `status --csv` and
/// returns each person's state, and the requests the run sent.
async fn status_on<V>(
    fake: &FakeServer<V>,
    target: &Target,
    member: orginvite::testkit::FakeMember,
    member_row: &str,
) -> (Vec<(String, String, String)>, Vec<String>) {
    let org = fake.organization().to_owned();
    let pending = fake.add_invitation(&org, "pending@example.com");
    let expired = fake.add_invitation(&org, "expired@example.com");
    assert!(fake.expire(&expired));
    fake.add(member);
    let dir = scratch("status");
    let csv = write(
        &dir.join("people.csv"),
        &format!(
            "email,login\npending@example.com,\n{member_row}\nexpired@example.com,\nnobody@example.com,\n",
        ),
    );
    let before = fake.requests().await.len();
    let run = target
        .run(&["--output", "json", "status", "--csv", &csv])
        .await;
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let states = json_lines(&stdout(&run))
        .iter()
        .map(|r| {
            let id = r["invitation_id"].as_str().unwrap().to_owned();
            let id = if id == pending {
                "pending-id".to_owned()
            } else if id == expired {
                "expired-id".to_owned()
            } else {
                id
            };
            (
                r["invitee"].as_str().unwrap().to_owned(),
                r["state"].as_str().unwrap().to_owned(),
                id,
            )
        })
        .collect();
    let reads = fake.requests().await[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    (states, reads)
}

fn triples(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_a_csv_on_every_vendor_costs_one_snapshot() {
    use orginvite::testkit::FakeMember;

    let github = real_time_github().await;
    let org = github.organization().to_owned();
    let member = FakeMember::new(&org).login("octo-member").user_id("77");
    let (states, reads) =
        status_on(&github, &Target::github(&github), member, ",octo-member").await;
    assert_eq!(
        states,
        triples(&[
            ("pending@example.com", "pending", "pending-id"),
            ("octo-member", "member", ""),
            // GitHub lists an expired invitation among its failed ones.
            ("expired@example.com", "failed", "expired-id"),
            ("nobody@example.com", "unknown", ""),
        ])
    );
    assert_eq!(
        reads,
        [
            format!("GET /orgs/{org}/invitations"),
            format!("GET /orgs/{org}/failed_invitations"),
            format!("GET /orgs/{org}/members"),
        ]
    );

    let every_state = triples(&[
        ("pending@example.com", "pending", "pending-id"),
        ("member@example.com", "member", ""),
        ("expired@example.com", "expired", "expired-id"),
        ("nobody@example.com", "unknown", ""),
    ]);
    let clerk = FakeClerk::start_with_clock(Arc::new(TokioSleeper)).await;
    let org = clerk.organization().to_owned();
    let member = FakeMember::new(&org).email("member@example.com");
    let (states, reads) = status_on(
        &clerk,
        &Target::clerk(&clerk),
        member,
        "member@example.com,",
    )
    .await;
    assert_eq!(states, every_state);
    assert_eq!(
        reads,
        [
            format!("GET /v1/organizations/{org}/invitations"),
            format!("GET /v1/organizations/{org}/memberships"),
        ]
    );

    let elastic = FakeElasticCloud::start_with_clock(Arc::new(TokioSleeper)).await;
    let org = elastic.organization().to_owned();
    let member = FakeMember::new(&org)
        .email("member@example.com")
        .user_id("u-1");
    let (states, reads) = status_on(
        &elastic,
        &Target::elastic(&elastic),
        member,
        "member@example.com,",
    )
    .await;
    assert_eq!(states, every_state);
    assert_eq!(
        reads,
        [
            format!("GET /api/v1/organizations/{org}/invitations"),
            format!("GET /api/v1/organizations/{org}/members"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_each_event_once_across_restarts_and_stops_on_ctrl_c() {
    let fake = FakeClerk::start_with_clock(Arc::new(TokioSleeper)).await;
    let target = Target::clerk(&fake);
    let org = fake.organization().to_owned();
    let state = scratch("watch").join("watch.json");
    let state = state.to_str().unwrap();
    let watch = |output: &'static str| {
        let target = &target;
        async move {
            let run = target
                .run(&[
                    "--output", output, "watch", "--polls", "1", "--state", state,
                ])
                .await;
            assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
            run
        }
    };
    let events = |run: &Output| -> Vec<String> {
        json_lines(&stdout(run))
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["kind"].as_str().unwrap(),
                    e["invitee"].as_str().unwrap()
                )
            })
            .collect()
    };

    // The first poll sets the starting point.
    let first = watch("json").await;
    assert!(stdout(&first).is_empty());
    assert!(stderr(&first).contains("watching"), "{}", stderr(&first));

    let al = fake.add_invitation(&org, "al@example.com");
    let bo = fake.add_invitation(&org, "bo@example.com");
    let mut invited = events(&watch("json").await);
    invited.sort();
    assert_eq!(
        invited,
        ["invited al@example.com", "invited bo@example.com"]
    );

    fake.accept(&al);
    fake.expire(&bo);
    let before = fake.requests().await.len();
    let mut changed = events(&watch("json").await);
    changed.sort();
    assert_eq!(
        changed,
        ["accepted al@example.com", "expired bo@example.com"]
    );
    assert_eq!(
        fake.requests().await.len() - before,
        2,
        "one snapshot a poll"
    );
    // Nothing happened since: nothing printed.
    assert!(events(&watch("json").await).is_empty());

    // A state file of another organization is refused before any request.
    let before = fake.requests().await.len();
    let elsewhere = bare()
        .args(["--provider", "clerk", "--org", "org_elsewhere"])
        .args(["--base-url", &target.base_url])
        .args(["watch", "--polls", "1", "--state", state])
        .env(target.credential.0, &target.credential.1)
        .output()
        .await
        .unwrap();
    assert_eq!(elsewhere.status.code(), Some(2), "{}", stderr(&elsewhere));
    assert!(
        stderr(&elsewhere).contains("the state file follows"),
        "{}",
        stderr(&elsewhere)
    );
    assert_eq!(fake.requests().await.len(), before);

    // Watching until Ctrl-C: it stops at once, in the middle of its hour-long wait.
    let polled = fake.requests().await.len();
    let child = target
        .command(&["watch", "--interval", "1h", "--state", state])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while fake.requests().await.len() < polled + 2 {
        assert!(std::time::Instant::now() < deadline, "no poll");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("stops at once")
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(fake.requests().await.len(), polled + 2);
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_is_paced_through_redis_over_tls_as_an_acl_user_whose_password_never_shows() {
    use orginvite::testkit::RedisServer;
    use orginvite::RedisPacer;
    const PASSWORD: &str = "canary-cli-tls-9b2c-password";
    if !RedisServer::available() {
        assert!(
            std::env::var_os("ORGINVITE_REQUIRE_REDIS").is_none(),
            "redis-server is required here"
        );
        return;
    }
    let server = RedisServer::start_tls().unwrap();
    let url = server
        .add_user("pacer", PASSWORD, RedisPacer::ACL_RULES)
        .unwrap();
    assert!(url.starts_with("rediss://"));
    let ca = server.ca_file().unwrap();
    let fake = real_time_github().await;
    let target = Target::github(&fake);
    let dir = scratch("redis-tls");
    let csv = write(
        &dir.join("people.csv"),
        "email\na@example.com\nb@example.com\nc@example.com\n",
    );
    let run = target
        .command(&[
            "--redis",
            &url,
            "--redis-ca",
            ca.to_str().unwrap(),
            "--rate",
            "20/s",
            "invite",
            "--csv",
            &csv,
        ])
        .output()
        .await
        .unwrap();
    let shown = format!("{}{}", stdout(&run), stderr(&run));
    assert_eq!(run.status.code(), Some(0), "{shown}");
    assert_eq!(fake.invitations().len(), 3);
    // Paced through that server: its keys are there (a fallback to local pacing leaves none).
    let key = format!("{{orginvite:github:{}}}:starts", fake.organization());
    assert_eq!(server.command(&["EXISTS", &key]).unwrap().trim(), ":1");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!shown.contains("shared pacer cannot be reached"), "{shown}");

    // From the environment, the URL stays out of --help.
    let help = bare()
        .env("ORGINVITE_REDIS_URL", &url)
        .arg("--help")
        .output()
        .await
        .unwrap();
    assert!(!stdout(&help).contains(PASSWORD));

    // A server it cannot trust (another server's authority): the CLI says why, and neither
    // the password nor the user shows.
    let other = RedisServer::start_tls().unwrap();
    let refused = target
        .command(&[
            "--redis",
            &url,
            "--redis-ca",
            other.ca_file().unwrap().to_str().unwrap(),
            "--rate",
            "20/s",
            "invite",
            "--email",
            "d@example.com",
        ])
        .output()
        .await
        .unwrap();
    let shown = format!("{}{}", stdout(&refused), stderr(&refused));
    // Paced alone, with one warning that says why.
    assert_eq!(refused.status.code(), Some(0), "{shown}");
    assert_eq!(
        stderr(&refused).matches("shared pacer unreachable").count(),
        1,
        "{shown}"
    );
    assert!(shown.contains("UnknownIssuer"), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!shown.contains("pacer:"), "{shown}");

    // A certificate authority without --redis is a usage error, before anything is sent.
    let before = fake.requests().await.len();
    let alone = target
        .run(&["--redis-ca", ca.to_str().unwrap(), "list"])
        .await;
    assert_eq!(alone.status.code(), Some(2), "{}", stderr(&alone));
    assert_eq!(fake.requests().await.len(), before);
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_is_paced_through_a_redis_cluster_given_two_seeds() {
    use orginvite::testkit::{RedisCluster, RedisServer};
    if !RedisServer::available() {
        assert!(
            std::env::var_os("ORGINVITE_REQUIRE_REDIS").is_none(),
            "redis-server is required here"
        );
        return;
    }
    let cluster = RedisCluster::start(3).unwrap();
    let seeds = cluster.urls()[..2].join(",");
    let fake = real_time_github().await;
    let target = Target::github(&fake);
    let dir = scratch("redis-cluster");
    let csv = write(
        &dir.join("people.csv"),
        "email\na@example.com\nb@example.com\n",
    );
    let run = target
        .run(&[
            "--redis",
            &seeds,
            "--redis-cluster",
            "--rate",
            "20/s",
            "invite",
            "--csv",
            &csv,
        ])
        .await;
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        !stderr(&run).contains("cannot be reached"),
        "{}",
        stderr(&run)
    );
    assert_eq!(fake.invitations().len(), 2);
    let tag = format!("{{orginvite:github:{}}}", fake.organization());
    let node = cluster.node_of(&tag).unwrap();
    let reply = cluster
        .command(node, &["EXISTS", &format!("{tag}:starts")])
        .unwrap();
    assert_eq!(reply.trim(), ":1");
}
