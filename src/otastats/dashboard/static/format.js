// Numbers and dates as the dashboard shows them: short figures for people (1.2 GB, 15.3 k), and
// the UTC calendar days the Statistics API counts in (ISO dates, "2028-02-29").

export const DAY_MS = 86400000;

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

function trim(text, compact) {
  return compact ? text.replace(/\.0$/, "") : text;
}

export function formatBytes(value, compact = false) {
  if (Math.abs(value) < 1000) return `${value} B`;
  const { shown, unit } = scaled(value, BYTE_UNITS, 1000);
  return `${trim(shown.toFixed(1), compact)} ${BYTE_UNITS[unit]}`;
}

export function formatCount(value, compact = false) {
  if (Math.abs(value) < 1000) return String(value);
  const { shown, unit } = scaled(value, COUNT_UNITS, 1000);
  return `${trim(shown.toFixed(1), compact)} ${COUNT_UNITS[unit]}`;
}

export function formatPercent(value) {
  return `${value.toFixed(1)} %`;
}

export const exact = new Intl.NumberFormat("en-US");

/** "1 day", "2 days". */
export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// --- dates ----------------------------------------------------------------------------------

export function today() {
  return new Date().toISOString().slice(0, 10);
}

export function addDays(iso, days) {
  return new Date(Date.parse(`${iso}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

export function daysBetween(first, last) {
  return Math.round((Date.parse(last) - Date.parse(first)) / DAY_MS) + 1;
}

/** The range of a preset of the range menu, ending on ``end`` (today). */
export function presetRange(preset, end) {
  const firstOfMonth = `${end.slice(0, 8)}01`;
  if (preset === "month") return { from: firstOfMonth, to: end };
  if (preset === "last-month") {
    const lastOfPrevious = addDays(firstOfMonth, -1);
    return { from: `${lastOfPrevious.slice(0, 8)}01`, to: lastOfPrevious };
  }
  return { from: addDays(end, 1 - Number(preset)), to: end };
}
