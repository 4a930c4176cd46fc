/**
 * Fault: the collector is away, the agent's spool fills up past its bound (`--spool-max-mb`, tiny
 * here), the agent is stopped (SIGTERM) and a new agent starts on the same spool directory with the
 * collector back:
 *  - while full, the spool stays within its bound and drops the OLDEST batches, counting them: the
 *    stop line says `S spooled, L lost` with S + L = B (every batch of the boot is one or the other);
 *  - the new agent says it took over S batches and delivers them: exactly the newest S sequences of
 *    the old boot are stored (the old boot id), then its own 1..B2;
 *  - the loss reaches the collector: /api/v1/nodes shows the old boot's `loss.batches_dropped` = L.
 * And on a full disk (the spool on a tiny tmpfs, its own bound far away): the agent keeps running,
 * drops and counts batches, delivers the rest once the collector is there, and every batch of the
 * boot is either stored or counted lost; the collector's /api/v1/nodes shows the loss.
 */
import { mkdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../lab/exec.js';
import { icmpEcho } from '../../lab/traffic.js';
import {
  metric,
  nodes,
  sleep,
  spooledBatchFiles,
  startAgent,
  startCollector,
  steadyStoryTraffic,
  stopAgent,
  until,
  type NodeStatus,
} from '../support/fault-lab.js';
import { faultScene } from '../support/fault-scene.js';
import { oneTo, readStore, storedBatchKeys } from '../support/fault-store.js';
import { labUnavailableReason } from '../support/lab-prerequisites.js';

const PREFIX = 'pwfspool';
const unavailable = labUnavailableReason(PREFIX);
if (unavailable !== null && process.env['CI'] !== 'true') process.stderr.write(`test/faults: skipping the full-spool fault test: ${unavailable}\n`);

/** 6 KiB: a handful of batches (a vanished group's batch is a few hundred bytes gzipped). */
const SPOOL_MB = 6 / 1024;
const SPOOL_BYTES = Math.floor(SPOOL_MB * 1024 * 1024);

/** The full disk's size: a page per batch file, so room for 7 or so. */
const DISK_KIB = 32;

/** The sequence in a spool file's name (`<ordinal>-<sequence>.batch`). */
function sequenceOf(file: string): number {
  return Number(/^\d{16}-(\d{20})\.batch$/.exec(basename(file))?.[1] ?? NaN);
}

describe.skipIf(unavailable !== null)('fault: the agent restarted with a full spool', () => {
  let mounted: string | undefined;
  const scene = faultScene({
    prefix: PREFIX,
    overlay: 'ipip',
    tmpName: 'pw-fault-spool',
    beforeDestroy: async () => {
      if (mounted !== undefined) await run(['umount', '-l', mounted]).catch(() => undefined);
    },
  });
  const { children } = scene;

  it('drops and counts the oldest batches, and the next agent delivers the rest with the loss report', async () => {
    const t = scene.topo;
    const t0 = Date.now();
    const socket = join(scene.dir, 'collector.sock');
    const store = `embedded:${join(scene.dir, 'data')}`;
    const spoolDir = join(scene.dir, 'spool-n2');
    const agentArgs = { node: 'n2' as const, socket, spoolDir, extra: ['--spool-max-mb', String(SPOOL_MB)] };

    // No collector: every batch goes to the spool, which overflows.
    const first = await startAgent(children, t, 'agent n2 (first boot)', agentArgs);
    const sent = await steadyStoryTraffic(t, 1);
    await sleep(4000); // the last groups judged and spooled
    const spooledBytes = spooledBatchFiles(spoolDir).reduce((n, f) => n + statSync(f).size, 0);
    expect(spooledBytes, 'the spool stays within its bound').toBeLessThanOrEqual(SPOOL_BYTES);
    const old = await stopAgent(first);
    expect(old.code, first.stderr()).toBe(0);
    expect(first.stderr(), 'the agent says its spool is full').toMatch(/spool .* full \(\d+ bytes\): dropped the oldest batches/);
    expect(old.line.delivered).toBe(0);
    expect(old.line.lost, first.stderr()).toBeGreaterThan(0);
    expect(old.line.spooled + old.line.lost, `every batch is spooled or counted lost: ${JSON.stringify(old.line)}`).toBe(old.line.batches);
    // What is left is the newest batches, in order.
    const left = spooledBatchFiles(spoolDir).map(sequenceOf);
    expect(left.length).toBe(old.line.spooled);
    expect(left, 'the oldest batches were the ones dropped').toEqual(oneTo(old.line.batches).slice(old.line.batches - old.line.spooled));

    // The collector back, a new agent on the same spool: the old boot's batches are delivered.
    const collector = await startCollector(children, 'collector', { socket, store });
    const second = await startAgent(children, t, 'agent n2 (second boot)', agentArgs);
    expect(second.stderr()).toMatch(new RegExp(`${old.line.spooled} batch\\(es\\) \\(\\d+ bytes\\) left in the spool by an earlier run`));
    await until(() => spooledBatchFiles(spoolDir).length === 0, 30_000, () => `the old spool to be delivered\n${children.logs()}`);
    // Only the old boot has reported so far (no traffic since): its status carries the loss it reported.
    let oldStatus: NodeStatus | undefined;
    await until(async () => (oldStatus = (await nodes(socket)).find((n) => n.node === 'n2')) !== undefined, 10_000, 'n2 in /api/v1/nodes');
    const oldBoot = (oldStatus as NodeStatus).bootId;
    // Every batch carries the boot's running loss total, but a batch cannot count the drops its own
    // append (or a later one) caused, and the boot ended with no collector: the collector learns of
    // nearly all of the loss, never more (the rest: issue 7's closing note).
    expect(oldStatus?.loss?.batches_dropped ?? 0, `the collector learns of the first boot's spool loss (it shows ${JSON.stringify(oldStatus?.loss)})`).toBeGreaterThan(0);
    expect(oldStatus?.loss?.batches_dropped ?? 0).toBeLessThanOrEqual(old.line.lost);
    if (oldStatus?.loss?.batches_dropped !== old.line.lost) console.warn(`known gap: ${old.line.lost} batches lost, the collector shows ${oldStatus?.loss?.batches_dropped}`);

    // The new boot's own traffic follows.
    const more = await icmpEcho(t, 'gw', t.pods.asymmetric.address, { count: 10, intervalMs: 100, timeoutMs: 300 });
    expect(more.sent).toBe(10);
    await until(async () => (await nodes(socket)).some((n) => n.node === 'n2' && n.bootId !== oldBoot), 20_000, 'the second boot\'s batches');
    await sleep(3000);
    const next = await stopAgent(second);
    expect(next.code, second.stderr()).toBe(0);
    expect({ spooled: next.line.spooled, lost: next.line.lost }).toEqual({ spooled: 0, lost: 0 });
    const newBoot = (await nodes(socket)).find((n) => n.node === 'n2')?.bootId;
    collector.child.kill('SIGTERM');
    expect(await collector.exit, collector.stderr()).toBe(0);

    const keys = await readStore(store, storedBatchKeys);
    const stored = (boot: string | undefined) => keys.find((k) => k.bootId === boot)?.sequences;
    expect(keys.map((k) => k.node)).toEqual(['n2', 'n2']);
    expect(stored(oldBoot), 'the old boot: exactly the batches its spool kept').toEqual(left);
    expect(stored(newBoot), 'the new boot: all its batches').toEqual(oneTo(next.line.batches));
    console.log(
      `full spool: bound ${SPOOL_BYTES} bytes; first boot ${old.line.batches} batches (${old.line.spooled} spooled, ${old.line.lost} lost; ` +
        `${sent.icmpSent} echo requests, ${sent.tcpSent} SYNs); collector shown loss ${JSON.stringify(oldStatus?.loss)}; ` +
        `second boot ${next.line.batches} batches; ${Date.now() - t0} ms`,
    );
  }, 170_000);

  it('on a full disk, drops the oldest batches, counts them, keeps running and delivers the rest', async () => {
    const t = scene.topo;
    const t0 = Date.now();
    const socket = join(scene.dir, 'collector-disk.sock');
    const spoolDir = join(scene.dir, 'full-disk');
    mkdirSync(spoolDir);
    // A file system with room for a few batches only (tmpfs takes a page per file); the spool's own
    // bound (256 MB by default) is never what stops it.
    await run(['mount', '-t', 'tmpfs', '-o', `size=${DISK_KIB}k,mode=0700`, 'pwfault-spool', spoolDir]);
    mounted = spoolDir;
    const agent = await startAgent(children, t, 'agent n2 (full disk)', { node: 'n2', socket, spoolDir });
    await steadyStoryTraffic(t, 1);
    await sleep(4000);
    expect(agent.exited(), `the agent keeps running on a full disk:\n${agent.stderr()}`).toBe(false);
    expect(agent.stderr(), 'the agent says it is losing batches').toMatch(/dropped the oldest batches|ENOSPC/);

    // The collector comes; the same agent delivers what the disk kept, and reports what it lost.
    const collector = await startCollector(children, 'collector (full disk)', { socket, store: `embedded:${join(scene.dir, 'data-disk')}` });
    await until(() => spooledBatchFiles(spoolDir).length === 0, 30_000, () => `the spool to be delivered\n${agent.stderr()}`);
    await icmpEcho(t, 'gw', t.pods.asymmetric.address, { count: 10, intervalMs: 100, timeoutMs: 300 }); // a batch after the loss
    await sleep(4000);
    const stopped = await stopAgent(agent);
    expect(stopped.code, agent.stderr()).toBe(0);
    const { batches, delivered, spooled, lost } = stopped.line;
    expect(lost, agent.stderr()).toBeGreaterThan(0);
    expect(spooled).toBe(0);
    expect(delivered + lost, `every batch is delivered or counted lost: ${JSON.stringify(stopped.line)}`).toBe(batches);
    expect(await metric(socket, 'pathwatch_collector_batches_stored_total'), 'the collector stored every batch not counted lost').toBe(delivered);
    const shown = (await nodes(socket)).find((n) => n.node === 'n2')?.loss;
    // As above: the running total of the newest batch delivered.
    expect(shown?.batches_dropped ?? 0, `the collector learns of the loss on the full disk (it shows ${JSON.stringify(shown)})`).toBeGreaterThan(0);
    expect(shown?.batches_dropped ?? 0).toBeLessThanOrEqual(lost);
    if (shown?.batches_dropped !== lost) console.warn(`known gap: ${lost} batches lost on the full disk, the collector shows ${shown?.batches_dropped}`);
    collector.child.kill('SIGTERM');
    expect(await collector.exit, collector.stderr()).toBe(0);
    console.log(`full disk: ${DISK_KIB} KiB tmpfs; ${batches} batches (${delivered} delivered, ${lost} lost); collector shown loss ${JSON.stringify(shown)}; ${Date.now() - t0} ms`);
  }, 120_000);
});

describe('fault: the agent restarted with a full spool: prerequisites', () => {
  it.runIf(process.env['CI'] === 'true')('are present in CI', () => {
    expect(unavailable, `the fault test cannot run in CI: ${unavailable ?? ''}`).toBeNull();
  });
});
