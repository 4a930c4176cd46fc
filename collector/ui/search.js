// @ts-check
/**
 * `/search`: drop events and flows by address (either end), port, protocol, node and time range. The
 * form submits to the same page (GET), so a search is a link one can share; drop events link to
 * their pages, addresses to a search for them.
 */
import { bytesText, errorText, getJson, h, notice, num, row, searchHref, showView, table, timeEl } from './dom.js';
import { dropRow, dropTable } from './drop-rows.js';

/** @typedef {import('./types.js').DropEvent} DropEvent */
/** @typedef {import('./types.js').Flow} Flow */

const PROTO_NAMES = /** @type {Record<number, string>} */ ({ 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' });
const FLOW_COLUMNS = ['Node', 'Interface', 'Direction', 'Source', 'Destination', 'Protocol', 'Tunnel', 'Packets', 'Bytes', 'Last seen'];
const LIMIT = 500;

/**
 * @param {string} label @param {string} name @param {string} value
 * @param {Record<string, string>} [attrs]
 */
function field(label, name, value, attrs = {}) {
  const id = `f-${name}`;
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, value, ...attrs }));
}

/** A datetime-local value (local time) as ISO 8601, for the API. */
/** @param {string} v */
function isoOf(v) {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}

export async function searchView() {
  const q = new URLSearchParams(window.location.search);
  const get = (/** @type {string} */ k) => (q.get(k) ?? '').trim();
  const c = { addr: get('addr'), port: get('port'), proto: get('proto'), node: get('node'), since: get('since'), until: get('until') };
  const proto = h(
    'select',
    { id: 'f-proto', name: 'proto' },
    ...['', 'tcp', 'udp', 'icmp', 'icmpv6', 'sctp'].map((p) => h('option', { value: p, selected: p === c.proto.toLowerCase() }, p || 'any')),
  );
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'search-form', method: 'get', action: '/search', role: 'search' },
    field('Address', 'addr', c.addr, { placeholder: 'source or destination', autocomplete: 'off', spellcheck: 'false' }),
    field('Port', 'port', c.port, { type: 'number', min: '0', max: '65535', inputmode: 'numeric' }),
    h('div', { class: 'field' }, h('label', { for: 'f-proto' }, 'Protocol'), proto),
    field('Node', 'node', c.node, { autocomplete: 'off', spellcheck: 'false' }),
    field('From', 'since', c.since, { type: 'datetime-local', step: '1' }),
    field('Until', 'until', c.until, { type: 'datetime-local', step: '1' }),
    h('div', { class: 'field actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Search'), h('a', { href: '/search', class: 'button' }, 'Clear')),
  );
  // Empty fields stay out of the URL.
  form.addEventListener('formdata', (ev) => {
    for (const [k, v] of [...ev.formData.entries()]) if (v === '') ev.formData.delete(k);
  });
  const anything = Object.values(c).some((v) => v !== '');
  showView(
    'Search',
    h('h1', undefined, 'Search'),
    h('p', { class: 'lede' }, 'Drop events and flows by address, port, node and time (times are your local time). Without criteria: the latest.'),
    form,
    results,
  );
  results.append(h('p', { class: 'loading' }, anything ? 'Searching…' : 'Loading the latest…'));

  /** @type {Record<string, string>} */
  const common = {};
  if (c.node) common['node'] = c.node;
  if (c.since) common['since'] = isoOf(c.since);
  if (c.until) common['until'] = isoOf(c.until);
  /** @type {Record<string, string>[]} */
  const sides = c.addr ? [{ src: c.addr }, { dst: c.addr }] : [{}];
  const url = (/** @type {string} */ path, /** @type {Record<string, string>} */ params) => `${path}?${new URLSearchParams({ ...common, ...params, limit: String(LIMIT) })}`;
  const port = c.port === '' ? undefined : Number(c.port);
  /** @type {Record<string, string>} */
  const flowExtra = {};
  if (c.port) flowExtra['port'] = c.port;
  if (c.proto) flowExtra['proto'] = c.proto;

  try {
    const [dropAnswers, flowAnswers] = await Promise.all([
      Promise.all(sides.map((side) => getJson(url('/api/v1/drops', side)))),
      Promise.all(sides.map((side) => getJson(url('/api/v1/flows', { ...side, ...flowExtra })))),
    ]);
    /** @type {Map<string, DropEvent>} */
    const drops = new Map();
    for (const a of dropAnswers) for (const d of /** @type {DropEvent[]} */ (a.drops)) drops.set(d.id, d);
    // The drop query has no port or protocol: those are matched here.
    const dropList = [...drops.values()]
      .filter((d) => (port === undefined || d.sport === port || d.dport === port) && (!c.proto || d.proto === c.proto.toLowerCase()))
      .sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0));
    /** @type {Map<string, Flow>} */
    const flows = new Map();
    for (const a of flowAnswers) for (const f of /** @type {Flow[]} */ (a.flows)) flows.set(JSON.stringify(f), f);
    const flowList = [...flows.values()].sort((a, b) => b.lastSeenMs - a.lastSeenMs);
    results.replaceChildren(dropResults(dropList), flowResults(flowList));
  } catch (e) {
    results.replaceChildren(notice(`Search failed: ${errorText(e)}`, 'error'));
  }
}

/** @param {DropEvent[]} list */
function dropResults(list) {
  const t = dropTable('Drop events found');
  for (const d of list) t.tbody.append(dropRow(d));
  return h(
    'section',
    { 'aria-labelledby': 'drops-h' },
    h('h2', { id: 'drops-h' }, `Drop events (${list.length}${list.length >= LIMIT ? '+' : ''})`),
    list.length === 0 ? notice('No drop events match.') : h('div', { class: 'table-wrap' }, t.el),
  );
}

/** @param {Flow[]} list */
function flowResults(list) {
  const t = table('Flows found', FLOW_COLUMNS, 'flows');
  for (const f of list) {
    const name = PROTO_NAMES[f.proto] ?? String(f.proto);
    const ports = f.sport > 0 || f.dport > 0 ? ` ${f.sport} → ${f.dport}` : '';
    const tunnel = f.encap && f.encap !== 'none' ? `${f.encap}${f.outerSrc ? ` ${f.outerSrc} > ${f.outerDst}` : ''}${f.vni >= 0 ? ` vni ${f.vni}` : ''}` : '–';
    t.tbody.append(
      row(t.columns, [
        f.node,
        h('code', undefined, f.iface),
        f.direction,
        h('a', { href: searchHref({ addr: f.src }) }, f.src),
        h('a', { href: searchHref({ addr: f.dst }) }, f.dst),
        `${name}${ports}`,
        tunnel,
        num(f.packets),
        bytesText(f.bytes),
        timeEl(f.lastSeenMs),
      ]),
    );
  }
  return h(
    'section',
    { 'aria-labelledby': 'flows-h' },
    h('h2', { id: 'flows-h' }, `Flows (${list.length}${list.length >= LIMIT ? '+' : ''})`),
    list.length === 0 ? notice('No flows match.') : h('div', { class: 'table-wrap' }, t.el),
  );
}
