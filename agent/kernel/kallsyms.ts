/**
 * Kernel addresses to function names (`ip_rcv_finish_core+0x1a2`), from /proc/kallsyms: where the
 * kernel freed a packet whose drop reason says nothing (NOT_SPECIFIED). Answers are cached per
 * address; the file (some 10 MB) is read only when an address not seen before is asked about, in
 * one streamed pass for every such address. Without CAP_SYSLOG the file lists zero addresses:
 * then the answer is the address itself.
 */
import { readFile } from 'node:fs/promises';

const KALLSYMS = '/proc/kallsyms';

interface KernelSymbol {
  readonly name: string;
  /** "[nf_tables]" for a module's function, '' for the kernel's own. */
  readonly module: string;
  readonly address: bigint;
}
const MAX_CACHED = 4096;

export class KernelSymbols {
  private readonly cache = new Map<string, string>();

  constructor(private readonly path = KALLSYMS) {}

  /** Each address (hex, with or without 0x) to `symbol+0xoffset`, or to itself when unknown. */
  async resolve(addresses: readonly string[]): Promise<Map<string, string>> {
    const wanted = new Map<string, bigint>();
    for (const a of addresses) if (!this.cache.has(a) && /^(0x)?[0-9a-f]+$/i.test(a)) wanted.set(a, BigInt(a.startsWith('0x') ? a : `0x${a}`));
    if (wanted.size > 0) {
      const best = await this.nearestSymbols([...wanted.values()]);
      for (const [text, address] of wanted) {
        const hit = best.get(address);
        if (this.cache.size >= MAX_CACHED) this.cache.clear();
        this.cache.set(text, hit ? `${hit.name}+0x${(address - hit.address).toString(16)}${hit.module ? ` ${hit.module}` : ''}` : text);
      }
    }
    return new Map(addresses.map((a) => [a, this.cache.get(a) ?? a]));
  }

  /**
   * For each address, the text symbol at or below it (the function it lies in). Addresses are
   * compared as fixed-width hex text (kallsyms writes 16 digits on 64-bit kernels), so the pass
   * over its ~120,000 lines parses only the lines that win.
   */
  private async nearestSymbols(addresses: readonly bigint[]): Promise<Map<bigint, KernelSymbol>> {
    const best = new Map<bigint, KernelSymbol>();
    let text: string;
    try {
      text = await readFile(this.path, 'latin1');
    } catch {
      return best; // unreadable: the addresses stand for themselves
    }
    const width = text.indexOf(' ');
    if (width <= 0) return best;
    // Without CAP_SYSLOG every address reads as zeros: no symbol is ever above "000...0".
    const targets = addresses.map((a) => ({ address: a, hex: a.toString(16).padStart(width, '0'), bestHex: '0'.repeat(width), bestAt: -1 }));
    for (let at = 0; at < text.length; ) {
      let end = text.indexOf('\n', at);
      if (end < 0) end = text.length;
      // "ffffffff81a0b2c0 T ip_rcv_finish_core" or "... t nft_do_chain\t[nf_tables]": t or T is code.
      if ((text.charCodeAt(at + width + 1) | 0x20) === 0x74 && text.charCodeAt(at + width) === 0x20) {
        const hex = text.slice(at, at + width);
        for (const t of targets) {
          if (hex > t.hex || hex <= t.bestHex) continue;
          t.bestHex = hex;
          t.bestAt = at;
        }
      }
      at = end + 1;
    }
    for (const t of targets) {
      if (t.bestAt < 0) continue;
      const end = text.indexOf('\n', t.bestAt);
      const rest = text.slice(t.bestAt + width + 3, end < 0 ? text.length : end);
      const gap = rest.search(/[\t ]/);
      best.set(t.address, { name: gap < 0 ? rest : rest.slice(0, gap), module: gap < 0 ? '' : rest.slice(gap + 1).trim(), address: BigInt(`0x${t.bestHex}`) });
    }
    return best;
  }
}
