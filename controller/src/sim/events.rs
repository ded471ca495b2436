//! The error-log entries the seeds show an administrator reading, kept by the simulator: the
//! SEA's `BECOME PRIMARY` / `BECOME BACKUP` in the VIOS's `errpt`, a paging VIOS failover, and
//! the phases of a migration in the client's `errpt` and the mover service partition's
//! `errlog`. Each is numbered, stamped with the virtual time and logged by the partition whose
//! log has it; `sim events` lists them and `sim show --format json` includes them.
//!
//! seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 945-1024 and
//! 1158-1190 ("E136EAFA ... I H ent4 BECOME PRIMARY", "40D97644 ... I H ent4 BECOME BACKUP");
//! lpm-js22-walkthrough.txt, lines 105-110 (CLIENT_PMIG_STARTED and CLIENT_PMIG_DONE in the
//! client's errpt, "Client partition suspend issued" and "Migration completed successfully" in
//! the VIOS's errlog); ams-dual-vios-and-lpm.txt, line 57 (a paging VIOS failover).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use powerplane_model::status::SeaState;
use powerplane_model::{DeviceName, FrameName, PartitionName, ViosName};

use super::sea;
use super::state::{SimFrame, SimState};

/// How many entries the simulator keeps (the oldest go first), in memory and in the store.
pub(crate) const KEPT: usize = 1000;

/// One error-log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[schemars(rename = "SimReportEvent")]
pub struct SimEvent {
    /// Its number, from 1, in the order the simulator logged it.
    pub seq: u64,
    /// Virtual time it happened, in milliseconds since `sim init`.
    pub at_ms: u64,
    /// The frame it happened on.
    #[schema(value_type = String)]
    pub frame: FrameName,
    /// The partition (VIOS or client) whose error log has it, or `None` for what only the HMC
    /// shows (a paging VIOS failover is transparent to the partitions).
    pub logged_by: Option<String>,
    /// The `errpt` identifier, where the sources give one.
    pub identifier: Option<String>,
    /// The `errpt` class: `H` (hardware), `S` (software), `O` (operator).
    pub class: char,
    /// The resource the entry is about (`ent4`, `sys0`, the partition).
    pub resource: String,
    /// The description as the log shows it.
    pub description: String,
}

impl SimEvent {
    /// The entry as `errpt` lists it, with the virtual time for its timestamp:
    /// `E136EAFA +00:02:13 I H ent4 BECOME PRIMARY`.
    pub fn errpt_line(&self) -> String {
        let secs = self.at_ms / 1000;
        format!(
            "{:<8} +{:02}:{:02}:{:02} I {} {:<8} {}",
            self.identifier.as_deref().unwrap_or("-"),
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            self.class,
            self.resource,
            self.description
        )
    }
}

impl SimState {
    /// Numbers (its `seq` is set here) and keeps an entry; [`SimState::trim_events`] drops the
    /// oldest beyond [`KEPT`] once the change that logged it has succeeded (a failed change
    /// takes its entries back).
    pub(crate) fn log(&mut self, e: SimEvent) {
        self.next_event += 1;
        self.events.push_back(SimEvent { seq: self.next_event, ..e });
    }

    /// Takes back the entries logged after number `upto` (a change that failed).
    pub(crate) fn unlog_after(&mut self, upto: u64) {
        while self.events.back().is_some_and(|e| e.seq > upto) {
            self.events.pop_back();
        }
        self.next_event = upto;
    }

    /// Drops the oldest entries beyond [`KEPT`].
    pub(crate) fn trim_events(&mut self) {
        while self.events.len() > KEPT {
            self.events.pop_front();
        }
    }
}

/// What can be logged of a frame: each SEA member's role and each partition's current paging
/// VIOS. Taken before and after a change to log what the change did.
#[derive(Default)]
pub(crate) struct Watched {
    roles: BTreeMap<ViosName, (DeviceName, Role)>,
    paging: BTreeMap<PartitionName, Option<ViosName>>,
    /// Taken for a change scoped to this partition: only its paging is compared.
    scoped: Option<PartitionName>,
}

/// A SEA member's role in the failover pair, as its errpt entries name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Primary,
    Backup,
    /// Down, or without failover (ha_mode disabled): it logs no role.
    None,
}

/// The roles and paging VIOS of `frame` now; with `only`, the paging VIOS of that one partition
/// (a change scoped to one partition changes nothing else that is logged).
pub(crate) fn watch(frame: &SimFrame, only: Option<&PartitionName>) -> Watched {
    let mut w = Watched::default();
    if let Some(name) = only {
        if let Some(pg) = frame.partitions.get(name).and_then(|p| p.paging.as_ref()) {
            w.paging.insert(name.clone(), pg.current.clone());
        }
        w.scoped = Some(name.clone());
        return w;
    }
    if let Some(s) = &frame.sea {
        for m in sea::status(s, |v| sea::running(frame, v)) {
            let role = match m.state {
                SeaState::Primary | SeaState::PrimarySharing => Role::Primary,
                SeaState::Backup | SeaState::BackupSharing => Role::Backup,
                SeaState::Standalone | SeaState::Inactive => Role::None,
            };
            w.roles.insert(m.vios, (m.device, role));
        }
    }
    for (name, p) in &frame.partitions {
        if let Some(pg) = &p.paging {
            w.paging.insert(name.clone(), pg.current.clone());
        }
    }
    w
}

