//! `powerplane apply DIR`: plan, show, confirm, execute through the backend with the audit
//! trail, wait for what the backend still carries out, then observe again and say whether the
//! estate converged. Exit 0 only when that last observation plans nothing and nothing is in
//! flight; 1 otherwise; 130/143 when a signal stopped it.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use powerplane_model::{ActionKind, Estate, Plan, PlanOptions};

use super::progress::Reporter;
use super::report::print_diagnostics;
use super::{Cli, Edge};
use crate::app::reconcile::{Run, Source, sealed_plan_id, short};
use crate::backend::Hypervisor;
use crate::clock::WallClock;
use crate::engine::{self, Outcome};
use crate::manifest_dir::load_manifests_sealed;
use crate::render;
use crate::saved_plan::SavedPlan;
use crate::say::say;
use crate::signals::{self, Stopper};
use crate::status::publish::blocking;
use crate::store::audit::{self, AuditLog};
use crate::store::writer::AuditWriter;
use crate::store::{lock, snapshot};

/// Arguments of `apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest directory (with --plan: checked against the manifests the plan was made
    /// from; without it, the directory the plan records is).
    #[arg(required_unless_present = "plan")]
    pub dir: Option<PathBuf>,
    /// Apply exactly this saved plan (`plan --out FILE`); refused if it was edited, if the
    /// manifests changed, or if the estate changed since it was made.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Apply the manifests as committed at this ref (uncommitted edits are ignored).
    #[arg(long, value_name = "REF", conflicts_with = "plan")]
    pub git_ref: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Allow the plan to delete partitions without a terminal to confirm on (with --yes).
    #[arg(long)]
    pub allow_delete: bool,
    /// How the plan runs: actions at once, per frame, retries.
    #[command(flatten)]
    pub execution: super::execution::ExecArgs,
    /// After the first SIGINT/SIGTERM, how long running actions may take before apply stops
    /// waiting for them (they are then recorded as left running on the hypervisor).
    #[arg(long, default_value = "60s", value_parser = crate::time::parse_duration, value_name = "D")]
    pub drain_timeout: Duration,
    /// Run what maintenance windows hold back (recorded in the audit trail, with the windows
    /// and the actions it let through).
    #[arg(long)]
    pub ignore_windows: bool,
    /// When maintenance windows hold work back, wait for the next opening and apply again
    /// (until nothing is held; SIGINT or SIGTERM ends the wait).
    #[arg(long, conflicts_with = "ignore_windows")]
    pub wait_for_window: bool,
    /// How long to wait for work the backend carries out (a migration in flight) before the
    /// plan and before the final check; what is still in flight then is reported, exit 1.
    #[arg(long, default_value = "30m", value_parser = crate::time::parse_duration, value_name = "D")]
    pub wait_timeout: Duration,
    /// First run the plan on a digital twin of the observed estate (a scratch simulator, on
    /// virtual time); send nothing to the backend unless it converged there. The report goes
    /// into the audit trail.
    #[arg(long)]
    pub rehearse: bool,
}

pub(crate) fn run(cli: &Cli, args: &Args, edge: &Edge) -> anyhow::Result<ExitCode> {
    let clock = &edge.clock;
    edge.runtime.block_on(async {
        loop {
            let mut next_window = None;
            let code = run_async(cli, args, clock, &mut next_window).await?;
            let (true, Some(opens)) = (args.wait_for_window, next_window) else { return Ok(code) };
            println!("\nWaiting for the maintenance window that opens at {opens} (--wait-for-window).");
            if !wait_for(cli, clock, opens).await? {
                println!("Stopped while waiting for the window: not converged; nothing more was started.");
                return Ok(ExitCode::from(130));
            }
        }
    })?
}

