// The powerplane web UI: the estate the controller observes (frames, VIOS, SEA members,
// shared memory pools and paging paths), the current plan as its DAG, drift, the audit trail,
// and live updates over Server-Sent Events. Plain ES module, no build step, no downloads: the
// controller embeds and serves it. Every value is inserted as text, never as markup.

const state = { token: sessionStorage.getItem("powerplane-token"), status: null, plan: null, actions: {} };

/** Builds an element: h("td", {class: "x"}, "text", child, ...). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(tag === "svg" || attrs.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k !== "svg" && v !== undefined && v !== null) el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** GET a JSON document of the API; asks for the token once when the controller wants one. */
async function api(path) {
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const r = await fetch(path, { headers });
  if (r.status === 401 && !state.token) {
    const t = prompt("This controller needs its API token (the file STATE/api-token):");
    if (t) {
      state.token = t.trim();
      sessionStorage.setItem("powerplane-token", state.token);
      return api(path);
    }
  }
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

function mb(n) {
  return n >= 1024 ? `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} GB` : `${n} MB`;
}

function bar(used, total) {
  const pct = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  return h("div", { class: "bar", title: `${pct.toFixed(0)}%` }, h("div", { class: pct > 90 ? "high" : "", style: `width:${pct}%` }));
}

// --- status ---------------------------------------------------------------------------

function renderStatus(s) {
  state.status = s;
  const el = document.getElementById("status");
  const last = s.lastReconcile;
  el.replaceChildren(
    h("span", { class: `state ${last ? last.result : ""}`, "data-test": "last-result" }, last ? last.result : "no reconcile yet"),
    s.reconciling ? h("span", { class: "running" }, ` · reconciling (${s.reconciling.reason})`) : "",
    ` · in flight ${s.inFlight.length} · held ${s.held.length}`,
    s.inProgress.length ? ` · in progress ${s.inProgress.length}` : "",
    s.errors.length ? h("span", { class: "failed" }, ` · ${s.errors.length} error(s)`) : "",
    s.invalidManifests ? h("span", { class: "failed", "data-test": "invalid-manifests", title: s.invalidManifests.firstError },
      ` · invalid manifests (${s.invalidManifests.failing}): nothing is applied — ${s.invalidManifests.firstError}`) : "",
    s.stalled ? h("span", { class: "failed", "data-test": "stalled" }, ` · loop stalled since ${s.stalled.since}`) : "",
    s.nextResync ? ` · next resync ${new Date(s.nextResync).toLocaleTimeString()}` : "",
    s.dryRun ? " · dry run" : "",
  );
  el.title = last ? `${last.detail} (${last.reason}, ${last.ended})` : "";
}

// --- estate ---------------------------------------------------------------------------

/** What each frame has and what is asked of it: VIOS, the shared memory pool's physical
 * memory, running partitions' dedicated memory and units, shared pools' reserved units
 * (the planner's FrameUsage, model/src/placement.rs). */
function usage(estate, frame) {
  const hw = estate.hardware[frame]?.spec;
  if (!hw) return null;
  const st = estate.status || {};
  let mem = hw.vios.reduce((a, v) => a + v.memoryMB, 0);
  let procs = hw.vios.reduce((a, v) => a + v.procUnits, 0);
  for (const p of Object.values(estate.mem_pools)) if (p.spec.frame === frame) mem += p.spec.poolMemMB;
  for (const p of Object.values(estate.proc_pools)) if (p.spec.frame === frame) procs += p.spec.reservedProcUnits || 0;
  for (const [name, p] of Object.entries(estate.partitions)) {
    const ps = st.partitions?.[name];
    if (!ps || ps.frame !== frame || ps.state === "Not Activated") continue;
    if (p.spec.memory.mode === "dedicated") mem += p.spec.memory.desiredMB;
    procs += p.spec.processors.units;
  }
  return { mem, memTotal: hw.memoryMB, procs, procsTotal: hw.procUnits, hw };
}

function renderEstate(doc) {
  const estate = doc.estate;
  const st = estate.status || {};
  const frames = [...new Set([...Object.keys(estate.hardware || {}), ...Object.keys(estate.frames || {})])].sort();
  const cards = frames.map((f) => {
    const u = usage(estate, f);
    const card = h("article", { class: "frame", "data-frame": f },
      h("h2", {}, f, " ", h("span", { class: `state ${(st.frames?.[f] || "").replaceAll(" ", "_")}` }, st.frames?.[f] || "")),
      u ? h("div", { class: "sub" }, `${u.hw.machineType} ${u.hw.serial}${u.hw.onBattery ? " · ON BATTERY" : ""}`) : "");
    if (u) {
      card.append(
        h("div", { class: "sub" }, `memory ${mb(u.mem)} of ${mb(u.memTotal)}`), bar(u.mem, u.memTotal),
        h("div", { class: "sub" }, `processing units ${u.procs.toFixed(2)} of ${u.procsTotal.toFixed(2)}`), bar(u.procs, u.procsTotal));
    }
    // VIOS and their state.
    const vios = st.vios?.[f] || {};
    card.append(h("h3", {}, "VIOS"), h("table", {}, Object.entries(vios).map(([v, s]) =>
      h("tr", { "data-vios": `${f}/${v}` }, h("td", {}, v), h("td", { class: `state ${s.replaceAll(" ", "_")}` }, s)))));
    // Each SEA of a VIOS pair on this frame, with its members.
    for (const [sea, spec] of Object.entries(estate.seas)) {
      const pair = estate.vios_pairs[spec.spec.viosPair];
      if (!pair || pair.spec.frame !== f) continue;
      const members = st.seas?.[sea] || [];
      card.append(h("h3", {}, `SEA ${sea} · ha_mode ${spec.spec.haMode}`), h("table", {},
        h("tr", {}, h("th", {}, "VIOS"), h("th", {}, "device"), h("th", {}, "prio"), h("th", {}, "state"), h("th", {}, "bridged VLANs")),
        members.map((m) => h("tr", { "data-sea-member": `${sea}/${m.vios}` },
          h("td", {}, m.vios), h("td", {}, m.device), h("td", {}, m.priority),
          h("td", { class: `state ${m.state}`, "data-test": "sea-state" }, m.state),
          h("td", {}, m.vlans.length ? m.vlans.join(" ") : "none")))));
    }
    // The shared memory pool: paging VIOS, devices and who pages through which VIOS.
    for (const [pool, p] of Object.entries(estate.mem_pools)) {
      if (p.spec.frame !== f) continue;
      const devices = st.paging_devices?.[f] || [];
      card.append(h("h3", {}, `Memory pool ${pool} · ${mb(p.spec.poolMemMB)} of max ${mb(p.spec.maxPoolMemMB)}`),
        h("div", { class: "sub" }, `paging VIOS ${p.spec.pagingVios.join(", ")}`),
        h("table", {}, devices.map((d) => h("tr", { "data-paging-device": `${f}/${d.device}` },
          h("td", {}, d.device), h("td", {}, mb(d.size)), h("td", {}, d.redundant ? "common" : "single VIOS"),
          h("td", {}, d.assigned ? `→ ${d.assigned}` : "free")))));
    }
    // Partitions running here.
    const parts = Object.entries(st.partitions || {}).filter(([, p]) => p.frame === f).sort();
    card.append(h("h3", {}, `Partitions (${parts.length})`), h("table", {}, parts.map(([name, p]) => {
      const spec = estate.partitions[name]?.spec;
      const paging = p.paging
        ? h("span", { "data-paging": name }, `pages via ${p.paging.current || "none"}`, h("span", { class: "sub" }, ` (primary ${p.paging.primary || "-"}, secondary ${p.paging.secondary || "-"})`))
        : "";
      const mem = spec ? (spec.memory.mode === "shared" ? `${mb(spec.memory.desiredMB)} shared` : mb(spec.memory.desiredMB)) : "";
      return h("tr", { "data-partition": name }, h("td", {}, name), h("td", { class: `state ${p.state.replaceAll(" ", "_")}` }, p.state),
        h("td", {}, mem), h("td", {}, spec ? `${spec.processors.units} units` : ""), h("td", {}, paging));
    })));
    return card;
  });
  const meta = doc.meta ? h("p", { class: "sub" }, `observed ${doc.meta.observed_at} (${doc.meta.source})`) : "";
  document.getElementById("estate-panel").replaceChildren(meta, h("div", { class: "frames" }, cards));
}

// --- plan -----------------------------------------------------------------------------

/** The plan's actions as a DAG: columns by depth (the longest chain of `after` before it). */
function dag(actions) {
  const byId = Object.fromEntries(actions.map((a) => [a.id, a]));
  const depth = {};
  const depthOf = (a) => depth[a.id] ??= 1 + Math.max(-1, ...a.after.filter((d) => byId[d]).map((d) => depthOf(byId[d])));
  actions.forEach(depthOf);
  const cols = [];
  for (const a of actions) (cols[depth[a.id]] ||= []).push(a);
  const W = 190, H = 44, GX = 50, GY = 14;
  const pos = {};
  cols.forEach((col, x) => col.forEach((a, y) => (pos[a.id] = { x: 10 + x * (W + GX), y: 10 + y * (H + GY) })));
  const width = 20 + cols.length * (W + GX), height = 20 + Math.max(1, ...cols.map((c) => c.length)) * (H + GY);
  const svg = h("svg", { width, height, viewBox: `0 0 ${width} ${height}`, "data-test": "plan-dag" },
    h("defs", { svg: 1 }, h("marker", { svg: 1, id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" },
      h("path", { svg: 1, d: "M0,0 L10,5 L0,10 z", fill: "#98a2b3" }))));
  for (const a of actions) for (const d of a.after) {
    if (!pos[d]) continue;
    const from = pos[d], to = pos[a.id];
    svg.append(h("path", { svg: 1, class: "edge", d: `M${from.x + W},${from.y + H / 2} C${from.x + W + GX / 2},${from.y + H / 2} ${to.x - GX / 2},${to.y + H / 2} ${to.x},${to.y + H / 2}` }));
  }
  for (const a of actions) {
    const p = pos[a.id];
    const outcome = state.actions[a.id] || "";
    svg.append(h("g", { svg: 1, class: `node ${outcome}`, "data-action": a.id, transform: `translate(${p.x},${p.y})` },
      h("title", { svg: 1 }, `${a.command}\n${a.reason}`),
      h("rect", { svg: 1, width: W, height: H, rx: 5 }),
      h("text", { svg: 1, x: 8, y: 17 }, `${a.id} ${a.kind}`),
      h("text", { svg: 1, x: 8, y: 33, class: "sub" }, a.object.length > 30 ? a.object.slice(0, 29) + "…" : a.object)));
  }
  return svg;
}

function renderPlan(plan) {
  state.plan = plan;
  const el = document.getElementById("plan-panel");
  const s = plan.summary;
  const head = h("p", {}, `${plan.actions.length} action(s): ${s.create} to create, ${s.change} to change, ${s.migrate} to migrate, ${s.delete} to delete`,
    plan.estimate?.seconds ? ` · about ${Math.round(plan.estimate.seconds)} s` : "", plan.scope ? ` · planned for the ${plan.scope}` : "");
  const notes = [...plan.errors.map((e) => h("li", { class: "failed" }, e)), ...plan.warnings.map((w) => h("li", { class: "held" }, w)),
    ...plan.inProgress.map((p) => h("li", { class: "running" }, `in progress: ${p}`)), ...plan.deferred.map((d) => h("li", { class: "held" }, `deferred: ${d}`))];
  if (!plan.actions.length) {
    el.replaceChildren(head, h("ul", {}, notes), h("p", { class: "empty", "data-test": "plan-empty" }, "Nothing to do: the estate matches the manifests."));
    return;
  }
  const rows = plan.actions.map((a) => h("tr", { "data-action-row": a.id },
    h("td", {}, a.id), h("td", {}, a.kind), h("td", {}, a.object), h("td", { class: `state ${state.actions[a.id] || ""}`, "data-test": "action-outcome" }, state.actions[a.id] || "planned"),
    h("td", {}, a.after.join(", ")), h("td", { class: "cmd" }, a.command), h("td", {}, a.reason)));
  el.replaceChildren(head, h("ul", {}, notes), h("div", { style: "overflow:auto" }, dag(plan.actions)),
    h("table", {}, h("tr", {}, ["id", "kind", "object", "outcome", "after", "command", "reason"].map((t) => h("th", {}, t))), rows));
}

// --- drift and audit ------------------------------------------------------------------

function renderDrift(d) {
  const el = document.getElementById("drift-panel");
  if (!d.drift) {
    el.replaceChildren(h("p", { "data-test": "no-drift" }, "No drift: the estate matches the manifests."));
    return;
  }
  el.replaceChildren(
    h("p", {}, `${d.objects.length} object(s) differ from the manifests; ${d.actions} action(s) heal them.`),
    h("ul", {}, d.inProgress.map((p) => h("li", { class: "running" }, `in progress: ${p}`)), d.deferred.map((p) => h("li", { class: "held" }, `deferred: ${p}`))),
    h("table", {}, h("tr", {}, h("th", {}, "object"), h("th", {}, "change"), h("th", {}, "fields")),
      d.objects.map((o) => h("tr", { "data-drift": o.object }, h("td", {}, o.object), h("td", {}, o.kind),
        h("td", { class: "cmd" }, (o.fields || []).map((f) => `${f.path}: ${f.old ?? "-"} → ${f.new ?? "-"}`).join("\n"))))));
}

async function loadAudit() {
  const form = new FormData(document.getElementById("audit-filter"));
  const q = new URLSearchParams();
  for (const [k, v] of form) if (v) q.set(k, v);
  q.set("limit", "500");
  const page = await api(`/api/v1/audit?${q}`);
  const verdict = await api("/api/v1/audit/verify");
  document.getElementById("audit-verdict").replaceChildren(h("p", { class: verdict.intact ? "succeeded" : "failed", "data-test": "audit-verdict" },
    verdict.intact ? `audit trail intact: ${verdict.records - verdict.checkpoints} records` : `audit trail DAMAGED: ${verdict.damage.length} problem(s)`));
  document.querySelector("#audit-table tbody").replaceChildren(...page.records.slice().reverse().map((r) =>
    h("tr", { "data-seq": r.seq }, h("td", {}, r.seq), h("td", {}, r.time), h("td", {}, r.event), h("td", {}, r.action),
      h("td", {}, r.kind), h("td", {}, r.object), h("td", { class: `state ${r.result || ""}` }, r.result || ""),
      h("td", {}, r.duration_ms ?? ""), h("td", {}, r.message || ""))));
}

// --- loading and live updates ---------------------------------------------------------

async function load(what) {
  const tasks = {
    status: () => api("/api/v1/status").then(renderStatus),
    estate: () => api("/api/v1/estate").then(renderEstate),
    plan: () => api("/api/v1/plan").then(renderPlan),
    drift: () => api("/api/v1/drift").then(renderDrift),
    audit: loadAudit,
  };
  await Promise.all((what || Object.keys(tasks)).map((k) => tasks[k]().catch((e) => {
    const el = document.getElementById(`${k}-panel`);
    if (el && k !== "audit") el.replaceChildren(h("p", { class: "empty" }, `${k}: ${e.message}`));
  })));
  document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
}

let pending = null;
function soon(what) {
  pending = [...new Set([...(pending || []), ...what])];
  setTimeout(() => { const w = pending; pending = null; if (w) load(w); }, 150);
}

function logEvent(type, data) {
  const text = {
    reconcileStarted: () => `reconcile started (${data.reason})`,
    reconcileEnded: () => `reconcile ${data.result}: ${data.detail}`,
    planned: () => `planned: ${data.summary}`,
    actionStarted: () => `${data.id} ${data.kind} ${data.object} started`,
    actionFinished: () => `${data.id} ${data.kind} ${data.object} ${data.outcome}`,
    driftFound: () => `drift: ${data.objects.join(", ")}`,
  }[type]?.() || type;
  const log = document.getElementById("event-log");
  log.prepend(h("li", { "data-event": type }, `${new Date().toLocaleTimeString()} ${text}`));
  while (log.children.length > 200) log.lastChild.remove();
}

function live() {
  if (state.token || typeof EventSource === "undefined") {
    // EventSource sends no Authorization header: a controller that wants the token for reads
    // is followed by polling.
    setInterval(() => load(["status", "plan"]), 2000);
    return;
  }
  const es = new EventSource("/api/v1/events");
  const dot = document.getElementById("live");
  es.onopen = () => dot.classList.add("on");
  es.onerror = () => dot.classList.remove("on");
  const on = (type, f) => es.addEventListener(type, (e) => { const d = JSON.parse(e.data); logEvent(type, d); f(d); });
  on("reconcileStarted", () => soon(["status"]));
  on("planned", () => { state.actions = {}; soon(["status", "plan", "drift"]); });
  on("actionStarted", (d) => { state.actions[d.id] = "running"; soon(["status", "plan"]); });
  on("actionFinished", (d) => { state.actions[d.id] = d.outcome; soon(["status", "plan", "audit"]); });
  on("driftFound", () => soon(["estate", "drift"]));
  on("reconcileEnded", () => soon(["status", "estate", "drift", "audit"]));
}

function tabs() {
  const show = () => {
    const tab = (location.hash || "#estate").slice(1);
    document.querySelectorAll("[data-panel]").forEach((p) => (p.hidden = p.dataset.panel !== tab));
    document.querySelectorAll("[data-tab]").forEach((a) => a.classList.toggle("active", a.dataset.tab === tab));
  };
  window.addEventListener("hashchange", show);
  show();
}

document.getElementById("audit-filter").addEventListener("submit", (e) => { e.preventDefault(); loadAudit(); });
tabs();
live();
load();
