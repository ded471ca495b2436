//! Site hooks (`preMigrate`, `postMigrate`, `onFailure`): programs the controller runs on its
//! own machine around a migration, with what the migration is about in the environment. No
//! shell: the command is an argument vector, so no partition or frame name is ever
//! interpreted. A hook that exits non-zero, cannot start or outlives its timeout (it is then
//! killed) has failed; what it printed goes into the outcome.

use std::process::Stdio;
use std::time::Duration;

use powerplane_model::Op;
use tokio::io::AsyncReadExt;

use crate::backend::{BackendError, Completion};

/// Most of a hook's output kept for its outcome record.
const KEPT_OUTPUT: usize = 2000;

/// Runs the hook of a `RunHook` op; any other op is refused (it belongs to the backend).
pub(crate) async fn run(op: &Op) -> Result<Completion, BackendError> {
    let Op::RunHook { point, partition, from, to, cluster, hook } = op else {
        return Err(BackendError::internal("only RunHook actions are hooks"));
    };
    let Some((program, args)) = hook.command.split_first() else {
        return Err(BackendError::refused_plain(format!("the {point} hook has no command")));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env("POWERPLANE_HOOK", point.as_str())
        .env("POWERPLANE_PARTITION", partition.as_str())
        .env("POWERPLANE_SOURCE_FRAME", from.as_str())
        .env("POWERPLANE_TARGET_FRAME", to.as_str())
        .env("POWERPLANE_CLUSTER", cluster.as_ref().map_or("", |c| c.as_str()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = std::time::Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| BackendError::refused_plain(format!("the {point} hook `{program}` could not be started: {e}")))?;
    let (mut out, mut err) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let limit = Duration::from_secs(u64::from(hook.timeout_seconds));
    let collect = async {
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let (ro, re, status) = tokio::join!(out.read_to_end(&mut o), err.read_to_end(&mut e), child.wait());
        ro.and(re).and(status).map(|s| (s, o, e))
    };
    let (status, stdout, stderr) = match tokio::time::timeout(limit, collect).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(BackendError::refused_plain(format!("the {point} hook `{program}` failed: {e}"))),
        Err(_) => {
            // `kill_on_drop` kills it when the future holding the child is dropped; say so.
            return Err(BackendError::refused_plain(format!(
                "the {point} hook `{program}` did not finish within {} s and was killed",
                hook.timeout_seconds
            )));
        }
    };
    let text = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        let s = s.trim();
        if s.len() > KEPT_OUTPUT {
            let mut end = KEPT_OUTPUT;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &s[..end])
        } else {
            s.to_owned()
        }
    };
    let (o, e) = (text(&stdout), text(&stderr));
    let said = [o.as_str(), e.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" | ");
    if status.success() {
        Ok(Completion {
            message: format!(
                "{point} hook `{program}` exited 0{}",
                if said.is_empty() { String::new() } else { format!(": {said}") }
            ),
            duration: started.elapsed(),
            suspended: None,
        })
    } else {
        let how = match status.code() {
            Some(c) => format!("exited {c}"),
            None => "was killed by a signal".to_owned(),
        };
        Err(BackendError::refused_plain(format!(
            "the {point} hook `{program}` {how}{}",
            if said.is_empty() { String::new() } else { format!(": {said}") }
        )))
    }
}

#[cfg(test)]
mod tests {
    use powerplane_model::manifest::{Hook, HookPoint};
    use powerplane_model::{FrameName, PartitionName};

    use super::*;

    fn op(command: &[&str], timeout_seconds: u32) -> Op {
        Op::RunHook {
            point: HookPoint::PreMigrate,
            partition: PartitionName::new("xray").unwrap(),
            from: FrameName::new("f1").unwrap(),
            to: FrameName::new("f2").unwrap(),
            cluster: None,
            hook: Hook { command: command.iter().map(|s| (*s).to_owned()).collect(), timeout_seconds },
        }
    }

    #[tokio::test]
    async fn a_hook_sees_the_migration_in_its_environment_and_no_shell() {
        let done = run(&op(
            &[
                "sh",
                "-c",
                "echo $POWERPLANE_PARTITION $POWERPLANE_SOURCE_FRAME $POWERPLANE_TARGET_FRAME $POWERPLANE_HOOK",
            ],
            10,
        ))
        .await
        .unwrap();
        assert!(done.message.ends_with(": xray f1 f2 preMigrate"), "{}", done.message);
        // An argument is passed as it is, never interpreted by a shell.
        let done = run(&op(&["echo", "$(touch /tmp/powerplane-hook-injection); a;b"], 10)).await.unwrap();
        assert!(done.message.ends_with("$(touch /tmp/powerplane-hook-injection); a;b"), "{}", done.message);
    }

    #[tokio::test]
    async fn a_failing_or_missing_hook_is_refused_with_its_output() {
        let e = run(&op(&["sh", "-c", "echo no quorum >&2; exit 3"], 10)).await.unwrap_err();
        assert_eq!(e.to_string(), "the preMigrate hook `sh` exited 3: no quorum");
        assert!(!e.is_transient(), "a failing hook is not retried");
        let e = run(&op(&["/nonexistent/hook"], 10)).await.unwrap_err();
        assert!(e.to_string().contains("could not be started"), "{e}");
    }

    /// On tokio's paused clock the timeout fires as soon as the runtime waits on the child
    /// alone: the hook is killed and counted as failed, with no real waiting.
    #[tokio::test(start_paused = true)]
    async fn a_hook_that_outlives_its_timeout_is_killed() {
        let e = run(&op(&["sleep", "600"], 5)).await.unwrap_err();
        assert_eq!(e.to_string(), "the preMigrate hook `sleep` did not finish within 5 s and was killed");
    }
}
