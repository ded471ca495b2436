//! **VIOS maintenance: nothing depends on a VIOS when it stops, and it runs before what needs
//! it.** A VIOS that should run is started before the SEA changes, paging devices and partitions
//! that need it. A VIOS that should stop first loses its work: each partition paging through it
//! is switched to its other paging VIOS (`chhwres -o so`), its primary SEA fails over to the
//! backup (`ha_mode=standby`), and only then is it shut down. A VIOS that is the last one
//! bridging the network or paging for a partition that stays is not stopped: the plan fails
//! with what to do first.
//!
//! DESIGN §4 rule 2; seeds: ams-dual-vios-and-lpm.txt, lines 51–52 and 57 ("The active paging
//! VIOS partition of a running partition can be switched using the chhwres command"; "A failover
//! ... occurs if a paging VIOS partition is shut down or if a failover is manually triggered");
//! powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 453–456 ("standby forces a
//! failover situation", `chdev -dev ent4 -attr ha_mode=standby`).

use super::Planner;
use crate::action::Op;
use crate::manifest::{Kind, RunState};
use crate::names::{FrameName, PartitionName, ViosName};
use crate::plan::change::{ChangeKind, FieldChange};
use crate::plan::step::{Phase, Res};
use crate::status::PagingStatus;
use crate::status::{SeaHaMode, SeaState};

