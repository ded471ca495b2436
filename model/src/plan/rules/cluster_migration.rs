//! **A cluster member migrates without its peers declaring it dead, one member at a time, with
//! the site's hooks around it.** LPM suspends the migrating partition; if its cluster manager's
//! peers hear nothing from it for their heartbeat timeout, they fail its service groups over —
//! a false failover in the middle of planned maintenance. So, when the declared unresponsive
//! time is not less than that timeout (or not known), the migration is framed by the manager's
//! procedure, run on the nodes:
//!
//! | manager | before (after `migrlpar -o v`) | after (whatever the outcome) |
//! |---|---|---|
//! | VCS | `lltconfig -T peerinact:N` on every running member | `lltconfig -T peerinact:<configured>` on each |
//! | PowerHA | `clmgr stop node N WHEN=now MANAGE=unmanage` on the migrating node | `clmgr start node N WHEN=now MANAGE=auto` |
//! | Pacemaker | `pcs node maintenance N` | `pcs node unmaintenance N` |
//!
//! The "after" steps run once the migration has ended, succeeded or not ([`When::Ended`]), so a
//! failed migration never leaves a cluster with its failure detection turned down. Site hooks
//! (`preMigrate`, `postMigrate`, `onFailure`, the cluster's then the partition's) are steps of
//! the same kind: a failing `preMigrate` stops that migration. A second member's migration waits
//! for the first's and its clean-up; if the first fails, the second is skipped, and while a
//! member's migration is in flight or awaits recovery, the others' moves are deferred. A timeout
//! left raised (a plan cut short) is restored as drift; a false failover is reported as drift.
//!
//! seeds: infoscale-lpm-vcs.txt, lines 91-103 ("increase the peer inactive timeout to an
//! appropriate value on all the nodes in the cluster before beginning the migration", "Reset
//! the value back to the default after the migration is complete"), line 86 (a failed
//! operation leaves an intermediate state that needs administrative intervention).

use super::Planner;
use crate::action::{Op, When};
use crate::estate::{Cluster, Partition};
use crate::manifest::{ClusterManager, Hook, HookPoint, Kind};
use crate::names::{FrameName, PartitionName};
use crate::plan::change::{ChangeKind, FieldChange};
use crate::plan::step::Phase;
use crate::status::LparState;

impl Planner<'_, '_> {
    /// Plans the cluster procedure and the hooks around the move of `name` from `from` to `to`,
    /// validated by step `v` and carried out by step `m` (whose deps this extends). A plan
    /// warning says so when nothing protects a migration that needs it. Only an `active` move
    /// suspends a running node; a stopped one is no cluster node while it moves.
    pub(super) fn frame_migration(
        &mut self,
        object: &str,
        dp: &Partition,
        active: bool,
        (from, to): (&FrameName, &FrameName),
        (v, m): (usize, usize),
    ) {
        let name = &dp.metadata.name;
        let cluster = self.placer.cluster_of(name).and_then(|(c, _)| self.desired.clusters.get(c));
        // One member at a time: after the previous member's migration and its clean-up.
        if let Some(c) = cluster
            && let Some(prev) = self.cluster_moves.get(&c.metadata.name)
        {
            let prev = prev.clone();
            self.steps[v].deps.extend(prev);
        }
        // Steps the migration runs after (hooks, node commands), besides the validation.
        let mut before: Vec<usize> = Vec::new();
        let mut after_ended: Vec<usize> = Vec::new();
        let mut last = v;
        // The cluster's hooks first, then the partition's own.
        let owners: Vec<(Option<&Cluster>, &crate::manifest::Hooks)> =
            cluster.map(|c| (Some(c), &c.spec.hooks)).into_iter().chain([(None, &dp.spec.hooks)]).collect();
        let mut hooks: Vec<(Option<&Cluster>, &Hook, HookPoint)> = Vec::new();
        for (owner, h) in &owners {
            hooks.extend(h.pre_migrate.iter().map(|k| (*owner, k, HookPoint::PreMigrate)));
            hooks.extend(h.post_migrate.iter().map(|k| (*owner, k, HookPoint::PostMigrate)));
            hooks.extend(h.on_failure.iter().map(|k| (*owner, k, HookPoint::OnFailure)));
        }
        // preMigrate hooks, one after the other, after the validation.
        for (owner, hook, _) in hooks.iter().filter(|(_, _, p)| *p == HookPoint::PreMigrate) {
            let i = self.hook(object, dp, *owner, hook, HookPoint::PreMigrate, (from, to), vec![last]);
            before.push(i);
            last = i;
        }
        if let Some(c) = cluster.filter(|_| active) {
            self.protect(object, c, name, (from, to), last, m, &mut before, &mut after_ended);
        }
        self.steps[m].deps.extend(before);
        // postMigrate after a migration that succeeded, in order; onFailure after one that did
        // not, in order.
        let mut post = m;
        for (owner, hook, _) in hooks.iter().filter(|(_, _, p)| *p == HookPoint::PostMigrate) {
            post = self.hook(object, dp, *owner, hook, HookPoint::PostMigrate, (from, to), vec![post]);
        }
        let mut failure: Option<usize> = None;
        for (owner, hook, _) in hooks.iter().filter(|(_, _, p)| *p == HookPoint::OnFailure) {
            let i = match failure {
                None => {
                    let i = self.hook(object, dp, *owner, hook, HookPoint::OnFailure, (from, to), vec![m]);
                    self.steps[i].when = When::Failed;
                    i
                }
                // The next onFailure hook runs once the previous one has ended.
                Some(prev) => {
                    let i = self.hook(object, dp, *owner, hook, HookPoint::OnFailure, (from, to), vec![prev]);
                    self.steps[i].when = When::Ended;
                    i
                }
            };
            failure = Some(i);
        }
        if let Some(c) = cluster {
            let mut next = vec![m];
            next.extend(after_ended);
            self.cluster_moves.insert(c.metadata.name.clone(), next);
        }
    }

