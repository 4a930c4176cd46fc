// @ts-check
/**
 * `/health`: the storage backend, and for every agent its last word: when it last sent a batch,
 * capture loss (packets the kernel dropped before the capture read them), whether the eBPF drop
 * monitor runs (and why not), batches it had to drop, its interfaces with their roles and counts,
 * and its addresses. Refreshed every 10 seconds.
 */
import { agoText, bytesText, errorText, getJson, h, notice, num, row, showView, table, timeEl } from './dom.js';

/** @typedef {import('./types.js').NodesAnswer} NodesAnswer */
/** @typedef {import('./types.js').NodeStatus} NodeStatus */

const REFRESH_MS = 10_000;
/** An agent ships at least every 10 s: a minute of silence is worth a warning. */
const STALE_MS = 60_000;

export function healthView() {
  const body = h('div', { class: 'health' }, h('p', { class: 'loading' }, 'Loading…'));
  const updated = h('span', { class: 'updated' });
  showView('Health', h('div', { class: 'view-head' }, h('h1', undefined, 'Health'), h('p', { class: 'stream-line' }, updated)), body);

  let timer = 0;
  const load = async () => {
    try {
      const answer = /** @type {NodesAnswer} */ (await getJson('/api/v1/nodes'));
      body.replaceChildren(storageSection(answer), nodesSection(answer.nodes));
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      body.replaceChildren(notice(`Could not load the health of the agents: ${errorText(e)}`, 'error'));
    }
    timer = window.setTimeout(() => void load(), REFRESH_MS);
  };
  window.addEventListener('pagehide', () => clearTimeout(timer));
  void load();
}

/** @param {NodesAnswer} a */
function storageSection(a) {
  const st = a.storage;
  return h(
    'section',
    { 'aria-labelledby': 'storage-h', class: 'card' },
    h('h2', { id: 'storage-h' }, 'Storage'),
    h(
      'dl',
      { class: 'facts' },
      ...pair('Backend', st.backend === 'embedded' ? 'embedded (chDB)' : st.backend === 'clickhouse' ? 'ClickHouse server' : st.backend),
      ...pair('State', h('span', { class: `badge ${st.up ? 'ok' : 'bad'}` }, st.up ? 'up' : 'down')),
      ...pair('Version', `${st.serverVersion}${st.profile === 'legacy' ? ' (legacy profile)' : ''}`),
      ...pair('Location', h('code', undefined, st.location)),
    ),
  );
}

/** @param {NodeStatus[]} nodes */
function nodesSection(nodes) {
  return h(
    'section',
    { 'aria-labelledby': 'nodes-h' },
    h('h2', { id: 'nodes-h' }, `Agents (${nodes.length})`),
    nodes.length === 0 ? notice('No agent has sent anything yet.') : h('div', { class: 'node-cards' }, ...[...nodes].sort((a, b) => (a.node < b.node ? -1 : 1)).map(nodeCard)),
  );
}

/** @param {NodeStatus} n @param {number} index */
function nodeCard(n, index) {
  const last = Date.parse(n.lastBatch);
  const stale = Date.now() - last > STALE_MS;
  const cap = n.capture;
  const seen = cap ? cap.received + cap.dropped_by_kernel : 0;
  const lossPct = cap && seen > 0 ? (100 * cap.dropped_by_kernel) / seen : 0;
  const headingId = `node-${index}`;
  const interfaces = table(`Interfaces of ${n.node}`, ['Interface', 'Role', 'Packets', 'Bytes'], 'interfaces');
  for (const i of n.interfaces ?? []) interfaces.tbody.append(row(interfaces.columns, [h('code', undefined, i.name), i.role, num(i.packets), bytesText(i.bytes)]));
  return h(
    'article',
    { class: 'card node-card', 'aria-labelledby': headingId, 'data-node': n.node },
    h('h3', { id: headingId }, n.node, ' ', h('span', { class: `badge ${stale ? 'warn' : 'ok'}` }, stale ? 'silent' : 'reporting')),
    h(
      'dl',
      { class: 'facts' },
      ...pair('Last batch', h('span', undefined, timeEl(n.lastBatch), ` (${agoText(last)})`)),
      ...pair('Agent', h('span', undefined, h('code', undefined, n.agentId), n.agentVersion ? ` version ${n.agentVersion}` : '')),
      ...pair(
        'Capture loss',
        cap
          ? h('span', { class: cap.dropped_by_kernel > 0 ? 'warn-text' : '' }, `${num(cap.dropped_by_kernel)} dropped by the kernel of ${num(seen)} (${lossPct.toFixed(lossPct > 0 && lossPct < 0.01 ? 4 : 2)} %)`)
          : 'no capture report yet',
      ),
      ...(cap && cap.dropped_by_interface > 0 ? pair('Dropped by interfaces', num(cap.dropped_by_interface)) : []),
      ...(cap && cap.truncated_unjudged > 0 ? pair('Truncated, not judged', num(cap.truncated_unjudged)) : []),
      ...pair(
        'eBPF drop monitor',
        cap ? (cap.ebpf_monitor ? h('span', { class: 'badge ok' }, 'running') : h('span', undefined, h('span', { class: 'badge warn' }, 'unavailable'), cap.ebpf_unavailable_reason ? ` ${cap.ebpf_unavailable_reason}` : '')) : 'unknown',
      ),
      ...(n.loss && (n.loss.batches_dropped > 0 || n.loss.bytes_dropped > 0) ? pair('Batches the agent dropped', `${num(n.loss.batches_dropped)} (${bytesText(n.loss.bytes_dropped)})`) : []),
      ...pair('Addresses', n.addresses && n.addresses.length > 0 ? h('span', { class: 'addresses' }, ...n.addresses.map((a) => h('code', undefined, a))) : '–'),
    ),
    n.interfaces && n.interfaces.length > 0 ? h('div', { class: 'table-wrap' }, interfaces.el) : notice('No interfaces reported yet.'),
  );
}

/** @param {string} term @param {Node | string} value */
function pair(term, value) {
  return [h('dt', undefined, term), h('dd', undefined, value)];
}
