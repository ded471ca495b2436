//! Issue 32 item 1: every action kind's rendered command, for random names and values, is
//! accepted by the emulator's strict syntax (syntax.rs), and the same command with an option
//! or an attribute the HMC does not have is refused with the HMC's message. A new action kind
//! does not compile here until it has a generator ([`op_of`] matches every kind).

use powerplane_model::action::{ChangeMethod, Mpio, MspPair, PartitionChange, RedundantPgVios, ShutdownMethod};
use powerplane_model::console::{RedundancyOption, RemoteHmc};
use powerplane_model::manifest::{PartitionSpec, StorageVia, TrunkSpec};
use powerplane_model::status::SeaHaMode;
use powerplane_model::storage::ClientAdapter;
use powerplane_model::{
    ActionKind, DeviceName, FrameName, HmcAddress, HmcUser, Lun, MemoryMb, Op, PartitionName, ProcPoolId, ProcPoolName,
    ProcUnits, ProfileName, RunsOn, ViosName, VlanId,
};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::split_commands;
use super::syntax::{Refusal, check};

/// Names an HMC takes, a space inside some (issue 31 item 3).
fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.]{0,10}( [a-z0-9]{1,4})?"
}

fn frame() -> impl Strategy<Value = FrameName> {
    name().prop_map(|n| FrameName::new(n).unwrap())
}
fn vios() -> impl Strategy<Value = ViosName> {
    name().prop_map(|n| ViosName::new(n).unwrap())
}
fn partition() -> impl Strategy<Value = PartitionName> {
    name().prop_map(|n| PartitionName::new(n).unwrap())
}
fn profile() -> impl Strategy<Value = ProfileName> {
    name().prop_map(|n| ProfileName::new(n).unwrap())
}
fn pool() -> impl Strategy<Value = ProcPoolName> {
    "[a-z][a-z0-9_]{0,10}".prop_map(|n| ProcPoolName::new(n).unwrap())
}
fn device(prefix: &'static str) -> impl Strategy<Value = DeviceName> {
    (0u32..40).prop_map(move |i| DeviceName::new(format!("{prefix}{i}")).unwrap())
}
fn units() -> impl Strategy<Value = ProcUnits> {
    (5u32..=6400).prop_map(ProcUnits::from_hundredths)
}
fn whole_units() -> impl Strategy<Value = ProcUnits> {
    (1u32..=64).prop_map(|n| ProcUnits::from_hundredths(n * 100))
}
fn mb() -> impl Strategy<Value = MemoryMb> {
    (1u64..=4096).prop_map(|n| MemoryMb(n * 256))
}
fn vlan() -> impl Strategy<Value = VlanId> {
    (1u16..4095).prop_map(|v| VlanId::new(v).unwrap())
}
fn trunk() -> impl Strategy<Value = TrunkSpec> {
    (device("ent"), vlan(), proptest::collection::vec(vlan(), 0..4)).prop_map(|(adapter, pvid, vlans)| TrunkSpec {
        adapter,
        pvid,
        vlans,
    })
}
fn redundant() -> impl Strategy<Value = Option<RedundantPgVios>> {
    proptest::option::of(prop_oneof![
        Just(RedundantPgVios::NonRedundant),
        Just(RedundantPgVios::Required),
        Just(RedundantPgVios::IfPossible)
    ])
}
fn msp() -> impl Strategy<Value = Option<MspPair>> {
    proptest::option::of((vios(), vios()).prop_map(|(source, dest)| MspPair { source, dest }))
}
fn shutdown() -> impl Strategy<Value = ShutdownMethod> {
    prop_oneof![
        Just(ShutdownMethod::Os),
        Just(ShutdownMethod::OsImmediate),
        Just(ShutdownMethod::Delayed),
        Just(ShutdownMethod::Immediate)
    ]
}
fn via() -> impl Strategy<Value = StorageVia> {
    prop_oneof![Just(StorageVia::Vscsi), Just(StorageVia::Npiv)]
}
fn lun() -> impl Strategy<Value = Lun> {
    "[0-9A-F]{12,32}".prop_map(|l| l.parse().unwrap())
}
fn client_adapter() -> impl Strategy<Value = ClientAdapter> {
    (via(), 2u16..1000, vios(), 2u16..1000).prop_map(|(via, slot, vios, server_slot)| ClientAdapter {
        via,
        slot,
        vios,
        server_slot,
    })
}
/// `--ip HMC [-u USER]`: another HMC's frame.
fn remote() -> impl Strategy<Value = Option<RemoteHmc>> {
    proptest::option::of(
        (r"(10\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|hmc[0-9]{1,2}\.example\.com)", proptest::option::of("[a-z]{3,8}"))
            .prop_map(|(ip, user)| RemoteHmc {
                ip: HmcAddress::new(ip).unwrap(),
                user: user.map(|u| HmcUser::new(u).unwrap()),
            }),
    )
}
fn mpio() -> impl Strategy<Value = Option<Mpio>> {
    proptest::option::of(prop_oneof![Just(Mpio::Required), Just(Mpio::IfPossible)])
}
fn spelling() -> impl Strategy<Value = RedundancyOption> {
    prop_oneof![Just(RedundancyOption::PgVios), Just(RedundancyOption::Vios)]
}
fn ha_mode() -> impl Strategy<Value = SeaHaMode> {
    prop_oneof![Just(SeaHaMode::Auto), Just(SeaHaMode::Sharing), Just(SeaHaMode::Standby), Just(SeaHaMode::Disabled)]
}

