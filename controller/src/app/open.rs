//! One way to open the backend a command runs against, with its state directory: the HMCs
//! `--hmc` names (over SSH), or the simulator in the state directory (created from the
//! inventory on first use when the command may write). What opening found that a person
//! should hear (a simulator just created, an invalid inventory) is returned as a value; the
//! command line says it.

use std::path::PathBuf;
use std::sync::Arc;

use powerplane_model::Diagnostic;

use crate::app::backend::Backend;
use crate::backend::hmc::Hmc;
use crate::backend::hmc::ssh::{Endpoint, Ssh};
use crate::sim::{self, Clock, Created, OpenError};
use crate::store::{StateDir, snapshot};

/// Where the backend is: the global options of the command line.
#[derive(Clone, Debug)]
pub struct Target {
    /// The state directory.
    pub state_dir: PathBuf,
    /// The inventory a new simulator is created from.
    pub inventory: Option<PathBuf>,
    /// The simulator's speed-up (0: no real waits).
    pub sim_speedup: f64,
    /// `ssh://USER@HOST[:PORT]` of each HMC; none for the simulator.
    pub hmc: Vec<String>,
    /// The private key for the HMCs.
    pub ssh_identity: Option<PathBuf>,
    /// The known_hosts file for the HMCs and the cluster nodes.
    pub ssh_known_hosts: Option<PathBuf>,
    /// SSH sessions at once on each HMC.
    pub hmc_sessions: u16,
}

/// Whether the command may write the state directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// It may: the directory (and a simulator) is created when absent.
    Write,
    /// It only reads: nothing is created, every byte stays as it was.
    ReadOnly,
}

/// An opened backend and its state directory.
pub struct Opened {
    /// The backend.
    pub backend: Backend,
    /// The state directory.
    pub dir: StateDir,
    /// Whether the simulator was created now, and from what (`Existing` for an HMC).
    pub created: Created,
}

/// What opening came to.
pub enum Opening {
    /// The backend is open.
    Opened(Opened),
    /// The inventory a simulator was to be created from is invalid: nothing was created.
    InvalidInventory(Vec<Diagnostic>),
}

impl Target {
    /// The HMC backend `--hmc` names, `None` for the simulator.
    pub fn hmc(&self) -> anyhow::Result<Option<Hmc<Ssh>>> {
        if self.hmc.is_empty() {
            return Ok(None);
        }
        let hmcs = self
            .hmc
            .iter()
            .map(|u| {
                Endpoint::parse(u, self.ssh_identity.clone(), self.ssh_known_hosts.clone())
                    .map(|e| Ssh::new(e, usize::from(self.hmc_sessions)))
                    .map_err(anyhow::Error::msg)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // Cluster steps go to the nodes over SSH, their host keys checked against the same file.
        let nodes = crate::backend::node::Nodes::new(self.ssh_known_hosts.clone());
        Ok(Some(Hmc::new(hmcs).with_nodes(nodes)))
    }

    /// Opens the backend and the state directory with `access`. An HMC backend remembers the
    /// stored observation (what a VIOS that is down now had when last seen).
    pub fn open(&self, access: Access) -> anyhow::Result<Opening> {
        if let Some(hmc) = self.hmc()? {
            let dir = match access {
                Access::Write => StateDir::open(&self.state_dir)?,
                Access::ReadOnly => StateDir::open_read_only(&self.state_dir)?,
            };
            if let Ok(Some((_, earlier))) = snapshot::load(&dir) {
                hmc.remember(earlier);
            }
            let backend = Backend::Hmc(Arc::new(hmc));
            return Ok(Opening::Opened(Opened { backend, dir, created: Created::Existing }));
        }
        let clock = Clock::new(self.sim_speedup);
        match access {
            Access::Write => match sim::open_or_create(&self.state_dir, self.inventory.as_deref(), clock) {
                Ok((s, created, dir)) => Ok(Opening::Opened(Opened { backend: Backend::Sim(s), dir, created })),
                Err(OpenError::Inventory(diags)) => Ok(Opening::InvalidInventory(diags)),
                Err(OpenError::Store(e)) => Err(e.into()),
            },
            Access::ReadOnly => {
                let dir = StateDir::open_read_only(&self.state_dir)?;
                match sim::open_existing(&dir, clock)? {
                    Some(s) => {
                        Ok(Opening::Opened(Opened { backend: Backend::Sim(s), dir, created: Created::Existing }))
                    }
                    None => anyhow::bail!(
                        "{} has no simulated estate; nothing was created. Create one with `powerplane sim init` (or any `plan`)",
                        self.state_dir.display()
                    ),
                }
            }
        }
    }
}
