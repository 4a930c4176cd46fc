// @ts-check
/**
 * A drop event's path as an SVG picture. Nodes are boxes; each node's interfaces are ports (small
 * boxes inside it, in the order the packet first reached them), numbered by the sightings there in
 * time order. Arrows follow the sightings in time order: from the source to the first port, from
 * each port to the next, and, dashed, from where the packet vanished to the destination it never
 * reached. An arrow that crosses a tunnel carries the encapsulation (`ipip 192.168.77.11 >
 * 192.168.77.12`); one inside a node that changes it says decapsulated or encapsulated. The port
 * where the packet vanished (the event's node and interface) is red, with an X and "vanished here".
 *
 * Laid out left to right when it fits the width it is given, else top to bottom (a phone), where
 * long labels wrap. Text is measured as monospace (the stylesheet sets the font); all text goes in
 * as text nodes.
 */
import { s } from './dom.js';

/** @typedef {import('./types.js').DropEvent} DropEvent */
/** @typedef {import('./types.js').Hop} Hop */

/** @typedef {{ text: string, lines: string[] }} Label */
/**
 * @typedef {{
 *   kind: 'src' | 'dst' | 'port', node: string, iface: string, role: string, lines: string[],
 *   full: string, visits: { n: number, dir: string }[], vanished: boolean,
 *   firstOfNode: boolean, lastOfNode: boolean, w: number, h: number, x: number, y: number
 * }} Slot
 */
/** @typedef {{ from: number, to: number, label: Label | null, kind: 'step' | 'tunnel' | 'exit' }} Arrow */
/** @typedef {{ slots: Slot[], arrows: Arrow[], hops: Hop[], nodes: string[] }} PathModel */

/** Character width and line height of the diagram's 12 px monospace text. */
const CW = 7.3;
const LINE = 15;
/** Interface names longer than this are cut (the full name is the port's tooltip and in the hop table). */
const MAX_NAME = 24;
const PAD = 14;
const TITLE = 28;
const MARGIN = 14;

/** @param {Hop} h */
const encapsulated = (h) => h.encap !== '' && h.encap !== 'none';

/** @param {string} text */
const cut = (text) => (text.length > MAX_NAME ? `${text.slice(0, MAX_NAME - 1)}…` : text);

/** @param {Hop} h @returns {Label} */
function tunnelLabel(h) {
  const vni = h.vni >= 0 ? ` vni ${h.vni}` : '';
  if (!h.outerSrc && !h.outerDst) return { text: `${h.encap}${vni}`, lines: [`${h.encap}${vni}`] };
  return { text: `${h.encap} ${h.outerSrc} > ${h.outerDst}${vni}`, lines: [`${h.encap}${vni}`, `${h.outerSrc} >`, h.outerDst] };
}

/** @param {string} text @returns {Label} */
const plain = (text) => ({ text, lines: [text] });

/** @param {string} dir */
const dirText = (dir) => (dir === 'in' || dir === 'out' ? dir : 'seen');

/**
 * The picture's content, before any layout.
 * @param {DropEvent} event
 * @param {Hop[]} path
 * @returns {PathModel}
 */
