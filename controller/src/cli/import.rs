//! `powerplane import --out DIR`: write manifests describing what the backend has, one file
//! per frame, for adopting a brownfield estate.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::Cli;
use super::runtime::Runtime;
use crate::backend::Hypervisor;

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write the manifests to (created when absent).
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite manifest files that already exist there.
    #[arg(long)]
    pub force: bool,
}

pub(crate) fn run(cli: &Cli, args: &Args, rt: &Runtime) -> anyhow::Result<ExitCode> {
    let observed = match cli.target().hmc()? {
        // Through the HMC: what it lists (with the stored observation, when there is one, for
        // what a VIOS that is down had); nothing is written to the state directory.
        Some(hmc) => {
            if cli.state_dir.exists()
                && let Ok(dir) = crate::store::StateDir::open_read_only(&cli.state_dir)
                && let Ok(Some((_, earlier))) = crate::store::snapshot::load(&dir)
            {
                hmc.remember(earlier);
            }
            rt.block_on(hmc.observe())??
        }
        None => {
            let Some(sim) = super::sim::open(cli)? else {
                return Ok(ExitCode::from(1));
            };
            rt.block_on(sim.observe())??
        }
    };
    let files = powerplane_model::export::manifests(
        &observed,
        "# Imported by `powerplane import` from what the backend reports. Review before committing:\n# labels, placements (pinned to where each partition runs now) and paging redundancy are yours to decide.",
    );
    let targets: Vec<(PathBuf, String)> =
        files.into_iter().map(|(frame, text)| (args.out.join(format!("{frame}.yaml")), text)).collect();
    if !args.force
        && let Some((existing, _)) = targets.iter().find(|(p, _)| p.exists())
    {
        anyhow::bail!("{} already exists; nothing was written (add --force to overwrite)", existing.display());
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    for (path, text) in &targets {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "wrote {} manifests for {} objects to {}",
        targets.len(),
        observed.len() - observed.hardware.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
