// @ts-check
/**
 * `/drops/:id`: one drop event. Its path as a picture (path-svg.js) with the hops as a table, the
 * evidence, the remedy with a copy button, and the pcapng export. Follows the event stream, so the
 * counts grow on the page while the drop goes on.
 */
import { ApiError, confidenceBadge, errorText, getJson, h, notice, num, row, searchHref, showView, table, timeEl } from './dom.js';
import { renderPath } from './path-svg.js';

/** @typedef {import('./types.js').DropEvent} DropEvent */
/** @typedef {import('./types.js').DropAnswer} DropAnswer */
/** @typedef {import('./types.js').Hop} Hop */

/** What each kind of evidence is, in words. */
const EVIDENCE_KINDS = /** @type {Record<string, string>} */ ({
  'ebpf-drop-reason': 'Kernel drop reason',
  'rp-filter': 'Effective rp_filter',
  'netstat-counter': 'Counter delta',
  'route-back': 'Route back',
  'route-check': 'Route check',
  'asymmetric-path': 'Asymmetric replies',
  'missing-hop': 'Missing hop',
  forwarding: 'Forwarding',
  route: 'Route',
  'netfilter-rule': 'Netfilter rule',
  'one-sided-flow': 'One-sided flow',
  'conntrack-counter': 'Conntrack counter',
  mtu: 'MTU',
  'packet-size': 'Packet size',
  neighbour: 'Neighbour entry',
  link: 'Link',
});

const CONFIDENCE_TEXT = /** @type {Record<string, string>} */ ({
  confirmed: 'a kernel drop event matched these packets',
  likely: "the node's configuration and counters support the verdict",
  possible: 'only the traffic supports the verdict',
});

/** @param {string} id */
export async function dropView(id) {
  showView('Drop event', h('p', { class: 'loading' }, 'Loading the drop event…'));
  /** @type {DropAnswer} */
  let answer;
  try {
    answer = await getJson(`/api/v1/drops/${encodeURIComponent(id)}`);
  } catch (e) {
    const gone = e instanceof ApiError && e.status === 404;
    showView('Drop event', h('h1', undefined, 'Drop event'), notice(gone ? 'There is no drop event with this id (it may have expired with the retention).' : `Could not load the drop event: ${errorText(e)}`, 'error'), h('p', undefined, h('a', { href: '/' }, 'Back to the live drops')));
    return;
  }
  const e = answer.drop;
  const facts = h('dl', { class: 'facts' });
  const evidence = h('ul', { class: 'evidence' });
  const remedyCode = h('code', { id: 'remedy-text' });
  const pathBox = h('div', { class: 'path-figure-scroll' });
  const heading = h('h1', undefined, h('span', { class: 'verdict-title' }, e.verdict), ' at ', h('span', { class: 'where' }, `${e.node} / ${e.iface}`));

  showView(
    `${e.verdict} at ${e.node}/${e.iface}`,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/' }, 'Live drops'), ' › ', h('span', { 'aria-current': 'page' }, `drop ${e.id}`)),
    heading,
    h('p', { class: 'lede' }, confidenceBadge(e.confidence), ' ', CONFIDENCE_TEXT[e.confidence] ?? '', answer.source === 'replay' ? h('span', { class: 'badge source-replay' }, 'from a replay') : null),
    facts,
    h(
      'section',
      { 'aria-labelledby': 'path-h' },
      h('h2', { id: 'path-h' }, 'Path'),
      h('figure', { class: 'path-figure' }, pathBox, h('figcaption', undefined, 'Boxes are nodes, the small boxes inside their interfaces, with the sightings there numbered in time order. The red X marks where the packets vanished.')),
      hopTable(answer.path),
    ),
    h('section', { 'aria-labelledby': 'evidence-h' }, h('h2', { id: 'evidence-h' }, 'Evidence'), evidence),
    remedySection(remedyCode),
    h(
      'section',
      { 'aria-labelledby': 'packets-h' },
      h('h2', { id: 'packets-h' }, 'Packets'),
      h(
        'p',
        undefined,
        h('a', { class: 'button', href: `/api/v1/export.pcapng?id=${encodeURIComponent(e.id)}`, download: `pathwatch-${e.id}.pcapng` }, 'Download pcapng'),
        ' The first bytes of the vanished packets, each named by node/interface and commented with the verdict (opens in Wireshark).',
      ),
      h('p', undefined, h('a', { href: searchHref({ addr: e.src }) }, `Search the traffic of ${e.src}`), ' · ', h('a', { href: searchHref({ addr: e.dst }) }, `of ${e.dst}`)),
    ),
  );
  renderPath(pathBox, e, answer.path);

  /** @param {DropEvent} d */
  const fill = (d) => {
    facts.replaceChildren(
      ...fact('Packet', `${d.proto} ${endpoint(d.src, d.sport)} → ${endpoint(d.dst, d.dport)}`),
      ...fact('Vanished at', `${d.node} / ${d.iface}`),
      ...fact('Packets', num(d.packets)),
      // The kernel's own word, when a drop event of the kernel was matched to some of these packets.
      ...(d.kernel ? fact('Kernel', `${d.kernel.reason}, ${num(d.kernel.packets)} packet(s) matched by fingerprint`) : []),
      ...fact('First seen', timeEl(d.firstSeen, { ms: true, date: true })),
      ...fact('Last seen', timeEl(d.lastSeen, { ms: true, date: true })),
    );
    evidence.replaceChildren(
      ...(d.evidence.length === 0
        ? [h('li', undefined, 'None beyond the path itself.')]
        : d.evidence.map((x) => h('li', { 'data-kind': x.kind }, h('span', { class: 'evidence-kind' }, EVIDENCE_KINDS[x.kind] ?? x.kind), h('span', { class: 'evidence-detail' }, x.detail)))),
    );
    remedyCode.textContent = d.remedy || '# no remedy: the cause is unknown';
  };
  fill(e);

  // The drop may go on: its counts follow the event stream.
  const source = new EventSource('/api/v1/events');
  source.addEventListener('drop', (msg) => {
    try {
      const d = /** @type {DropEvent} */ (JSON.parse(/** @type {MessageEvent} */ (msg).data));
      if (d.id === e.id) fill(d);
    } catch {
      // Not a drop event: ignored.
    }
  });
  window.addEventListener('pagehide', () => source.close());
}

