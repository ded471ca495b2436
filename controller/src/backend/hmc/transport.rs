//! How command lines reach an HMC: a [`Transport`] runs a script (command lines separated by
//! new lines) and returns what it printed ([`ShellOutput`]). Over SSH ([`super::ssh::Ssh`]) or
//! in process, to the simulator's HMC emulator (which implements [`Transport`] itself: the
//! HMC backend knows no simulator). [`run_batch`] runs several commands in one script and tells their
//! outputs and exit statuses apart with `echo` markers, so one connection carries many.

use std::future::Future;

use crate::backend::BackendError;

/// What a script printed on the HMC's restricted shell and its exit status.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ShellOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The last command's exit status.
    pub code: i32,
}

/// Runs HMC command scripts.
pub trait Transport: Send + Sync + 'static {
    /// Runs `script` and returns its output and the last command's exit status. A connection
    /// that fails is [`BackendError::Transient`]: the next call connects again.
    fn run(&self, script: &str) -> impl Future<Output = Result<ShellOutput, BackendError>> + Send;
    /// Where it goes, for messages (`ssh://hscroot@hmc1`).
    fn describe(&self) -> String;
    /// How many scripts it runs at once: the observation spreads its VIOS listings over that
    /// many.
    fn sessions(&self) -> usize {
        1
    }
    /// The HMC as the other HMCs of the estate reach it (`migrlpar --ip`, `mkauthkeys --ip`)
    /// and the user powerplane works as on it; `None` when it cannot say.
    fn console(&self) -> Option<(powerplane_model::HmcAddress, Option<powerplane_model::HmcUser>)> {
        None
    }
}

/// One command's result within a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// What it printed.
    pub stdout: String,
    /// What it printed on standard error (see [`run_batch`]).
    pub stderr: String,
    /// Its exit status.
    pub code: i32,
}

pub(crate) const MARK: &str = "@@powerplane-end";

/// Runs `commands` in one script. Each command's output is told apart by a marker line
/// `echo`ed after it with its exit status (`$?`). The restricted shell cannot redirect standard
/// error, so the errors of a batch come as one text: when one command failed it is its own;
/// when several did, each failed one is run again alone to read its message (only listings are
/// batched, so running one again changes nothing).
pub async fn run_batch<T: Transport>(t: &T, commands: &[String]) -> Result<Vec<CommandOutput>, BackendError> {
    batch(t, commands, true).await
}

/// [`run_batch`] without running failed commands again: when several failed, none is given
/// standard error. For commands whose failure is read from their standard output, or whose
/// repetition costs what `viosvrcmd`'s does (an RMC round trip).
pub(crate) async fn run_batch_once<T: Transport>(
    t: &T,
    commands: &[String],
) -> Result<Vec<CommandOutput>, BackendError> {
    batch(t, commands, false).await
}

async fn batch<T: Transport>(t: &T, commands: &[String], again: bool) -> Result<Vec<CommandOutput>, BackendError> {
    // A remote command line is one argument of the local `ssh` and of the remote shell: Linux
    // refuses one longer than 128 KiB (MAX_ARG_STRLEN), so a long batch goes as several.
    let mut results = Vec::with_capacity(commands.len());
    let mut start = 0;
    while start < commands.len() {
        let mut end = start;
        let mut len = 0;
        while end < commands.len() && (end == start || len + commands[end].len() + MARK.len() + 16 <= MAX_SCRIPT) {
            len += commands[end].len() + MARK.len() + 16;
            end += 1;
        }
        results.extend(run_script(t, &commands[start..end], again).await?);
        start = end;
    }
    Ok(results)
}

/// The longest script sent at once.
const MAX_SCRIPT: usize = 64 * 1024;

#[tracing::instrument(level = "debug", name = "hmc.run", skip_all, fields(hmc = %t.describe(), commands = commands.len()))]
async fn run_script<T: Transport>(t: &T, commands: &[String], again: bool) -> Result<Vec<CommandOutput>, BackendError> {
    let mut script = String::new();
    for (i, c) in commands.iter().enumerate() {
        script.push_str(c);
        script.push_str(&format!("\necho \"{MARK} {i} $?\"\n"));
    }
    let out = t.run(&script).await?;
    let mut results = Vec::with_capacity(commands.len());
    let mut current = String::new();
    for line in out.stdout.split_inclusive('\n') {
        if let Some(rest) = line.trim_end().strip_prefix(MARK) {
            let mut w = rest.split_whitespace();
            let (Some(i), Some(code)) =
                (w.next().and_then(|i| i.parse::<usize>().ok()), w.next().and_then(|c| c.parse().ok()))
            else {
                return Err(BackendError::internal(format!("{}: an unreadable marker line {line:?}", t.describe())));
            };
            if i != results.len() {
                return Err(BackendError::internal(format!(
                    "{}: output of command {i} came out of order",
                    t.describe()
                )));
            }
            results.push(CommandOutput { stdout: std::mem::take(&mut current), stderr: String::new(), code });
        } else {
            current.push_str(line);
        }
    }
    if results.len() != commands.len() {
        return Err(BackendError::Transient(format!(
            "{}: the connection ended after {} of {} commands; observe again",
            t.describe(),
            results.len(),
            commands.len()
        )));
    }
    let failed: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.code != 0).map(|(i, _)| i).collect();
    match failed.as_slice() {
        [] => {}
        [one] => results[*one].stderr = out.stderr,
        _ if !again => {}
        many => {
            for &i in many {
                let alone = t.run(&commands[i]).await?;
                results[i].stderr = alone.stderr;
            }
        }
    }
    Ok(results)
}
