// The alerts section, shown for an app: each alert of the app (GET /alerts/app/:app_id), the
// figure it watches and its threshold, the figure now, and its state (firing or ok) since when.
// Alerts are created with `otastats alert create`; the page only shows them.

import { apiUrl } from "./api.js";
import { exact, formatBytes, formatCount } from "./format.js";
import { formatRate } from "./section-health.js";

const $ = (id) => document.getElementById(id);

const RATES = new Set(["rollback_rate", "crash_rate"]);
const METRIC_NAMES = {
  rollback_rate: "Rollback rate",
  crash_rate: "Crash rate",
  mau: "Monthly active devices",
  bandwidth: "Bandwidth today",
  storage: "Bundle storage",
};

/** A figure of a metric as people read it; a dash when there is none yet. */
function formatFigure(metric, value) {
  if (value === null) return "–";
  if (RATES.has(metric)) return formatRate(value);
  return metric === "mau" ? formatCount(value) : formatBytes(value);
}

function text(row, content, className) {
  const td = row.insertCell();
  td.textContent = content;
  if (className) td.className = className;
  return td;
}

function showAlerts(answer) {
  const body = $("alerts-table").tBodies[0];
  body.replaceChildren();
  const firing = answer.alerts.filter((alert) => alert.state === "firing").length;
  $("alerts-caption").textContent = answer.alerts.length
    ? `${answer.alerts.length} alert${answer.alerts.length === 1 ? "" : "s"}, ${firing} firing`
    : "No alert watches this app (otastats alert create adds one).";
  $("alerts-table").tHead.hidden = answer.alerts.length === 0;
  for (const alert of answer.alerts) {
    const row = body.insertRow();
    row.dataset.alertId = alert.alert_id;
    row.dataset.state = alert.state;
    row.className = alert.state === "firing" ? "firing" : "";
    const rate = RATES.has(alert.metric);
    const about = rate && alert.version !== null ? ` (${alert.version})` : "";
    text(row, `${METRIC_NAMES[alert.metric] || alert.metric}${about}`).dataset.value = alert.metric;
    const above = text(row, `> ${formatFigure(alert.metric, alert.above)}`, "number");
    above.dataset.value = String(alert.above);
    if (rate) above.title = `at least ${exact.format(alert.min_devices)} devices`;
    const now = text(row, formatFigure(alert.metric, alert.value), "number");
    now.dataset.value = alert.value === null ? "" : String(alert.value);
    text(row, alert.state === "firing" ? "Firing" : "OK", "state").dataset.value = alert.state;
    const since = alert.changed_at === null ? "" : alert.changed_at.slice(0, 16).replace("T", " ");
    text(row, since ? `${since} UTC` : "–").dataset.value = alert.changed_at || "";
    text(row, alert.webhook_origin).dataset.value = alert.webhook_origin;
  }
}

export const alerts = {
  element: "alerts",
  appliesTo: (target) => target.kind === "app",
  sources: (target) => ({ alerts: apiUrl(`alerts/app/${encodeURIComponent(target.id)}`) }),
  draw(data) {
    showAlerts(data.alerts);
  },
  clear() {},
};