export function pathModel(event, path) {
  const hops = path.map((h, i) => ({ h, i })).sort((a, b) => a.h.tsMs - b.h.tsMs || a.i - b.i).map((x) => x.h);
  /** @type {string[]} */
  const nodes = [];
  /** @type {Map<string, Slot[]>} */
  const portsOf = new Map();
  /** @param {string} node @param {string} iface @param {string} role */
  const port = (node, iface, role) => {
    let ports = portsOf.get(node);
    if (!ports) {
      ports = [];
      portsOf.set(node, ports);
      nodes.push(node);
    }
    let p = ports.find((x) => x.iface === iface);
    if (!p) {
      p = { kind: 'port', node, iface, role, lines: [], full: iface, visits: [], vanished: false, firstOfNode: false, lastOfNode: false, w: 0, h: 0, x: 0, y: 0 };
      ports.push(p);
    }
    return p;
  };
  const hopPorts = hops.map((h, i) => {
    const p = port(h.node, h.iface, h.role);
    p.visits.push({ n: i + 1, dir: h.direction });
    return p;
  });
  const vanish = port(event.node, event.iface, '');
  vanish.vanished = true;

  /** @type {Slot} */
  const src = { kind: 'src', node: '', iface: '', role: '', lines: ['source', event.src], full: event.src, visits: [], vanished: false, firstOfNode: false, lastOfNode: false, w: 0, h: 0, x: 0, y: 0 };
  /** @type {Slot} */
  const dst = { ...src, kind: 'dst', lines: ['destination', event.dst], full: event.dst };
  /** @type {Slot[]} */
  const slots = [src];
  for (const n of nodes) {
    const ports = /** @type {Slot[]} */ (portsOf.get(n));
    ports.forEach((p, i) => {
      p.firstOfNode = i === 0;
      p.lastOfNode = i === ports.length - 1;
      const visits = p.visits.map((v) => `#${v.n} ${dirText(v.dir)}`);
      const shown = visits.length > 3 ? [...visits.slice(0, 3), '…'] : visits;
      p.lines = [cut(p.iface), p.role || '–', shown.length > 0 ? shown.join(' ') : 'not seen', ...(p.vanished ? ['vanished here'] : [])];
      slots.push(p);
    });
  }
  slots.push(dst);
  for (const slot of slots) {
    slot.w = Math.max(slot.kind === 'port' ? 112 : 96, Math.max(...slot.lines.map((l) => l.length)) * CW + 24);
    slot.h = 16 + slot.lines.length * LINE;
  }

  /** @type {Arrow[]} */
  const arrows = [];
  const at = (/** @type {Slot} */ p) => slots.indexOf(p);
  const first = hops[0];
  if (first) arrows.push({ from: 0, to: at(/** @type {Slot} */ (hopPorts[0])), label: encapsulated(first) ? tunnelLabel(first) : null, kind: encapsulated(first) ? 'tunnel' : 'step' });
  else arrows.push({ from: 0, to: at(vanish), label: null, kind: 'step' });
  for (let i = 1; i < hops.length; i++) {
    const a = /** @type {Hop} */ (hops[i - 1]);
    const b = /** @type {Hop} */ (hops[i]);
    const from = at(/** @type {Slot} */ (hopPorts[i - 1]));
    const to = at(/** @type {Slot} */ (hopPorts[i]));
    if (a.node !== b.node) {
      const tunnel = encapsulated(a) ? a : encapsulated(b) ? b : null;
      arrows.push({ from, to, label: tunnel ? tunnelLabel(tunnel) : null, kind: tunnel ? 'tunnel' : 'step' });
    } else if (a.encap !== b.encap) {
      arrows.push({ from, to, label: encapsulated(b) ? { text: `encapsulated (${b.encap})`, lines: ['encapsulated', `(${b.encap})`] } : plain('decapsulated'), kind: 'step' });
    } else {
      arrows.push({ from, to, label: null, kind: 'step' });
    }
  }
  arrows.push({ from: at(vanish), to: slots.length - 1, label: plain('never arrived'), kind: 'exit' });
  return { slots, arrows, hops, nodes };
}

/**
 * @typedef {{
 *   width: number, height: number, vertical: boolean,
 *   boxes: { node: string, x: number, y: number, w: number, h: number }[],
 *   lines: { arrow: Arrow, d: string, labelX: number, labelY: number, anchor: 'start' | 'middle', wrap: boolean }[]
 * }} Layout
 */

/** Which arrows are straight (to the next slot, the first such arrow between them); the rest are arcs. */
/** @param {Arrow[]} arrows */
function straightArrows(arrows) {
  const seen = new Set();
  return arrows.map((a) => {
    const key = `${a.from}>${a.to}`;
    const straight = a.to === a.from + 1 && !seen.has(key);
    if (straight) seen.add(key);
    return straight;
  });
}

/** @param {Label | null} l @param {boolean} wrap */
const labelWidth = (l, wrap) => (l ? Math.max(...(wrap ? l.lines : [l.text]).map((t) => t.length)) * CW : 0);

/**
 * Spreads the ends of arcs along each slot's edge, so arcs to the same port do not meet.
 * @param {Arrow[]} arrows @param {boolean[]} straight
 * @returns {Map<string, number>} `${arrowIndex}:${'from' | 'to'}` -> fraction along the edge
 */
function arcEnds(arrows, straight) {
  /** @type {Map<number, string[]>} */
  const bySlot = new Map();
  arrows.forEach((a, i) => {
    if (straight[i]) return;
    for (const [end, slot] of /** @type {const} */ ([['from', a.from], ['to', a.to]])) {
      const list = bySlot.get(slot) ?? [];
      list.push(`${i}:${end}`);
      bySlot.set(slot, list);
    }
  });
  /** @type {Map<string, number>} */
  const out = new Map();
  for (const list of bySlot.values()) list.forEach((key, k) => out.set(key, (k + 1) / (list.length + 1)));
  return out;
}