/// A partition's spec as a manifest would give it: shared or dedicated processors and memory,
/// a compatibility mode or none, VLANs, running or stopped.
fn spec() -> impl Strategy<Value = PartitionSpec> {
    (
        any::<bool>(),
        1u32..=16,
        any::<bool>(),
        1u64..=64,
        any::<bool>(),
        proptest::collection::vec(1u16..4000, 0..3),
        any::<bool>(),
    )
        .prop_map(|(shared, n, shared_mem, gb, compat, vlans, stopped)| {
            let processors = if shared {
                format!("{{mode: shared, units: {}.{:02}, virtual: {n}, pool: pool_{n}}}", n / 2, (n * 25) % 100)
            } else {
                format!("{{mode: dedicated, units: {n}}}")
            };
            let memory = if shared_mem {
                format!(
                    "{{mode: shared, desiredMB: {}, maxMB: {}, paging: {{redundancy: required}}}}",
                    gb * 1024,
                    gb * 2048
                )
            } else {
                format!("{{desiredMB: {}, maxMB: {}}}", gb * 1024, gb * 2048)
            };
            let compat = if compat { ", compat: POWER9" } else { "" };
            let processors = format!("{}{compat}}}", &processors[..processors.len() - 1]);
            let network: Vec<String> = vlans.iter().map(|v| format!("{{vlan: {v}}}")).collect();
            let yaml = format!(
                "placement: {{frame: f}}\nstate: {}\nprocessors: {processors}\nmemory: {memory}\nnetwork: [{}]\n",
                if stopped { "stopped" } else { "running" },
                network.join(", ")
            );
            serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{e}: {yaml}"))
        })
}
fn change() -> impl Strategy<Value = PartitionChange> {
    (
        proptest::option::of((mb(), mb())),
        proptest::option::of((units(), units())),
        proptest::option::of((1u32..64, 1u32..64)),
        prop_oneof![Just(ChangeMethod::Dlpar), Just(ChangeMethod::Profile), Just(ChangeMethod::DlparOnly)],
        proptest::option::of((vios(), vios())),
    )
        .prop_filter("a change changes something", |(m, u, v, _, g)| {
            m.is_some() || u.is_some() || v.is_some() || g.is_some()
        })
        .prop_map(|(memory, units, r#virtual, method, paging_vios)| PartitionChange {
            memory,
            units,
            r#virtual,
            method,
            paging_vios,
        })
}

