//! `powerplane sim hmc-serve`: one process holds the simulated estate and answers every HMC
//! session, as an HMC serves many at once. `sim hmc-shell` (the sshd `ForceCommand`) forwards
//! its script over the state directory's Unix socket when the daemon runs, so sessions do not
//! queue on the state directory's lock (a `migrlpar -o m` holds it for the whole migration) and
//! the estate is loaded once, not once per session. One JSON line each way.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use powerplane_model::FrameName;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::HmcShell;
use crate::backend::hmc::transport::ShellOutput;
use crate::sim::Simulator;

/// The socket in a state directory.
pub fn socket(state_dir: &Path) -> PathBuf {
    state_dir.join("hmc.sock")
}

#[derive(Serialize, Deserialize)]
struct Request {
    script: String,
    #[serde(default)]
    frames: Vec<FrameName>,
    /// The simulator's HMC this session is (`sim hmc-shell --console`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    console: Option<powerplane_model::HmcAddress>,
}

#[derive(Serialize, Deserialize)]
struct Response {
    stdout: String,
    stderr: String,
    code: i32,
}

/// Serves sessions on `path` until `stop` resolves; each session runs concurrently, every
/// `viosvrcmd` charged `rmc_latency` ([`HmcShell::with_rmc_latency`]).
pub async fn serve(
    sim: Simulator,
    path: &Path,
    rmc_latency: std::time::Duration,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    // A socket file left by a daemon that died is not in use: nothing answers on it.
    if path.exists() && UnixStream::connect(path).await.is_err() {
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let sim = sim.clone();
                tokio::spawn(async move {
                    if let Err(e) = session(sim, rmc_latency, stream).await {
                        tracing::warn!(error = %e, "an HMC session failed");
                    }
                });
            }
        }
    }
    let _ = std::fs::remove_file(path);
    Ok(())
}

async fn session(sim: Simulator, rmc_latency: std::time::Duration, stream: UnixStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let req: Request = serde_json::from_str(&line).map_err(std::io::Error::other)?;
    let shell = match req.console {
        Some(c) => HmcShell::for_console(sim, c).await,
        None => {
            let managed: Option<BTreeSet<FrameName>> =
                (!req.frames.is_empty()).then(|| req.frames.into_iter().collect());
            HmcShell::new(sim, managed)
        }
    };
    let out = shell.with_rmc_latency(rmc_latency).run(&req.script).await;
    let mut text = serde_json::to_string(&Response { stdout: out.stdout, stderr: out.stderr, code: out.code })
        .map_err(std::io::Error::other)?;
    text.push('\n');
    write.write_all(text.as_bytes()).await?;
    write.shutdown().await
}

/// Runs `script` through the daemon serving `state_dir`; `None` when none runs there.
pub async fn forward(
    state_dir: &Path,
    script: &str,
    frames: &[FrameName],
    console: Option<&powerplane_model::HmcAddress>,
) -> std::io::Result<Option<ShellOutput>> {
    let Ok(stream) = UnixStream::connect(socket(state_dir)).await else { return Ok(None) };
    let (read, mut write) = stream.into_split();
    let request = Request { script: script.to_owned(), frames: frames.to_vec(), console: console.cloned() };
    let mut req = serde_json::to_string(&request).map_err(std::io::Error::other)?;
    req.push('\n');
    write.write_all(req.as_bytes()).await?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let r: Response = serde_json::from_str(&line)
        .map_err(|e| std::io::Error::other(format!("the HMC emulator's answer is unreadable: {e}")))?;
    Ok(Some(ShellOutput { stdout: r.stdout, stderr: r.stderr, code: r.code }))
}