/** Levels for arcs so that arcs (with their labels) on one level never overlap. */
/** @param {[number, number][]} spans */
function levels(spans) {
  /** @type {[number, number][][]} */
  const taken = [];
  return spans.map(([lo, hi]) => {
    let level = 0;
    while ((taken[level] ?? []).some(([a, b]) => lo < b && a < hi)) level++;
    (taken[level] ??= []).push([lo, hi]);
    return level;
  });
}

/** @param {PathModel} m @returns {Layout} */
function layoutHorizontal(m) {
  const { slots, arrows } = m;
  const straight = straightArrows(arrows);
  /** @type {number[]} */
  const gapLabel = slots.map(() => 0);
  arrows.forEach((a, i) => {
    if (straight[i]) gapLabel[a.from] = labelWidth(a.label, false);
  });
  const portsTop = MARGIN + TITLE;
  const rowH = Math.max(...slots.map((x) => x.h));
  const cy = portsTop + rowH / 2;
  let x = MARGIN;
  slots.forEach((slot, i) => {
    if (slot.firstOfNode) x += PAD;
    slot.x = x;
    slot.y = cy - slot.h / 2;
    x += slot.w;
    if (slot.lastOfNode) x += PAD;
    const next = slots[i + 1];
    if (next) x += Math.max(next.node === slot.node && slot.kind === 'port' ? 34 : 44, (gapLabel[i] ?? 0) + 24);
  });
  const boxBottom = portsTop + rowH + PAD;
  const boxes = m.nodes.map((node) => {
    const ports = slots.filter((p) => p.kind === 'port' && p.node === node);
    const left = /** @type {Slot} */ (ports[0]).x - PAD;
    const last = /** @type {Slot} */ (ports[ports.length - 1]);
    return { node, x: left, y: MARGIN, w: last.x + last.w + PAD - left, h: boxBottom - MARGIN };
  });

  const ends = arcEnds(arrows, straight);
  /** @type {{ i: number, x1: number, y1: number, x2: number, y2: number, span: [number, number] }[]} */
  const arcs = [];
  arrows.forEach((a, i) => {
    if (straight[i]) return;
    const f = /** @type {Slot} */ (slots[a.from]);
    const t = /** @type {Slot} */ (slots[a.to]);
    const x1 = f.x + f.w * (ends.get(`${i}:from`) ?? 0.5);
    const x2 = t.x + t.w * (ends.get(`${i}:to`) ?? 0.5);
    const half = labelWidth(a.label, false) / 2 + 8;
    const mid = (x1 + x2) / 2;
    arcs.push({ i, x1, y1: f.y + f.h, x2, y2: t.y + t.h, span: [Math.min(x1, x2, mid - half) - 6, Math.max(x1, x2, mid + half) + 6] });
  });
  const arcLevels = levels(arcs.map((a) => a.span));
  let bottom = boxBottom;
  /** @type {Layout['lines']} */
  const lines = [];
  arrows.forEach((a, i) => {
    if (!straight[i]) return;
    const f = /** @type {Slot} */ (slots[a.from]);
    const t = /** @type {Slot} */ (slots[a.to]);
    lines.push({ arrow: a, d: `M${f.x + f.w},${cy} L${t.x},${cy}`, labelX: (f.x + f.w + t.x) / 2, labelY: cy - 8, anchor: 'middle', wrap: false });
  });
  arcs.forEach((arc, k) => {
    const depth = 30 + (arcLevels[k] ?? 0) * 32;
    const base = Math.max(arc.y1, arc.y2);
    const ctrl = base + (depth * 4) / 3;
    const apex = base + depth;
    lines.push({ arrow: /** @type {Arrow} */ (arrows[arc.i]), d: `M${arc.x1},${arc.y1} C${arc.x1},${ctrl} ${arc.x2},${ctrl} ${arc.x2},${arc.y2}`, labelX: (arc.x1 + arc.x2) / 2, labelY: apex + 15, anchor: 'middle', wrap: false });
    bottom = Math.max(bottom, apex + 20);
  });
  return { width: x + MARGIN, height: bottom + MARGIN, vertical: false, boxes, lines };
}

