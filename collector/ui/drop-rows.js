// @ts-check
/** Drop events as table rows: the live view and the search results show them alike. */
import { confidenceBadge, dropHref, h, num, protoText, row, table, timeEl } from './dom.js';

/** @typedef {import('./types.js').DropEvent} DropEvent */

export const DROP_COLUMNS = ['Node', 'Interface', 'Source', 'Destination', 'Protocol', 'Packets', 'Verdict', 'Confidence', 'Last seen'];

/** @param {string} caption */
export function dropTable(caption) {
  return table(caption, DROP_COLUMNS, 'drops');
}

/**
 * One drop event; its verdict links to its page, and a click anywhere on the row goes there too.
 * @param {DropEvent} e
 */
export function dropRow(e) {
  const href = dropHref(e.id);
  const tr = row(
    DROP_COLUMNS,
    [
      e.node,
      h('code', undefined, e.iface),
      h('code', undefined, e.src),
      h('code', undefined, e.dst),
      protoText(e),
      num(e.packets),
      h('a', { href, class: 'verdict', 'aria-label': `${e.verdict} at ${e.node}/${e.iface}, ${e.src} to ${e.dst}: open the drop` }, e.verdict),
      confidenceBadge(e.confidence),
      timeEl(e.lastSeen),
    ],
    { 'data-id': e.id, class: 'linked' },
  );
  tr.addEventListener('click', (ev) => {
    const target = /** @type {Element} */ (ev.target);
    if (target.closest('a') || (window.getSelection()?.toString() ?? '') !== '') return;
    window.location.assign(href);
  });
  return tr;
}
