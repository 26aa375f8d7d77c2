// The mcp dashboard: renders the snapshots of GET /api/events, and sends commands.
"use strict";

const $ = (sel) => document.querySelector(sel);
const nf = new Intl.NumberFormat("en-US");
const count = (n) => (n == null ? "–" : nf.format(Math.round(n)));
const num = (x) => {
  if (x == null || !isFinite(x)) return "–";
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return x.toExponential(3);
  return x.toLocaleString("en-US", { maximumSignificantDigits: 6 });
};
const compactNf = new Intl.NumberFormat("en-US", { notation: "compact", maximumSignificantDigits: 3 });
const compact = (x) => (x == null || !isFinite(x) ? "" : compactNf.format(x));
const compactAxis = { values: (u, vals) => vals.map(compact), size: 60 };
const rate = (x) => (x == null || !isFinite(x) ? "–" : `${count(x)}/s`);
const bytes = (b) => (b == null ? "–" : b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : `${(b / (1 << 20)).toFixed(1)} MiB`);
const seconds = (s) => {
  if (s == null || !isFinite(s)) return "–";
  if (s < 1e-6) return `${(s * 1e9).toFixed(0)} ns`;
  if (s < 1e-3) return `${(s * 1e6).toFixed(1)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(1)} ms`;
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${r.toFixed(0)} s`;
  return `${r.toFixed(1)} s`;
};
const when = (ms) => (ms ? new Date(ms).toLocaleString() : "–");
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const facts = (el, pairs) => {
  el.innerHTML = pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("");
};
// The rows of an output's exceedances (`P(> t)`) and tail risks (`VaR α`, `CVaR α`), each
// with its 95% interval where it has one.
const riskFacts = (o) => [
  ...(o.exceedance || []).map((e) => [`P(> ${num(e.threshold)})`, `${num(e.probability)}  (${num(e.ci95[0])} … ${num(e.ci95[1])})`]),
  ...(o.var || []).flatMap((r) => [
    [`VaR ${r.level}`, `${num(r.var)}  (${num(r.var_ci95[0])} … ${num(r.var_ci95[1])})`],
    [`CVaR ${r.level}`, num(r.cvar)],
  ]),
];
const badge = (el, state) => {
  el.textContent = state ? state.replace("_", " ") : "";
  el.dataset.state = state || "";
};

// ---- charts (uPlot; absent when the binary was built without it) ----
const charts = {};
const series = { job: null, t: [], done: [], producer: [], consumers: [], per: {} };
const hasCharts = typeof window.uPlot === "function";

function chart(id, opts, data) {
  const el = document.getElementById(id);
  if (!hasCharts || !el) return null;
  const width = Math.max(260, el.clientWidth || 300);
  if (!charts[id]) {
    charts[id] = new uPlot({ width, height: 200, ...opts }, data, el);
  } else {
    if (Math.abs(charts[id].width - width) > 20) charts[id].setSize({ width, height: 200 });
    charts[id].setData(data);
  }
  return charts[id];
}

const bars = () => (hasCharts ? uPlot.paths.bars({ size: [0.95, 60] }) : undefined);
const palette = ["#2f6fdb", "#1f9d55", "#c27c0e", "#c4332f", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];

function throughputChart(snapshot) {
  const ids = Object.keys(series.per).sort();
  const data = [series.t, series.producer, series.consumers, ...ids.map((id) => series.per[id])];
  const key = `throughput:${ids.join(",")}`;
  if (charts["chart-throughput"] && charts["chart-throughput"].key !== key) {
    charts["chart-throughput"].destroy();
    delete charts["chart-throughput"];
    document.getElementById("chart-throughput").innerHTML = "";
  }
  const u = chart("chart-throughput", {
    title: "Throughput (scenarios/s)",
    // The producer publishes far faster than consumers evaluate: it gets its own axis.
    scales: { p: {} },
    axes: [{}, compactAxis, { ...compactAxis, scale: "p", side: 1, grid: { show: false }, stroke: "#94a3b8" }],
    series: [
      {},
      { label: "producer (right axis)", stroke: "#94a3b8", scale: "p" },
      { label: "consumers", stroke: palette[0], width: 2 },
      ...ids.map((id, i) => ({ label: id, stroke: palette[(i + 1) % palette.length] })),
    ],
  }, data);
  if (u) u.key = key;
}

function recordSeries(s) {
  const job = s.job;
  const id = job ? job.id : null;
  if (id !== series.job) {
    Object.assign(series, { job: id, t: [], done: [], producer: [], consumers: [], per: {} });
  }
  const t = s.at_ms / 1000;
  series.t.push(t);
  series.done.push(job ? job.scenarios : 0);
  series.producer.push(job && job.producer ? job.producer.rate : null);
  const live = s.consumers.filter((c) => c.seen_state !== "lost" && c.seen_state !== "stopped");
  series.consumers.push(live.reduce((a, c) => a + c.scenarios_per_s, 0));
  for (const c of s.consumers) {
    if (!series.per[c.id]) series.per[c.id] = series.t.slice(0, -1).map(() => null);
  }
  for (const id of Object.keys(series.per)) {
    const c = s.consumers.find((x) => x.id === id);
    series.per[id].push(c && c.seen_state !== "lost" ? c.scenarios_per_s : null);
  }
  const keep = 600; // five minutes at two snapshots a second
  if (series.t.length > keep) {
    for (const k of ["t", "done", "producer", "consumers"]) series[k].splice(0, series[k].length - keep);
    for (const id of Object.keys(series.per)) series.per[id].splice(0, series.per[id].length - keep);
  }
}

// ---- rendering ----
let latest = null;

function render(s) {
  latest = s;
  window.mcpRenders = (window.mcpRenders || 0) + 1; // lets tests wait for the next snapshot
  recordSeries(s);
  const failure = $("#history-failure");
  failure.hidden = !s.history_failure;
  failure.textContent = s.history_failure
    ? `The job history cannot be written (${s.history_failure}); results wait, unacknowledged, until it can.`
    : "";
  renderJob(s.job);
  renderConsumers(s.consumers);
  $("#queues tbody").innerHTML = s.queues
    .map((q) => `<tr><td class="mono">${esc(q.name)}</td><td>${count(q.messages)}</td><td>${count(q.consumers)}</td></tr>`)
    .join("");
  if (location.hash === "#jobs") renderJobs(s.jobs);
  chart("chart-progress", {
    title: "Scenarios evaluated",
    axes: [{}, compactAxis],
    series: [{}, { label: "scenarios", stroke: palette[0], width: 2, fill: "#2f6fdb22" }],
  }, [series.t, series.done]);
  throughputChart(s);
  if (s.job) renderTimes(s.job.live.time_per_scenario);
  renderSobol(s.job && s.job.live.sobol);
  if (s.job) renderTornado($("#tornado"), s.job.live.tornado, s.job.state === "running");
  if (!hasCharts) $("#outputs").dataset.note = "charts not bundled";
}

// Why the spec's [stop] rule ended a job before its last scenario, as a fact (none otherwise).
function stoppedFact(job) {
  const why = {
    precision: "precision reached ([stop] rule)",
    max_scenarios: "max_scenarios reached ([stop] rule)",
  };
  return job.stopped ? [["stopped", why[job.stopped] || job.stopped]] : [];
}

function renderJob(job) {
  if (!job) return;
  $("#job-id").textContent = job.id;
  badge($("#job-state"), job.state);
  const pct = job.total ? (100 * job.scenarios) / job.total : 0;
  $("#progress-bar").style.width = `${pct.toFixed(2)}%`;
  $("#progress-text").textContent =
    `${count(job.scenarios)} / ${count(job.total)} scenarios (${pct.toFixed(1)}%)` +
    (job.failed ? `, ${count(job.failed)} failed` : "");
  const elapsed = job.elapsed_s;
  const speed = elapsed > 0 ? job.scenarios / elapsed : null;
  const eta = speed && job.state === "running" ? (job.total - job.scenarios) / speed : null;
  facts($("#job-facts"), [
    ["model", `${job.model.name} ${job.model.version}`],
    ["digest", job.model.digest.slice(0, 19) + "…"],
    ["seed", String(job.seed)],
    ["elapsed", seconds(elapsed)],
    ["rate", rate(speed)],
    ["ETA", eta == null ? "–" : seconds(eta)],
    ["submitted", when(job.submitted_at_ms)],
    ...stoppedFact(job),
  ]);
  $("#cancel").hidden = job.state !== "running";
  $("#cancel").dataset.job = job.id;
  // Why it failed; while it runs, which consumers refuse it (others run it).
  const refusals = (job.refused_by || []).map((r) => `Consumer ${r.consumer} refuses it: ${r.reason}`);
  const said = [job.message, ...refusals].filter(Boolean).join("\n");
  $("#message").hidden = !said;
  $("#message").textContent = said;
  const p = job.producer;
  facts($("#producer"), p
    ? [
        ["state", p.state],
        ["generated", `${count(p.generated)} / ${count(p.total)} (${((100 * p.generated) / Math.max(1, p.total)).toFixed(1)}%)`],
        ["rate", rate(p.rate)],
        ["elapsed", seconds(p.elapsed_s)],
        ["ETA", p.state === "publishing" ? seconds(p.eta_s) : "–"],
      ]
    : [["state", job.state === "running" ? "no report yet" : "idle"]]);
  renderFailures(job.failures);
  renderOutputs(job.live);
}

function renderConsumers(consumers) {
  $("#consumers tbody").innerHTML = consumers
    .map((c) => `<tr data-id="${esc(c.id)}" data-seen="${c.seen_state}">
      <td class="mono">${esc(c.id)}</td><td>${esc(c.host)}</td>
      <td><span class="badge" data-state="${c.seen_state}">${c.seen_state}</span></td>
      <td>${count(c.scenarios)}</td><td>${count(c.scenarios_per_s)}</td>
      <td>${seconds(c.last_s_per_scenario)}</td><td>${seconds(c.mean_s_per_scenario)}</td>
      <td>${count(c.failures)}</td><td>${bytes(c.rss_bytes)}</td><td>${c.cpu_percent == null ? "–" : c.cpu_percent.toFixed(1)}%</td>
      <td>${seconds(c.silent_s)} ago</td>
      <td><button type="button" data-action="pause" data-consumer="${esc(c.id)}">pause</button>
        <button type="button" data-action="resume" data-consumer="${esc(c.id)}">resume</button>
        <button type="button" data-action="drain" data-consumer="${esc(c.id)}">drain</button></td></tr>`)
    .join("");
  const live = consumers.filter((c) => c.seen_state !== "lost" && c.seen_state !== "stopped");
  const processed = consumers.reduce((a, c) => a + c.scenarios, 0);
  const busy = consumers.filter((c) => c.scenarios > 0);
  const meanT = busy.length
    ? busy.reduce((a, c) => a + c.mean_s_per_scenario * c.scenarios, 0) / Math.max(1, busy.reduce((a, c) => a + c.scenarios, 0))
    : null;
  $("#consumers tfoot").innerHTML = `<tr><td>total (${live.length} live)</td><td></td><td></td>
    <td>${count(processed)}</td><td>${count(live.reduce((a, c) => a + c.scenarios_per_s, 0))}</td>
    <td></td><td>${seconds(meanT)}</td><td>${count(consumers.reduce((a, c) => a + c.failures, 0))}</td>
    <td></td><td></td><td></td><td></td></tr>`;
}

function renderFailures(f) {
  const kinds = f && f.counts ? Object.entries(f.counts) : [];
  if (!kinds.length) {
    $("#failures").textContent = "None.";
    return;
  }
  const first = (f.first || []).slice(0, 10);
  $("#failures").innerHTML =
    `<table><tbody>${kinds.map(([k, n]) => `<tr><td>${esc(k)}</td><td>${count(n)}</td></tr>`).join("")}</tbody></table>` +
    `<ul>${first.map((x) => `<li>scenario ${count(x.scenario)}: <b>${esc(x.kind)}</b> ${esc(x.message)}</li>`).join("")}</ul>`;
}

function renderTimes(h) {
  const xs = h.bins.map((_, i) => Math.pow(10, h.from_exp + (i + 0.5) / h.per_decade));
  const nonzero = h.bins.map((b, i) => (b ? i : -1)).filter((i) => i >= 0);
  if (!nonzero.length) return;
  const lo = Math.max(0, nonzero[0] - 1), hi = Math.min(h.bins.length, nonzero[nonzero.length - 1] + 2);
  chart("chart-time", {
    title: "Time per scenario (batch means)",
    scales: { x: { time: false, distr: 3 } },
    axes: [{ values: (u, v) => v.map((x) => (Math.abs(Math.log10(x) - Math.round(Math.log10(x))) < 1e-9 ? seconds(x) : "")) }, compactAxis],
    series: [{ value: (u, x) => seconds(x) }, { label: "scenarios", fill: "#2f6fdb55", stroke: palette[0], paths: bars() }],
  }, [xs.slice(lo, hi), h.bins.slice(lo, hi)]);
}

function renderOutputs(live) {
  const root = $("#outputs");
  for (const [i, o] of live.outputs.entries()) {
    let box = document.getElementById(`out-${i}`);
    if (!box) {
      box = document.createElement("div");
      box.className = "output";
      box.id = `out-${i}`;
      box.innerHTML = `<h3></h3><dl class="facts"></dl><div id="hist-${i}" class="chart"></div><div id="conv-${i}" class="chart"></div>`;
      root.appendChild(box);
    }
    const estimated = (o.var || []).length ? "percentiles, VaR and CVaR estimated" : "percentiles estimated";
    box.querySelector("h3").textContent = `${o.name}${o.exact ? "" : ` (live; ${estimated})`}`;
    const p = o.percentiles;
    facts(box.querySelector("dl"), [
      ["count", count(o.count)],
      ["mean", num(o.mean)],
      ["95% CI", `${num(o.ci95[0])} … ${num(o.ci95[1])}`],
      ["std", num(o.std)],
      ["min / max", `${num(o.min)} / ${num(o.max)}`],
      ["p1 p5 p25", `${num(p.p1)}  ${num(p.p5)}  ${num(p.p25)}`],
      ["p50", num(p.p50)],
      ["p75 p95 p99", `${num(p.p75)}  ${num(p.p95)}  ${num(p.p99)}`],
      ...riskFacts(o),
    ]);
    const h = o.histogram;
    const xs = h.bins.map((_, j) => h.lo + h.width * (j + 0.5));
    chart(`hist-${i}`, {
      title: `${o.name}: histogram`,
      scales: { x: { time: false } },
      axes: [{ values: (u, v) => v.map(num) }, compactAxis],
      series: [{}, { label: "scenarios", fill: "#1f9d5555", stroke: palette[1], paths: bars() }],
    }, [xs, h.bins]);
    const c = o.convergence;
    chart(`conv-${i}`, {
      title: `${o.name}: running mean and 95% CI`,
      scales: { x: { time: false } },
      bands: [{ series: [3, 2], fill: "#2f6fdb22" }],
      axes: [{ values: (u, v) => v.map(compact) }, { values: (u, v) => v.map(num), size: 70 }],
      series: [{ label: "scenarios" }, { label: "mean", stroke: palette[0], width: 2 }, { label: "low", stroke: "#2f6fdb55" }, { label: "high", stroke: "#2f6fdb55" }],
    }, [c.map((x) => x[0]), c.map((x) => x[1]), c.map((x) => x[2]), c.map((x) => x[3])]);
  }
}

function renderJobs(jobs) {
  $("#jobs tbody").innerHTML = jobs
    .map((j) => `<tr><td><a class="mono" href="#job/${encodeURIComponent(j.id)}">${esc(j.id)}</a></td>
      <td><span class="badge" data-state="${j.state}">${j.state.replace("_", " ")}</span></td><td>${esc(j.model)}</td>
      <td>${count(j.scenarios)} / ${count(j.total)}</td><td>${count(j.failed)}</td><td>${when(j.submitted_at_ms)}</td>
      <td>${j.ended_at_ms ? seconds((j.ended_at_ms - j.submitted_at_ms) / 1000) : "running"}</td></tr>`)
    .join("");
}

async function showJob(id) {
  const r = await fetch(`/api/jobs/${encodeURIComponent(id)}`);
  const j = await r.json();
  $("#job-page").hidden = false;
  $("#job-page-tornado").hidden = !j.tornado;
  if (!r.ok) {
    $("#job-page-id").textContent = id;
    $("#job-page-summary").textContent = j.error;
    return;
  }
  $("#job-page-id").textContent = j.id;
  badge($("#job-page-state"), j.state);
  facts($("#job-page-facts"), [
    ["model", `${j.model.name} ${j.model.version} (${j.model.digest})`],
    ["seed", String(j.seed)],
    ["scenarios", `${count(j.scenarios)} / ${count(j.total)}, ${count(j.failed)} failed`],
    ["duration", seconds(j.elapsed_s)],
    ["submitted", when(j.submitted_at_ms)],
    ["ended", when(j.ended_at_ms)],
    ...stoppedFact(j),
    ...(j.message ? [["message", j.message]] : []),
  ]);
  renderDownloads(j);
  const rows = Object.entries(j.outputs).map(([name, o]) => `<tr><td>${esc(name)}</td><td>${count(o.count)}</td>
    <td>${num(o.mean)}</td><td>${num(o.ci95[0])} … ${num(o.ci95[1])}</td><td>${num(o.std)}</td><td>${num(o.min)}</td>
    <td>${num(o.percentiles.p5)}</td><td>${num(o.percentiles.p50)}</td><td>${num(o.percentiles.p95)}</td><td>${num(o.max)}</td></tr>`);
  const risks = Object.entries(j.outputs).flatMap(([name, o]) =>
    riskFacts(o).map(([k, v]) => `<tr><td>${esc(name)}</td><td>${esc(k)}</td><td>${esc(v)}</td></tr>`));
  $("#job-page-summary").innerHTML = rows.length
    ? `<table><thead><tr><th>output</th><th>count</th><th>mean</th><th>95% CI</th><th>std</th><th>min</th><th>p5</th><th>p50</th><th>p95</th><th>max</th></tr></thead><tbody>${rows.join("")}</tbody></table>` +
      (risks.length ? `<table class="risk"><thead><tr><th>output</th><th>statistic</th><th>value (95% interval)</th></tr></thead><tbody>${risks.join("")}</tbody></table>` : "")
    : "No summary yet: the job is running.";
  renderTornado($("#job-page-tornado"), j.tornado, false);
}

// Links to an ended job's summary and kept scenarios as files (GET /api/jobs/{id}/results, /scenarios).
function renderDownloads(j) {
  const base = `/api/jobs/${encodeURIComponent(j.id)}`;
  const links = (what) => ["csv", "json", "parquet"].map((f) => `<a href="${base}/${what}?format=${f}" download>${f}</a>`).join(" ");
  const kept = j.kept_scenarios ? ` · its ${count(j.kept_scenarios)} kept scenarios: ${links("scenarios")}` : "";
  $("#job-page-downloads").hidden = j.state === "running";
  $("#job-page-downloads").innerHTML = `Download the summary: ${links("results")}${kept}`;
}

// ---- pages ----
function route() {
  const h = location.hash;
  $("#live-page").hidden = !(h === "" || h === "#");
  $("#jobs-page").hidden = !(h === "#jobs" || h.startsWith("#job/"));
  $("#submit-page").hidden = h !== "#submit";
  $("#job-page").hidden = true;
  if (h === "#jobs" && latest) renderJobs(latest.jobs);
  if (h.startsWith("#job/")) {
    if (latest) renderJobs(latest.jobs);
    showJob(decodeURIComponent(h.slice(5)));
  }
}
window.addEventListener("hashchange", route);
route();

// ---- commands ----
// Writes need the server's token (printed when it started); it is asked for once and kept in
// this browser. Reading needs none.
async function authorized(url, init) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const token = localStorage.getItem("mcp-token");
    const headers = { ...(init.headers || {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const r = await fetch(url, { ...init, headers });
    if (r.status !== 401 || attempt === 1) return r;
    const given = prompt("This needs the server's token (printed when it started):");
    if (!given) return r;
    localStorage.setItem("mcp-token", given.trim());
  }
}

async function post(url, body) {
  const r = await authorized(url, body);
  if (!r.ok) {
    const e = await r.json().catch(() => ({ error: r.statusText }));
    alert(e.error);
  }
  return r;
}

document.addEventListener("click", (e) => {
  const b = e.target.closest("button[data-action]");
  if (b) {
    post("/api/control", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: b.dataset.action, consumer: b.dataset.consumer || null }),
    });
  }
});

$("#cancel").addEventListener("click", () => {
  const id = $("#cancel").dataset.job;
  if (id && confirm(`Cancel job ${id}?`)) post(`/api/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
});

$("#submit-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("#submit-error").hidden = true;
  $("#submit-ok").hidden = true;
  const r = await authorized("/api/jobs", { method: "POST", body: new FormData(e.target) });
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (r.ok) {
    $("#submit-ok").textContent = `Job ${body.id} submitted: ${count(body.scenarios)} scenarios.`;
    $("#submit-ok").hidden = false;
  } else {
    $("#submit-error").textContent = body.error;
    $("#submit-error").hidden = false;
  }
});

// ---- the live stream ----
function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => badge($("#connection"), "live"));
  source.addEventListener("snapshot", (e) => {
    badge($("#connection"), "live");
    const s = JSON.parse(e.data);
    if (s) render(s);
  });
  // The browser reopens the stream by itself; say so meanwhile.
  source.addEventListener("error", () => badge($("#connection"), "reconnecting"));
}
connect();
