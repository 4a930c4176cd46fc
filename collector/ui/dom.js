// @ts-check
/**
 * Building the page safely. Every value shown comes from packets or agents and may be hostile, so
 * text only ever goes in as text (textContent, createTextNode, setAttribute): nothing here parses
 * HTML, and links are built from fixed paths with encoded parts.
 */

/** @typedef {import('./types.js').DropEvent} DropEvent */

/** @typedef {Node | string | number | null | undefined | false} Child */
/** @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attrs */

/**
 * @param {Element} el
 * @param {Attrs | undefined} attrs
 * @param {Child[]} children
 */
function fill(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : String(c));
  }
}

/**
 * An HTML element: `h('a', { href: '/' }, 'text')`. Attribute values and children are text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  fill(el, attrs, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * An SVG element, like h().
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function s(tag, attrs, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  fill(el, attrs, children);
  return el;
}

/** @param {string} id */
export function dropHref(id) {
  return `/drops/${encodeURIComponent(id)}`;
}

/** @param {Record<string, string | number | undefined>} params */
export function searchHref(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  return `/search?${q}`;
}

export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * GET a JSON API answer; a non-2xx answer throws ApiError with the API's one-line reason.
 * @param {string} url
 * @returns {Promise<any>}
 */
export async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  /** @type {any} */
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, (body && typeof body.error === 'string' ? body.error : `HTTP ${res.status}`));
  return body;
}

/** @param {unknown} e */
export function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}

/** `icmp`, `tcp 40000 → 80` */
/** @param {{proto: string, sport: number | null, dport: number | null}} e */
export function protoText(e) {
  return e.sport !== null || e.dport !== null ? `${e.proto} ${e.sport ?? '*'} → ${e.dport ?? '*'}` : e.proto;
}

const pad = (/** @type {number} */ n, w = 2) => String(n).padStart(w, '0');

/**
 * Local time, to the second (milliseconds when asked); the date only when it is not today.
 * @param {string | number} when ISO text or epoch ms
 * @param {{ ms?: boolean, date?: boolean }} [o]
 */
export function timeText(when, o = {}) {
  const d = new Date(when);
  if (Number.isNaN(d.getTime())) return String(when);
  const now = new Date();
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${o.ms ? `.${pad(d.getMilliseconds(), 3)}` : ''}`;
  return sameDay && !o.date ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/**
 * A <time> element with the full UTC time as its title.
 * @param {string | number} when
 * @param {{ ms?: boolean, date?: boolean }} [o]
 */
export function timeEl(when, o) {
  const d = new Date(when);
  const iso = Number.isNaN(d.getTime()) ? String(when) : d.toISOString();
  return h('time', { datetime: iso, title: iso }, timeText(when, o));
}

/** "12 s ago", "3 min ago" */
/** @param {number} ms */
export function agoText(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** 1234567 -> "1 234 567" (thin spaces keep it one word) */
/** @param {number | null | undefined} n */
export function num(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US').replace(/,/g, '\u202f');
}

/** @param {number} n */
export function bytesText(n) {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

/** A badge for a confidence or verdict; the class comes from a fixed list, never from the value. */
/** @param {string} confidence */
export function confidenceBadge(confidence) {
  const known = ['confirmed', 'likely', 'possible'].includes(confidence) ? confidence : 'other';
  return h('span', { class: `badge confidence-${known}` }, confidence);
}

/** Replaces the main element's content and the document title. */
/** @param {string} title @param {...Child} children */
export function showView(title, ...children) {
  document.title = `${title} · pathwatch`;
  const main = /** @type {HTMLElement} */ (document.getElementById('main'));
  main.replaceChildren();
  fill(main, undefined, children);
  return main;
}

/** A message in place of results (role=alert for errors). */
/** @param {string} text @param {'error' | 'info'} [kind] */
export function notice(text, kind = 'info') {
  return h('p', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/**
 * A table that turns into one card per row on a narrow screen (each cell shows its column's name).
 * @param {string} caption
 * @param {string[]} columns
 * @param {string} [cls]
 */
export function table(caption, columns, cls = '') {
  const tbody = h('tbody');
  const el = h('table', { class: `cards ${cls}`.trim() }, h('caption', { class: 'visually-hidden' }, caption), h('thead', undefined, h('tr', undefined, ...columns.map((c) => h('th', { scope: 'col' }, c)))), tbody);
  return { el, tbody, columns };
}

/**
 * A row for table(); cells in column order.
 * @param {string[]} columns
 * @param {Child[]} cells
 * @param {Attrs} [attrs]
 */
export function row(columns, cells, attrs) {
  return h('tr', attrs, ...cells.map((c, i) => h('td', { 'data-label': columns[i] ?? '' }, c)));
}
