// Drawing with the charting library (plotly.js, loaded before the modules): day-by-day lines,
// bars and stacked shares, with axes that read well from a single day to a year.

import { DAY_MS, formatCount } from "./format.js";

export const COLORS = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

/** Up to this many days, each day has its tick, its marker on a line, its own width of axis. */
export const FEW_DAYS = 14;
/** Up to this many days, the shares of a day are a stacked bar rather than a stacked area. */
export const STACKED_BAR_DAYS = 7;
const BAR_WIDTH = 0.8 * DAY_MS;

const CONFIG = { displayModeBar: false, responsive: true };

/** Draw ``traces`` into the element ``id``; a promise of the drawing. */
export function plot(id, traces, chartLayout) {
  const element = document.getElementById(id);
  // The library updates a chart in place, and keeps parts of the former drawing (a line) when
  // the kind of trace changes (lines to markers): such a chart is drawn anew.
  const shape = traces.map((trace) => `${trace.type}/${trace.mode || ""}`).join(",");
  if (element.dataset.shape !== shape) Plotly.purge(element);
  element.dataset.shape = shape;
  return Plotly.react(element, traces, chartLayout, CONFIG);
}

export function clear(id) {
  const element = document.getElementById(id);
  Plotly.purge(element);
  delete element.dataset.shape;
}

/** A value axis from 0 with round ticks, whose top stays clear of the largest value. */
export function niceAxis(values, format, integers) {
  const max = values.reduce((a, b) => Math.max(a, b), 0);
  if (max <= 0) return { range: [0, 1], tickvals: [0], ticktext: [format(0, true)] };
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / magnitude;
  let step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * magnitude;
  if (integers) step = Math.max(1, Math.round(step));
  let top = Math.ceil(max / step) * step;
  // A single value (one day) would otherwise sit on the top edge, where it reads as a border.
  if (top - max < step / 4) top += step;
  const tickvals = [];
  for (let tick = 0; tick <= top + step / 2; tick += step) tickvals.push(tick);
  return { range: [0, top], tickvals, ticktext: tickvals.map((tick) => format(tick, true)) };
}

/** The layout of a chart of ``dates`` (ISO days) with the value axis ``yaxis``. */
export function layout(dates, yaxis, extra) {
  const days = dates.length;
  const xaxis = { type: "date", tickformat: "%b %-d", showgrid: false, fixedrange: true };
  if (days && days <= FEW_DAYS) {
    // A tick a day, and half a day of room on each side, so that one day is a column, not a
    // line on the edge of an axis of no width.
    xaxis.dtick = DAY_MS;
    xaxis.range = [Date.parse(dates[0]) - DAY_MS / 2, Date.parse(dates[days - 1]) + DAY_MS / 2];
  }
  return {
    margin: { l: 64, r: 12, t: 8, b: 32 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, sans-serif", size: 12, color: "#1d2630" },
    showlegend: false,
    hovermode: "closest",
    xaxis,
    yaxis: { ...yaxis, tickmode: "array", fixedrange: true, gridcolor: "#e6e9ec", zeroline: false },
    ...extra,
  };
}

/** ``field`` of each day of ``points`` as a line (with markers on few days, only a marker on one). */
export function drawLine(id, points, field, format, unit) {
  const values = points.map((point) => point[field]);
  const days = points.length;
  const trace = {
    type: "scatter",
    mode: days === 1 ? "markers" : days <= FEW_DAYS ? "lines+markers" : "lines",
    x: points.map((point) => point.date),
    y: values,
    customdata: values.map((value) => `${format(value)}${unit ? ` ${unit}` : ""}`),
    hovertemplate: "%{x|%Y-%m-%d}: %{customdata}<extra></extra>",
    line: { color: "#1f5f8b", width: 2, simplify: false },
    marker: { color: "#1f5f8b", size: days === 1 ? 10 : 6 },
    fill: "tozeroy",
    fillcolor: "rgba(31,95,139,0.08)",
  };
  const axis = niceAxis(values, format, format === formatCount);
  return plot(id, [trace], layout(trace.x, axis));
}

/** ``field`` of each day of ``points`` as a bar a day. */
export function drawBars(id, points, field, format) {
  const values = points.map((point) => point[field]);
  const trace = {
    type: "bar",
    x: points.map((point) => point.date),
    y: values,
    // Bars on a date axis are as wide as this many milliseconds: without it, the width of a
    // lone bar is computed from no neighbour and comes out at nothing.
    width: values.map(() => BAR_WIDTH),
    customdata: values.map((value) => format(value)),
    hovertemplate: "%{x|%Y-%m-%d}: %{customdata}<extra></extra>",
    marker: { color: "#4c8dbf" },
  };
  return plot(id, [trace], layout(trace.x, niceAxis(values, format, false)));
}

const SHARE_AXIS = {
  range: [0, 100],
  tickvals: [0, 25, 50, 75, 100],
  ticktext: ["0 %", "25 %", "50 %", "75 %", "100 %"],
};

/** Shares (percent) by day, one series a version: stacked areas, or stacked bars on few days. */
export function drawShares(id, dates, series) {
  const bars = dates.length <= STACKED_BAR_DAYS;
  const traces = series.map((one, index) => {
    const color = COLORS[index % COLORS.length];
    const common = {
      name: one.name,
      x: dates,
      y: one.shares,
      customdata: one.counts.map((count) => formatCount(count)),
      hovertemplate: `${escapeHtml(one.name)}: %{y:.1f} % (%{customdata} devices)<extra></extra>`,
    };
    if (bars) {
      return {
        ...common,
        type: "bar",
        width: dates.map(() => BAR_WIDTH),
        marker: { color, line: { color: "#ffffff", width: 1 } },
        texttemplate: "%{y:.0f} %",
        textposition: "inside",
        insidetextanchor: "middle",
      };
    }
    return {
      ...common,
      type: "scatter",
      mode: "lines",
      stackgroup: "versions",
      line: { width: 0.5, color, simplify: false },
      fillcolor: color,
    };
  });
  const extra = {
    showlegend: true,
    legend: { orientation: "h", y: -0.12 },
    margin: { l: 64, r: 12, t: 8, b: 48 },
    hovermode: "x unified",
    barmode: "stack",
    // A share too small for its label inside its bar goes without one (the table has it).
    uniformtext: { mode: "hide", minsize: 10 },
  };
  return plot(id, traces, layout(dates, SHARE_AXIS, extra));
}

function escapeHtml(text) {
  // Trace labels go through the charting library's small HTML-like markup.
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
