// The release health section, shown for an app: for each version, its devices, installs,
// rollbacks, rollback rate, crash rate and JavaScript errors (GET .../health); the newest version
// compared with the one before it, a rate flagged when it is worse; and a chart of the devices
// that rolled back and crashed each day. The table's last column is each version's adoption
// forecast on the range's last day (GET .../adoption): the day its share may reach 50 % and 90 %.

import { apiUrl } from "./api.js";
import { clear, FEW_DAYS, layout, niceAxis, plot } from "./charts.js";
import { exact, formatCount, today } from "./format.js";

const $ = (id) => document.getElementById(id);

const COLUMNS = [
  { name: "devices", total: "devices" },
  { name: "installs", total: "installs" },
  { name: "rollbacks", total: "rollbacks" },
  { name: "rollback rate", rate: "rollback" },
  { name: "crash rate", rate: "crash" },
  { name: "JS errors", total: "js_errors" },
  { name: "forecast", forecast: true },
];
const GOALS = ["50", "90"];
const SERIES = [
  { total: "rollbacks", label: "Rolled back", color: "#d62728" },
  { total: "crashes", label: "Crashed", color: "#9467bd" },
];

/** A rate (0..1) as a percentage with two decimals, or a dash when it has no divisor. */
export function formatRate(rate) {
  return rate === null ? "–" : `${(rate * 100).toFixed(2)} %`;
}

/** When a version may reach 50 % and 90 % of the devices: a day, "reached" when its share is
 * there already, or a dash (no forecast: not rising, too old, or no device on that day). */
function forecastText(adopted) {
  const shown = GOALS.map((goal) => {
    const day = adopted ? adopted.forecast[goal] : null;
    return day || (adopted && adopted.share >= Number(goal) ? "reached" : "–");
  });
  if (shown.every((text) => text === "–")) return "–";
  return GOALS.map((goal, index) => `${goal} %: ${shown[index]}`).join(" · ");
}

function cell(row, version, column, adoption) {
  const td = row.insertCell();
  td.className = "number";
  if (column.forecast) {
    const adopted = adoption.get(version.version);
    td.textContent = forecastText(adopted);
    td.dataset.value = GOALS.map((goal) => (adopted && adopted.forecast[goal]) || "").join("|");
    td.title = adopted ? `${adopted.share} % of the devices on ${adopted.date}` : "";
  } else if (column.rate) {
    const rate = version.rates[column.rate];
    td.textContent = formatRate(rate);
    td.dataset.value = rate === null ? "" : String(rate);
  } else {
    const value = version.totals[column.total];
    td.textContent = formatCount(value);
    td.title = `${exact.format(value)} devices`;
    td.dataset.value = String(value);
  }
}

function showTable(answer, adopted) {
  const adoption = new Map(
    adopted.versions.map((version) => [version.version, { ...version, date: adopted.date }]),
  );
  const body = $("health-table").tBodies[0];
  body.replaceChildren();
  $("health-caption").textContent = answer.versions.length
    ? `Devices up to ${answer.labels[answer.labels.length - 1] || "today"}, newest version first`
    : "No version has any report up to the end of this range.";
  for (const version of [...answer.versions].reverse()) {
    const row = body.insertRow();
    row.dataset.version = version.version;
    row.insertCell().textContent = version.version;
    for (const column of COLUMNS) cell(row, version, column, adoption);
  }
}

/** The newest version beside the one before it; each rate that is higher is flagged. */
function showComparison(answer) {
  const box = $("health-compare");
  box.replaceChildren();
  const count = answer.versions.length;
  if (count < 2) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const [before, newest] = answer.versions.slice(count - 2);
  const title = document.createElement("p");
  title.textContent = `${newest.version} compared with ${before.version}`;
  box.append(title);
  for (const [rate, name] of [["rollback", "Rollback rate"], ["crash", "Crash rate"]]) {
    const now = newest.rates[rate];
    const then = before.rates[rate];
    const worse = now !== null && then !== null && now > then;
    const item = document.createElement("p");
    item.className = worse ? "rate worse" : "rate";
    item.dataset.rate = rate;
    item.dataset.worse = String(worse);
    item.textContent = `${name}: ${formatRate(now)} (${newest.version}) vs ${formatRate(then)} (${before.version})${worse ? " — worse" : ""}`;
    box.append(item);
  }
}

function drawDaily(answer) {
  const dates = answer.labels;
  const traces = SERIES.map((series) => {
    const values = dates.map((_, day) =>
      answer.versions.reduce((sum, version) => sum + version.daily[series.total][day], 0),
    );
    return {
      type: "scatter",
      mode: dates.length === 1 ? "markers" : dates.length <= FEW_DAYS ? "lines+markers" : "lines",
      name: series.label,
      x: dates,
      y: values,
      hovertemplate: `${series.label}: %{y} devices<extra></extra>`,
      line: { color: series.color, width: 2, simplify: false },
      marker: { color: series.color, size: 6 },
    };
  });
  const axis = niceAxis(traces.flatMap((trace) => trace.y), formatCount, true);
  const extra = { showlegend: true, legend: { orientation: "h", y: -0.15 }, hovermode: "x unified" };
  return plot("chart-health", traces, layout(dates, axis, extra));
}

export const health = {
  element: "health",
  appliesTo: (target) => target.kind === "app",
  sources: (target, range) => ({
    health: apiUrl(`${target.path}/health`, range),
    // The range's last day; a range that reaches today asks for the server's today.
    adoption: apiUrl(`${target.path}/adoption`, range.to && range.to < today() ? { date: range.to } : {}),
  }),
  draw(data) {
    showTable(data.health, data.adoption);
    showComparison(data.health);
    return drawDaily(data.health);
  },
  clear() {
    clear("chart-health");
  },
};