/** @param {PathModel} m @returns {Layout} */
function layoutVertical(m) {
  const { slots, arrows } = m;
  const straight = straightArrows(arrows);
  const pw = Math.max(...slots.map((x) => x.w));
  /** @type {number[]} */
  const gapLines = slots.map(() => 0);
  arrows.forEach((a, i) => {
    if (straight[i]) gapLines[a.from] = a.label ? a.label.lines.length : 0;
  });
  const px = MARGIN + PAD;
  const cx = px + pw / 2;
  let y = MARGIN;
  /** @type {Map<string, number>} */
  const boxTop = new Map();
  slots.forEach((slot, i) => {
    slot.w = pw;
    slot.x = px;
    if (slot.firstOfNode) {
      boxTop.set(slot.node, y);
      y += TITLE;
    }
    slot.y = y;
    y += slot.h;
    if (slot.lastOfNode) y += PAD;
    if (i < slots.length - 1) y += Math.max(34, (gapLines[i] ?? 0) * LINE + 18);
  });
  const boxRight = px + pw + PAD;
  const boxes = m.nodes.map((node) => {
    const ports = slots.filter((p) => p.kind === 'port' && p.node === node);
    const last = /** @type {Slot} */ (ports[ports.length - 1]);
    const top = boxTop.get(node) ?? 0;
    return { node, x: MARGIN, y: top, w: boxRight - MARGIN, h: last.y + last.h + PAD - top };
  });
  let right = boxRight;
  /** @type {Layout['lines']} */
  const lines = [];
  arrows.forEach((a, i) => {
    if (!straight[i]) return;
    const f = /** @type {Slot} */ (slots[a.from]);
    const t = /** @type {Slot} */ (slots[a.to]);
    const n = a.label?.lines.length ?? 0;
    const mid = (f.y + f.h + t.y) / 2;
    lines.push({ arrow: a, d: `M${cx},${f.y + f.h} L${cx},${t.y}`, labelX: cx + 10, labelY: mid - ((n - 1) * LINE) / 2 + 4, anchor: 'start', wrap: true });
    right = Math.max(right, cx + 10 + labelWidth(a.label, true));
  });
  const ends = arcEnds(arrows, straight);
  /** @type {{ i: number, y1: number, y2: number, span: [number, number] }[]} */
  const arcs = [];
  arrows.forEach((a, i) => {
    if (straight[i]) return;
    const f = /** @type {Slot} */ (slots[a.from]);
    const t = /** @type {Slot} */ (slots[a.to]);
    const y1 = f.y + f.h * (ends.get(`${i}:from`) ?? 0.5);
    const y2 = t.y + t.h * (ends.get(`${i}:to`) ?? 0.5);
    const half = ((a.label?.lines.length ?? 0) * LINE) / 2 + 6;
    const mid = (y1 + y2) / 2;
    arcs.push({ i, y1, y2, span: [Math.min(y1, y2, mid - half) - 4, Math.max(y1, y2, mid + half) + 4] });
  });
  const arcLevels = levels(arcs.map((a) => a.span));
  // An arc of a deeper level passes beyond the labels of the shallower ones (they sit beside their apex).
  /** @type {number[]} */
  const labelW = [];
  arcs.forEach((arc, k) => {
    const level = arcLevels[k] ?? 0;
    labelW[level] = Math.max(labelW[level] ?? 0, labelWidth(/** @type {Arrow} */ (arrows[arc.i]).label, true));
  });
  /** @type {number[]} */
  const depthOf = [];
  for (let level = 0; level < labelW.length; level++) depthOf[level] = level === 0 ? PAD + 22 : (depthOf[level - 1] ?? 0) + (labelW[level - 1] ?? 0) + 28;
  const edge = px + pw;
  arcs.forEach((arc, k) => {
    const a = /** @type {Arrow} */ (arrows[arc.i]);
    const depth = depthOf[arcLevels[k] ?? 0] ?? PAD + 22;
    const ctrl = edge + (depth * 4) / 3;
    const n = a.label?.lines.length ?? 0;
    lines.push({ arrow: a, d: `M${edge},${arc.y1} C${ctrl},${arc.y1} ${ctrl},${arc.y2} ${edge},${arc.y2}`, labelX: edge + depth + 8, labelY: (arc.y1 + arc.y2) / 2 - ((n - 1) * LINE) / 2 + 4, anchor: 'start', wrap: true });
    right = Math.max(right, edge + depth + 8 + labelWidth(a.label, true));
  });
  return { width: right + MARGIN, height: y + MARGIN, vertical: true, boxes, lines };
}

/**
 * The SVG element for a layout.
 * @param {PathModel} m @param {Layout} layout @param {DropEvent} event
 */
