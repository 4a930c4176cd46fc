/**
 * tcpdump's final counters are the last lines it writes to stderr as it stops; the process's exit
 * can be seen before those lines have been read. stop() must still return them (they are how the
 * agent reports its own capture loss), and must not wait long for a stderr someone else holds open.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLiveCapture } from '../../../agent/capture/live-capture.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pw-live-counters-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A stand-in for tcpdump whose counters reach stderr `lagS` seconds after it has exited (written by a child it leaves behind). */
function lateCountersTcpdump(name: string, lagS: number): string {
  const path = join(dir, name);
  const counters = `sleep ${lagS}; echo "7 packets captured" >&2; echo "7 packets received by filter" >&2; echo "2 packets dropped by kernel" >&2`;
  writeFileSync(path, `#!/bin/sh\ntrap '(${counters}) & exit 0' TERM\necho "tcpdump: listening on any, link-type LINUX_SLL2" >&2\nwhile :; do sleep 0.05; done\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('live capture stop', () => {
  it('returns the counters tcpdump writes just after its exit', async () => {
    const cap = startLiveCapture({ tcpdump: lateCountersTcpdump('late', 0.15) });
    await cap.ready;
    expect(await cap.stop()).toEqual({ received: 7, droppedByKernel: 2 });
  });

  it('does not wait long for a stderr held open after the exit', async () => {
    const cap = startLiveCapture({ tcpdump: lateCountersTcpdump('held', 5) });
    await cap.ready;
    const t0 = Date.now();
    await cap.stop();
    expect(Date.now() - t0).toBeLessThan(2500);
  });
});