/// Waits until `opens` on the clock windows read (a set clock: on the simulator's virtual
/// time, which is then saved so that the next run starts from it). Returns false when a signal
/// ended the wait.
async fn wait_for(cli: &Cli, clock: &WallClock, opens: jiff::Timestamp) -> anyhow::Result<bool> {
    use tokio::signal::unix::{SignalKind, signal};
    let Some((sim, _dir)) = super::open_backend(cli, crate::app::open::Access::Write)? else {
        bail!("the backend could not be opened")
    };
    let now = clock.now(sim.now_ms())?;
    let (mut int, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    let waited = crate::app::reconcile::until(clock, &sim, opens, now);
    tokio::select! {
        () = waited => {}
        _ = int.recv() => return Ok(false),
        _ = term.recv() => return Ok(false),
    }
    sim.save_time().await?;
    Ok(true)
}

/// The desired state an apply converges to, and where it came from.
struct Desired {
    estate: Estate,
    dir: PathBuf,
    commit: Option<String>,
    digest: String,
}

fn load_desired(dir: &Path, git_ref: Option<&str>) -> Result<Desired, ExitCode> {
    match load_manifests_sealed(dir, git_ref) {
        Ok((estate, commit, digest)) => Ok(Desired { estate, dir: dir.to_path_buf(), commit, digest }),
        Err(d) => {
            let _ = print_diagnostics(&mut crate::say::Stderr::new(module_path!()), &d);
            say!("{}: invalid manifests: nothing was applied", dir.display());
            Err(ExitCode::from(1))
        }
    }
}

/// One apply; `next_window` is set to when the next maintenance window opens when one held
/// work back.
async fn run_async(
    cli: &Cli,
    args: &Args,
    clock: &WallClock,
    next_window: &mut Option<jiff::Timestamp>,
) -> anyhow::Result<ExitCode> {
    let signer = cli.audit_signer()?;
    // A saved plan is checked before anything is opened: a refusal touches nothing.
    let saved = match &args.plan {
        Some(file) => Some(SavedPlan::read(file)?),
        None => None,
    };
    if let Some(saved) = &saved {
        engine::check_plan(&saved.plan.actions).map_err(|e| {
            anyhow::anyhow!("{} is malformed: {e}; nothing was done", args.plan.as_ref().unwrap().display())
        })?;
    }
    let desired = match (&saved, &args.dir) {
        // Reading the manifests (and `git`, for a ref) blocks: off the runtime's other tasks.
        (None, Some(dir)) => match blocking(|| load_desired(dir, args.git_ref.as_deref())) {
            Ok(d) => d,
            Err(code) => return Ok(code),
        },
        (Some(saved), dir) => {
            let dir = dir.clone().unwrap_or_else(|| PathBuf::from(&saved.manifests));
            let git_ref = saved.commit.clone();
            match blocking(|| load_desired(&dir, git_ref.as_deref())) {
                Ok(d) if d.digest == saved.manifests_digest => d,
                Ok(d) => bail!(
                    "the manifests in {} differ from those {} was made from (digest {} now, {} then); nothing was done. Review a new plan",
                    dir.display(),
                    args.plan.as_ref().unwrap().display(),
                    short(&d.digest),
                    short(&saved.manifests_digest)
                ),
                Err(code) => return Ok(code),
            }
        }
        (None, None) => unreachable!("clap requires DIR or --plan"),
    };
    // A signed trail and no key: refused before the state directory is opened.
    crate::store::audit::require_key(&cli.state_dir, signer.is_some())?;
    // Opening reads the state directory (the simulator's database, the trail's last segment):
    // off the runtime's other tasks.
    let Some((sim, dir)) = blocking(|| super::open_backend(cli, crate::app::open::Access::Write))? else {
        return Ok(ExitCode::from(1));
    };
    sim.adopt_names(&desired.estate);
    let _lock = lock::acquire(&dir, "apply", None)?;
    let log = blocking(|| AuditLog::open_signed(&dir, signer))?;
    let writer = AuditWriter::start(log.clone());
    let closed = engine::close_dangling(&log, &writer).await?;
    if closed > 0 {
        say!(
            "note: a previous run stopped during {closed} action(s); recorded them as interrupted, observing the estate again"
        );
    }
    let stopper = signals::install(args.drain_timeout)?;
    let settings = args.execution.settings();
    let options = PlanOptions { rates: sim.rates().await, limits: settings.limits(), ..Default::default() };

    // Work a killed predecessor left running on the backend ends first: planning around a
    // migration in flight would plan only half of what the manifests want. The plan is then
    // made from that last observation.
    let (observed, fresh) = match &saved {
        None => {
            let (observed, plan) = settle(&sim, &desired, options, args.wait_timeout, &stopper).await?;
            if let Some(sig) = stopper.signal() {
                say!("{}: stopped before planning; nothing was started", sig.name());
                return Ok(ExitCode::from(sig.exit_code()));
            }
            if !plan.in_progress.is_empty() {
                report_in_flight(&plan.in_progress, args.wait_timeout);
                return Ok(ExitCode::from(1));
            }
            (observed, Some(plan))
        }
        Some(_) => (sim.observe().await?, None),
    };
    let meta = blocking(|| snapshot::save(&dir, &observed, "observe (apply)"))?;
    // A saved plan is derived again from the manifests and this observation (the state it was
    // sealed against, when the fingerprints agree, checked below), under the options `plan`
    // may have used: its actions must be exactly those.
    let derived: Vec<Plan> = match &saved {
        Some(_) => [PlanOptions { rates: options.rates, ..Default::default() }, PlanOptions::default()]
            .into_iter()
            .map(|o| powerplane_model::plan(&desired.estate, &observed, o))
            .collect(),
        None => Vec::new(),
    };
    // The plan was made from it; what is applied is checked against a new observation. A
    // rehearsal loads it into its twin.
    let for_twin = args.rehearse.then_some(observed);
    let plan = match (&saved, fresh) {
        (Some(saved), _) => {
            if saved.fingerprint != meta.fingerprint {
                bail!(
                    "the estate changed since {} was made (it was made against state {}, the estate is now in state {}); nothing was done. Make a new plan",
                    args.plan.as_ref().unwrap().display(),
                    short(&saved.fingerprint),
                    short(&meta.fingerprint)
                );
            }
            if let Err(e) = crate::saved_plan::recheck(&saved.plan, &derived) {
                bail!(
                    "{} is refused: {e}; {}",
                    args.plan.as_ref().unwrap().display(),
                    crate::saved_plan::PlanMismatch::FIX
                );
            }
            saved.plan.clone()
        }
        (None, Some(plan)) => plan,
        (None, None) => unreachable!("a fresh plan is made above"),
    };
    if plan.findings.iter().any(powerplane_model::Diagnostic::is_error) {
        print_diagnostics(&mut crate::say::Stderr::new(module_path!()), &plan.findings)?;
        say!("{}: invalid manifests: nothing was applied", desired.dir.display());
        return Ok(ExitCode::from(1));
    }
    let windows = match crate::windows::resolve(&desired.estate) {
        Ok(w) => w,
        Err(e) => {
            say!("error: {e}; nothing was applied");
            return Ok(ExitCode::from(1));
        }
    };
    let stdout = std::io::stdout();
    let title = format!("powerplane apply: {} on {}", desired.dir.display(), sim.describe(&cli.state_dir));
    write!(stdout.lock(), "{}", render::text(&plan, &title, render::Style::detect(&stdout)))?;
    if !plan.errors.is_empty() {
        say!("the plan has errors: nothing was applied");
        return Ok(ExitCode::from(1));
    }
    // Maintenance windows: what they hold back is not started (unless overridden, on record).
    let now = clock.now(sim.now_ms())?;
    let (plan, held) = if windows.is_empty() {
        (plan, Vec::new())
    } else {
        let (runs, held) = crate::windows::gate(plan.clone(), &desired.estate, &windows, now);
        if args.ignore_windows && !held.is_empty() {
            let names: Vec<&str> = windows.iter().map(|w| w.spec.name.as_str()).collect();
            let ids: Vec<&str> = held.iter().map(|h| h.id.0.as_str()).collect();
            let draft = audit::Draft {
                plan_id: sealed_plan_id(&meta.fingerprint),
                kind: "IgnoreWindows".into(),
                object: format!("Settings/maintenanceWindows: {}", names.join(", ")),
                command: "powerplane apply --ignore-windows".into(),
                message: Some(format!(
                    "--ignore-windows: {} action(s) held by the windows run outside them: {}",
                    held.len(),
                    ids.join(", ")
                )),
                ..Default::default()
            };
            writer.write(vec![(audit::Event::Override, draft)]).await?;
            say!(
                "warning: --ignore-windows: {} action(s) run outside their maintenance windows (recorded in the audit trail)",
                held.len()
            );
            (plan, Vec::new())
        } else {
            (runs, held)
        }
    };
    if !held.is_empty() {
        *next_window =
            held.iter().filter_map(|h| h.opens).min().or_else(|| crate::windows::next_opening(&windows, now));
        let mut out = stdout.lock();
        writeln!(
            out,
            "\nHeld for maintenance windows ({} action(s); `--ignore-windows` overrides, on record):",
            held.len()
        )?;
        for h in &held {
            writeln!(out, "  - {} {}: {}", h.id, h.what, h.reason)?;
        }
    }
    if plan.actions.is_empty() && !held.is_empty() {
        let opens = held.iter().filter_map(|h| h.opens).min();
        println!(
            "Not converged: everything left is held for a maintenance window{}; nothing was changed.",
            opens.map(|t| format!(" (the next opens at {t})")).unwrap_or_default()
        );
        return Ok(ExitCode::from(1));
    }
    if plan.actions.is_empty() {
        // Nothing to do is "converged" only when nothing is in flight either.
        return Ok(if plan.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    if let Some(observed) = for_twin {
        let r = crate::rehearsal::rehearse(&observed, &desired.estate, &plan, options, settings).await?;
        drop(observed);
        print!("\n{}", r.render());
        let draft = audit::Draft {
            plan_id: sealed_plan_id(&meta.fingerprint),
            kind: "Rehearsal".into(),
            object: format!("Plan/plan-{}", short(&meta.fingerprint)),
            command: "powerplane apply --rehearse".into(),
            result: Some(if r.converged { audit::ActionResult::Succeeded } else { audit::ActionResult::Failed }),
            message: Some(serde_json::to_string(&r)?),
            duration_ms: Some(r.duration.as_millis() as u64),
            ..Default::default()
        };
        writer.write(vec![(audit::Event::Rehearsal, draft)]).await?;
        if !r.converged {
            println!("The rehearsal did not converge: nothing was sent to {}.", sim.describe(&cli.state_dir));
            return Ok(ExitCode::from(1));
        }
    }
    let deletions = plan.count(ActionKind::DeletePartition);
    let interactive = std::io::stdin().is_terminal();
    if deletions > 0 && !args.allow_delete && (args.yes || !interactive) {
        say!(
            "refusing to delete {deletions} partition(s) without a person confirming: add --allow-delete (with --yes) to delete non-interactively; nothing was applied"
        );
        return Ok(ExitCode::from(1));
    }
    if !args.yes && !confirm(plan.actions.len(), deletions)? {
        say!("nothing was applied");
        return Ok(ExitCode::from(1));
    }

    let source = match &desired.commit {
        Some(c) => Source::Commit(c),
        None => Source::Tree(&desired.dir),
    };
    let run = Run {
        backend: &sim,
        desired: &desired.estate,
        windows: (!args.ignore_windows).then(|| windows.clone()),
        source,
        plan_id: sealed_plan_id(&meta.fingerprint),
        stop: Some(stopper.receiver()),
        clock: clock.clone(),
    };
    let reporter = Arc::new(Reporter::new(&plan));
    let report = run.execute(&plan, settings, &writer, reporter.clone()).await?;
    reporter.finish();
    // The report carries the actions; the plan's change details are not needed again.
    drop(plan);
    let (ok, failed, skipped) = report.counts();
    let mut out = stdout.lock();
    let not_needed = match report.not_needed() {
        0 => String::new(),
        n => format!(", {n} not needed (onFailure steps: nothing failed)"),
    };
    writeln!(out, "\nApplied: {ok} succeeded, {failed} failed, {skipped} skipped{not_needed}.")?;
    for (a, o) in &report.results {
        let line = match o {
            Outcome::Failed { error, attempts } => {
                format!(
                    "  x {} {} {}: {error} ({})",
                    a.id,
                    a.kind(),
                    a.op.object(),
                    crate::words::count(*attempts, "attempt")
                )
            }
            Outcome::Skipped { because } => {
                format!("  - {} {} {}: skipped because {because} failed", a.id, a.kind(), a.op.object())
            }
            Outcome::NotStarted => format!("  - {} {} {}: not started", a.id, a.kind(), a.op.object()),
            Outcome::Held { reason } => format!("  - {} {} {}: {reason}", a.id, a.kind(), a.op.object()),
            Outcome::LeftRunning => format!(
                "  ~ {} {} {}: left running on the hypervisor (the next run observes it)",
                a.id,
                a.kind(),
                a.op.object()
            ),
            Outcome::Succeeded { .. } | Outcome::NotNeeded => continue,
        };
        writeln!(out, "{line}")?;
    }
    for w in suspend_warnings(&desired.estate, &report) {
        writeln!(out, "warning: {w}")?;
    }
    drop(out);
    if let Some(sig) = stopper.signal() {
        let after = sim.observe().await?;
        blocking(|| snapshot::save(&dir, &after, "observe (after apply)"))?;
        println!("Stopped by {}: not converged; run apply again to carry on.", sig.name());
        return Ok(ExitCode::from(sig.exit_code()));
    }
    // The last word comes from the backend: what it still carries out is waited for, then the
    // manifests are planned against a fresh observation.
    // The simulator's journal is folded into the database meanwhile, on the other core.
    let folding = tokio::spawn({
        let sim = sim.clone();
        async move { sim.checkpoint().await }
    });
    let (after, again) = settle(&sim, &desired, options, args.wait_timeout, &stopper).await?;
    folding.await??;
    blocking(|| snapshot::save(&dir, &after, "observe (after apply)"))?;
    if let Some(sig) = stopper.signal() {
        println!("Stopped by {} while waiting: not converged; run apply again to carry on.", sig.name());
        return Ok(ExitCode::from(sig.exit_code()));
    }
    let converged = converged_report(&again, args.wait_timeout)?;
    // What the executor held for a window (it would have overrun it) waits for the next one.
    let gate_held =
        report.results.iter().any(|(_, o)| matches!(o, Outcome::Held { reason } if reason.starts_with("held: ")));
    if gate_held && next_window.is_none() {
        let now = clock.now(sim.now_ms())?;
        *next_window = crate::windows::next_opening(&windows, now);
    }
    if !held.is_empty() {
        println!("{} action(s) were held for maintenance windows: they run when a window allows.", held.len());
    }
    Ok(if report.all_succeeded() && converged && held.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Says whether `again` (the plan after the apply and the wait) is empty; if not, what remains
/// and why.
/// Cluster members whose migration left them unresponsive longer than their cluster declares
/// (`unresponsiveSeconds`): the declaration decides whether and how far the heartbeat timeout is
/// raised, so it must not be below what the estate measures.
fn suspend_warnings(desired: &Estate, report: &engine::Report) -> Vec<String> {
    let mut out = Vec::new();
    for (a, o) in &report.results {
        let (powerplane_model::Op::MigratePartition { partition, .. }, Outcome::Succeeded { suspended: Some(d), .. }) =
            (&a.op, o)
        else {
            continue;
        };
        let Some(c) = desired.clusters.values().find(|c| c.spec.members.contains(partition)) else { continue };
        if let Some(u) = c.spec.heartbeat().and_then(|h| h.unresponsive_seconds)
            && d.as_secs_f64() > f64::from(u)
        {
            out.push(format!(
                "{partition} was unresponsive for {:.1} s during its migration, longer than the {u} s Cluster/{} declares (unresponsiveSeconds): raise the declaration, or the next migration may be protected too little",
                d.as_secs_f64(),
                c.metadata.name
            ));
        }
    }
    out
}

fn converged_report(again: &Plan, wait: Duration) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    if again.is_empty() && again.errors.is_empty() {
        writeln!(out, "Converged: the estate matches the manifests and nothing is in flight.")?;
        return Ok(true);
    }
    writeln!(
        out,
        "Not converged: {} actions remain, {} in flight, {} deferred, {} errors.",
        again.actions.len(),
        again.in_progress.len(),
        again.deferred.len(),
        again.errors.len()
    )?;
    for d in &again.deferred {
        writeln!(out, "  deferred: {d}")?;
    }
    for a in &again.actions {
        writeln!(out, "  remains: {} {}: {}", a.kind(), a.op.object(), a.reason)?;
    }
    for p in &again.in_progress {
        writeln!(out, "  in flight: {p}")?;
    }
    for e in &again.errors {
        writeln!(out, "  error: {e}")?;
    }
    if !again.in_progress.is_empty() {
        writeln!(
            out,
            "  (still in flight after waiting {}; run apply again once it has ended)",
            crate::time::human(wait)
        )?;
    } else {
        writeln!(out, "  run apply again once the failures are fixed")?;
    }
    Ok(false)
}

/// Waits (bounded by `timeout`, and by a stop signal) until nothing the manifests manage is
/// in flight on the backend, printing progress. Returns the last observation and its plan
/// (whose `in_progress` is what is still in flight).
async fn settle(
    sim: &crate::app::backend::Backend,
    desired: &Desired,
    options: PlanOptions,
    timeout: Duration,
    stopper: &Stopper,
) -> anyhow::Result<(Estate, Plan)> {
    let start = tokio::time::Instant::now();
    let mut last = Vec::new();
    loop {
        let observed = sim.observe().await?;
        let plan = powerplane_model::plan(&desired.estate, &observed, options);
        if plan.in_progress.is_empty() || start.elapsed() >= timeout || stopper.signal().is_some() {
            // What ended while this waited is this run's to record: the next command starts
            // from it (a migration a killed run left behind ended here, not in the past).
            sim.save_time().await?;
            return Ok((observed, plan));
        }
        if plan.in_progress != last {
            for p in &plan.in_progress {
                say!("waiting: {p}");
            }
            last = plan.in_progress;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            () = stopper.draining() => {}
        }
    }
}

fn report_in_flight(left: &[String], wait: Duration) {
    say!(
        "still in flight on the backend after waiting {}; nothing was applied (run apply again once it has ended, or raise --wait-timeout):",
        crate::time::human(wait)
    );
    for l in left {
        say!("  {l}");
    }
}

/// Asks on a terminal; refuses without one (use --yes in scripts).
fn confirm(n: usize, deletions: usize) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to apply {n} actions without confirmation: stdin is not a terminal; add --yes to apply non-interactively"
        );
    }
    let del = if deletions > 0 { format!(" ({deletions} of them DELETE partitions)") } else { String::new() };
    let mut prompt = crate::say::Stderr::new(module_path!());
    write!(prompt, "Apply these {n} actions{del}? Only 'yes' is accepted: ")?;
    prompt.flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