/// Random operations of `kind`; `None` for the kinds whose command does not run on an HMC (a
/// cluster node's, a hook on the controller: the node transport and hooks check those).
fn op_of(kind: ActionKind) -> Option<BoxedStrategy<Op>> {
    use ActionKind as K;
    Some(match kind {
        K::CreateSharedProcessorPool => (frame(), 1u8..=63, pool(), whole_units(), units())
            .prop_map(|(frame, id, pool, max, reserved)| Op::CreateSharedProcessorPool {
                frame,
                pool_id: ProcPoolId(id),
                pool,
                max,
                reserved,
            })
            .boxed(),
        K::UpdateSharedProcessorPool => (frame(), 1u8..=63, pool(), whole_units(), units())
            .prop_map(|(frame, id, pool, max, reserved)| Op::UpdateSharedProcessorPool {
                frame,
                pool_id: ProcPoolId(id),
                pool,
                max,
                reserved,
            })
            .boxed(),
        K::RemoveSharedProcessorPool => (frame(), 1u8..=63, pool())
            .prop_map(|(frame, id, pool)| Op::RemoveSharedProcessorPool { frame, pool_id: ProcPoolId(id), pool })
            .boxed(),
        K::CreateSharedMemoryPool => (frame(), mb(), mb(), proptest::collection::vec(vios(), 1..=2))
            .prop_map(|(frame, pool_mem, max_pool_mem, paging_vios)| Op::CreateSharedMemoryPool {
                frame,
                pool_mem,
                max_pool_mem,
                paging_vios,
            })
            .boxed(),
        K::UpdateSharedMemoryPool => (frame(), mb(), mb())
            .prop_map(|(frame, pool_mem, max_pool_mem)| Op::UpdateSharedMemoryPool { frame, pool_mem, max_pool_mem })
            .boxed(),
        K::AddPagingDevice => (frame(), vios(), device("hdisk"))
            .prop_map(|(frame, vios, device)| Op::AddPagingDevice { frame, vios, device })
            .boxed(),
        K::RemovePagingDevice => (frame(), vios(), device("hdisk"))
            .prop_map(|(frame, vios, device)| Op::RemovePagingDevice { frame, vios, device })
            .boxed(),
        K::StartVios => (frame(), vios(), profile())
            .prop_map(|(frame, vios, profile)| Op::StartVios { frame, vios, profile })
            .boxed(),
        K::StopVios => (frame(), vios()).prop_map(|(frame, vios)| Op::StopVios { frame, vios }).boxed(),
        K::CreateSea => (
            frame(),
            vios(),
            device("ent"),
            proptest::collection::vec(trunk(), 1..4),
            proptest::option::of(device("ent")),
            ha_mode(),
            1u8..=2,
        )
            .prop_map(|(frame, vios, real_adapter, trunks, control_channel, ha_mode, priority)| Op::CreateSea {
                frame,
                vios,
                real_adapter,
                trunks,
                control_channel,
                ha_mode,
                priority,
            })
            .boxed(),
        K::SetSeaHaMode => (frame(), vios(), device("ent"), ha_mode())
            .prop_map(|(frame, vios, device, mode)| Op::SetSeaHaMode { frame, vios, device, mode })
            .boxed(),
        K::RemoveSea => (frame(), vios(), device("ent"))
            .prop_map(|(frame, vios, device)| Op::RemoveSea { frame, vios, device })
            .boxed(),
        K::AddTrunkAdapter => (frame(), vios(), trunk(), 1u8..=2)
            .prop_map(|(frame, vios, trunk, priority)| Op::AddTrunkAdapter { frame, vios, trunk, priority })
            .boxed(),
        K::ConfigureDevices => (frame(), vios()).prop_map(|(frame, vios)| Op::ConfigureDevices { frame, vios }).boxed(),
        K::SaveProfile => (frame(), vios(), profile())
            .prop_map(|(frame, vios, profile)| Op::SaveProfile { frame, vios, profile })
            .boxed(),
        K::SetSeaAdapters => (frame(), vios(), device("ent"), proptest::collection::vec(trunk(), 1..5))
            .prop_map(|(frame, vios, device, trunks)| Op::SetSeaAdapters { frame, vios, device, trunks })
            .boxed(),
        K::CreatePartition => (frame(), partition(), spec(), proptest::collection::vec(vios(), 0..=2), profile())
            .prop_flat_map(|(frame, partition, spec, paging_vios, profile)| {
                proptest::collection::vec(client_adapter(), 0..4).prop_map(move |adapters| Op::CreatePartition {
                    frame: frame.clone(),
                    partition: partition.clone(),
                    spec: Box::new(spec.clone()),
                    paging_vios: paging_vios.clone(),
                    profile: profile.clone(),
                    adapters,
                })
            })
            .boxed(),
        K::AddServerAdapter => (frame(), vios(), via(), 2u16..1000, partition(), 2u16..1000, device("vhost"))
            .prop_map(|(frame, vios, via, slot, client, client_slot, device)| Op::AddServerAdapter {
                frame,
                vios,
                via,
                slot,
                client,
                client_slot,
                device,
            })
            .boxed(),
        K::RemoveServerAdapter => (frame(), vios(), via(), 2u16..1000, partition())
            .prop_map(|(frame, vios, via, slot, client)| Op::RemoveServerAdapter { frame, vios, via, slot, client })
            .boxed(),
        K::MapDisk => (frame(), vios(), device("hdisk"), lun(), device("vhost"), partition())
            .prop_map(|(frame, vios, disk, lun, adapter, client)| Op::MapDisk {
                frame,
                vios,
                disk,
                lun,
                adapter,
                client,
            })
            .boxed(),
        K::UnmapDisk => (frame(), vios(), device("hdisk"), lun(), partition())
            .prop_map(|(frame, vios, disk, lun, client)| Op::UnmapDisk { frame, vios, disk, lun, client })
            .boxed(),
        K::MapNpiv => (frame(), vios(), device("vfchost"), device("fcs"), partition())
            .prop_map(|(frame, vios, adapter, port, client)| Op::MapNpiv { frame, vios, adapter, port, client })
            .boxed(),
        K::UnmapNpiv => (frame(), vios(), device("vfchost"), partition())
            .prop_map(|(frame, vios, adapter, client)| Op::UnmapNpiv { frame, vios, adapter, client })
            .boxed(),
        K::SetDiskNoReserve => (frame(), vios(), device("hdisk"), lun())
            .prop_map(|(frame, vios, disk, lun)| Op::SetDiskNoReserve { frame, vios, disk, lun })
            .boxed(),
        K::UpdatePartition => (frame(), partition(), profile(), change())
            .prop_map(|(frame, partition, profile, change)| Op::UpdatePartition { frame, partition, profile, change })
            .boxed(),
        K::StartPartition => (frame(), partition(), profile(), any::<bool>())
            .prop_map(|(frame, partition, profile, force)| Op::StartPartition { frame, partition, profile, force })
            .boxed(),
        K::StopPartition => (frame(), partition(), shutdown())
            .prop_map(|(frame, partition, how)| Op::StopPartition { frame, partition, how })
            .boxed(),
        K::DeletePartition => {
            (frame(), partition()).prop_map(|(frame, partition)| Op::DeletePartition { frame, partition }).boxed()
        }
        K::SwitchPagingVios => {
            (frame(), partition()).prop_map(|(frame, partition)| Op::SwitchPagingVios { frame, partition }).boxed()
        }
        K::ValidateMigration => (partition(), frame(), frame(), redundant(), msp(), remote(), mpio(), spelling())
            .prop_map(|(partition, from, to, redundant, msp, remote, mpio, spelling)| Op::ValidateMigration {
                partition,
                from,
                to,
                redundant,
                msp,
                remote,
                mpio,
                spelling,
            })
            .boxed(),
        K::MigratePartition => (partition(), frame(), frame(), redundant(), msp(), remote(), mpio(), spelling())
            .prop_map(|(partition, from, to, redundant, msp, remote, mpio, spelling)| Op::MigratePartition {
                partition,
                from,
                to,
                redundant,
                msp,
                remote,
                mpio,
                spelling,
            })
            .boxed(),
        K::RecoverMigration => (frame(), partition(), frame(), remote())
            .prop_map(|(frame, partition, to, remote)| Op::RecoverMigration { frame, partition, to, remote })
            .boxed(),
        K::RenameProfileCopy => (frame(), partition(), partition())
            .prop_map(|(frame, name, new_name)| Op::RenameProfileCopy { frame, name, new_name })
            .boxed(),
        K::RestoreProfileCopy => (frame(), partition(), spec(), proptest::collection::vec(vios(), 0..=2), profile())
            .prop_map(|(frame, partition, spec, paging_vios, profile)| Op::RestoreProfileCopy {
                frame,
                partition,
                spec: Box::new(spec),
                paging_vios,
                profile,
            })
            .boxed(),
        K::RemoveProfileCopy => {
            (frame(), partition()).prop_map(|(frame, name)| Op::RemoveProfileCopy { frame, name }).boxed()
        }
        K::RaisePeerInactive
        | K::RestorePeerInactive
        | K::UnmanageClusterNode
        | K::ManageClusterNode
        | K::EnterNodeMaintenance
        | K::LeaveNodeMaintenance
        | K::RunHook => return None,
    })
}

