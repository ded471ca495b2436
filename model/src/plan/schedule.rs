//! Capacity-safe ordering (DESIGN §4 rule 5; issue 15). Steps are scheduled one at a time,
//! freeing ones first; a step that takes capacity is scheduled only when what earlier steps
//! left free covers it; when nothing left fits — two partitions swapping frames with no spare
//! room — the plan says so instead of trying. The order is not a chain: the executor claims
//! capacity when an action starts ([`super::capacity`]), so a step waits (`after`) for steps
//! that free capacity only when it needs them — when what the steps before it take, with
//! nothing given back, leaves too little — and then only for the first freeing steps whose
//! capacity covers the shortfall. `after` is transitively reduced.

use std::collections::{BTreeMap, BTreeSet};

use super::capacity::{Claim, Claims};
use super::step::{Phase, Res, Step, demand};
use crate::action::{Action, ActionId, Op, When};
use crate::estate::Estate;
use crate::manifest::Placement;
use crate::status::LparState;

/// Free capacity now, from the observed estate; resources it cannot know are unlimited.
pub(crate) fn initial_free(o: &Estate) -> BTreeMap<Res, u64> {
    let mut free = BTreeMap::new();
    let holds =
        |s: &LparState| !matches!(s, LparState::NotActivated | LparState::MigratingNotActivated | LparState::Error);
    for (f, hw) in &o.hardware {
        let vios_state = o.status.vios.get(f);
        let running_vios = hw.spec.vios.iter().filter(|v| vios_state.and_then(|m| m.get(&v.name)).is_some_and(holds));
        let (mut mem, mut procs) = (hw.spec.memory_mb.0, u64::from(hw.spec.proc_units.hundredths()));
        for v in running_vios {
            mem = mem.saturating_sub(v.memory_mb.0);
            procs = procs.saturating_sub(u64::from(v.proc_units.hundredths()));
        }
        if let Some(pool) = o.mem_pools.values().find(|p| &p.spec.frame == f) {
            mem = mem.saturating_sub(pool.spec.pool_mem_mb.0);
        }
        free.insert(Res::Memory(f.clone()), mem);
        free.insert(Res::Procs(f.clone()), procs);
        let unassigned = o.status.paging_devices.get(f).into_iter().flatten().filter(|d| d.assigned.is_none());
        let (devices, common) = unassigned.fold((0, 0), |(n, c), d| (n + 1, c + u64::from(d.redundant)));
        free.insert(Res::Devices(f.clone()), devices);
        free.insert(Res::CommonDevices(f.clone()), common);
    }
    for p in o.proc_pools.values() {
        let avail = p.spec.max_proc_units.saturating_sub(p.spec.reserved_proc_units).hundredths();
        free.insert(Res::Pool(p.spec.frame.clone(), p.spec.pool_name.clone()), u64::from(avail));
        // A pool's reserved capacity is guaranteed to it: the frame's units hold it.
        // seeds: powervm-quickstart..., line 113: "Reserved Capacity - Additional (guaranteed)
        // CPU resources that are assigned to the pool".
        if let Some(v) = free.get_mut(&Res::Procs(p.spec.frame.clone())) {
            *v = v.saturating_sub(u64::from(p.spec.reserved_proc_units.hundredths()));
        }
    }
    for (name, p) in &o.partitions {
        let Some(st) = o.status.partitions.get(name) else {
            continue;
        };
        if !holds(&st.state) {
            continue;
        }
        let frame = match &p.spec.placement {
            Placement::Frame(f) => f.clone(),
            _ => st.frame.clone(),
        };
        // A running partition's migration (in flight or failed) also holds its shell's
        // resources on the target until it ends or is recovered.
        let shell = st.migration.as_ref().filter(|_| st.state == LparState::MigratingRunning).map(|m| m.to.clone());
        for f in std::iter::once(frame).chain(shell) {
            for (r, n) in demand(&p.spec, &f) {
                // Devices are counted from the pool's status above.
                if !matches!(r, Res::Devices(_) | Res::CommonDevices(_))
                    && let Some(v) = free.get_mut(&r)
                {
                    *v = v.saturating_sub(n);
                }
            }
        }
    }
    free
}

