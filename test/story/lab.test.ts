/**
 * `pathwatch lab --fix --json` end to end (root, network namespaces, eBPF): the story's reverse-path
 * drops for ICMP and TCP at the pod's node on the tunnel, confirmed by the kernel; nothing for the
 * healthy pod; no drop after the remedy; no namespace left behind. And without root, one line.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { DropEvent } from '../../core/explain/drop-event.js';
import { STORY } from '../../lab/topology.js';
import { ensureBuilt, runPathwatch } from '../support/built-cli.js';
import { labUnavailableReason } from '../support/lab-prerequisites.js';

const IN_CI = process.env['CI'] === 'true';
const unavailable = labUnavailableReason('pwlab');

function labNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('pwlab-'));
}

describe('pathwatch lab: prerequisites', () => {
  it.runIf(IN_CI)('are present in CI', () => {
    expect(unavailable, `the lab cannot run in CI: ${unavailable ?? ''}`).toBeNull();
  });
});

describe.skipIf(unavailable !== null)('pathwatch lab --fix --json', () => {
  for (const overlay of ['ipip', 'vxlan'] as const) {
    it(`finds the confirmed reverse-path drops over ${overlay}, and none after the fix`, async () => {
      ensureBuilt();
      const before = labNamespaces();
      const r = await runPathwatch(['lab', '--fix', '--json', '--overlay', overlay], { timeoutMs: 150_000 });
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { drops: DropEvent[]; afterFix: { drops: DropEvent[] } };
      expect(Object.keys(doc).sort()).toEqual(['afterFix', 'drops']);
      const tunnel = overlay === 'ipip' ? 'tunl0' : 'vxlan.calico';
      const pod = STORY.asymmetricPod;
      for (const proto of ['icmp', 'tcp']) {
        const found = doc.drops.filter((d) => d.proto === proto && d.node === 'n2' && d.iface === tunnel && d.verdict === 'reverse-path' && d.confidence === 'confirmed');
        expect(found.length, `${proto}: ${JSON.stringify(doc.drops)}`).toBeGreaterThan(0);
        expect(found.some((d) => d.dst === pod || d.src === pod)).toBe(true);
        // Confirmed per packet: each of the group's packets had its own IP_RPFILTER drop, matched by
        // fingerprint (nothing is lost in the lab, so N is every packet).
        for (const d of found) expect(d.kernel, JSON.stringify(d)).toEqual({ reason: 'IP_RPFILTER', packets: d.packets });
      }
      for (const d of doc.drops) expect([d.src, d.dst], JSON.stringify(d)).not.toContain(STORY.healthyPod);
      expect(doc.afterFix.drops).toEqual([]);
      expect(labNamespaces()).toEqual(before);
    }, 180_000);
  }
});

describe('pathwatch lab without root', () => {
  it.skipIf(process.getuid?.() !== 0)('says in one line what it needs', async () => {
    ensureBuilt();
    const out = execFileSync('sh', ['-c', `runuser -u nobody -- ${process.execPath} bin/pathwatch.js lab --json; echo "exit=$?"`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out.trim()).toBe('exit=2');
    const err = execFileSync('sh', ['-c', `runuser -u nobody -- ${process.execPath} bin/pathwatch.js lab 2>&1 || true`], { encoding: 'utf8' });
    expect(err.trim()).toBe('pathwatch: lab: needs root (it creates network namespaces and captures in them); run it with sudo');
  });
});
