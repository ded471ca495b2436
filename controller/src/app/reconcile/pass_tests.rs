//! The pass's sequence, with a steer that records each step: the bundled lab manifests
//! against the simulated lab converge in one pass, every step in order and the run on record;
//! a steer that stops at review runs and records nothing.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use powerplane_model::{Action, Plan, PlanOptions, SourceFile};

use super::{Convergence, Gated, Pass, Planned, Source, Steer};
use crate::app::backend::Backend;
use crate::backend::Hypervisor;
use crate::engine::{Outcome, Progress, Report, Settings};
use crate::sim::{Clock, LAB_INVENTORY, Simulator, realise};
use crate::store::StateDir;
use crate::store::audit::AuditLog;
use crate::store::writer::AuditWriter;

/// Records the steps; stops at review when told to.
struct Recording {
    steps: Vec<&'static str>,
    stop_at_review: bool,
    started: Arc<Mutex<usize>>,
}

struct Count(Arc<Mutex<usize>>);

impl Progress for Count {
    fn started(&self, _: &Action) {
        *self.0.lock().unwrap() += 1;
    }
    fn finished(&self, _: &Action, _: &Outcome) {}
}

impl Steer for Recording {
    type Out = Option<Convergence>;

    async fn observe(&mut self, pass: &Pass<'_>) -> anyhow::Result<ControlFlow<Self::Out, Planned>> {
        self.steps.push("observe");
        let observed = pass.backend.observe().await?;
        let plan = powerplane_model::plan(pass.desired, &observed, pass.options);
        Ok(ControlFlow::Continue(Planned { plan, id: "test-plan".into() }))
    }

    fn unresolved_windows(&mut self, e: crate::windows::WindowError) -> anyhow::Result<Self::Out> {
        panic!("the lab's windows resolve: {e}")
    }

    async fn review(&mut self, _: &Pass<'_>, planned: Planned) -> anyhow::Result<ControlFlow<Self::Out, Planned>> {
        self.steps.push("review");
        assert!(!planned.plan.actions.is_empty(), "the lab has work to do");
        Ok(if self.stop_at_review { ControlFlow::Break(None) } else { ControlFlow::Continue(planned) })
    }

    async fn gated(&mut self, _: &Pass<'_>, gated: &Gated, id: &str) -> anyhow::Result<ControlFlow<Self::Out>> {
        self.steps.push("gated");
        assert_eq!(id, "test-plan");
        assert!(gated.held.is_empty() && gated.overridden.is_empty());
        Ok(ControlFlow::Continue(()))
    }

    fn progress(&mut self, _: &Plan) -> Arc<dyn Progress> {
        self.steps.push("progress");
        Arc::new(Count(self.started.clone()))
    }

    async fn executed(&mut self, pass: &Pass<'_>, gated: Gated, report: Report) -> anyhow::Result<Self::Out> {
        self.steps.push("executed");
        assert_eq!(report.results.len(), gated.plan.actions.len());
        let after = pass.backend.observe().await?;
        let again = powerplane_model::plan(pass.desired, &after, pass.options);
        Ok(Some(Convergence::of(&again).ran(&report)))
    }
}

async fn pass_over_the_lab(stop_at_review: bool) -> (Recording, Option<Convergence>, usize) {
    let inventory = powerplane_model::load_inventory(&[SourceFile::new("inventory.yaml", LAB_INVENTORY)]).unwrap();
    let backend = Backend::Sim(Simulator::new(realise(inventory, 42).unwrap(), None, Clock::new(0.0)));
    let manifests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/lab");
    let desired = crate::manifest_dir::load_manifests(&manifests).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let dir = StateDir::open(&scratch.path().join("state")).unwrap();
    let log = AuditLog::open_signed(&dir, None).unwrap();
    let writer = AuditWriter::start(log.clone());
    let pass = Pass {
        backend: &backend,
        desired: &desired,
        options: PlanOptions::default(),
        settings: Settings::default(),
        source: Source::Commit("c0ffee"),
        overrides: None,
        stop: None,
        clock: Default::default(),
    };
    let mut steer = Recording { steps: Vec::new(), stop_at_review, started: Arc::default() };
    let out = pass.run(&mut steer, &writer).await.unwrap();
    writer.sync().await.unwrap();
    let records = log.records().unwrap().len();
    assert_eq!(*steer.started.lock().unwrap() > 0, !stop_at_review);
    (steer, out, records)
}

#[tokio::test(start_paused = true)]
async fn a_pass_runs_its_steps_in_order_and_the_lab_converges_on_record() {
    let (steer, out, records) = pass_over_the_lab(false).await;
    assert_eq!(steer.steps, ["observe", "review", "gated", "progress", "executed"]);
    let convergence = out.expect("the pass ran to its end");
    assert!(convergence.converged(), "{convergence:?}");
    assert!(records > 0, "the run is on record");
}

#[tokio::test(start_paused = true)]
async fn a_steer_that_stops_at_review_runs_nothing_and_records_nothing() {
    let (steer, out, records) = pass_over_the_lab(true).await;
    assert_eq!(steer.steps, ["observe", "review"]);
    assert_eq!(out, None);
    assert_eq!(records, 0);
}
