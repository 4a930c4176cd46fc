/**
 * Where the kernel freed a packet whose drop reason says nothing: addresses to `function+0xoffset`
 * through kallsyms (agent/kernel/kallsyms.ts). A file shaped as /proc/kallsyms checks the lookup;
 * the machine's own file checks a real address when it can be read (root).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KernelSymbols } from '../../../agent/kernel/kallsyms.js';

const dir = mkdtempSync(join(tmpdir(), 'pw-kallsyms-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FILE = join(dir, 'kallsyms');
writeFileSync(
  FILE,
  [
    'ffffffff81000000 T _stext',
    'ffffffff81a0b000 t ip_rcv_core',
    'ffffffff81a0b2c0 T ip_rcv_finish_core',
    'ffffffff81a0b9a0 D some_data',
    'ffffffff81a0c000 T ip_rcv',
    'ffffffffc0a01000 t nft_do_chain\t[nf_tables]',
    '',
  ].join('\n'),
);

describe('kernel addresses to functions', () => {
  it('names the text symbol an address lies in, with the offset, skipping data symbols', async () => {
    const s = new KernelSymbols(FILE);
    const named = await s.resolve(['0xffffffff81a0b2c0', '0xffffffff81a0b9f0', 'ffffffff81a0b010', '0xffffffffc0a01044']);
    expect([...named.values()]).toEqual(['ip_rcv_finish_core+0x0', 'ip_rcv_finish_core+0x730', 'ip_rcv_core+0x10', 'nft_do_chain+0x44 [nf_tables]']);
  });

  it('answers an address below every symbol, or not hex, or from an unreadable file, with itself', async () => {
    expect([...(await new KernelSymbols(FILE).resolve(['0x10', 'nonsense'])).values()]).toEqual(['0x10', 'nonsense']);
    expect([...(await new KernelSymbols(join(dir, 'missing')).resolve(['0xffffffff81a0b2c0'])).values()]).toEqual(['0xffffffff81a0b2c0']);
  });

  it('reads the file again only for addresses it has not answered', async () => {
    const s = new KernelSymbols(FILE);
    await s.resolve(['0xffffffff81a0c004']);
    writeFileSync(FILE, 'ffffffff81000000 T renamed\n');
    expect((await s.resolve(['0xffffffff81a0c004'])).get('0xffffffff81a0c004')).toBe('ip_rcv+0x4');
  });

  it.runIf(process.getuid?.() === 0)('names a real kernel function on this machine (root reads kallsyms addresses)', async () => {
    const line = readFileSync('/proc/kallsyms', 'utf8')
      .split('\n')
      .find((l) => / [tT] kfree_skb_reason$/.test(l) || / [tT] sk_skb_reason_drop$/.test(l));
    expect(line, 'kfree_skb_reason or sk_skb_reason_drop in /proc/kallsyms').toBeDefined();
    const [hex, , name] = (line as string).split(' ') as [string, string, string];
    const address = `0x${(BigInt(`0x${hex}`) + 0x20n).toString(16)}`;
    expect((await new KernelSymbols().resolve([address])).get(address)).toBe(`${name}+0x20`);
  });
});
