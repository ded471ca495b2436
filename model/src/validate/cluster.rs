//! Clusters: members that exist, one cluster per partition, the manager's own settings only,
//! members pinned to different frames, hooks that can run, and an `ssh:` that can reach the
//! members.

use std::collections::BTreeMap;

use super::{finding, known};
use crate::diagnostic::{Diagnostic, Rule};
use crate::estate::Estate;
use crate::manifest::{ClusterManager, Hooks, Kind, MAX_HOOK_TIMEOUT_SECONDS, NodeSsh, Placement, ssh_word_problem};
use crate::names::{ClusterName, FrameName, PartitionName};

pub(super) fn check(e: &Estate, out: &mut Vec<Diagnostic>) {
    let mut cluster_of: BTreeMap<&PartitionName, &ClusterName> = BTreeMap::new();
    for c in e.clusters.values() {
        let sp = &c.spec;
        let at = |rule, path: &[&str], msg: String, hint: String| finding(rule, Kind::Cluster, c, path, msg, hint);
        if sp.members.len() < 2 {
            out.push(at(
                Rule::ClusterMembers,
                &["spec", "members"],
                format!("cluster `{}` has {} member(s); a cluster has at least two", c.metadata.name, sp.members.len()),
                "list every partition of the cluster under members".into(),
            ));
        }
        let mut pinned: BTreeMap<&FrameName, &PartitionName> = BTreeMap::new();
        for (i, m) in sp.members.iter().enumerate() {
            let index = i.to_string();
            let path = ["spec", "members", index.as_str()];
            if sp.members[..i].contains(m) {
                out.push(at(
                    Rule::ClusterMembers,
                    &path,
                    format!("partition `{m}` is listed twice"),
                    "list each member once".into(),
                ));
                continue;
            }
            let Some(p) = e.partitions.get(m) else {
                out.push(at(
                    Rule::DanglingReference,
                    &path,
                    format!("member `{m}` is no partition of the manifests"),
                    format!("name a Partition object; known ones are: {}", known(e.partitions.keys())),
                ));
                continue;
            };
            if let Some(other) = cluster_of.insert(m, &c.metadata.name) {
                out.push(at(
                    Rule::ClusterMembers,
                    &path,
                    format!("partition `{m}` is a member of cluster `{other}` too; a partition belongs to one cluster"),
                    format!("remove `{m}` from one of `{other}` and `{}`", c.metadata.name),
                ));
            }
            if let Placement::Frame(f) = &p.spec.placement
                && let Some(first) = pinned.insert(f, m)
            {
                out.push(at(
                    Rule::ClusterAntiAffinity,
                    &path,
                    format!(
                        "members `{first}` and `{m}` of cluster `{}` are both pinned to frame {f}: one frame failing would take the whole cluster down",
                        c.metadata.name
                    ),
                    format!("pin `{m}` to another frame, or give it an anyOf/selector placement so that powerplane keeps it apart"),
                ));
            }
        }
        let misplaced = [
            ("vcs", sp.vcs.is_some(), ClusterManager::Vcs),
            ("powerha", sp.powerha.is_some(), ClusterManager::Powerha),
            ("pacemaker", sp.pacemaker.is_some(), ClusterManager::Pacemaker),
        ];
        for (field, given, manager) in misplaced {
            if given && sp.manager != manager {
                out.push(at(
                    Rule::ClusterManagerSettings,
                    &["spec", field],
                    format!("`{field}:` settings on a cluster whose manager is {}", sp.manager),
                    format!("remove `{field}:`, or set `manager: {field}`"),
                ));
            }
        }
        if let Some(v) = &sp.vcs
            && v.raise_to_seconds.is_some_and(|r| r <= v.unresponsive_seconds.unwrap_or(v.peerinact_seconds))
        {
            out.push(at(
                Rule::ClusterManagerSettings,
                &["spec", "vcs", "raiseToSeconds"],
                format!(
                    "raiseToSeconds {} is not above the unresponsive time {} s: the peers would still declare the migrating node dead",
                    v.raised_seconds(),
                    v.unresponsive_seconds.unwrap_or(v.peerinact_seconds)
                ),
                "raise it above unresponsiveSeconds with a margin, or leave it out (twice the unresponsive time)".into(),
            ));
        }
        check_hooks(&sp.hooks, &mut |path, msg, hint| {
            let mut full = vec!["spec", "hooks"];
            full.extend_from_slice(path);
            out.push(at(Rule::Hooks, &full, msg, hint));
        });
        if let Some(ssh) = &sp.ssh {
            check_ssh(ssh, &sp.members, &mut |path, msg, hint| {
                let mut full = vec!["spec", "ssh"];
                full.extend_from_slice(path);
                out.push(at(Rule::ClusterNodeAccess, &full, msg, hint));
            });
        }
    }
    for p in e.partitions.values() {
        check_hooks(&p.spec.hooks, &mut |path, msg, hint| {
            let mut full = vec!["spec", "hooks"];
            full.extend_from_slice(path);
            out.push(finding(Rule::Hooks, Kind::Partition, p, &full, msg, hint));
        });
    }
}