/// Orders the steps and turns them into actions `a1..aN`, with the capacity free at the start
/// of every resource they claim.
pub(crate) fn schedule(mut steps: Vec<Step>, observed: &Estate) -> Result<(Vec<Action>, Vec<Claim>), String> {
    let n = steps.len();
    // Deletions last (DESIGN §4 rule 6).
    let non_deletions: Vec<usize> = (0..n).filter(|i| !steps[*i].is_deletion()).collect();
    for s in steps.iter_mut().filter(|s| s.is_deletion()) {
        s.deps.extend(&non_deletions);
    }
    let initial = initial_free(observed);
    let mut free = initial.clone();
    // Without anything given back: what is left of the start's capacity, and how much the
    // steps so far took beyond it (which steps giving capacity back must have covered).
    let mut left = initial.clone();
    let mut beyond: BTreeMap<Res, u64> = BTreeMap::new();
    let mut indegree = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, s) in steps.iter_mut().enumerate() {
        s.deps.sort_unstable();
        s.deps.dedup();
        indegree[i] = s.deps.len();
        for d in &s.deps {
            dependents[*d].push(i);
        }
    }
    // A validation holds the room it checks only while it runs.
    let held = |s: &Step| matches!(s.op, Op::ValidateMigration { .. });
    // Ready steps by (phase, creation order): deterministic. Steps that only give capacity
    // back are kept apart: they always go first, and the rest is searched for the first that
    // fits (usually the first), so scheduling stays near-linear on large plans.
    // A migration's recovery is among them whatever it gives back: it takes nothing, and
    // nothing may run on the partition (or in the room its shell holds) before it.
    let frees_only =
        |s: &Step| matches!(s.op, Op::RecoverMigration { .. }) || (s.consumes.is_empty() && !s.frees.is_empty());
    let mut freeing: BTreeSet<(Phase, usize)> = BTreeSet::new();
    let mut ready: BTreeSet<(Phase, usize)> = BTreeSet::new();
    for i in (0..n).filter(|i| indegree[*i] == 0) {
        if frees_only(&steps[i]) { &mut freeing } else { &mut ready }.insert((steps[i].phase, i));
    }
    // Per resource, the steps that give it back, in schedule order, with the amounts.
    let mut freed_by: BTreeMap<Res, Vec<(usize, u64)>> = BTreeMap::new();
    let mut capacity_deps: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut order = Vec::with_capacity(n);
    while !ready.is_empty() || !freeing.is_empty() {
        let fits =
            |s: &Step, free: &BTreeMap<Res, u64>| s.consumes.iter().all(|(r, q)| free.get(r).is_none_or(|f| f >= q));
        let pick = match freeing.pop_first() {
            Some(k) => Some(k),
            None => {
                let k = ready.iter().find(|(_, i)| fits(&steps[*i], &free)).copied();
                if let Some(k) = k {
                    ready.remove(&k);
                }
                k
            }
        };
        let Some(key) = pick else {
            let stuck: Vec<String> = ready
                .iter()
                .map(|(_, i)| {
                    let s = &steps[*i];
                    let needs: Vec<String> = s
                        .consumes
                        .iter()
                        .filter(|(r, q)| free.get(r).is_some_and(|f| f < q))
                        .map(|(r, q)| format!("{r} (free {}, needs {q})", free[r]))
                        .collect();
                    format!("{} {} needs {}", s.op.kind(), s.op.object(), needs.join(", "))
                })
                .collect();
            let why = if stuck.len() == 1 {
                "Nothing in the plan frees it. Free capacity first (stop or shrink a partition, add a paging device)"
            } else {
                "Each waits for capacity that only the others would free (a swap with no spare room). Free capacity first (stop or shrink a partition) or move one partition through a third frame"
            };
            return Err(format!("no capacity-safe order exists: {}. {why}", stuck.join("; ")));
        };
        let i = key.1;
        let holds = held(&steps[i]);
        for (r, q) in steps[i].consumes.clone() {
            if let Some(f) = free.get_mut(&r) {
                *f -= q;
            }
            let Some(l) = left.get_mut(&r) else { continue };
            let over = beyond.entry(r.clone()).or_default();
            if *l >= q {
                if !holds {
                    *l -= q;
                }
                continue;
            }
            // Short without what others give back: wait for the first steps giving this
            // resource back until they cover what the steps so far took beyond the start's
            // capacity, and this one (the free ledger above proves they do).
            let mut short = *over + (q - *l);
            if !holds {
                *over = short;
                *l = 0;
            }
            for (j, given) in freed_by.get(&r).into_iter().flatten() {
                if short == 0 {
                    break;
                }
                capacity_deps[i].push(*j);
                short = short.saturating_sub(*given);
            }
        }
        for (r, q) in steps[i].frees.clone() {
            if let Some(f) = free.get_mut(&r) {
                *f += q;
            }
            if !holds {
                freed_by.entry(r).or_default().push((i, q));
            }
        }
        order.push(i);
        for &d in &dependents[i] {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                if frees_only(&steps[d]) { &mut freeing } else { &mut ready }.insert((steps[d].phase, d));
            }
        }
    }
    if order.len() != n {
        return Err(
            "the plan's dependencies form a cycle; this is a bug in powerplane, please report it with the manifests"
                .into(),
        );
    }
    let mut id_of = vec![0usize; n];
    for (pos, i) in order.iter().enumerate() {
        id_of[*i] = pos + 1;
    }
    let mut deps: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let mut d: Vec<usize> = steps[i].deps.iter().chain(&capacity_deps[i]).copied().collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    reduce(&mut deps, &steps);
    let claimed: BTreeSet<&Res> =
        steps.iter().flat_map(|s| s.consumes.iter().chain(&s.frees).map(|(r, _)| r)).collect();
    let capacity = initial
        .iter()
        .filter(|(r, _)| claimed.contains(r))
        .map(|(r, q)| Claim { resource: r.clone(), amount: *q })
        .collect();
    let claim = |v: &[(Res, u64)]| v.iter().map(|(r, q)| Claim { resource: r.clone(), amount: *q }).collect();
    let actions = order
        .iter()
        .map(|&i| {
            let s = &steps[i];
            let mut after: Vec<usize> = deps[i].iter().map(|d| id_of[*d]).collect();
            after.sort_unstable();
            Action {
                id: ActionId(format!("a{}", id_of[i])),
                op: s.op.clone(),
                after: after.into_iter().map(|a| ActionId(format!("a{a}"))).collect(),
                when: s.when,
                reason: s.reason.clone(),
                claims: Claims { take: claim(&s.consumes), give: claim(&s.frees), held: held(s) },
            }
        })
        .collect();
    Ok((actions, capacity))
}