/** `10.0.0.1:80`, `[fd00::1]:80`, or the address alone where the protocol has no ports. */
/** @param {string} address @param {number | null} port */
function endpoint(address, port) {
  if (port === null) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** @param {string} term @param {Node | string} value */
function fact(term, value) {
  return [h('dt', undefined, term), h('dd', undefined, value)];
}

/** @param {Hop[]} path */
function hopTable(path) {
  if (path.length === 0) return notice('No hops of these packets were recorded.');
  const t0 = Math.min(...path.map((p) => p.tsMs));
  const t = table('Hops in time order', ['#', 'Time', 'Node', 'Interface', 'Role', 'Direction', 'Encapsulation', 'TTL', 'Length'], 'hops');
  [...path]
    .map((hop, i) => ({ hop, i }))
    .sort((a, b) => a.hop.tsMs - b.hop.tsMs || a.i - b.i)
    .forEach(({ hop }, i) => {
      const encap = hop.encap && hop.encap !== 'none' ? `${hop.encap}${hop.outerSrc ? ` ${hop.outerSrc} > ${hop.outerDst}` : ''}${hop.vni >= 0 ? ` vni ${hop.vni}` : ''}` : '–';
      t.tbody.append(
        row(t.columns, [
          String(i + 1),
          h('span', { title: new Date(hop.tsMs).toISOString() }, `+${Number.isInteger(hop.tsMs - t0) ? hop.tsMs - t0 : (hop.tsMs - t0).toFixed(3)} ms`),
          hop.node,
          h('code', undefined, hop.iface),
          hop.role,
          hop.direction,
          encap,
          hop.ttl >= 0 ? String(hop.ttl) : '–',
          `${hop.length} B`,
        ]),
      );
    });
  return h('details', { class: 'hops', open: true }, h('summary', undefined, `Hops (${path.length})`), h('div', { class: 'table-wrap' }, t.el));
}

/**
 * The remedy as a command, and a copy button: the Clipboard API where the page may use it (a secure
 * context: https or localhost), else a hidden textarea and the older copy command, else the text is
 * selected for Ctrl+C.
 * @param {HTMLElement} code
 */
function remedySection(code) {
  const status = h('span', { class: 'copy-status', role: 'status' });
  const copy = async () => {
    const text = code.textContent ?? '';
    let done = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        done = true;
      } catch {
        done = false;
      }
    }
    if (!done) done = copyWithTextarea(text);
    if (done) {
      status.textContent = 'Copied.';
    } else {
      const range = document.createRange();
      range.selectNodeContents(code);
      window.getSelection()?.removeAllRanges();
      window.getSelection()?.addRange(range);
      status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
    }
    setTimeout(() => (status.textContent = ''), 4000);
  };
  return h(
    'section',
    { 'aria-labelledby': 'remedy-h' },
    h('h2', { id: 'remedy-h' }, 'Remedy'),
    h('div', { class: 'remedy' }, h('pre', undefined, code), h('div', { class: 'remedy-actions' }, h('button', { type: 'button', class: 'button copy', onclick: () => void copy() }, 'Copy command'), status)),
  );
}

/** @param {string} text */
function copyWithTextarea(text) {
  const area = h('textarea', { readonly: true, class: 'offscreen', 'aria-hidden': 'true', tabindex: -1 });
  area.value = text;
  document.body.append(area);
  const active = document.activeElement;
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  if (active instanceof HTMLElement) active.focus();
  return ok;
}