    /// One hook step.
    #[allow(clippy::too_many_arguments)]
    fn hook(
        &mut self,
        object: &str,
        dp: &Partition,
        owner: Option<&Cluster>,
        hook: &Hook,
        point: HookPoint,
        (from, to): (&FrameName, &FrameName),
        deps: Vec<usize>,
    ) -> usize {
        let whose = owner.map_or_else(|| "its own".to_owned(), |c| format!("cluster {}'s", c.metadata.name));
        self.push(
            Op::RunHook {
                point,
                partition: dp.metadata.name.clone(),
                from: from.clone(),
                to: to.clone(),
                cluster: owner.map(|c| c.metadata.name.clone()),
                hook: hook.clone(),
            },
            format!("{object}: {whose} {point} hook for the move from {from} to {to}"),
            deps,
            Phase::Move,
        )
    }

    /// The cluster manager's procedure around the move of member `name`: node commands before
    /// `m` (after step `after`), and their undoing once `m` has ended.
    #[allow(clippy::too_many_arguments)]
    fn protect(
        &mut self,
        object: &str,
        c: &Cluster,
        name: &PartitionName,
        (from, to): (&FrameName, &FrameName),
        after: usize,
        m: usize,
        before: &mut Vec<usize>,
        after_ended: &mut Vec<usize>,
    ) {
        let Some(hb) = c.spec.heartbeat() else { return };
        let cluster = &c.metadata.name;
        if !hb.needs_protection() {
            // seeds: infoscale-lpm-vcs.txt, line 94: "If that time is less than the default
            // LLT peer inactive timeout of 16 seconds, VCS operates normally."
            return;
        }
        if self.observed.status.nodes_observed && !self.running_members(c).iter().any(|(m, _)| m == name) {
            self.warnings.push(format!(
                "{object}: it runs no {} node of Cluster/{cluster} that the backend can see, so nothing is done for the cluster around its migration; check the cluster's membership",
                c.spec.manager
            ));
            return;
        }
        let why = match hb.unresponsive_seconds {
            Some(u) => format!(
                "{name} is unresponsive for about {u} s while it migrates, not less than the {} timeout of {} s",
                c.spec.manager, hb.timeout_seconds
            ),
            None => format!(
                "how long {name} is unresponsive while it migrates is not declared (unresponsiveSeconds), so it is taken to reach the {} timeout of {} s",
                c.spec.manager, hb.timeout_seconds
            ),
        };
        match c.spec.manager {
            ClusterManager::Vcs => {
                let vcs = c.spec.vcs_or_default();
                if !vcs.adjust_peerinact {
                    self.warnings.push(format!(
                        "{object}: {why}, and Cluster/{cluster} has adjustPeerinact: false: nothing of powerplane's keeps its peers from failing it over (a false failover) unless a hook raises peerinact"
                    ));
                    return;
                }
                let raised = vcs.raised_seconds() * 100;
                let configured = vcs.peerinact_seconds * 100;
                // On every running member: each node declares a silent peer dead after its own
                // peerinact, the migrating one included (it is silent to them, they to it).
                for member in self.running_members(c) {
                    let (frame_before, frame_after) = if &member.0 == name {
                        (from.clone(), to.clone())
                    } else {
                        (member.1.clone(), member.1.clone())
                    };
                    let r = self.push(
                        Op::RaisePeerInactive {
                            cluster: cluster.clone(),
                            node: member.0.clone(),
                            frame: frame_before,
                            centiseconds: raised,
                        },
                        format!("Cluster/{cluster}: {why}; raise LLT's peerinact on {} before the migration", member.0),
                        vec![after],
                        Phase::Move,
                    );
                    before.push(r);
                    let back = self.push(
                        Op::RestorePeerInactive {
                            cluster: cluster.clone(),
                            node: member.0.clone(),
                            frame: frame_after,
                            centiseconds: configured,
                        },
                        format!(
                            "Cluster/{cluster}: the migration of {name} has ended; set peerinact on {} back to {} s",
                            member.0, vcs.peerinact_seconds
                        ),
                        vec![m, r],
                        Phase::Move,
                    );
                    self.steps[back].when = When::Ended;
                    after_ended.push(back);
                }
            }
            ClusterManager::Powerha | ClusterManager::Pacemaker => {
                let powerha = c.spec.manager == ClusterManager::Powerha;
                let (enter, leave) = if powerha {
                    (
                        Op::UnmanageClusterNode { cluster: cluster.clone(), node: name.clone(), frame: from.clone() },
                        Op::ManageClusterNode { cluster: cluster.clone(), node: name.clone(), frame: to.clone() },
                    )
                } else {
                    (
                        Op::EnterNodeMaintenance { cluster: cluster.clone(), node: name.clone(), frame: from.clone() },
                        Op::LeaveNodeMaintenance { cluster: cluster.clone(), node: name.clone(), frame: to.clone() },
                    )
                };
                let what = if powerha { "unmanage its resource groups" } else { "put it into maintenance mode" };
                let undo = if powerha { "manage its resource groups again" } else { "take it out of maintenance mode" };
                let e = self.push(
                    enter,
                    format!("Cluster/{cluster}: {why}; {what} for the move"),
                    vec![after],
                    Phase::Move,
                );
                before.push(e);
                let l = self.push(
                    leave,
                    format!("Cluster/{cluster}: the migration of {name} has ended; {undo}"),
                    vec![m, e],
                    Phase::Move,
                );
                self.steps[l].when = When::Ended;
                after_ended.push(l);
            }
            ClusterManager::None => {}
        }
    }

