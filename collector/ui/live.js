// @ts-check
/**
 * `/`: drop events as they are found, newest first (by last seen), without a reload. The list
 * starts from the query API and follows the collector's server-sent events; after a reconnect it
 * asks the API again, so nothing found while the stream was down is missed.
 */
import { errorText, getJson, h, notice, showView } from './dom.js';
import { dropRow, dropTable } from './drop-rows.js';

/** @typedef {import('./types.js').DropEvent} DropEvent */

const MAX_ROWS = 500;

/** Whether `b` is a later state of the same drop event than `a`. */
/** @param {DropEvent} a @param {DropEvent} b */
function isNewer(a, b) {
  return b.lastSeen > a.lastSeen || b.packets > a.packets || (b.lastSeen === a.lastSeen && b.packets === a.packets);
}

export function liveView() {
  /** @type {Map<string, DropEvent>} */
  const events = new Map();
  /** @type {Map<string, HTMLTableRowElement>} */
  const rows = new Map();
  const { el: tableEl, tbody } = dropTable('Drop events, newest first');
  const status = h('span', { class: 'stream-status', 'data-state': 'connecting' }, 'Connecting…');
  const count = h('span', { class: 'drop-count' });
  const empty = h('p', { class: 'notice' }, 'No drop events yet. They appear here as the agents find them.');
  const errorBox = h('div');
  const announcer = h('div', { class: 'visually-hidden', 'aria-live': 'polite' });
  // Neither the table nor "no drops yet" until the first answer.
  empty.hidden = true;
  tableEl.hidden = true;
  showView(
    'Live drops',
    h('div', { class: 'view-head' }, h('h1', undefined, 'Live drops'), h('p', { class: 'stream-line' }, status, count)),
    h('p', { class: 'lede' }, 'Packets that entered a node and never left it, grouped, with the verdict on why. Open a drop to see its path.'),
    errorBox,
    empty,
    h('div', { class: 'table-wrap' }, tableEl),
    announcer,
  );

  function render() {
    const all = [...events.values()].sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : a.id < b.id ? -1 : 1));
    // Past the limit, the oldest are forgotten.
    for (const e of all.slice(MAX_ROWS)) {
      rows.get(e.id)?.remove();
      rows.delete(e.id);
      events.delete(e.id);
    }
    const sorted = all.slice(0, MAX_ROWS);
    // Re-ordering moves rows; a focused link in a moved row gets its focus back.
    const focused = document.activeElement instanceof HTMLElement && tbody.contains(document.activeElement) ? document.activeElement : null;
    sorted.forEach((e, i) => {
      const tr = rows.get(e.id);
      if (tr && tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
    });
    if (focused && document.activeElement !== focused && focused.isConnected) focused.focus({ preventScroll: true });
    empty.hidden = sorted.length > 0;
    tableEl.hidden = sorted.length === 0;
    count.textContent = sorted.length === 0 ? '' : ` · ${sorted.length}${sorted.length === MAX_ROWS ? ' (the newest)' : ''} drop event${sorted.length === 1 ? '' : 's'}`;
  }

  /**
   * @param {DropEvent} e
   * @param {boolean} live came by the stream (marked and announced) rather than a query
   */
  function upsert(e, live) {
    const before = events.get(e.id);
    if (before && !isNewer(before, e)) return;
    events.set(e.id, e);
    const old = rows.get(e.id);
    const tr = dropRow(e);
    if (live) {
      tr.classList.add(before ? 'grown' : 'fresh');
      setTimeout(() => tr.classList.remove('fresh', 'grown'), 4000);
      if (!before) announcer.textContent = `New drop: ${e.verdict} at ${e.node} ${e.iface}, ${e.src} to ${e.dst}`;
    }
    if (old) {
      const hadFocus = old.contains(document.activeElement);
      old.replaceWith(tr);
      if (hadFocus) tr.querySelector('a')?.focus({ preventScroll: true });
    } else {
      tbody.prepend(tr);
    }
    rows.set(e.id, tr);
  }

  /** @param {string} state @param {string} text */
  function setStatus(state, text) {
    status.dataset['state'] = state;
    status.textContent = text;
  }

  async function load() {
    try {
      const answer = /** @type {{drops: DropEvent[]}} */ (await getJson('/api/v1/drops?limit=200'));
      for (const e of answer.drops) upsert(e, false);
      errorBox.replaceChildren();
      render();
    } catch (e) {
      errorBox.replaceChildren(notice(`Could not load the drop events: ${errorText(e)}`, 'error'));
    }
  }

  const source = new EventSource('/api/v1/events');
  let opened = false;
  source.addEventListener('open', () => {
    setStatus('live', 'Live');
    // The first load runs at once below; a reconnect asks again for what the gap may have hidden.
    if (opened) void load();
    opened = true;
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) setStatus('closed', 'Disconnected: reload the page to try again');
    else setStatus('reconnecting', 'Reconnecting…');
  });
  source.addEventListener('drop', (msg) => {
    try {
      upsert(/** @type {DropEvent} */ (JSON.parse(/** @type {MessageEvent} */ (msg).data)), true);
      render();
    } catch {
      // Not a drop event: ignored.
    }
  });
  window.addEventListener('pagehide', () => source.close());
  void load();
}
