// The tornado chart: per output, one horizontal bar per input, longest (largest |Spearman ρ|)
// first, negative correlations to the left of the axis and positive ones to the right, with the
// 95% interval as a thin line and the share of the output's variance beside it. Plain DOM
// (uPlot draws time series): sizes are set through the CSSOM, which the page's
// Content-Security-Policy allows, never through inline style attributes.
"use strict";

// Inputs shown per output; the rest are counted in a note (they are the smallest).
const TORNADO_ROWS = 15;

function tornadoElement(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text != null) el.textContent = text;
  return el;
}

// Position on the track, in percent, of a correlation in [-1, 1].
const tornadoAt = (rho) => 50 + 50 * Math.max(-1, Math.min(1, rho));

function tornadoRow(row, rank) {
  const el = tornadoElement("div", "tornado-row");
  el.dataset.input = row.input;
  el.dataset.rank = String(rank);
  el.title = `${row.input}: Spearman ρ ${row.spearman.toFixed(4)} (95% interval ` +
    `${row.ci95[0].toFixed(4)} … ${row.ci95[1].toFixed(4)}), ` +
    `${(100 * row.contribution).toFixed(1)}% of the variance`;
  const track = tornadoElement("span", "tornado-track");
  const bar = tornadoElement("span", `tornado-bar ${row.spearman < 0 ? "negative" : "positive"}`);
  bar.style.left = `${Math.min(50, tornadoAt(row.spearman))}%`;
  bar.style.width = `${Math.abs(tornadoAt(row.spearman) - 50)}%`;
  const ci = tornadoElement("span", "tornado-ci");
  ci.style.left = `${tornadoAt(row.ci95[0])}%`;
  ci.style.width = `${tornadoAt(row.ci95[1]) - tornadoAt(row.ci95[0])}%`;
  track.append(bar, ci);
  const sign = row.spearman < 0 ? "−" : "+";
  el.append(
    tornadoElement("span", "tornado-input", row.input),
    track,
    tornadoElement("span", "tornado-value",
      `${sign}${Math.abs(row.spearman).toFixed(3)} · ${(100 * row.contribution).toFixed(1)}%`),
  );
  return el;
}

// Draws `tornado` (the summary's or the live view's `tornado`, or null) into `root`; `live`
// says the figures are the running estimate.
function renderTornado(root, tornado, live) {
  if (!root) return;
  const outputs = tornado ? Object.entries(tornado.outputs) : [];
  root.dataset.blocks = tornado ? String(tornado.blocks) : "0";
  if (!outputs.length) {
    root.textContent = "No rank correlations: they come with batches of 32 or more successful " +
      "scenarios in which an input and an output both vary.";
    return;
  }
  const figures = outputs.map(([output, rows]) => {
    const figure = tornadoElement("figure", "tornado");
    figure.dataset.output = output;
    figure.append(tornadoElement("figcaption", null, `${output}: Spearman ρ with each input, share of variance`));
    rows.slice(0, TORNADO_ROWS).forEach((row, rank) => figure.append(tornadoRow(row, rank)));
    if (rows.length > TORNADO_ROWS) {
      figure.append(tornadoElement("p", "tornado-note", `and ${rows.length - TORNADO_ROWS} smaller inputs`));
    }
    return figure;
  });
  const note = tornadoElement("p", "tornado-note",
    `${live ? "Live estimate" : "Final"}: mean of the per-batch coefficients over ` +
    `${tornado.blocks.toLocaleString("en-US")} batches; the thin line is the 95% interval.`);
  root.replaceChildren(...figures, note);
}

window.renderTornado = renderTornado;