impl Planner<'_, '_> {
    pub(super) fn vios_starts(&mut self) {
        for pair in self.desired.vios_pairs.values() {
            let frame = &pair.spec.frame;
            for m in &pair.spec.members {
                let object = format!("{}/{}", Kind::ViosPair, pair.metadata.name);
                let state = self.vios_state_now(frame, &m.name).cloned();
                // An activation or shutdown under way settles on its own: nothing is issued
                // again, and nothing is converged until it has.
                if let Some(s) = state.as_ref().filter(|s| s.is_changing_power()) {
                    self.in_progress.push(format!("{object}: {} is {s} on {frame}", m.name));
                    continue;
                }
                let now = state.as_ref().is_some_and(|s| s.is_running());
                if now && self.observed.status.vios_lacks_rmc(frame, &m.name) {
                    match m.state {
                        // Its RMC connection comes some time after `Running`: what needs it
                        // (viosvrcmd, paging, LPM) waits, and nothing is converged meanwhile.
                        RunState::Running => self.in_progress.push(format!(
                            "{object}: {} runs on {frame}, its RMC connection not active (yet); what goes through it waits",
                            m.name
                        )),
                        RunState::Stopped => self.deferred.push(format!(
                            "{object}: the maintenance of {} waits: the HMC has no RMC connection to it, which its SEA failover and its operating system's shutdown need; restore RMC",
                            m.name
                        )),
                    }
                    continue;
                }
                let field = |old: &str, new: &str| {
                    vec![FieldChange {
                        path: format!("members.{}.state", m.name),
                        old: Some(old.into()),
                        new: Some(new.into()),
                    }]
                };
                match (m.state, now) {
                    (RunState::Running, false) => {
                        let i = self.push(
                            Op::StartVios {
                                frame: frame.clone(),
                                vios: m.name.clone(),
                                profile: self.observed.status.vios_profile(frame, &m.name),
                            },
                            format!("{} is down and should run (end of VIOS maintenance)", m.name),
                            vec![],
                            Phase::Configure,
                        );
                        if let Some(hw) = self.observed_index.vios_hardware(frame, &m.name) {
                            self.steps[i].consumes.push((Res::Memory(frame.clone()), hw.memory_mb.0));
                            self.steps[i]
                                .consumes
                                .push((Res::Procs(frame.clone()), u64::from(hw.proc_units.hundredths())));
                        }
                        self.frame_config.entry(frame.clone()).or_default().push(i);
                        self.vios_ready.entry((frame.clone(), m.name.clone())).or_default().push(i);
                        self.change(
                            ChangeKind::Update,
                            object,
                            Some(frame),
                            field("stopped", "running"),
                            format!("start {}", m.name),
                        );
                    }
                    (RunState::Stopped, true) => {
                        self.vios_stopping.insert((frame.clone(), m.name.clone()));
                        self.change(
                            ChangeKind::Update,
                            object,
                            Some(frame),
                            field("running", "stopped"),
                            format!("VIOS maintenance of {}", m.name),
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    /// VIOS maintenance (DESIGN §4 rule 2): move paging off the VIOS, fail its SEA over
    /// (`ha_mode=standby`), then shut it down.
    pub(super) fn vios_stops(&mut self) {
        let stopping: Vec<_> = self.vios_stopping.iter().cloned().collect();
        for (frame, vios) in stopping {
            let (mut deps, switches) = self.paging_off(&frame, &vios);
            deps.extend(&switches);
            deps.extend(self.sea_failover(&frame, &vios, &switches));
            let others_up = self.observed.status.vios.get(&frame).is_some_and(|m| {
                m.keys().any(|v| {
                    *v != vios
                        && self.vios_running_after(&frame, v)
                        && !self.vios_stopping.contains(&(frame.clone(), v.clone()))
                })
            });
            if !others_up {
                let staying: Vec<String> = self
                    .desired
                    .partitions
                    .values()
                    .filter(|p| self.placed_on(p, &frame) && p.spec.state == RunState::Running)
                    .map(|p| p.metadata.name.to_string())
                    .collect();
                if !staying.is_empty() {
                    self.errors.push(format!(
                        "{}: {vios} is the only running VIOS of {frame}; stopping it takes down the I/O of {}. Put the frame in maintenance (its partitions migrate away) first",
                        self.pair_object(&frame, &vios),
                        staying.join(", ")
                    ));
                    continue;
                }
                // Every partition leaves: stop only after they have.
                deps.extend(
                    self.leaves_frame.values().copied().filter(|i| self.steps[*i].op.frames().first() == Some(&&frame)),
                );
            }
            let i = self.push(
                Op::StopVios { frame: frame.clone(), vios: vios.clone() },
                format!("VIOS maintenance: {vios} should be stopped"),
                deps,
                Phase::Free,
            );
            if let Some(hw) = self.observed_index.vios_hardware(&frame, &vios) {
                self.steps[i].frees.push((Res::Memory(frame.clone()), hw.memory_mb.0));
                self.steps[i].frees.push((Res::Procs(frame.clone()), u64::from(hw.proc_units.hundredths())));
            }
        }
    }

    /// Every running partition that pages through `vios` stops paging through it before it
    /// stops: it leaves the frame, a failback already switches it, or it is switched to its
    /// other paging VIOS (`chhwres -r mem -o so`). Returns the steps that take partitions off
    /// the frame and the switches.
    // seeds: ams-dual-vios-and-lpm.txt, "The active paging VIOS partition of a running
    // partition can be switched using the chhwres command".
    fn paging_off(&mut self, frame: &FrameName, vios: &ViosName) -> (Vec<usize>, Vec<usize>) {
        let mut leaving = Vec::new();
        let mut switches = Vec::new();
        let paged: Vec<(PartitionName, PagingStatus)> = self
            .observed
            .status
            .partitions
            .iter()
            .filter(|(_, s)| &s.frame == frame && s.state.is_running())
            .filter_map(|(n, s)| s.paging.clone().filter(|p| p.current.as_ref() == Some(vios)).map(|p| (n.clone(), p)))
            .collect();
        for (p, pg) in paged {
            if let Some(i) = self.leaves_frame.get(&p) {
                leaving.push(*i);
                continue;
            }
            // A failback already moves it off this VIOS (to the other one): switching again
            // would toggle it back.
            if let Some(i) = self.paging_switch.get(&p) {
                switches.push(*i);
                continue;
            }
            let other = [Some(&pg.primary), pg.secondary.as_ref()].into_iter().flatten().find(|v| *v != vios).cloned();
            match other {
                Some(o)
                    if self.vios_running_after(frame, &o)
                        && !self.vios_stopping.contains(&(frame.clone(), o.clone())) =>
                {
                    let ready = self.vios_ready.get(&(frame.clone(), o.clone())).cloned().unwrap_or_default();
                    let i = self.push(
                        Op::SwitchPagingVios { frame: frame.clone(), partition: p.clone() },
                        format!("VIOS maintenance of {vios}: Partition/{p} pages through it; switch to {o} before {vios} stops"),
                        ready,
                        Phase::Failover,
                    );
                    switches.push(i);
                    self.paging_switch.insert(p.clone(), i);
                }
                _ => {
                    let object = self.pair_object(frame, vios);
                    self.errors.push(format!(
                        "{object}: {vios} cannot be stopped: Partition/{p} pages through it and has no other running paging VIOS; migrate or stop the partition first"
                    ));
                }
            }
        }
        (leaving, switches)
    }

    /// A VIOS whose SEA is primary fails it over to the running backup (`ha_mode=standby`)
    /// after the paging switches; with no backup running, the VIOS is not stopped while its SEA
    /// bridges the network of partitions that stay. Returns the failover step, if one is planned.
    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, "standby forces a
    // failover situation".
    fn sea_failover(&mut self, frame: &FrameName, vios: &ViosName, switches: &[usize]) -> Option<usize> {
        let members = self
            .observed
            .status
            .seas
            .values()
            .find(|ms| ms.iter().any(|m| &m.vios == vios) && self.observed_index.vios(frame, vios).is_some())?;
        let me = members.iter().find(|m| &m.vios == vios).expect("found");
        let partner_up = members.iter().any(|m| &m.vios != vios && m.state != SeaState::Inactive);
        if !matches!(me.state, SeaState::Primary | SeaState::PrimarySharing) {
            return None;
        }
        // The partner's SEA this plan creates (it was missing: its VIOS was down when this
        // one's was made) takes the network over once it exists.
        let made: Vec<usize> = if partner_up {
            Vec::new()
        } else {
            self.sea_created.iter().filter(|((f, v), _)| f == frame && v != vios).map(|(_, i)| *i).collect()
        };
        if partner_up || !made.is_empty() {
            let op = Op::SetSeaHaMode {
                frame: frame.clone(),
                vios: vios.clone(),
                device: me.device.clone(),
                mode: SeaHaMode::Standby,
            };
            let backup = if made.is_empty() { "the backup" } else { "the SEA this plan creates on its partner" };
            return Some(self.push(
                op,
                format!("VIOS maintenance of {vios}: fail its SEA over to {backup} (ha_mode=standby) before it stops"),
                switches.iter().copied().chain(made).collect(),
                Phase::Failover,
            ));
        }
        if me.state != SeaState::Standalone || self.desired.partitions.values().any(|p| self.placed_on(p, frame)) {
            let object = self.pair_object(frame, vios);
            self.errors.push(format!(
                "{object}: {vios} cannot be stopped: its SEA bridges the network of {frame} and no backup SEA is running; start the other VIOS first or move the partitions away"
            ));
        }
        None
    }

    /// `ViosPair/NAME`, the manifest object that asks for `vios` on `frame` (what an error
    /// about stopping it names for the operator to fix).
    fn pair_object(&self, frame: &FrameName, vios: &ViosName) -> String {
        let pair = self
            .desired
            .vios_pairs
            .values()
            .find(|p| &p.spec.frame == frame && p.spec.members.iter().any(|m| &m.name == vios));
        match pair {
            Some(p) => format!("{}/{}", Kind::ViosPair, p.metadata.name),
            None => format!("{}/{frame}", Kind::Frame),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired_with, render, replace};
    use crate::plan::{PlanOptions, apply, plan};

    /// Issue 32 item 5: a VIOS starting (a killed client's activation) is not started again,
    /// and nothing goes through it, not even the paging failback that waits for it; nor while
    /// it runs without RMC yet. The plan says it is in progress: not converged.
    #[test]
    fn a_vios_starting_or_without_rmc_is_in_progress_and_nothing_goes_through_it() {
        use crate::status::LparState;
        let f = crate::plan::fixture::frame("IBM_MMA_P6_102615A_SOLCHMS05");
        let vio1: crate::names::ViosName = "lpar_1_solchio05".parse().unwrap();
        let lpar6 = crate::plan::fixture::partition("lpar_6_sotchax11");
        let desired = crate::plan::fixture::lab_desired();
        let failed_over = || {
            let mut o = lab_converged();
            let pg = o.status.partitions.get_mut(&lpar6).unwrap().paging.as_mut().unwrap();
            pg.current = pg.secondary.clone();
            o
        };
        let mut starting = failed_over();
        starting.status.vios.get_mut(&f).unwrap().insert(vio1.clone(), LparState::Starting);
        let p = plan(&desired, &starting, PlanOptions::default());
        assert!(p.actions.is_empty(), "{}", render(&p));
        assert_eq!(p.in_progress, vec![format!("ViosPair/solchms05-vios: {vio1} is Starting on {f}")]);
        let mut no_rmc = failed_over();
        no_rmc.status.vios_without_rmc.entry(f.clone()).or_default().insert(vio1.clone());
        let p = plan(&desired, &no_rmc, PlanOptions::default());
        assert!(p.actions.is_empty(), "no failback onto a VIOS without RMC: {}", render(&p));
        assert_eq!(p.in_progress.len(), 1, "{:?}", p.in_progress);
        assert!(p.in_progress[0].contains("its RMC connection not active (yet)"), "{:?}", p.in_progress);
        // Once it has RMC, the failback.
        let p = plan(&desired, &failed_over(), PlanOptions::default());
        assert_eq!(p.actions.iter().map(|a| a.kind()).collect::<Vec<_>>(), vec![crate::ActionKind::SwitchPagingVios]);
    }

    /// The primary paging VIOS of lpar_6_sotchax11 and primary SEA of SOLCHMS05 goes down for
    /// maintenance: the paging switch and the SEA failover come first, then the shutdown; ending
    /// the maintenance starts it again and sets its SEA back.
    #[test]
    fn a_vios_stops_after_paging_and_its_sea_moved_off_and_starts_again() {
        let down = lab_desired_with(replace(
            "solchms05.yaml",
            "{name: lpar_1_solchio05, state: running}",
            "{name: lpar_1_solchio05, state: stopped}",
        ));
        let observed = lab_converged();
        let stop = plan(&down, &observed, PlanOptions::default());
        insta::assert_snapshot!(render(&stop));
        let stopped = apply(&observed, &stop.actions);
        insta::assert_snapshot!(render(&plan(&crate::plan::fixture::lab_desired(), &stopped, PlanOptions::default())));
    }

    /// Only the backup's SEA exists (the primary's VIOS was down when it was made) and the
    /// manifests stop the backup's VIOS: the soak found the stop refused for good ("no backup
    /// SEA is running"). Now the primary's SEA is created, the backup's fails over to it
    /// (`ha_mode=standby`) after that, and only then does the VIOS stop.
    #[test]
    fn a_vios_with_the_only_sea_fails_over_to_the_sea_the_plan_creates() {
        use crate::action::Op;
        use crate::status::{SeaHaMode, SeaState};
        let mut observed = lab_converged();
        let members = observed.status.seas.get_mut(&"p72-sea".parse::<crate::names::SeaName>().unwrap()).unwrap();
        members.retain(|m| m.vios.as_str() == "p72vio2");
        members[0].state = SeaState::Primary;
        let down =
            lab_desired_with(replace("p72.yaml", "{name: p72vio2, state: running}", "{name: p72vio2, state: stopped}"));
        let p = plan(&down, &observed, PlanOptions::default());
        assert!(p.errors.is_empty(), "{}", render(&p));
        let find = |f: &dyn Fn(&Op) -> bool| p.actions.iter().find(|a| f(&a.op)).map(|a| a.id.clone());
        let create = find(&|o| matches!(o, Op::CreateSea { vios, priority: 1, .. } if vios.as_str() == "p72vio1"));
        let standby = find(
            &|o| matches!(o, Op::SetSeaHaMode { vios, mode: SeaHaMode::Standby, .. } if vios.as_str() == "p72vio2"),
        );
        let stop = find(&|o| matches!(o, Op::StopVios { vios, .. } if vios.as_str() == "p72vio2"));
        let (Some(create), Some(standby), Some(stop)) = (create, standby, stop) else {
            panic!("a creation, a failover and a stop: {}", render(&p));
        };
        assert!(crate::plan::fixture::waits_for(&p.actions, &standby, &create), "{}", render(&p));
        assert!(crate::plan::fixture::waits_for(&p.actions, &stop, &standby), "{}", render(&p));
        let done = apply(&observed, &p.actions);
        assert!(plan(&down, &done, PlanOptions::default()).is_empty(), "nothing is left once it ran");
    }

    /// The only VIOS of a blade is not stopped while a partition stays on it.
    #[test]
    fn the_last_vios_is_not_stopped_under_running_partitions() {
        let desired = lab_desired_with(|name, text| {
            let text =
                replace("js22.yaml", "{name: bvio82, state: running}", "{name: bvio82, state: stopped}")(name, text);
            replace("js22.yaml", "placement: {anyOf: [js22_slot13, js22_slot14]}", "placement: {frame: js22_slot13}")(
                name, &text,
            )
        });
        insta::assert_snapshot!(render(&plan(&desired, &lab_converged(), PlanOptions::default())));
    }
}
