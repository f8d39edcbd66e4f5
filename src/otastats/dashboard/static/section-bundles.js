// The bundle adoption section, shown for an app: the share of active devices on each bundle
// version by day, and a table of the last day's versions in use.

import { apiUrl } from "./api.js";
import { clear, COLORS, drawShares } from "./charts.js";
import { exact, formatCount, formatPercent } from "./format.js";

const $ = (id) => document.getElementById(id);

function showTable(answer) {
  const body = $("bundle-table").tBodies[0];
  body.replaceChildren();
  const last = answer.labels.length - 1;
  if (last < 0) {
    $("bundle-caption").textContent = "No days in this range.";
    return;
  }
  const rows = answer.datasets
    .map((dataset, index) => ({ dataset, index }))
    .filter(({ dataset }) => dataset.counts[last] > 0)
    .sort((a, b) => b.dataset.data[last] - a.dataset.data[last] || a.index - b.index);
  $("bundle-caption").textContent = rows.length
    ? `On ${answer.labels[last]}`
    : `No active device on ${answer.labels[last]}.`;
  for (const { dataset, index } of rows) {
    const row = body.insertRow();
    row.dataset.version = dataset.label;
    const version = row.insertCell();
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.backgroundColor = COLORS[index % COLORS.length];
    version.append(swatch, dataset.label);
    const share = row.insertCell();
    share.className = "number";
    share.textContent = formatPercent(dataset.data[last]);
    share.dataset.value = String(dataset.data[last]);
    const count = row.insertCell();
    count.className = "number";
    count.textContent = formatCount(dataset.counts[last]);
    count.title = `${exact.format(dataset.counts[last])} devices`;
    count.dataset.value = String(dataset.counts[last]);
  }
}

export const bundles = {
  element: "bundles",
  appliesTo: (target) => target.kind === "app",
  sources: (target, range) => ({ bundles: apiUrl(`${target.path}/bundle_usage`, range) }),
  draw(data) {
    const answer = data.bundles;
    showTable(answer);
    const series = answer.datasets.map((dataset) => ({
      name: dataset.label,
      shares: dataset.data,
      counts: dataset.counts,
    }));
    return drawShares("chart-bundles", answer.labels, series);
  },
  clear() {
    clear("chart-bundles");
  },
};