function draw(m, layout, event) {
  const summary = m.hops.map((h, i) => `${i + 1}. ${h.node} ${h.iface} ${dirText(h.direction)}${encapsulated(h) ? ` (${tunnelLabel(h).text})` : ''}`).join('; ');
  const svg = s(
    'svg',
    {
      class: `path-diagram ${layout.vertical ? 'vertical' : 'horizontal'}`,
      xmlns: 'http://www.w3.org/2000/svg',
      width: Math.ceil(layout.width),
      height: Math.ceil(layout.height),
      viewBox: `0 0 ${Math.ceil(layout.width)} ${Math.ceil(layout.height)}`,
      role: 'img',
      'aria-labelledby': 'path-title path-desc',
    },
    s('title', { id: 'path-title' }, `Path of the packets from ${event.src} to ${event.dst}, vanished at ${event.node} ${event.iface}`),
    s('desc', { id: 'path-desc' }, summary ? `Seen: ${summary}. Vanished at ${event.node} ${event.iface}.` : `No hops were recorded; vanished at ${event.node} ${event.iface}.`),
    s(
      'defs',
      undefined,
      ...['step', 'exit'].map((kind) =>
        s('marker', { id: `pw-arrow-${kind}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrowhead arrowhead-${kind}` })),
      ),
    ),
  );
  for (const b of layout.boxes) {
    svg.append(
      s('g', { class: 'node-box', 'data-node': b.node }, s('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 10 }), s('text', { x: b.x + 12, y: b.y + 19, class: 'node-name' }, cut(b.node), b.node.length > MAX_NAME ? s('title', undefined, b.node) : null)),
    );
  }
  for (const l of layout.lines) {
    const a = l.arrow;
    const labelLines = a.label ? (l.wrap ? a.label.lines : [a.label.text]) : [];
    svg.append(
      s(
        'g',
        { class: `arrow arrow-${a.kind}`, 'data-label': a.label?.text },
        s('path', { d: l.d, 'marker-end': `url(#pw-arrow-${a.kind === 'exit' ? 'exit' : 'step'})` }),
        labelLines.length > 0 ? s('text', { class: 'arrow-label', x: l.labelX, y: l.labelY, 'text-anchor': l.anchor }, ...labelLines.map((t, i) => s('tspan', { x: l.labelX, dy: i === 0 ? 0 : LINE }, t))) : null,
      ),
    );
  }
  for (const p of m.slots) {
    const g = s('g', {
      class: `slot slot-${p.kind}${p.vanished ? ' vanished' : ''}`,
      'data-node': p.kind === 'port' ? p.node : undefined,
      'data-iface': p.kind === 'port' ? p.iface : undefined,
      'data-vanished': p.vanished ? 'true' : undefined,
    });
    g.append(s('rect', { x: p.x, y: p.y, width: p.w, height: p.h, rx: p.kind === 'port' ? 6 : p.h / 2 }));
    p.lines.forEach((text, i) => {
      const cls = i === 0 ? (p.kind === 'port' ? 'port-name' : 'endpoint-kind') : i === 1 && p.kind !== 'port' ? 'endpoint-addr' : i === 3 ? 'vanished-text' : 'port-detail';
      g.append(s('text', { x: p.x + p.w / 2, y: p.y + 8 + LINE * (i + 1) - 3, 'text-anchor': 'middle', class: cls }, text));
    });
    if (p.kind === 'port') g.append(s('title', undefined, `${p.node} ${p.full}${p.role ? ` (${p.role})` : ''}${p.vanished ? ': vanished here' : ''}`));
    if (p.vanished) {
      const cx = p.x + p.w - 3;
      const cy = p.y + 3;
      g.append(
        s('g', { class: 'vanish-mark', 'aria-hidden': 'true' }, s('circle', { cx, cy, r: 11 }), s('path', { d: `M${cx - 5},${cy - 5} L${cx + 5},${cy + 5} M${cx + 5},${cy - 5} L${cx - 5},${cy + 5}` })),
      );
    }
    svg.append(g);
  }
  return svg;
}

/**
 * Draws the path into `container`, left to right when that fits its width, else top to bottom; and
 * again when the width changes the choice.
 * @param {HTMLElement} container
 * @param {DropEvent} event
 * @param {Hop[]} path
 */
export function renderPath(container, event, path) {
  const m = pathModel(event, path);
  const horizontal = layoutHorizontal(m);
  let shown = /** @type {boolean | undefined} */ (undefined);
  const update = () => {
    const vertical = container.clientWidth > 0 && horizontal.width > container.clientWidth;
    if (vertical === shown) return;
    shown = vertical;
    const model = pathModel(event, path);
    container.replaceChildren(draw(model, vertical ? layoutVertical(model) : layoutHorizontal(model), event));
  };
  update();
  new ResizeObserver(update).observe(container);
}