    /// The members of `c` running now (migrating while running included) and running its
    /// cluster manager, with the frame each runs on. When the backend sees inside partitions (the simulator does), a member it does
    /// not report as a node of `c` runs no manager; when it does not (an HMC sees no further
    /// than the partition), every running member is taken to run it, as declared.
    fn running_members(&self, c: &Cluster) -> Vec<(PartitionName, FrameName)> {
        let status = &self.observed.status;
        let is_node = |m: &PartitionName| status.nodes.get(m).is_some_and(|n| n.cluster == c.metadata.name);
        c.spec
            .members
            .iter()
            .filter(|m| !status.nodes_observed || is_node(m))
            .filter_map(|m| {
                let st = self.observed.status.partitions.get(m)?;
                // A member whose migration failed part-way and awaits recovery is "Migrating -
                // Running": its operating system still runs, so the peers still hear it, and the
                // move that follows its recovery needs the same protection.
                st.state.is_running().then(|| (m.clone(), st.frame.clone()))
            })
            .collect()
    }

    /// Why `name`'s move must wait for a peer: another member of its cluster is migrating, or
    /// its failed migration awaits recovery. Members migrate one at a time.
    pub(super) fn peer_migrating(&self, name: &PartitionName) -> Option<String> {
        let (cluster, members) = self.placer.cluster_of(name)?;
        members.iter().filter(|m| *m != name).find_map(|m| {
            let migration = self.observed.status.partitions.get(m)?.migration.as_ref()?;
            Some(match migration.state {
                crate::status::MigrationState::Failed => format!(
                    "the migration of `{m}`, a member of the same cluster `{cluster}`, failed part-way and is recovered first; members migrate one at a time"
                ),
                _ => format!(
                    "`{m}`, a member of the same cluster `{cluster}`, is migrating to {} ({}); members migrate one at a time",
                    migration.to, migration.state
                ),
            })
        })
    }

