// Sobol indices on the dashboard: per output, each input's first-order and total index as a
// bar with its 95% interval as a whisker, drawn in SVG from the snapshot's `job.live.sobol`
// (indices from the batches arrived so far while the job runs, the summary's once it ended).
"use strict";

function renderSobol(sobol) {
  const card = document.getElementById("sobol-card");
  if (!card) return;
  card.hidden = !sobol;
  if (!sobol) return;
  const fmt = (x) => (x == null || !isFinite(x) ? "–" : x.toFixed(3));
  const clean = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const left = 90, width = 420, row = 34, bar = 11;
  // The axis runs from 0 to 1 (or past it, when an estimate or its whisker does).
  const html = Object.entries(sobol.outputs).map(([output, indices]) => {
    const top = Math.max(1, ...indices.flatMap((i) => [i.first_ci95[1], i.total_ci95[1]].filter(isFinite)));
    const low = Math.min(0, ...indices.flatMap((i) => [i.first_ci95[0], i.total_ci95[0]].filter(isFinite)));
    const x = (v) => left + ((Math.min(Math.max(v, low), top) - low) / (top - low)) * width;
    const height = indices.length * row + 30;
    const shapes = indices.map((i, k) => {
      const y = 10 + k * row;
      const one = (value, [lo, hi], dy, cls) => {
        if (!isFinite(value)) return "";
        const from = Math.min(x(0), x(value)), to = Math.max(x(0), x(value));
        const whisker = isFinite(lo) && isFinite(hi)
          ? `<line class="whisker" x1="${x(lo)}" x2="${x(hi)}" y1="${y + dy + bar / 2}" y2="${y + dy + bar / 2}"/>` +
            `<line class="whisker" x1="${x(lo)}" x2="${x(lo)}" y1="${y + dy + 2}" y2="${y + dy + bar - 2}"/>` +
            `<line class="whisker" x1="${x(hi)}" x2="${x(hi)}" y1="${y + dy + 2}" y2="${y + dy + bar - 2}"/>`
          : "";
        return `<rect class="${cls}" x="${from}" y="${y + dy}" width="${Math.max(1, to - from)}" height="${bar}">` +
          `<title>${cls} ${fmt(value)} [${fmt(lo)}, ${fmt(hi)}]</title></rect>${whisker}`;
      };
      return `<text x="${left - 6}" y="${y + bar + 4}" text-anchor="end">${clean(i.input)}</text>` +
        one(i.first, i.first_ci95, 0, "first") + one(i.total, i.total_ci95, bar + 1, "total");
    });
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) =>
      `<line class="tick" x1="${x(t)}" x2="${x(t)}" y1="6" y2="${height - 20}"/><text x="${x(t)}" y="${height - 6}" text-anchor="middle">${t}</text>`);
    const rows = indices.map((i) => `<tr><td>${clean(i.input)}</td><td>${fmt(i.first)}</td><td>${fmt(i.first_ci95[0])} … ${fmt(i.first_ci95[1])}</td>` +
      `<td>${fmt(i.total)}</td><td>${fmt(i.total_ci95[0])} … ${fmt(i.total_ci95[1])}</td></tr>`).join("");
    return `<div class="sobol-output"><h3>${clean(output)}</h3>` +
      `<svg class="sobol-chart" data-output="${clean(output)}" width="${left + width + 20}" height="${height}" role="img" aria-label="Sobol indices of ${clean(output)}">` +
      `${ticks.join("")}${shapes.join("")}</svg>` +
      `<table><thead><tr><th>input</th><th>first</th><th>95% CI</th><th>total</th><th>95% CI</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  });
  document.getElementById("sobol-rows").textContent =
    `${sobol.rows.toLocaleString("en-US")} design rows${sobol.skipped ? `, ${sobol.skipped.toLocaleString("en-US")} left out for a failed run` : ""}; ` +
    "bars: first-order (dark) and total (light) index, whiskers: 95% interval";
  document.getElementById("sobol").innerHTML = html.join("");
}
