// The usage section, shown for an app and for an organization: the summary cards, and the
// charts of monthly active devices, storage, bandwidth per day and cumulative bandwidth.

import { apiUrl } from "./api.js";
import { drawBars, drawLine } from "./charts.js";
import { exact, formatBytes, formatCount } from "./format.js";

const $ = (id) => document.getElementById(id);

function setValue(id, value, text, title) {
  const output = $(id);
  output.textContent = text;
  output.title = title;
  output.dataset.value = value === null ? "" : String(value);
}

function showCards(daily, cumulative) {
  const last = daily[daily.length - 1];
  const total = cumulative[cumulative.length - 1];
  if (!last) {
    for (const name of ["mau", "storage", "bandwidth"]) {
      setValue(`value-${name}`, null, "–", "no days in this range");
      $(`note-${name}`).textContent = "";
    }
    return;
  }
  setValue("value-mau", last.mau, formatCount(last.mau), `${exact.format(last.mau)} devices`);
  $("note-mau").textContent = `on ${last.date}`;
  setValue(
    "value-storage", last.storage, formatBytes(last.storage),
    `${exact.format(last.storage)} bytes`,
  );
  $("note-storage").textContent = `on ${last.date}`;
  setValue(
    "value-bandwidth", total.bandwidth, formatBytes(total.bandwidth),
    `${exact.format(total.bandwidth)} bytes`,
  );
  $("note-bandwidth").textContent =
    cumulative[0].date === total.date ? `on ${total.date}` : `${cumulative[0].date} to ${total.date}`;
}

export const usage = {
  element: null,
  appliesTo: () => true,
  sources: (target, range) => ({
    daily: apiUrl(target.path, { ...range, noAccumulate: "true" }),
    cumulative: apiUrl(target.path, range),
  }),
  draw(data) {
    showCards(data.daily, data.cumulative);
    return Promise.all([
      drawLine("chart-mau", data.daily, "mau", formatCount, "devices"),
      drawLine("chart-storage", data.daily, "storage", formatBytes, ""),
      drawBars("chart-bandwidth", data.daily, "bandwidth", formatBytes),
      drawLine("chart-cumulative", data.cumulative, "bandwidth", formatBytes, ""),
    ]);
  },
  clear() {},
};
