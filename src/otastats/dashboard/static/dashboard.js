// The otastats dashboard: asks for an API key once, lists what the key may read (GET /me), and
// draws the figures of the Statistics API for the chosen app or organization and date range.
// Every number shown is one the API answered; the page computes none of its own.
"use strict";

(() => {
  const KEY_ITEM = "otastats.key";
  const VIEW_ITEM = "otastats.view";
  const COLORS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  ];
  const DAY_MS = 86400000;

  const $ = (id) => document.getElementById(id);
  const state = { me: null, run: 0, draws: 0, sources: {} };

  // --- numbers for people -------------------------------------------------------------------

  const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const COUNT_UNITS = ["", "k", "M", "bn", "tn"];

  function scaled(value, units, base) {
    let unit = 0;
    let shown = value;
    // 999.96 would print as "1000.0": move to the next unit before that happens.
    while (Math.abs(shown) >= base - 0.05 && unit < units.length - 1) {
      shown /= base;
      unit += 1;
    }
    return { shown, unit };
  }

  function formatBytes(value, compact = false) {
    if (Math.abs(value) < 1000) return `${value} B`;
    const { shown, unit } = scaled(value, BYTE_UNITS, 1000);
    return `${trim(shown.toFixed(1), compact)} ${BYTE_UNITS[unit]}`;
  }

  function formatCount(value, compact = false) {
    if (Math.abs(value) < 1000) return String(value);
    const { shown, unit } = scaled(value, COUNT_UNITS, 1000);
    return `${trim(shown.toFixed(1), compact)} ${COUNT_UNITS[unit]}`;
  }

  function formatPercent(value) {
    return `${value.toFixed(1)} %`;
  }

  function trim(text, compact) {
    return compact ? text.replace(/\.0$/, "") : text;
  }

  const exact = new Intl.NumberFormat("en-US");

  // --- dates (UTC calendar days, as the API counts them) ------------------------------------

  function today() {
    return new Date().toISOString().slice(0, 10);
  }

  function addDays(iso, days) {
    return new Date(Date.parse(`${iso}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
  }

  function presetRange(preset) {
    const end = today();
    if (preset === "month") return { from: `${end.slice(0, 8)}01`, to: end };
    if (preset === "custom") return { from: $("from").value, to: $("to").value };
    return { from: addDays(end, 1 - Number(preset)), to: end };
  }

  // --- the API ------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super(body && body.error ? `${body.status}: ${body.error}` : `HTTP ${status}`);
      this.status = status;
    }
  }

  function apiUrl(path, params) {
    const url = new URL(path, document.baseURI);
    for (const [name, value] of Object.entries(params || {})) url.searchParams.set(name, value);
    return url;
  }

  async function call(key, url, accept) {
    const response = await fetch(url, {
      headers: { authorization: key, accept },
      cache: "no-store",
      credentials: "omit",
    });
    if (!response.ok) {
      let body = null;
      try {
        body = await response.json();
      } catch (_) {
        body = null;
      }
      throw new ApiError(response.status, body);
    }
    return response;
  }

  async function getJson(url) {
    const response = await call(sessionStorage.getItem(KEY_ITEM), url, "application/json");
    return response.json();
  }

  // --- signing in and out -------------------------------------------------------------------

  async function signIn(event) {
    event.preventDefault();
    const input = $("key");
    const key = input.value.trim();
    input.value = "";
    $("key-error").hidden = true;
    try {
      const response = await call(key, apiUrl("me"), "application/json");
      sessionStorage.setItem(KEY_ITEM, key);
      await open(await response.json());
    } catch (error) {
      showSignIn(error.status === 401 ? `This key is not valid (${error.message})` : error.message);
    }
  }

  function showSignIn(problem) {
    state.me = null;
    $("board").hidden = true;
    $("controls").hidden = true;
    $("identity").hidden = true;
    $("sign-in").hidden = false;
    $("key-error").textContent = problem || "";
    $("key-error").hidden = !problem;
    $("key").focus();
  }

  function forget(problem) {
    sessionStorage.removeItem(KEY_ITEM);
    sessionStorage.removeItem(VIEW_ITEM);
    state.run += 1;
    showSignIn(problem);
  }

  async function open(me) {
    state.me = me;
    $("email").textContent = me.user.email;
    fillTargets(me);
    restoreView();
    $("sign-in").hidden = true;
    $("controls").hidden = false;
    $("identity").hidden = false;
    $("board").hidden = false;
    if (!$("target").options.length) {
      showMessage("This key may read no organization and no app.");
      $("board").setAttribute("aria-busy", "false");
      $("board").dataset.state = "empty";
      return;
    }
    await refresh();
  }

  function fillTargets(me) {
    const select = $("target");
    select.replaceChildren();
    for (const org of me.organizations) {
      const group = document.createElement("optgroup");
      group.label = org.name;
      if (org.readable) group.append(new Option(`${org.name} (all apps)`, `org:${org.org_id}`));
      for (const appId of org.apps) group.append(new Option(appId, `app:${appId}`));
      if (group.children.length) select.append(group);
    }
  }

  function restoreView() {
    let view = null;
    try {
      view = JSON.parse(sessionStorage.getItem(VIEW_ITEM) || "null");
    } catch (_) {
      view = null;
    }
    if (!view) return;
    const known = [...$("target").options].some((option) => option.value === view.target);
    if (known) $("target").value = view.target;
    $("preset").value = view.preset || "30";
    $("from").value = view.from || "";
    $("to").value = view.to || "";
  }

  function saveView(range) {
    const view = { target: $("target").value, preset: $("preset").value, ...range };
    sessionStorage.setItem(VIEW_ITEM, JSON.stringify(view));
  }

  // --- loading and drawing ------------------------------------------------------------------

  function showMessage(text) {
    $("message").textContent = text || "";
    $("message").hidden = !text;
  }

  function sourcesFor(target, range) {
    const [kind, id] = [target.slice(0, 3), target.slice(4)];
    const base = `statistics/${kind}/${encodeURIComponent(id)}`;
    const sources = {
      daily: apiUrl(base, { ...range, noAccumulate: "true" }),
      cumulative: apiUrl(base, range),
    };
    if (kind === "app") sources.bundles = apiUrl(`${base}/bundle_usage`, range);
    return sources;
  }

  async function refresh() {
    const started = performance.now();
    const run = ++state.run;
    const board = $("board");
    const target = $("target").value;
    const preset = $("preset").value;
    $("custom-range").hidden = preset !== "custom";
    const range = presetRange(preset);
    if (preset !== "custom") {
      $("from").value = range.from;
      $("to").value = range.to;
    }
    saveView(range);
    board.dataset.state = "loading";
    board.setAttribute("aria-busy", "true");
    showMessage("");
    const sources = sourcesFor(target, range);
    let answers;
    try {
      answers = await Promise.all(
        Object.entries(sources).map(async ([name, url]) => [name, await getJson(url)]),
      );
    } catch (error) {
      if (run !== state.run) return;
      if (error.status === 401) {
        forget(`The key is no longer valid (${error.message})`);
        return;
      }
      board.dataset.state = "error";
      board.setAttribute("aria-busy", "false");
      showMessage(error.message);
      return;
    }
    if (run !== state.run) return;
    const data = Object.fromEntries(answers);
    state.sources = sources;
    const isApp = target.startsWith("app:");
    $("bundles").hidden = !isApp;
    showCards(data.daily, data.cumulative);
    const drawn = [
      drawLine("chart-mau", data.daily, "mau", formatCount, "devices"),
      drawLine("chart-storage", data.daily, "storage", formatBytes, ""),
      drawBars("chart-bandwidth", data.daily, "bandwidth"),
      drawLine("chart-cumulative", data.cumulative, "bandwidth", formatBytes, ""),
    ];
    if (isApp) {
      drawn.push(drawBundles(data.bundles));
      showShares(data.bundles);
    } else {
      Plotly.purge($("chart-bundles"));
      delete $("chart-bundles").dataset.shape;
    }
    await Promise.all(drawn);
    // One frame later the charts are on screen, not only in the DOM.
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    if (run !== state.run) return;
    const elapsed = Math.round(performance.now() - started);
    const days = data.daily.length;
    state.draws += 1;
    Object.assign(board.dataset, {
      state: "drawn",
      // Counts the drawings, so that a reader can tell this one from the one before.
      draw: String(state.draws),
      target,
      from: range.from,
      to: range.to,
      days: String(days),
      drawMs: String(elapsed),
      // Since the page began to load: the first drawing includes loading the scripts.
      drawnAt: String(Math.round(performance.now())),
    });
    board.setAttribute("aria-busy", "false");
    const shown = days ? `${days} days, ${range.from} to ${data.daily[days - 1].date}` : "no days";
    $("status").textContent = `${label(target)}: ${shown}, drawn in ${elapsed} ms.`;
  }

  function label(target) {
    const option = [...$("target").options].find((item) => item.value === target);
    return option ? option.textContent : target;
  }

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
    $("note-bandwidth").textContent = `${cumulative[0].date} to ${total.date}`;
  }

  // --- charts -------------------------------------------------------------------------------

  const CONFIG = { displayModeBar: false, responsive: true };

  function plot(id, traces, chartLayout) {
    const element = $(id);
    // The library updates a chart in place, and keeps parts of the former drawing (a line) when
    // the kind of trace changes (lines to markers): such a chart is drawn anew.
    const shape = traces.map((trace) => `${trace.type}/${trace.mode || ""}`).join(",");
    if (element.dataset.shape !== shape) Plotly.purge(element);
    element.dataset.shape = shape;
    return Plotly.react(element, traces, chartLayout, CONFIG);
  }

  function niceAxis(values, format, integers) {
    const max = values.reduce((a, b) => Math.max(a, b), 0);
    if (max <= 0) return { range: [0, 1], tickvals: [0], ticktext: [format(0, true)] };
    const rough = max / 4;
    const magnitude = 10 ** Math.floor(Math.log10(rough));
    const norm = rough / magnitude;
    let step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * magnitude;
    if (integers) step = Math.max(1, Math.round(step));
    const top = Math.ceil(max / step) * step;
    const tickvals = [];
    for (let tick = 0; tick <= top + step / 2; tick += step) tickvals.push(tick);
    return { range: [0, top], tickvals, ticktext: tickvals.map((tick) => format(tick, true)) };
  }

  function layout(points, yaxis, extra) {
    const days = points.length;
    const xaxis = { type: "date", tickformat: "%b %-d", showgrid: false, fixedrange: true };
    if (days && days <= 14) xaxis.dtick = DAY_MS;
    if (days === 1) {
      xaxis.range = [Date.parse(points[0].date) - DAY_MS / 2, Date.parse(points[0].date) + DAY_MS / 2];
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

  function drawLine(id, points, field, format, unit) {
    const values = points.map((point) => point[field]);
    const trace = {
      type: "scatter",
      mode: points.length === 1 ? "markers" : "lines",
      x: points.map((point) => point.date),
      y: values,
      customdata: values.map((value) => `${format(value)}${unit ? ` ${unit}` : ""}`),
      hovertemplate: "%{x|%Y-%m-%d}: %{customdata}<extra></extra>",
      line: { color: "#1f5f8b", width: 2, simplify: false },
      fill: "tozeroy",
      fillcolor: "rgba(31,95,139,0.08)",
    };
    const axis = niceAxis(values, format, format === formatCount);
    return plot(id, [trace], layout(points, axis));
  }

  function drawBars(id, points, field) {
    const values = points.map((point) => point[field]);
    const trace = {
      type: "bar",
      x: points.map((point) => point.date),
      y: values,
      customdata: values.map((value) => formatBytes(value)),
      hovertemplate: "%{x|%Y-%m-%d}: %{customdata}<extra></extra>",
      marker: { color: "#4c8dbf" },
    };
    const axis = niceAxis(values, formatBytes, false);
    return plot(id, [trace], layout(points, axis, { bargap: 0.15 }));
  }

  function drawBundles(answer) {
    const points = answer.labels.map((date) => ({ date }));
    const traces = answer.datasets.map((dataset, index) => ({
      type: "scatter",
      mode: "lines",
      name: dataset.label,
      stackgroup: "versions",
      x: answer.labels,
      y: dataset.data,
      customdata: dataset.counts.map((count) => formatCount(count)),
      hovertemplate: `${escapeHtml(dataset.label)}: %{y:.1f} % (%{customdata} devices)<extra></extra>`,
      line: { width: 0.5, color: COLORS[index % COLORS.length], simplify: false },
      fillcolor: COLORS[index % COLORS.length],
    }));
    const yaxis = {
      range: [0, 100],
      tickvals: [0, 25, 50, 75, 100],
      ticktext: ["0 %", "25 %", "50 %", "75 %", "100 %"],
    };
    const extra = {
      showlegend: true,
      legend: { orientation: "h", y: -0.12 },
      margin: { l: 64, r: 12, t: 8, b: 48 },
      hovermode: "x unified",
    };
    return plot("chart-bundles", traces, layout(points, yaxis, extra));
  }

  function escapeHtml(text) {
    // Trace labels go through the charting library's small HTML-like markup.
    return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  }

  function showShares(answer) {
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

  // --- CSV downloads ------------------------------------------------------------------------

  async function download(which) {
    const url = state.sources[which];
    if (!url) return;
    try {
      const response = await call(sessionStorage.getItem(KEY_ITEM), url, "text/csv");
      const disposition = response.headers.get("content-disposition") || "";
      const match = /filename="([^"]+)"/.exec(disposition);
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = match ? match[1] : "otastats.csv";
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      if (error.status === 401) forget(`The key is no longer valid (${error.message})`);
      else showMessage(error.message);
    }
  }

  // --- start --------------------------------------------------------------------------------

  function start() {
    $("key-form").addEventListener("submit", signIn);
    $("forget").addEventListener("click", () => forget(""));
    $("controls").addEventListener("submit", (event) => {
      event.preventDefault();
      refresh();
    });
    $("target").addEventListener("change", () => refresh());
    $("preset").addEventListener("change", () => {
      if ($("preset").value === "custom") {
        $("custom-range").hidden = false;
        return;
      }
      refresh();
    });
    for (const button of document.querySelectorAll("[data-download]")) {
      button.addEventListener("click", () => download(button.dataset.download));
    }
    const key = sessionStorage.getItem(KEY_ITEM);
    if (!key) {
      showSignIn("");
      return;
    }
    call(key, apiUrl("me"), "application/json")
      .then((response) => response.json())
      .then(open)
      .catch((error) => {
        if (error.status === 401) forget(`The key is no longer valid (${error.message})`);
        else showSignIn(error.message);
      });
  }

  start();
})();