/// One operation of any kind that runs on an HMC.
fn any_hmc_op() -> impl Strategy<Value = Op> {
    let kinds: Vec<BoxedStrategy<Op>> = ActionKind::ALL.iter().filter_map(|k| op_of(*k)).collect();
    proptest::strategy::Union::new(kinds)
}

/// The HMC commands of `op`'s line, as the emulator's shell splits them.
fn commands(op: &Op) -> Vec<Vec<String>> {
    let line = op.command();
    split_commands(&line).into_iter().map(|c| shlex::split(c).unwrap_or_else(|| panic!("unquotable: {c}"))).collect()
}

#[test]
fn every_kind_that_runs_on_an_hmc_has_a_generator_and_only_those() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for kind in ActionKind::ALL {
        if let Some(s) = op_of(*kind) {
            let op = s.new_tree(&mut runner).unwrap().current();
            assert_eq!(op.kind(), *kind);
            assert_eq!(op.runs_on(), RunsOn::Hmc, "{kind:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Every command of every rendered action is one the HMC's syntax accepts.
    #[test]
    fn every_rendered_command_is_accepted(op in any_hmc_op()) {
        for words in commands(&op) {
            prop_assert_eq!(check(&words), Ok(()), "{} (from {:?})", words.join(" "), op.kind());
        }
    }

    /// The same command with an option the command does not have is refused, naming it.
    #[test]
    fn an_unknown_option_is_refused(op in any_hmc_op(), bogus in "--[a-z]{3,9}x") {
        for mut words in commands(&op) {
            words.insert(1, bogus.clone());
            prop_assert_eq!(check(&words), Err(Refusal::InvalidParameter(bogus.clone())));
        }
    }

    /// The same command with an attribute its list does not have is refused with the HMC's
    /// words (a live HMC's, syntax.rs).
    #[test]
    fn an_unknown_attribute_is_refused(op in any_hmc_op(), bogus in "bogus_[a-z]{1,8}") {
        for mut words in commands(&op) {
            let Some(i) = words.iter().position(|w| w == "-i" || w == "-a") else { continue };
            words[i + 1] = format!("{},{bogus}=1", words[i + 1]);
            let refused = check(&words).unwrap_err();
            prop_assert_eq!(
                refused.to_string(),
                format!("An invalid attribute was entered.  The invalid attribute is {bogus}.  Please correct your entry and retry the command.")
            );
        }
    }
}
