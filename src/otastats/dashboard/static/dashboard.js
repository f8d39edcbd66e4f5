// The otastats dashboard: asks for an API key once, lists what the key may read (GET /me), and
// draws the figures of the Statistics API for the chosen app or organization and date range.
// Every number shown is one the API answered; the page computes none of its own.
//
// The board is made of sections (section-*.js). A section says which targets it applies to,
// which API answers it needs for a range (named: the names are also those of the CSV download
// buttons), and draws them; this module fetches every answer once and hands them over. To add
// a section: write its module, list it in SECTIONS, and put its markup in index.html.

import { ApiError, KEY_ITEM, apiUrl, call, getJson } from "./api.js";
import { daysBetween, plural, presetRange, today } from "./format.js";
import { alerts } from "./section-alerts.js";
import { bundles } from "./section-bundles.js";
import { health } from "./section-health.js";
import { usage } from "./section-usage.js";

const SECTIONS = [usage, bundles, health, alerts];
const VIEW_ITEM = "otastats.view";

const $ = (id) => document.getElementById(id);
const state = { me: null, run: 0, draws: 0, sources: {} };

// --- signing in and out ---------------------------------------------------------------------

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
  const preset = [...$("preset").options].some((option) => option.value === view.preset);
  $("preset").value = preset ? view.preset : "30";
  $("from").value = view.from || "";
  $("to").value = view.to || "";
}

function saveView(range) {
  const view = { target: $("target").value, preset: $("preset").value, ...range };
  sessionStorage.setItem(VIEW_ITEM, JSON.stringify(view));
}

// --- loading and drawing --------------------------------------------------------------------

function showMessage(text) {
  $("message").textContent = text || "";
  $("message").hidden = !text;
}

/** The chosen app or organization: ``app:ID`` or ``org:ID`` in the menu. */
function chosenTarget() {
  const value = $("target").value;
  const [kind, id] = [value.slice(0, 3), value.slice(4)];
  return { value, kind, id, path: `statistics/${kind}/${encodeURIComponent(id)}` };
}

function chosenRange(preset) {
  if (preset === "custom") return { from: $("from").value, to: $("to").value };
  return presetRange(preset, today());
}

async function refresh() {
  const started = performance.now();
  const run = ++state.run;
  const board = $("board");
  const target = chosenTarget();
  const preset = $("preset").value;
  $("custom-range").hidden = preset !== "custom";
  const range = chosenRange(preset);
  if (preset !== "custom") {
    $("from").value = range.from;
    $("to").value = range.to;
  }
  saveView(range);
  board.dataset.state = "loading";
  board.setAttribute("aria-busy", "true");
  showMessage("");
  const active = SECTIONS.filter((section) => section.appliesTo(target));
  const sources = Object.assign({}, ...active.map((section) => section.sources(target, range)));
  let data;
  try {
    const answers = await Promise.all(
      Object.entries(sources).map(async ([name, url]) => [name, await getJson(url)]),
    );
    data = Object.fromEntries(answers);
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
  state.sources = sources;
  for (const section of SECTIONS) {
    const shown = active.includes(section);
    if (section.element) $(section.element).hidden = !shown;
    if (!shown) section.clear();
  }
  await Promise.all(active.map((section) => section.draw(data, range)));
  // One frame later the charts are on screen, not only in the DOM.
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  if (run !== state.run) return;
  finish(board, target, range, data.daily, started);
}

function finish(board, target, range, daily, started) {
  const elapsed = Math.round(performance.now() - started);
  const days = daily.length;
  state.draws += 1;
  Object.assign(board.dataset, {
    state: "drawn",
    // Counts the drawings, so that a reader can tell this one from the one before.
    draw: String(state.draws),
    target: target.value,
    from: range.from,
    to: range.to,
    days: String(days),
    drawMs: String(elapsed),
  });
  board.setAttribute("aria-busy", "false");
  let shown = "no days";
  if (days) {
    const last = daily[days - 1].date;
    shown = days === 1 ? `1 day, ${last}` : `${plural(days, "day")}, ${range.from} to ${last}`;
  }
  // The API cuts a range at its today: say so rather than let a short chart puzzle.
  const asked = range.from && range.to ? daysBetween(range.from, range.to) : days;
  const cut = days < asked ? ` (${plural(asked, "day")} asked; no data after today)` : "";
  $("status").textContent = `${label(target.value)}: ${shown}${cut}, drawn in ${elapsed} ms.`;
}

function label(value) {
  const option = [...$("target").options].find((item) => item.value === value);
  return option ? option.textContent : value;
}

// --- CSV downloads --------------------------------------------------------------------------

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

// --- start ----------------------------------------------------------------------------------

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
      if (error instanceof ApiError && error.status === 401) {
        forget(`The key is no longer valid (${error.message})`);
      } else showSignIn(error.message);
    });
}

start();
