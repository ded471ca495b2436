//! End-to-end tests: the real `powerplane` binary against temporary copies of the lab estate.

mod api;
mod api_contract;
mod apply;
mod audit;
mod browser;
mod cluster;
mod drift;
#[path = "../../examples/estate_gen/mod.rs"]
mod estate_gen;
mod hmc_cluster;
mod hmc_corpus;
mod hmc_migration;
mod hmc_names;
mod hmc_pools;
mod hmc_profiles;
mod hmc_ssh;
mod hmc_storage;
mod hmc_syntax;
mod logs;
mod plan;
mod safety;
mod schema;
mod sim;
#[path = "../sshd/mod.rs"]
mod sshd;
mod support;
mod trust;
mod validate;
mod watch;
mod windows;