/// Transitive reduction of `deps` that keeps what the outcomes mean: a prerequisite `d` of a
/// step is dropped when another prerequisite `e` already depends on it through steps that each
/// run only when theirs succeeded — then `e` ends after `d`, and when `d` fails `e` is
/// skipped, so the step sees the same. A clean-up step on the way (`when: ended`) runs
/// whatever happened before it, so nothing is dropped through it.
fn reduce(deps: &mut [Vec<usize>], steps: &[Step]) {
    let mut mark = vec![usize::MAX; deps.len()];
    let mut stack = Vec::new();
    for i in 0..deps.len() {
        if deps[i].len() < 2 {
            continue;
        }
        for &e in &deps[i] {
            if steps[e].when == When::Succeeded {
                stack.extend(deps[e].iter().copied());
            }
        }
        while let Some(x) = stack.pop() {
            if mark[x] == i {
                continue;
            }
            mark[x] = i;
            if steps[x].when == When::Succeeded {
                stack.extend(deps[x].iter().copied().filter(|y| mark[*y] != i));
            }
        }
        let kept: Vec<usize> = deps[i].iter().copied().filter(|d| mark[*d] != i).collect();
        deps[i] = kept;
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::fixture::{lab_converged, lab_desired_with, render};
    use crate::plan::{PlanOptions, plan};

    /// The lab with bxaix85 pinned to `frame` and a new 12 GB partition on js22_slot13.
    fn big_beside_bxaix85_on(frame: &str) -> crate::estate::Estate {
        const BIG: &str = "---
apiVersion: powerplane/v1
kind: Partition
metadata: {name: big}
spec:
  placement: {frame: js22_slot13}
  state: running
  processors: {mode: shared, units: 1.0, virtual: 1}
  memory: {mode: dedicated, desiredMB: 12288, maxMB: 16384}
";
        lab_desired_with(|name, text| match name {
            "js22.yaml" => {
                text.replace(
                    "placement: {anyOf: [js22_slot13, js22_slot14]}",
                    &format!("placement: {{frame: {frame}}}"),
                ) + BIG
            }
            _ => text.to_owned(),
        })
    }

    /// js22_slot13 has 10 GB free beside bxaix85: a new 12 GB partition starts only after
    /// bxaix85 has moved to the other blade, which the scheduler orders first.
    #[test]
    fn a_start_waits_for_the_move_that_makes_room() {
        let desired = big_beside_bxaix85_on("js22_slot14");
        insta::assert_snapshot!(render(&plan(&desired, &lab_converged(), PlanOptions::default())));
    }

    /// With bxaix85 staying, no order fits the new partition: the plan says which capacity
    /// runs out.
    #[test]
    fn no_order_fits_and_the_plan_says_why() {
        let desired = big_beside_bxaix85_on("js22_slot13");
        insta::assert_snapshot!(render(&plan(&desired, &lab_converged(), PlanOptions::default())));
    }
}