/// Logs what changed on `frame` between `before` and now: a SEA member that took the primary
/// role logs `BECOME PRIMARY`, one that took the backup role (from primary, or starting up)
/// `BECOME BACKUP`; one that keeps its role (load sharing starting or stopping) logs nothing,
/// as in the seed's "Shutdown backup vio server" case. A partition whose paging VIOS changed
/// because the one it used stopped is a failover; otherwise a switch (`chhwres -o so`).
pub(crate) fn log_changes(s: &mut SimState, name: &FrameName, before: &Watched) {
    let Some(frame) = s.frames.get(name) else { return };
    let after = watch(frame, before.scoped.as_ref());
    let at_ms = s.now_ms;
    let mut entries = Vec::new();
    for (vios, (device, role)) in &after.roles {
        let was = before.roles.get(vios).map_or(Role::None, |(_, r)| *r);
        let (identifier, description) = match (was, role) {
            (Role::Primary, Role::Primary) | (Role::Backup, Role::Backup) | (_, Role::None) => continue,
            (_, Role::Primary) => ("E136EAFA", "BECOME PRIMARY"),
            (_, Role::Backup) => ("40D97644", "BECOME BACKUP"),
        };
        entries.push(SimEvent {
            seq: 0,
            at_ms,
            frame: name.clone(),
            logged_by: Some(vios.to_string()),
            identifier: Some(identifier.into()),
            class: 'H',
            resource: device.to_string(),
            description: description.to_owned(),
        });
    }
    for (partition, now) in &after.paging {
        let Some(was) = before.paging.get(partition) else { continue };
        if was == now {
            continue;
        }
        let stopped = was.as_ref().is_some_and(|v| !sea::running(frame, v));
        let show = |v: &Option<ViosName>| v.as_ref().map_or("none".to_owned(), ToString::to_string);
        entries.push(SimEvent {
            seq: 0,
            at_ms,
            frame: name.clone(),
            logged_by: None,
            identifier: None,
            class: 'O',
            resource: partition.to_string(),
            description: if stopped {
                format!("paging VIOS failover: {} stopped, {partition} pages through {}", show(was), show(now))
            } else {
                format!("paging VIOS switched: {partition} pages through {} (was {})", show(now), show(was))
            },
        });
    }
    for e in entries {
        s.log(e);
    }
}

/// The client's and the source MSP's entries when a migration starts.
// seeds: lpm-js22-walkthrough.txt, line 107: "On AIX you'll notice messages similar to
// CLIENT_PMIG_STARTED and CLIENT_PMIG_DONE". The identifiers are IBM's (technote "Live
// Partition Mobility Performance": 08917DC6 CLIENT_PMIG_STARTED, A5E6DB96 CLIENT_PMIG_DONE,
// 3EB09F5A MVR_MIG_COMPLETED).
pub(crate) fn migration_started(s: &mut SimState, partition: &PartitionName, from: &FrameName, to: &FrameName) {
    let at_ms = s.now_ms;
    s.log(SimEvent {
        seq: 0,
        at_ms,
        frame: from.clone(),
        logged_by: Some(partition.to_string()),
        identifier: Some("08917DC6".into()),
        class: 'S',
        resource: "sys0".into(),
        description: format!("CLIENT_PMIG_STARTED Client Partition Migration Started (to {to})"),
    });
}

/// The entries of an active migration that completed: the source MSP's "Client partition
/// suspend issued" (at the suspension) and "Migration completed successfully", and the client's
/// CLIENT_PMIG_DONE on the target.
pub(crate) fn migration_done(
    s: &mut SimState,
    partition: &PartitionName,
    from: &FrameName,
    o: &super::state::Outbound,
) {
    let (to, at_ms, suspend_ms) = (&o.to, o.ends_ms, o.suspend_ms);
    let msp = o.source_msp.as_ref().map(ToString::to_string);
    s.log(SimEvent {
        seq: 0,
        at_ms: at_ms.saturating_sub(suspend_ms),
        frame: from.clone(),
        logged_by: msp.clone(),
        identifier: None,
        class: 'S',
        resource: "vasi0".into(),
        description: format!("Client partition suspend issued ({partition})"),
    });
    s.log(SimEvent {
        seq: 0,
        at_ms,
        frame: from.clone(),
        logged_by: msp,
        identifier: Some("3EB09F5A".into()),
        class: 'S',
        resource: "vasi0".into(),
        description: format!("MVR_MIG_COMPLETED Migration completed successfully ({partition} to {to})"),
    });
    s.log(SimEvent {
        seq: 0,
        at_ms,
        frame: to.clone(),
        logged_by: Some(partition.to_string()),
        identifier: Some("A5E6DB96".into()),
        class: 'S',
        resource: "sys0".into(),
        description: "CLIENT_PMIG_DONE Client Partition Migration Completed".into(),
    });
}

/// The HMC's record of a migration that failed part-way at `at_ms`.
pub(crate) fn migration_failed(
    s: &mut SimState,
    partition: &PartitionName,
    from: &FrameName,
    to: &FrameName,
    at_ms: u64,
) {
    s.log(SimEvent {
        seq: 0,
        at_ms,
        frame: from.clone(),
        logged_by: None,
        identifier: None,
        class: 'S',
        resource: partition.to_string(),
        description: format!(
            "migration to {to} failed part-way; {partition} waits for recovery (migrlpar -o r -m {} -p {})",
            from.word(),
            partition.word()
        ),
    });
}