    /// Cluster nodes not as configured while no migration needs them so (a plan cut short left
    /// a timeout raised, a node unmanaged or in maintenance): set back, as drift. VCS's raised
    /// peerinact on any node protects every silent peer, so it waits until no member migrates,
    /// and a planned move's own raise and restore set every node back. A PowerHA or Pacemaker
    /// node's setting protects only its own migration: a member that neither migrates nor
    /// moves in this plan is set back at once, before another member's planned move starts, so
    /// that the cluster manages it during that move. Groups that failed over from a migrating
    /// member are reported, not moved back: where a service group runs is the cluster
    /// administrator's call.
    pub(super) fn cluster_drift(&mut self) {
        let desired = self.desired;
        // The validation steps of each partition's move, indexed once: scanning every step for
        // every cluster made this rule quadratic (this rule adds no validation step).
        let mut validations: std::collections::BTreeMap<&PartitionName, Vec<usize>> = Default::default();
        for (i, s) in self.steps.iter().enumerate() {
            if let Op::ValidateMigration { partition, .. } = &s.op {
                validations.entry(partition).or_default().push(i);
            }
        }
        let mut cluster_moves = Vec::with_capacity(desired.clusters.len());
        for c in desired.clusters.values() {
            let members: std::collections::BTreeSet<&PartitionName> = c.spec.members.iter().collect();
            let mut moves: Vec<(PartitionName, usize)> = members
                .into_iter()
                .flat_map(|m| validations.get(m).into_iter().flatten().map(move |i| (m.clone(), *i)))
                .collect();
            moves.sort_unstable_by_key(|(_, i)| *i);
            cluster_moves.push(moves);
        }
        for (c, moves) in desired.clusters.values().zip(cluster_moves) {
            let cluster = &c.metadata.name;
            let object = format!("{}/{cluster}", Kind::Cluster);
            let planned = self.cluster_moves.contains_key(cluster);
            let per_node = matches!(c.spec.manager, ClusterManager::Powerha | ClusterManager::Pacemaker);
            if planned && !per_node {
                continue;
            }
            let migrates =
                |m: &PartitionName| self.observed.status.partitions.get(m).is_some_and(|s| s.migration.is_some());
            let any_migrating = c.spec.members.iter().any(migrates);
            // The first step of each member's move planned now (`moves`, in step order): a node
            // set back goes before it.
            let mut restores = Vec::new();
            let mut fields = Vec::new();
            let mut notes = Vec::new();
            for m in &c.spec.members {
                let (Some(node), Some(st)) =
                    (self.observed.status.nodes.get(m), self.observed.status.partitions.get(m))
                else {
                    continue;
                };
                // A planned move of the cluster reports its false failovers once it has ended.
                for f in node.failovers.iter().filter(|_| !planned) {
                    fields.push(FieldChange {
                        path: format!("serviceGroups.{}", f.group),
                        old: Some(f.to.to_string()),
                        new: Some(m.to_string()),
                    });
                    let fix = match c.spec.manager {
                        ClusterManager::Vcs => format!("hagrp -switch {} -to {m}", f.group),
                        ClusterManager::Powerha => format!("clmgr move resource_group {} NODE={m}", f.group),
                        ClusterManager::Pacemaker => format!("pcs resource move {} {m}", f.group),
                        ClusterManager::None => format!("move {} back to {m}", f.group),
                    };
                    notes.push(format!(
                        "false failover from {m} during its migration: {f}; move it back when convenient (`{fix}`)"
                    ));
                }
                let held = if per_node { migrates(m) || moves.iter().any(|(p, _)| p == m) } else { any_migrating };
                if held || st.state != LparState::Running {
                    continue;
                }
                let frame = st.frame.clone();
                let (node_name, cl) = (m.clone(), cluster.clone());
                let op = match c.spec.manager {
                    ClusterManager::Vcs => {
                        let configured = c.spec.vcs_or_default().peerinact_seconds * 100;
                        node.peerinact_centis.filter(|p| *p != configured).map(|p| {
                            fields.push(FieldChange {
                                path: format!("nodes.{m}.peerinact"),
                                old: Some(format!("{p}")),
                                new: Some(format!("{configured}")),
                            });
                            Op::RestorePeerInactive { cluster: cl, node: node_name, frame, centiseconds: configured }
                        })
                    }
                    ClusterManager::Powerha => node.unmanaged.then(|| {
                        fields.push(FieldChange {
                            path: format!("nodes.{m}.resourceGroups"),
                            old: Some("unmanaged".into()),
                            new: Some("managed".into()),
                        });
                        Op::ManageClusterNode { cluster: cl, node: node_name, frame }
                    }),
                    ClusterManager::Pacemaker => node.maintenance.then(|| {
                        fields.push(FieldChange {
                            path: format!("nodes.{m}.maintenance"),
                            old: Some("true".into()),
                            new: Some("false".into()),
                        });
                        Op::LeaveNodeMaintenance { cluster: cl, node: node_name, frame }
                    }),
                    ClusterManager::None => None,
                };
                if let Some(op) = op {
                    let why = if planned {
                        format!(
                            "{object}: {m} was left as for a migration, and it does not migrate: set it back to the configured value before the next member's move"
                        )
                    } else {
                        format!(
                            "{object}: {m} was left as for a migration, and none runs: set it back to the configured value"
                        )
                    };
                    restores.push(self.push(op, why, vec![], Phase::Configure));
                    notes.push(format!("{m} left as for a migration"));
                }
            }
            for (_, v) in &moves {
                self.steps[*v].deps.extend(&restores);
            }
            if !fields.is_empty() {
                self.change(ChangeKind::Drift, object, None, fields, notes.join("; "));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired_with, partition, render, replace, waits_for};
    use crate::plan::{PlanOptions, apply, plan};
    use crate::status::NodeStatus;

    /// The lab with bxaix85 pinned to the other blade and a cluster of bxaix85 and p72_app01
    /// described by `cluster` (the spec's lines after `members`).
    fn desired(cluster: &'static str) -> crate::estate::Estate {
        lab_desired_with(move |name, text| {
            let text = replace(
                "js22.yaml",
                "placement: {anyOf: [js22_slot13, js22_slot14]}",
                "placement: {frame: js22_slot14}",
            )(name, text);
            if name == "js22.yaml" {
                format!(
                    "{text}\n---\napiVersion: powerplane/v1\nkind: Cluster\nmetadata: {{name: sap}}\nspec:\n  members: [bxaix85, p72_app01]\n{cluster}"
                )
            } else {
                text
            }
        })
    }

    /// The converged lab with both members running their manager.
    fn observed(manager: crate::manifest::ClusterManager) -> crate::estate::Estate {
        let mut o = lab_converged();
        for m in ["bxaix85", "p72_app01"] {
            o.status.nodes.insert(
                partition(m),
                NodeStatus {
                    cluster: "sap".parse().unwrap(),
                    manager,
                    peerinact_centis: (manager == crate::manifest::ClusterManager::Vcs).then_some(1600),
                    unmanaged: false,
                    maintenance: false,
                    online: Vec::new(),
                    failovers: Vec::new(),
                },
            );
        }
        o
    }

    /// PowerHA: the migrating node's resource groups are unmanaged after the validation and
    /// managed again once the migration ended, however.
    #[test]
    fn powerha_unmanages_the_migrating_node_around_the_move() {
        use crate::manifest::ClusterManager::Powerha;
        let p = plan(
            &desired("  manager: powerha\n  powerha: {nodeTimeoutSeconds: 30, unresponsiveSeconds: 40}\n"),
            &observed(Powerha),
            PlanOptions::default(),
        );
        insta::assert_snapshot!(render(&p));
    }

    /// Pacemaker: the node goes into maintenance mode for the move.
    #[test]
    fn pacemaker_puts_the_migrating_node_into_maintenance() {
        use crate::manifest::ClusterManager::Pacemaker;
        let p = plan(&desired("  manager: pacemaker\n"), &observed(Pacemaker), PlanOptions::default());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        insta::assert_snapshot!(render(&p));
    }

    /// Hooks: the cluster's preMigrate hooks then the partition's, one after the other, after
    /// the validation and before the node commands; postMigrate after a successful move;
    /// onFailure only when it did not succeed, then the next once that one ended.
    #[test]
    fn hooks_run_in_order_around_the_move() {
        use crate::manifest::ClusterManager::Vcs;
        let d = lab_desired_with(|name, text| {
            let t = replace(
                "js22.yaml",
                "placement: {anyOf: [js22_slot13, js22_slot14]}",
                "placement: {frame: js22_slot14}\n  hooks: {preMigrate: [{command: [/site/drain, bxaix85]}], postMigrate: [{command: [/site/thaw]}]}",
            )(name, text);
            if name == "js22.yaml" {
                format!(
                    "{t}\n---\napiVersion: powerplane/v1\nkind: Cluster\nmetadata: {{name: sap}}\nspec:\n  members: [bxaix85, p72_app01]\n  manager: vcs\n  vcs: {{unresponsiveSeconds: 40}}\n  hooks:\n    preMigrate: [{{command: [/site/freeze, sap]}}]\n    onFailure: [{{command: [/site/page-oncall], timeoutSeconds: 30}}, {{command: [/site/ticket]}}]\n"
                )
            } else {
                t
            }
        });
        let p = plan(&d, &observed(Vcs), PlanOptions::default());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        insta::assert_snapshot!(render(&p));
    }

    /// A member whose migration failed part-way ("Migrating - Running" until `migrlpar -o r`)
    /// still runs its node: the move that follows its recovery raises peerinact on both members
    /// again, after the recovery and before the migration, and restores both once it ended.
    #[test]
    fn the_move_after_a_recovery_is_protected_too() {
        use crate::manifest::ClusterManager::Vcs;
        use crate::status::{LparState, MigrationState, MigrationStatus};
        let mut o = observed(Vcs);
        let st = o.status.partitions.get_mut(&partition("bxaix85")).unwrap();
        st.state = LparState::MigratingRunning;
        st.migration = Some(MigrationStatus {
            to: "js22_slot14".parse().unwrap(),
            state: MigrationState::Failed,
            percent: 50,
            remaining_secs: 0,
        });
        o.status.nodes.get_mut(&partition("bxaix85")).unwrap().peerinact_centis = Some(8000);
        o.status.nodes_observed = true;
        let p = plan(&desired("  manager: vcs\n  vcs: {unresponsiveSeconds: 40}\n"), &o, PlanOptions::default());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let find = |f: &dyn Fn(&crate::action::Op) -> bool| {
            p.actions.iter().filter(|a| f(&a.op)).map(|a| a.id.clone()).collect::<Vec<_>>()
        };
        use crate::action::Op;
        let recover = find(&|op| matches!(op, Op::RecoverMigration { .. }));
        let migrate = find(&|op| matches!(op, Op::MigratePartition { .. }));
        let raises = find(&|op| matches!(op, Op::RaisePeerInactive { .. }));
        let restores = find(&|op| matches!(op, Op::RestorePeerInactive { .. }));
        assert_eq!((recover.len(), migrate.len(), raises.len(), restores.len()), (1, 1, 2, 2), "{}", render(&p));
        let m = p.actions.iter().find(|a| a.id == migrate[0]).unwrap();
        for r in &raises {
            assert!(m.after.contains(r), "the migration waits for raise {r}: {}", render(&p));
            assert!(waits_for(&p.actions, r, &recover[0]), "raise {r} follows the recovery: {}", render(&p));
        }
        let done = apply(&o, &p.actions);
        assert!(done.status.nodes.values().all(|n| n.peerinact_centis == Some(1600)));
    }

    /// Pacemaker and PowerHA: a member left in maintenance (or unmanaged) by a plan cut short,
    /// which does not move now, is set back before the other member's planned move starts, in
    /// the same plan; one plan converges.
    #[test]
    fn a_node_left_protected_is_set_back_before_the_other_members_move() {
        use crate::action::Op;
        use crate::manifest::ClusterManager::{Pacemaker, Powerha};
        for (manager, spec) in [
            (Pacemaker, "  manager: pacemaker\n  pacemaker: {tokenSeconds: 3, unresponsiveSeconds: 40}\n"),
            (Powerha, "  manager: powerha\n  powerha: {nodeTimeoutSeconds: 30, unresponsiveSeconds: 40}\n"),
        ] {
            let d = desired(spec);
            let mut o = observed(manager);
            let node = o.status.nodes.get_mut(&partition("p72_app01")).unwrap();
            node.maintenance = manager == Pacemaker;
            node.unmanaged = manager == Powerha;
            let p = plan(&d, &o, PlanOptions::default());
            assert!(p.errors.is_empty(), "{:?}", p.errors);
            let set_back: Vec<_> = p
                .actions
                .iter()
                .filter(|a| {
                    matches!(&a.op, Op::LeaveNodeMaintenance { node, .. } | Op::ManageClusterNode { node, .. } if node.as_str() == "p72_app01")
                })
                .collect();
            assert_eq!(set_back.len(), 1, "{manager:?}: {}", render(&p));
            let validate = p.actions.iter().find(|a| matches!(a.op, Op::ValidateMigration { .. })).unwrap();
            assert!(
                waits_for(&p.actions, &validate.id, &set_back[0].id),
                "{manager:?}: the move starts before p72_app01 is set back: {}",
                render(&p)
            );
            let done = apply(&o, &p.actions);
            assert!(done.status.nodes.values().all(|n| !n.maintenance && !n.unmanaged), "{manager:?}");
            assert!(plan(&d, &done, PlanOptions::default()).is_empty(), "{manager:?}: one plan does not converge");
        }
    }

    /// VCS: a peerinact left raised on a member that does not move is not set back on its own
    /// while the other member's move is planned (a raised peerinact protects every silent peer):
    /// the move raises it on both and sets both back once it ended.
    #[test]
    fn a_timeout_left_raised_is_set_back_by_the_planned_move() {
        use crate::action::Op;
        use crate::manifest::ClusterManager::Vcs;
        let d = desired("  manager: vcs\n  vcs: {unresponsiveSeconds: 40}\n");
        let mut o = observed(Vcs);
        o.status.nodes.get_mut(&partition("p72_app01")).unwrap().peerinact_centis = Some(9000);
        let p = plan(&d, &o, PlanOptions::default());
        let restores: Vec<_> = p.actions.iter().filter(|a| matches!(a.op, Op::RestorePeerInactive { .. })).collect();
        assert_eq!(restores.len(), 2, "{}", render(&p));
        assert!(
            restores.iter().all(|a| a
                .after
                .iter()
                .any(|d| p.actions.iter().any(|m| &m.id == d && matches!(m.op, Op::MigratePartition { .. })))),
            "{}",
            render(&p)
        );
        let done = apply(&o, &p.actions);
        assert!(done.status.nodes.values().all(|n| n.peerinact_centis == Some(1600)));
        assert!(plan(&d, &done, PlanOptions::default()).is_empty());
    }

    /// A peerinact left raised (a plan cut short) is restored as drift while no member
    /// migrates; the model's apply of the plan converges.
    #[test]
    fn a_timeout_left_raised_is_restored() {
        use crate::manifest::ClusterManager::Vcs;
        let d = lab_desired_with(|name, text| {
            if name == "js22.yaml" {
                format!(
                    "{text}\n---\napiVersion: powerplane/v1\nkind: Cluster\nmetadata: {{name: sap}}\nspec:\n  members: [bxaix85, p72_app01]\n  manager: vcs\n"
                )
            } else {
                text.to_owned()
            }
        });
        let mut o = observed(Vcs);
        o.status.nodes.get_mut(&partition("p72_app01")).unwrap().peerinact_centis = Some(9000);
        let p = plan(&d, &o, PlanOptions::default());
        insta::assert_snapshot!(render(&p));
        let done = apply(&o, &p.actions);
        assert_eq!(done.status.nodes[&partition("p72_app01")].peerinact_centis, Some(1600));
        assert!(plan(&d, &done, PlanOptions::default()).is_empty());
    }
}
