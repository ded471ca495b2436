//! # powerplane-model
//!
//! The pure domain model of powerplane, a GitOps controller for IBM PowerVM estates: the
//! manifest kinds, the [`Estate`] they form, and the semantic rules a Power administrator
//! expects checked before anything is planned. No I/O, no clock, no async: callers hand in
//! file contents ([`SourceFile`]) and get values back, which keeps everything here
//! deterministic and property-testable.

#![warn(missing_docs)]

pub mod action;
pub mod console;
mod diagnostic;
mod estate;
pub mod export;
mod hmc_command;
pub use hmc_command::{ProfileError, read_profile, viosvrcmd};
mod load;
pub mod manifest;
mod names;
pub mod physical_io;
mod placement;
pub mod plan;
pub mod profile_copy;
mod quote;
pub use quote::hmc_word;
mod schema;
mod source;
pub mod status;
pub mod storage;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
mod units;
mod validate;
mod yaml;

pub use action::{Action, ActionId, ActionKind, Op, RunsOn, When};
pub use diagnostic::{Diagnostic, Invalid, ObjectRef, Rule, Severity};
pub use estate::{
    Cluster, Estate, EstateIndex, Frame, FrameObjects, Hardware, MemPool, Object, Partition, ProcPool, Sea, ViosPair,
    ViosPlace,
};
pub use load::{Changed, ManifestSet, load, load_inventory, load_manifests};
pub use names::{
    ClusterName, DeviceName, FrameName, HmcAddress, HmcUser, Lun, MAX_LUN_LEN, MAX_NAME_LEN, MemPoolName, NameError,
    PartitionName, ProcPoolId, ProcPoolName, ProcPoolObjectName, ProfileName, SeaName, ViosName, ViosPairName,
};
pub use placement::{Eligibility, FrameUsage, Ineligible, Placer};
pub use plan::{Plan, PlanOptions, plan};
pub use schema::json_schema;
pub use source::{Location, Origin, SourceFile};
pub use units::{MemoryMb, ProcUnits, VlanId};
pub use validate::validate;
pub use yaml::{from_yaml, to_yaml};
