//! `powerplane apply DIR`: plan, show, confirm, execute through the backend with the audit
//! trail, wait for what the backend still carries out, then observe again and say whether the
//! estate converged. Exit 0 only when that last observation plans nothing and nothing is in
//! flight; 1 otherwise; 130/143 when a signal stopped it.

use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use powerplane_model::{ActionKind, Estate, Plan, PlanOptions};

use super::progress::Reporter;
use super::report::print_diagnostics;
use super::{Cli, Edge};
use crate::app::reconcile::{
    Convergence, Gated, Override, Pass, Planned, Source, Steer, sealed_plan_id, settle, short,
};
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
use crate::store::{StateDir, lock, snapshot};

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
    let pass = Pass {
        backend: &sim,
        desired: &desired.estate,
        options: PlanOptions { rates: sim.rates().await, limits: settings.limits(), ..Default::default() },
        settings,
        source: match &desired.commit {
            Some(c) => Source::Commit(c),
            None => Source::Tree(&desired.dir),
        },
        overrides: args.ignore_windows.then_some(Override { command: "powerplane apply --ignore-windows" }),
        stop: Some(stopper.receiver()),
        clock: clock.clone(),
    };
    let mut steer = Apply {
        cli,
        args,
        saved: saved.as_ref(),
        desired: &desired,
        dir: &dir,
        stopper: &stopper,
        writer: &writer,
        for_twin: None,
        reporter: None,
        next_window: None,
    };
    let code = pass.run(&mut steer, &writer).await;
    *next_window = steer.next_window;
    code
}

/// How `apply` steers a pass: it waits for work in flight before it plans (or checks a saved
/// plan against a fresh observation), prints the plan, asks before it runs, and waits for the
/// backend again before it says whether the estate converged.
struct Apply<'a> {
    cli: &'a Cli,
    args: &'a Args,
    saved: Option<&'a SavedPlan>,
    desired: &'a Desired,
    dir: &'a StateDir,
    stopper: &'a Stopper,
    writer: &'a AuditWriter,
    /// The observation the plan was made from, for a rehearsal's twin.
    for_twin: Option<Estate>,
    reporter: Option<Arc<Reporter>>,
    /// When the next window that holds work opens.
    next_window: Option<jiff::Timestamp>,
}

