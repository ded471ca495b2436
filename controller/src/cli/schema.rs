//! `powerplane schema`: the manifests' JSON Schema on stdout.

use std::process::ExitCode;

use powerplane_model::manifest::Kind;

/// Arguments of `schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also describe inventory documents (`kind: FrameHardware`).
    #[arg(long)]
    pub with_hardware: bool,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let kinds: &[Kind] = if args.with_hardware { &Kind::ALL } else { &Kind::MANIFEST };
    let schema = powerplane_model::json_schema(kinds);
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