/// Reports what in a cluster's `ssh:` cannot reach its members.
fn check_ssh(ssh: &NodeSsh, members: &[PartitionName], report: &mut dyn FnMut(&[&str], String, String)) {
    if let Some(why) = ssh_word_problem(&ssh.user) {
        report(
            &["user"],
            format!("the node user {:?} cannot be given to ssh: {why}", ssh.user),
            "give the user the cluster steps log in as on every member, e.g. user: root".into(),
        );
    }
    if let Some(k) = &ssh.identity
        && !k.is_absolute()
    {
        report(
            &["identity"],
            format!("the node key {} is not an absolute path", k.display()),
            "give the private key's absolute path on the controller's machine (keep keys out of the manifest repository), or leave identity out for OpenSSH's defaults and agent".into(),
        );
    }
    if ssh.port == Some(0) {
        report(&["port"], "port 0 is no SSH port".into(), "give the members' SSH port (22 when left out)".into());
    }
    for (node, host) in &ssh.hosts {
        let key = node.as_str();
        if !members.contains(node) {
            report(
                &["hosts", key],
                format!("a host is given for `{node}`, which is no member of the cluster"),
                format!("list `{node}` under members, or remove its host"),
            );
        }
        if let Some(why) = ssh_word_problem(host) {
            report(
                &["hosts", key],
                format!("the host {host:?} of `{node}` cannot be given to ssh: {why}"),
                format!(
                    "give the host name or address `{node}` is reached at over SSH, or leave it out to use the partition's name"
                ),
            );
        }
    }
}

/// Reports each hook that cannot run: no program, a NUL byte, a timeout of 0 or over an hour.
fn check_hooks(h: &Hooks, report: &mut dyn FnMut(&[&str], String, String)) {
    for (point, hooks) in
        [("preMigrate", &h.pre_migrate), ("postMigrate", &h.post_migrate), ("onFailure", &h.on_failure)]
    {
        for (i, hook) in hooks.iter().enumerate() {
            let index = i.to_string();
            if hook.command.first().is_none_or(String::is_empty) {
                report(
                    &[point, index.as_str(), "command"],
                    format!("{point} hook {i} has no program to run"),
                    "give the program and its arguments, e.g. command: [/usr/local/bin/notify, lpm]".into(),
                );
            }
            if hook.command.iter().any(|w| w.contains('\0')) {
                report(
                    &[point, index.as_str(), "command"],
                    format!("{point} hook {i} has a NUL byte in its command"),
                    "remove it: no program argument can hold one".into(),
                );
            }
            if hook.timeout_seconds == 0 || hook.timeout_seconds > MAX_HOOK_TIMEOUT_SECONDS {
                report(
                    &[point, index.as_str(), "timeoutSeconds"],
                    format!("{point} hook {i} has timeoutSeconds {}", hook.timeout_seconds),
                    format!("give it 1 to {MAX_HOOK_TIMEOUT_SECONDS} seconds"),
                );
            }
        }
    }
}