impl Steer for Apply<'_> {
    type Out = ExitCode;

    async fn observe(&mut self, pass: &Pass<'_>) -> anyhow::Result<ControlFlow<ExitCode, Planned>> {
        let (args, sim) = (self.args, pass.backend);
        // Work a killed predecessor left running on the backend ends first. The plan is then
        // made from that last observation.
        let (observed, fresh) = match self.saved {
            None => {
                let (observed, plan) =
                    settle(sim, pass.desired, pass.options, (args.wait_timeout, self.stopper), print_waiting).await?;
                if let Some(sig) = self.stopper.signal() {
                    say!("{}: stopped before planning; nothing was started", sig.name());
                    return Ok(ControlFlow::Break(ExitCode::from(sig.exit_code())));
                }
                if !plan.in_progress.is_empty() {
                    report_in_flight(&plan.in_progress, args.wait_timeout);
                    return Ok(ControlFlow::Break(ExitCode::from(1)));
                }
                (observed, Some(plan))
            }
            Some(_) => (sim.observe().await?, None),
        };
        let meta = blocking(|| snapshot::save(self.dir, &observed, "observe (apply)"))?;
        let id = sealed_plan_id(&meta.fingerprint);
        let plan = match (self.saved, fresh) {
            (Some(saved), _) => {
                let file = args.plan.as_ref().unwrap().display();
                if saved.fingerprint != meta.fingerprint {
                    bail!(
                        "the estate changed since {file} was made (it was made against state {}, the estate is now in state {}); nothing was done. Make a new plan",
                        short(&saved.fingerprint),
                        short(&meta.fingerprint)
                    );
                }
                // A saved plan is derived again from the manifests and this observation (the
                // state it was sealed against), under the options `plan` may have used: its
                // actions must be exactly those.
                let derived: Vec<Plan> =
                    [PlanOptions { rates: pass.options.rates, ..Default::default() }, PlanOptions::default()]
                        .into_iter()
                        .map(|o| powerplane_model::plan(pass.desired, &observed, o))
                        .collect();
                if let Err(e) = crate::saved_plan::recheck(&saved.plan, &derived) {
                    bail!("{file} is refused: {e}; {}", crate::saved_plan::PlanMismatch::FIX);
                }
                saved.plan.clone()
            }
            (None, Some(plan)) => plan,
            (None, None) => unreachable!("a fresh plan is made above"),
        };
        // The plan was made from it; what is applied is checked against a new observation. A
        // rehearsal loads it into its twin.
        self.for_twin = args.rehearse.then_some(observed);
        if plan.findings.iter().any(powerplane_model::Diagnostic::is_error) {
            print_diagnostics(&mut crate::say::Stderr::new(module_path!()), &plan.findings)?;
            say!("{}: invalid manifests: nothing was applied", self.desired.dir.display());
            return Ok(ControlFlow::Break(ExitCode::from(1)));
        }
        Ok(ControlFlow::Continue(Planned { plan, id }))
    }

    fn unresolved_windows(&mut self, e: crate::windows::WindowError) -> anyhow::Result<ExitCode> {
        say!("error: {e}; nothing was applied");
        Ok(ExitCode::from(1))
    }

    async fn review(&mut self, pass: &Pass<'_>, planned: Planned) -> anyhow::Result<ControlFlow<ExitCode, Planned>> {
        let stdout = std::io::stdout();
        let title = format!(
            "powerplane apply: {} on {}",
            self.desired.dir.display(),
            pass.backend.describe(&self.cli.state_dir)
        );
        write!(stdout.lock(), "{}", render::text(&planned.plan, &title, render::Style::detect(&stdout)))?;
        if !planned.plan.errors.is_empty() {
            say!("the plan has errors: nothing was applied");
            return Ok(ControlFlow::Break(ExitCode::from(1)));
        }
        Ok(ControlFlow::Continue(planned))
    }

    async fn gated(&mut self, pass: &Pass<'_>, gated: &Gated, id: &str) -> anyhow::Result<ControlFlow<ExitCode>> {
        let (plan, held) = (&gated.plan, &gated.held);
        if !gated.overridden.is_empty() {
            say!(
                "warning: --ignore-windows: {} action(s) run outside their maintenance windows (recorded in the audit trail)",
                gated.overridden.len()
            );
        }
        if !held.is_empty() {
            self.next_window = gated.next_opening();
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "\nHeld for maintenance windows ({} action(s); `--ignore-windows` overrides, on record):",
                held.len()
            )?;
            for h in held {
                writeln!(out, "  - {} {}: {}", h.id, h.what, h.reason)?;
            }
        }
        if plan.actions.is_empty() && !held.is_empty() {
            let opens = held.iter().filter_map(|h| h.opens).min();
            println!(
                "Not converged: everything left is held for a maintenance window{}; nothing was changed.",
                opens.map(|t| format!(" (the next opens at {t})")).unwrap_or_default()
            );
            return Ok(ControlFlow::Break(ExitCode::from(1)));
        }
        if plan.actions.is_empty() {
            // Nothing to do is "converged" only when nothing is in flight either.
            let converged = Convergence::of(plan).converged();
            return Ok(ControlFlow::Break(if converged { ExitCode::SUCCESS } else { ExitCode::from(1) }));
        }
        let describe = || pass.backend.describe(&self.cli.state_dir);
        if let Some(observed) = self.for_twin.take() {
            let r = crate::rehearsal::rehearse(&observed, pass.desired, plan, pass.options, pass.settings).await?;
            drop(observed);
            print!("\n{}", r.render());
            let draft = audit::Draft {
                plan_id: id.to_owned(),
                kind: "Rehearsal".into(),
                object: format!("Plan/{id}"),
                command: "powerplane apply --rehearse".into(),
                result: Some(if r.converged { audit::ActionResult::Succeeded } else { audit::ActionResult::Failed }),
                message: Some(serde_json::to_string(&r)?),
                duration_ms: Some(r.duration.as_millis() as u64),
                ..Default::default()
            };
            self.writer.write(vec![(audit::Event::Rehearsal, draft)]).await?;
            if !r.converged {
                println!("The rehearsal did not converge: nothing was sent to {}.", describe());
                return Ok(ControlFlow::Break(ExitCode::from(1)));
            }
        }
        let deletions = plan.count(ActionKind::DeletePartition);
        let interactive = std::io::stdin().is_terminal();
        if deletions > 0 && !self.args.allow_delete && (self.args.yes || !interactive) {
            say!(
                "refusing to delete {deletions} partition(s) without a person confirming: add --allow-delete (with --yes) to delete non-interactively; nothing was applied"
            );
            return Ok(ControlFlow::Break(ExitCode::from(1)));
        }
        if !self.args.yes && !confirm(plan.actions.len(), deletions)? {
            say!("nothing was applied");
            return Ok(ControlFlow::Break(ExitCode::from(1)));
        }
        Ok(ControlFlow::Continue(()))
    }

    fn progress(&mut self, plan: &Plan) -> Arc<dyn engine::Progress> {
        let reporter = Arc::new(Reporter::new(plan));
        self.reporter = Some(reporter.clone());
        reporter
    }

    async fn executed(&mut self, pass: &Pass<'_>, gated: Gated, report: engine::Report) -> anyhow::Result<ExitCode> {
        let (sim, stopper) = (pass.backend, self.stopper);
        if let Some(r) = self.reporter.take() {
            r.finish();
        }
        let Gated { plan, held, windows, .. } = gated;
        // The report carries the actions; the plan's change details are not needed again.
        drop(plan);
        print_report(&report, pass.desired)?;
        if let Some(sig) = stopper.signal() {
            let after = sim.observe().await?;
            blocking(|| snapshot::save(self.dir, &after, "observe (after apply)"))?;
            println!("Stopped by {}: not converged; run apply again to carry on.", sig.name());
            return Ok(ExitCode::from(sig.exit_code()));
        }
        // The last word comes from the backend: what it still carries out is waited for, then
        // the manifests are planned against a fresh observation.
        // The simulator's journal is folded into the database meanwhile, on the other core.
        let folding = tokio::spawn({
            let sim = sim.clone();
            async move { sim.checkpoint().await }
        });
        let wait = self.args.wait_timeout;
        let (after, again) = settle(sim, pass.desired, pass.options, (wait, stopper), print_waiting).await?;
        folding.await??;
        blocking(|| snapshot::save(self.dir, &after, "observe (after apply)"))?;
        if let Some(sig) = stopper.signal() {
            println!("Stopped by {} while waiting: not converged; run apply again to carry on.", sig.name());
            return Ok(ExitCode::from(sig.exit_code()));
        }
        converged_report(&again, wait)?;
        // What the executor held for a window (it would have overrun it) waits for the next one.
        let gate_held =
            report.results.iter().any(|(_, o)| matches!(o, Outcome::Held { reason } if reason.starts_with("held: ")));
        if gate_held && self.next_window.is_none() {
            let now = pass.clock.now(sim.now_ms())?;
            self.next_window = crate::windows::next_opening(&windows, now);
        }
        if !held.is_empty() {
            println!("{} action(s) were held for maintenance windows: they run when a window allows.", held.len());
        }
        let converged = Convergence::of(&again).ran(&report).held(held.len()).converged();
        Ok(if converged { ExitCode::SUCCESS } else { ExitCode::from(1) })
    }
}

/// The run's summary and the actions that did not succeed, then the clusters' warnings.
fn print_report(report: &engine::Report, desired: &Estate) -> std::io::Result<()> {
    let (ok, failed, skipped) = report.counts();
    let mut out = std::io::stdout().lock();
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
    for w in suspend_warnings(desired, report) {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

/// Work in flight that a wait is for, as it changes.
fn print_waiting(in_flight: &[String]) {
    for p in in_flight {
        say!("waiting: {p}");
    }
}

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

/// Says whether `again` (the plan after the apply and the wait) is empty; if not, what remains
/// and why.
fn converged_report(again: &Plan, wait: Duration) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    if Convergence::of(again).converged() {
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
