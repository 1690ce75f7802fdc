//! `lint` and `plan` over a roster file: the library's `Roster` and `VendorPlan`, printed.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use orginvite::roster::{Action, Change, PlanOptions, Roster, VendorPlan};
use orginvite::Provider;
use serde_json::json;

use crate::output::{describe, print_json};
use crate::progress::Progress;
use crate::{Global, OutputFormat, Usage, Vendor};

/// The options of `plan` (and, later, `apply`).
#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// The roster file.
    #[arg(value_name = "ROSTER")]
    roster: std::path::PathBuf,
    /// Cancel pending invitations of people the roster does not list (off: they are
    /// reported as unmanaged).
    #[arg(long)]
    cancel_unlisted: bool,
    /// Cancel and send again pending invitations with another role than the roster's (off:
    /// reported as unchanged).
    #[arg(long)]
    update: bool,
    /// Refuse a plan that cancels more than this share of the pending invitations.
    #[arg(long, value_name = "0..1", default_value_t = 0.25)]
    max_cancel_fraction: f64,
}

/// Reads the roster file.
fn read(path: &Path) -> Result<Roster, Usage> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Usage(format!(
            "invalid_request: cannot read the roster {}: {e}",
            path.display()
        ))
    })?;
    Roster::from_toml(&text).map_err(|e| Usage(format!("invalid_request: {}: {e}", path.display())))
}

/// `lint ROSTER`: one line per problem on stdout; exit 0 when there is none, 1 when there
/// are, 2 when the file cannot be read as a roster.
pub(crate) fn lint(path: &Path) -> ExitCode {
    let roster = match read(path) {
        Ok(roster) => roster,
        Err(Usage(problem)) => {
            eprintln!("error: {problem}");
            return ExitCode::from(2);
        }
    };
    let problems = roster.lint();
    for problem in &problems {
        println!("{}: {problem}", path.display());
    }
    if problems.is_empty() {
        eprintln!(
            "{}: {} people, no problem",
            path.display(),
            roster.people.len()
        );
        ExitCode::SUCCESS
    } else {
        eprintln!("{}: {} problem(s)", path.display(), problems.len());
        ExitCode::FAILURE
    }
}

/// The vendor of a roster key.
fn vendor_of(key: &str) -> Option<Vendor> {
    match key {
        "github" => Some(Vendor::Github),
        "clerk" => Some(Vendor::Clerk),
        "elastic" => Some(Vendor::Elastic),
        _ => None,
    }
}

/// `plan ROSTER`: each managed vendor's plan, from one snapshot each; no write is sent.
pub(crate) async fn plan(global: &Global, args: &PlanArgs, progress: Arc<Progress>) -> ExitCode {
    match plans(global, args, progress.clone()).await {
        Ok(plans) => {
            print(&plans, global.output);
            eprintln!("plan: no write was sent; {}", progress.requests());
            if let Some(refused) = plans.iter().find_map(|plan| plan.refused.as_ref()) {
                eprintln!("error: invalid_request: refused: {refused} (--max-cancel-fraction)");
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Err((Usage(problem), code)) => {
            eprintln!("error: {problem}");
            code
        }
    }
}

/// Every plan the roster asks for: one per vendor section, or the one of `--provider`.
async fn plans(
    global: &Global,
    args: &PlanArgs,
    progress: Arc<Progress>,
) -> Result<Vec<VendorPlan>, (Usage, ExitCode)> {
    let usage = |usage: Usage| (usage, ExitCode::from(2));
    let mut roster = read(&args.roster).map_err(usage)?;
    let options = PlanOptions::default()
        .cancel_unlisted(args.cancel_unlisted)
        .update(args.update)
        .max_cancel_fraction(args.max_cancel_fraction);
    let mut wanted: Vec<(String, Vendor)> = roster
        .organizations
        .keys()
        .filter_map(|key| Some((key.clone(), vendor_of(key)?)))
        .collect();
    if let Some(only) = global.provider {
        wanted.retain(|(_, vendor)| *vendor == only);
        let Some((key, _)) = wanted.first() else {
            return Err(usage(Usage(format!(
                "invalid_request: the roster has no section for --provider {}",
                only.key()
            ))));
        };
        if let Some(org) = &global.org {
            if let Some(section) = roster.organizations.get_mut(key) {
                section.org = org.clone();
            }
        }
    } else if global.base_url.is_some() || global.org.is_some() {
        return Err(usage(Usage(
            "invalid_request: --org and --base-url need --provider with a roster".to_owned(),
        )));
    }
    let mut plans = Vec::new();
    for (key, vendor) in wanted {
        let organization = roster.organizations[&key].org.clone();
        let names = (Vec::new(), Vec::new());
        let client =
            crate::client::connect_to(global, vendor, &organization, &names, progress.clone())
                .await
                .map_err(usage)?;
        let provider: &dyn Provider = &*client.provider;
        let snapshot = provider
            .snapshot(&organization)
            .await
            .map_err(|error| (Usage(describe(&error)), crate::exit_for(&error)))?;
        if let Some(plan) = VendorPlan::new(&roster, &snapshot, &options, |_| 0) {
            plans.push(plan);
        }
    }
    Ok(plans)
}

/// The sign of a change in the printed plan.
fn sign(action: Action) -> &'static str {
    match action {
        Action::Invite | Action::Reinvite => "+",
        Action::Update => "~",
        Action::Cancel => "-",
        Action::Invalid => "!",
        _ => "?",
    }
}

fn who(change: &Change) -> String {
    match &change.role {
        Some(role) => format!("{} ({role})", change.who()),
        None => change.who().to_owned(),
    }
}

/// Prints the plans: Terraform-style lines, Markdown, or one JSON object.
fn print(plans: &[VendorPlan], output: OutputFormat) {
    match output {
        OutputFormat::Json => print_json(&json!({ "plans": plans })),
        OutputFormat::Markdown => {
            for plan in plans {
                println!("### {} `{}`\n", plan.key, plan.organization);
                let shown: Vec<&Change> = plan
                    .changes
                    .iter()
                    .filter(|c| c.action != Action::Unchanged)
                    .collect();
                if !shown.is_empty() {
                    println!("| | change | who | reason |\n|---|---|---|---|");
                    for change in shown {
                        println!(
                            "| {} | {} | {} | {} |",
                            sign(change.action),
                            change.action.as_str(),
                            who(change).replace('|', "\\|"),
                            change.reason.replace('|', "\\|")
                        );
                    }
                    println!();
                }
                println!("**{plan}**\n");
            }
        }
        OutputFormat::Table => {
            for plan in plans {
                println!("# {} {}", plan.key, plan.organization);
                for change in plan
                    .changes
                    .iter()
                    .filter(|c| c.action != Action::Unchanged)
                {
                    println!(
                        "  {} {:<9} {}: {}",
                        sign(change.action),
                        change.action.as_str(),
                        who(change),
                        change.reason
                    );
                }
                println!("{plan}");
            }
        }
    }
}
