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

/// The vendor of a roster key (the vendors' names in flags and rosters are the same).
fn vendor_of(key: &str) -> Option<Vendor> {
    use clap::ValueEnum;
    Vendor::value_variants()
        .iter()
        .copied()
        .find(|vendor| vendor.key() == key)
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
    let planned = plans_with_clients(global, args, progress, None).await?;
    Ok(planned.into_iter().map(|(_, plan)| plan).collect())
}

/// Every plan the roster asks for, each with the client that carries it out; `journal`, the
/// journal of the runs that carry them out (`FILE.<vendor>` for several vendors), tells the
/// rounds already sent.
async fn plans_with_clients(
    global: &Global,
    args: &PlanArgs,
    progress: Arc<Progress>,
    journal: Option<&Path>,
) -> Result<Vec<(crate::client::Client, VendorPlan)>, (Usage, ExitCode)> {
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
    let several = wanted.len() > 1;
    for (key, vendor) in wanted {
        let made = per_vendor(journal, &key, several)
            .map(|path| crate::journal::invitations_made(&path))
            .unwrap_or_default();
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
        let rounds = |who: &str| made.get(who).copied().unwrap_or(0);
        if let Some(plan) = VendorPlan::new(&roster, &snapshot, &options, rounds) {
            plans.push((client, plan));
        }
    }
    Ok(plans)
}

/// The options of `apply`: those of `plan`, and the CSV run's journal, report and concurrency.
#[derive(Debug, clap::Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Record every person's outcome here (one file per vendor, `FILE.<vendor>`, when the
    /// roster manages several); a re-run with the same journal settles those in flight first.
    #[arg(long, value_name = "FILE")]
    journal: Option<std::path::PathBuf>,
    /// Write one JSON object per person to this file (`FILE.<vendor>` for several vendors).
    #[arg(long, value_name = "FILE")]
    report: Option<std::path::PathBuf>,
    /// How many invitations may be in flight at once (the vendor's pacing still applies).
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
}

/// `path`, or `path.<key>` when the run covers several vendors.
fn per_vendor(path: Option<&Path>, key: &str, several: bool) -> Option<std::path::PathBuf> {
    path.map(|path| {
        if several {
            let mut name = path.as_os_str().to_owned();
            name.push(format!(".{key}"));
            std::path::PathBuf::from(name)
        } else {
            path.to_owned()
        }
    })
}

/// `apply ROSTER`: the plan, printed, then carried out vendor by vendor: the cancellations
/// first (an update's old invitation goes before its new one), then the invitations through
/// the CSV run's machinery (journal, report, progress, Ctrl-C).
pub(crate) async fn apply(global: &Global, args: &ApplyArgs, progress: Arc<Progress>) -> ExitCode {
    let journal = args.journal.as_deref();
    let planned = match plans_with_clients(global, &args.plan, progress.clone(), journal).await {
        Ok(planned) => planned,
        Err((Usage(problem), code)) => {
            eprintln!("error: {problem}");
            return code;
        }
    };
    let plans: Vec<VendorPlan> = planned.iter().map(|(_, plan)| plan.clone()).collect();
    print(&plans, global.output);
    if let Some(refused) = plans.iter().find_map(|plan| plan.refused.as_ref()) {
        eprintln!(
            "error: invalid_request: refused: {refused} (--max-cancel-fraction); nothing was sent"
        );
        return ExitCode::from(2);
    }
    let several = planned.len() > 1;
    let mut code = ExitCode::SUCCESS;
    for (client, plan) in &planned {
        let provider: &dyn Provider = &*client.provider;
        let cancellations = plan.cancellations();
        if !cancellations.is_empty() {
            for outcome in provider
                .cancel_invitations(&plan.organization, cancellations)
                .await
            {
                match &outcome.result {
                    Ok(_) => eprintln!("{}: cancelled invitation {}", plan.key, outcome.id),
                    Err(error) => {
                        eprintln!(
                            "{}: invitation {} not cancelled: {}",
                            plan.key,
                            outcome.id,
                            describe(error)
                        );
                        code = ExitCode::FAILURE;
                    }
                }
            }
        }
        let rows: Vec<crate::rows::Row> = plan
            .changes
            .iter()
            .filter(|change| {
                matches!(
                    change.action,
                    Action::Invite | Action::Reinvite | Action::Update
                )
            })
            .zip(plan.invitations())
            .map(|(change, request)| crate::rows::Row {
                line: change.person.map_or(0, |at| at as u64 + 1),
                email: change.email.clone(),
                login: change.login.clone(),
                user_id: None,
                request: Ok(request),
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let journal = per_vendor(args.journal.as_deref(), &plan.key, several);
        let report = per_vendor(args.report.as_deref(), &plan.key, several);
        let settings = crate::bulk::RunSettings {
            journal: journal.as_deref(),
            report: report.as_deref(),
            dry_run: false,
            concurrency: args.concurrency,
            // The plan's snapshot decided who is invited, whatever an earlier apply did.
            precheck: false,
            replay_done: false,
        };
        let started = std::time::Instant::now();
        let ran = crate::bulk::execute(
            provider,
            global,
            &plan.organization,
            rows,
            &settings,
            progress.clone(),
            started,
        )
        .await;
        match ran {
            Ok(ran) if ran == ExitCode::SUCCESS => {}
            Ok(ran) => code = ran,
            Err(Usage(problem)) => {
                eprintln!("error: {problem}");
                code = ExitCode::from(2);
            }
        }
    }
    code
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
