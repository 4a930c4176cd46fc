/**
 * The storage contract, run against every backend and profile (embedded chDB, chDB with the legacy SQL,
 * and a ClickHouse server when one is given). Each test opens fresh stores through openStorage, as the
 * collector does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dropEventId, type DropEvent } from '../../../core/explain/drop-event.js';
import { openStorage, type OpenStorageOptions } from '../../../collector/store/open-storage.js';
import { render, type SqlFragment } from '../../../collector/store/sql/fragment.js';
import { profileNamed } from '../../../collector/store/sql/profiles.js';
import { RowCodec } from '../../../collector/store/sql/row-codec.js';
import { createDatabase, createMigrationsTable, MIGRATIONS, STORED_AT } from '../../../collector/store/sql/schema.js';
import type { ProfileName } from '../../../collector/store/sql/profile-detect.js';
import type { SqlExecutor } from '../../../collector/store/sql-executor.js';
import type {
  IngestWrite,
  Storage,
  StoredAgentStatus,
  StoredDrop,
  StoredFlow,
  StoredHop,
  StoredPacket,
} from '../../../collector/store/storage.js';

export interface StoreUnderTest {
  /** The profile this store should end up with. */
  readonly expectedProfile: ProfileName;
  /** Extra options for every open (a forced profile). */
  readonly options?: OpenStorageOptions;
  /** The STORE spec of a new, empty store. */
  fresh(): Promise<string>;
  /** How many rows schema_migrations has (the store is closed when this is called). */
  migrationRows(spec: string): Promise<number>;
  /** The store's own executor and database, to build an older schema by hand (closed store; the caller closes it). */
  raw(spec: string): { readonly executor: SqlExecutor; readonly database: string };
  /** Removes what fresh() made. */
  cleanup(spec: string): Promise<void>;
}

const DAY = 86_400_000;
/** Whole seconds an hour ago: well inside any retention, so only the retention test expires data. */
const BASE = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

export const HOSTILE_STRINGS: readonly string[] = [
  "'; DROP TABLE x; --",
  "\\'; DROP TABLE drops; --",
  "it's",
  'back\\slash\\',
  "quote\\'",
  'new\nline\r\n',
  'nul\0byte',
  'tab\there',
  'ünïcødé 🚀 中文 ‮rtl',
  '{p0:String}',
  '`backtick`',
  '"double"',
  '\\N',
  '',
];

let seq = 0;

export function makeDrop(over: Partial<Omit<DropEvent, 'id'>> & { updatedAtMs?: number; path?: StoredHop[] } = {}): StoredDrop {
  const lastSeenMs = over.lastSeen ? Date.parse(over.lastSeen) : BASE;
  const key = {
    node: over.node ?? 'node-a',
    iface: over.iface ?? 'tunl0',
    src: over.src ?? '100.64.0.1',
    dst: over.dst ?? '10.91.1.128',
    proto: over.proto ?? 'icmp',
    sport: over.sport === undefined ? null : over.sport,
    dport: over.dport === undefined ? null : over.dport,
  };
  const event: DropEvent = {
    id: dropEventId(key),
    ...key,
    packets: over.packets ?? 5,
    firstSeen: over.firstSeen ?? new Date(lastSeenMs - 4000).toISOString(),
    lastSeen: new Date(lastSeenMs).toISOString(),
    verdict: over.verdict ?? 'reverse-path',
    confidence: over.confidence ?? 'confirmed',
    evidence: over.evidence ?? [{ kind: 'ebpf-drop-reason', detail: 'IP_RPFILTER x5 on tunl0' }],
    remedy: over.remedy ?? 'sysctl -w net.ipv4.conf.tunl0.rp_filter=2',
    kernel: over.kernel === undefined ? { reason: 'IP_RPFILTER', packets: 5 } : over.kernel,
  };
  return { event, path: over.path ?? [hop(lastSeenMs)], source: 'live', updatedAtMs: over.updatedAtMs ?? lastSeenMs + ++seq };
}

function hop(tsMs: number, over: Partial<StoredHop> = {}): StoredHop {
  return {
    node: 'node-a',
    iface: 'tunl0',
    role: 'tunnel',
    direction: 'in',
    tsMs,
    encap: 'ipip',
    outerSrc: '192.168.1.10',
    outerDst: '192.168.1.11',
    vni: -1,
    ttl: 63,
    length: 84,
    ...over,
  };
}

export function makeFlow(over: Partial<StoredFlow> = {}): StoredFlow {
  return {
    node: 'node-a',
    iface: 'eth0',
    direction: 'in',
    src: '10.0.0.1',
    dst: '10.0.0.2',
    proto: 6,
    sport: 40000,
    dport: 443,
    encap: 'none',
    outerSrc: '',
    outerDst: '',
    vni: -1,
    packets: 10,
    bytes: 1500,
    firstSeenMs: BASE - 10_000,
    lastSeenMs: BASE,
    source: 'live',
    ...over,
  };
}

function write(over: Partial<IngestWrite>): IngestWrite {
  return { flows: [], drops: [], packets: [], ...over };
}

export function describeStorageContract(name: string, target: StoreUnderTest): void {
  describe(`storage contract: ${name}`, () => {
    const opened: Storage[] = [];
    const specs: string[] = [];

    async function fresh(): Promise<string> {
      const spec = await target.fresh();
      specs.push(spec);
      return spec;
    }

    async function open(spec: string, options: OpenStorageOptions = {}): Promise<Storage> {
      const storage = await openStorage(spec, { retentionDays: 30, ...target.options, ...options });
      opened.push(storage);
      return storage;
    }

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      for (const spec of specs.splice(0)) await target.cleanup(spec);
    });

    it(`opens with the ${target.expectedProfile} profile; migrations run once however often it is opened`, async () => {
      const spec = await fresh();
      for (let i = 0; i < 3; i++) {
        const s = await open(spec);
        expect(s.info.profile).toBe(target.expectedProfile);
        expect(s.info.serverVersion).toMatch(/^\d+\.\d+/);
        await s.close();
      }
      expect(await target.migrationRows(spec)).toBe(MIGRATIONS.length);
    });

    it('remembers stored batches, also across a reopen', async () => {
      const spec = await fresh();
      let s = await open(spec);
      const key = { agentId: 'agent-1', bootId: 'boot-1', sequence: 41 };
      expect(await s.hasBatch(key)).toBe(false);
      await s.write(write({ batch: { ...key, node: 'node-a', receivedAtMs: BASE }, flows: [makeFlow()] }));
      expect(await s.hasBatch(key)).toBe(true);
      expect(await s.hasBatch({ ...key, sequence: 42 })).toBe(false);
      expect(await s.hasBatch({ ...key, bootId: 'boot-2' })).toBe(false);
      expect(await s.hasBatch({ ...key, agentId: 'agent-2' })).toBe(false);
      await s.close();
      s = await open(spec);
      expect(await s.hasBatch(key)).toBe(true);
      expect(await s.queryFlows({ limit: 10 })).toEqual([makeFlow()]);
    });

    it('keeps the flow rows of a batch written twice (a retry after a failed write) once; replays are never merged', async () => {
      const s = await open(await fresh());
      const batch = { agentId: 'agent-1', bootId: 'boot-1', sequence: 7, node: 'node-a', receivedAtMs: BASE };
      const flows = [makeFlow(), makeFlow({ sport: 2 }), makeFlow({ sport: 2 })];
      await s.write(write({ batch, flows }));
      await s.write(write({ batch, flows }));
      expect(await s.queryFlows({ limit: 10 })).toHaveLength(3);
      await s.write(write({ flows: [makeFlow({ sport: 9 })] }));
      await s.write(write({ flows: [makeFlow({ sport: 9 })] }));
      expect((await s.queryFlows({ limit: 10 })).filter((f) => f.sport === 9)).toHaveLength(2);
    });

    it('drops: the newest version of an id wins, whatever order and day the versions were stored in', async () => {
      let clock = BASE - 2 * DAY;
      const s = await open(await fresh(), { clock: () => clock });
      const v1 = makeDrop({ packets: 1, verdict: 'vanished', confidence: 'possible', updatedAtMs: 1000 });
      const v2 = makeDrop({ packets: 9, lastSeen: new Date(BASE + 5000).toISOString(), updatedAtMs: 3000 });
      const stale = makeDrop({ packets: 3, updatedAtMs: 2000 });
      await s.write(write({ drops: [v1] }));
      clock += DAY; // the next version lands in another day partition
      await s.write(write({ drops: [v2] }));
      clock += DAY;
      await s.write(write({ drops: [stale] }));
      expect(v1.event.id).toBe(v2.event.id);
      expect(await s.queryDrops({ limit: 100 })).toEqual([v2]);
      expect(await s.getDrop(v1.event.id)).toEqual(v2);
      expect(await s.getDrop('no-such-id')).toBeUndefined();
      // The time window judges the newest version only: v1 and stale match this window, v2 does not.
      expect(await s.queryDrops({ limit: 100, untilMs: BASE + 1000 })).toEqual([]);
    });

    it('getDrops: the newest version of each stored id in one call, over several statements for many ids; unknown ids absent', async () => {
      let clock = BASE - 2 * DAY;
      const s = await open(await fresh(), { clock: () => clock });
      expect(await s.getDrops([])).toEqual(new Map());
      // 2,500 distinct drop events: more than two statements' worth of ids (1,000 each).
      const many = Array.from({ length: 2_500 }, (_, i) => makeDrop({ proto: 'tcp', sport: 1 + i, dport: 443, packets: 1 + i, updatedAtMs: 1000 + i }));
      expect(new Set(many.map((d) => d.event.id)).size).toBe(many.length);
      await s.write(write({ drops: many }));
      // Newer versions of every third id, one day later (another partition), then stale ones a day after that.
      clock += DAY;
      const newer = many.filter((_, i) => i % 3 === 0).map((d) => ({ ...d, event: { ...d.event, packets: d.event.packets + 100 }, updatedAtMs: d.updatedAtMs + 10_000 }));
      await s.write(write({ drops: newer }));
      clock += DAY;
      const stale = many.filter((_, i) => i % 3 === 0).map((d) => ({ ...d, event: { ...d.event, packets: 0 }, updatedAtMs: d.updatedAtMs + 5_000 }));
      await s.write(write({ drops: stale }));
      const latest = new Map(many.map((d) => [d.event.id, d]));
      for (const d of newer) latest.set(d.event.id, d);

      const unknown = Array.from({ length: 700 }, (_, i) => `no-such-id-${i}`);
      // Stored and unknown ids mixed, in no particular order, some asked for twice.
      const asked = [...many.map((d) => d.event.id), ...unknown, ...many.slice(0, 50).map((d) => d.event.id)].reverse();
      const got = await s.getDrops(asked);
      expect(got.size).toBe(many.length);
      expect(got).toEqual(latest);
      for (const d of many.slice(0, 9)) expect(await s.getDrop(d.event.id)).toEqual(got.get(d.event.id));
      expect(await s.getDrops(unknown)).toEqual(new Map());
      const few = [many[7]!.event.id, 'no-such-id', many[9]!.event.id];
      expect([...(await s.getDrops(few)).entries()].sort()).toEqual([[many[7]!.event.id, many[7]], [many[9]!.event.id, latest.get(many[9]!.event.id)]].sort());
    });

    it('getDrops: hostile ids are looked up as they are, never as SQL', async () => {
      const s = await open(await fresh());
      const drops = HOSTILE_STRINGS.map((text, i) => {
        const d = makeDrop({ sport: i, proto: 'udp', dport: 53 });
        return { ...d, event: { ...d.event, id: text } };
      });
      await s.write(write({ drops }));
      const got = await s.getDrops(HOSTILE_STRINGS);
      expect(got).toEqual(new Map(drops.map((d) => [d.event.id, d])));
      const probes = ["x' OR '1'='1", "') OR 1=1 --", "'); DROP TABLE drops; --", '\\', '%', '_', '{p0:String}x'];
      expect(await s.getDrops(probes)).toEqual(new Map());
      expect((await s.getDrops([...probes, HOSTILE_STRINGS[0]!])).size).toBe(1);
      expect(await s.queryDrops({ limit: 100 })).toHaveLength(HOSTILE_STRINGS.length);
    });

    it('drops: filters by time, node, addresses and limit; newest first, then by id', async () => {
      const s = await open(await fresh());
      const at = (ms: number) => new Date(BASE + ms).toISOString();
      const a = makeDrop({ node: 'node-a', src: '100.64.0.1', dst: '10.0.0.9', lastSeen: at(1000) });
      const b = makeDrop({ node: 'node-b', src: '100.64.0.2', dst: '10.0.0.9', lastSeen: at(2000) });
      const c = makeDrop({ node: 'node-a', src: 'fd00::1', dst: '2001:db8::10', proto: 'tcp', sport: 40000, dport: 443, lastSeen: at(3000) });
      const d = makeDrop({ node: 'node-b', src: '100.64.0.3', dst: '10.0.0.8', lastSeen: at(3000) });
      await s.write(write({ drops: [a, b] }));
      await s.write(write({ drops: [c, d] }));
      const ids = (drops: StoredDrop[]) => drops.map((x) => x.event.id);
      const tied = [c, d].sort((x, y) => (x.event.id < y.event.id ? -1 : 1));
      expect(ids(await s.queryDrops({ limit: 100 }))).toEqual(ids([...tied, b, a]));
      expect(ids(await s.queryDrops({ limit: 2 }))).toEqual(ids(tied));
      expect(ids(await s.queryDrops({ limit: 100, sinceMs: BASE + 2000 }))).toEqual(ids([...tied, b]));
      expect(ids(await s.queryDrops({ limit: 100, untilMs: BASE + 2000 }))).toEqual(ids([b, a]));
      expect(ids(await s.queryDrops({ limit: 100, sinceMs: BASE + 1500, untilMs: BASE + 2500 }))).toEqual(ids([b]));
      expect(ids(await s.queryDrops({ limit: 100, node: 'node-a' }))).toEqual(ids([c, a]));
      expect(ids(await s.queryDrops({ limit: 100, src: '100.64.0.2' }))).toEqual(ids([b]));
      expect(ids(await s.queryDrops({ limit: 100, dst: '10.0.0.9' }))).toEqual(ids([b, a]));
      expect(ids(await s.queryDrops({ limit: 100, src: 'FD00:0::1', dst: '2001:0db8::0010' }))).toEqual(ids([c]));
      expect(ids(await s.queryDrops({ limit: 100, src: '::ffff:100.64.0.1' }))).toEqual(ids([a]));
      expect(ids(await s.queryDrops({ limit: 100, node: 'node-c' }))).toEqual([]);
      expect(await s.queryDrops({ limit: 100, src: 'fd00::1' })).toEqual([c]);
    });

    it('drops: ids are stable and addresses of both families come back canonical', async () => {
      const spec = await fresh();
      let s = await open(spec);
      const v6 = makeDrop({ src: 'fd00::1', dst: '2001:db8::1:0:0:1', proto: 'icmpv6' });
      const v4 = makeDrop({ src: '0.0.0.0', dst: '255.255.255.254', proto: '47' });
      await s.write(write({ drops: [v6, v4] }));
      await s.close();
      s = await open(spec);
      const got = await s.queryDrops({ limit: 10 });
      expect(got.map((d) => d.event.id).sort()).toEqual([v6.event.id, v4.event.id].sort());
      for (const d of got) {
        const { id, ...key } = d.event;
        expect(id).toBe(dropEventId(key));
      }
      expect((await s.getDrop(v6.event.id))?.event).toMatchObject({ src: 'fd00::1', dst: '2001:db8::1:0:0:1' });
      expect((await s.getDrop(v4.event.id))?.event).toMatchObject({ src: '0.0.0.0', dst: '255.255.255.254' });
    });

    it("drops: the kernel's summary comes back as stored, and none stays none, also across a reopen", async () => {
      const spec = await fresh();
      let s = await open(spec);
      const confirmed = makeDrop({ proto: 'udp', sport: 1, dport: 53, kernel: { reason: 'IP_RPFILTER', packets: 2 ** 40 } });
      const generic = makeDrop({ proto: 'udp', sport: 2, dport: 53, verdict: 'vanished', kernel: { reason: 'NOT_SPECIFIED', packets: 1 } });
      const none = makeDrop({ proto: 'udp', sport: 3, dport: 53, confidence: 'likely', kernel: null });
      await s.write(write({ drops: [confirmed, generic, none] }));
      for (const d of [confirmed, generic, none]) expect(await s.getDrop(d.event.id)).toEqual(d);
      await s.close();
      s = await open(spec);
      const byId = new Map((await s.queryDrops({ limit: 10 })).map((d) => [d.event.id, d.event.kernel]));
      expect(byId).toEqual(new Map([[confirmed.event.id, confirmed.event.kernel], [generic.event.id, generic.event.kernel], [none.event.id, null]]));
      // A newer state without the kernel's word replaces one with it (the merge rule decides, not the store).
      const newer = { ...confirmed, event: { ...confirmed.event, kernel: null }, updatedAtMs: confirmed.updatedAtMs + 1 };
      await s.write(write({ drops: [newer] }));
      expect((await s.getDrops([confirmed.event.id])).get(confirmed.event.id)).toEqual(newer);
    });

    it("refuses a kernel summary the columns could not give back (no reason, packets not a count)", async () => {
      const s = await open(await fresh());
      for (const kernel of [{ reason: '', packets: 1 }, { reason: 'IP_RPFILTER', packets: -1 }, { reason: 'IP_RPFILTER', packets: 1.5 }]) {
        await expect(s.write(write({ drops: [makeDrop(), makeDrop({ sport: 7, proto: 'udp', dport: 53, kernel })] })), JSON.stringify(kernel)).rejects.toThrow(/drop kernel/);
      }
      expect(await s.queryDrops({ limit: 10 })).toEqual([]);
    });

    /**
     * A store as a collector before migration 4 left it: migrations 1 to 3 applied and recorded, and a
     * drop row written without the kernel columns. `interrupted`: migration 4 was cut off after its
     * first statement (kernel_reason added, the migration not recorded).
     */
    async function versionThreeStore(spec: string, old: StoredDrop, interrupted: boolean): Promise<void> {
      const { executor, database } = target.raw(spec);
      try {
        const ctx = { profile: profileNamed(target.expectedProfile), database };
        const ddl = (f: SqlFragment): Promise<void> => executor.command(render(f, 'inline'));
        await ddl(createDatabase(ctx));
        await ddl(createMigrationsTable(ctx));
        for (const m of MIGRATIONS.filter((x) => x.version <= 3)) {
          for (const statement of m.statements(ctx)) await ddl(statement);
          await executor.insert(database, 'schema_migrations', [{ version: m.version, name: m.name, applied_at_ms: BASE }]);
        }
        const row = new RowCodec(ctx.profile).dropRow(old);
        delete row['kernel_reason'];
        delete row['kernel_packets'];
        await executor.insert(database, 'drops', [{ ...row, [STORED_AT]: ctx.profile.encodeTime(BASE) }]);
        const fourth = MIGRATIONS.find((x) => x.version === 4);
        if (interrupted && fourth) await ddl(fourth.statements(ctx)[0]!);
      } finally {
        await executor.close();
      }
    }

    for (const interrupted of [false, true]) {
      it(`migration 4 over a version-3 store${interrupted ? ' (run before and cut off half way)' : ''}: old drop rows read with kernel null, new ones keep theirs`, async () => {
        const spec = await fresh();
        const old = makeDrop({ node: 'before', kernel: { reason: 'IP_RPFILTER', packets: 5 } });
        await versionThreeStore(spec, old, interrupted);
        const s = await open(spec);
        const oldAsRead = { ...old, event: { ...old.event, kernel: null } };
        expect(await s.getDrop(old.event.id)).toEqual(oldAsRead);
        const fresh4 = makeDrop({ node: 'after', kernel: { reason: 'NETFILTER_DROP', packets: 2 } });
        await s.write(write({ drops: [fresh4] }));
        expect(await s.getDrop(fresh4.event.id)).toEqual(fresh4);
        expect(await s.queryDrops({ limit: 10, node: 'before' })).toEqual([oldAsRead]);
        // The old state grown by a new collector: its newest row carries the kernel's word.
        const grown = { ...old, event: { ...old.event, packets: 9 }, updatedAtMs: old.updatedAtMs + 1 };
        await s.write(write({ drops: [grown] }));
        expect(await s.getDrop(old.event.id)).toEqual(grown);
        await s.close();
        expect(await target.migrationRows(spec)).toBe(MIGRATIONS.length);
      });
    }

    it('getDrop returns the path hop by hop, and the evidence', async () => {
      const s = await open(await fresh());
      const path = [
        hop(BASE - 30, { node: 'node-b', iface: 'eth0', role: 'uplink', direction: 'out', encap: 'none', outerSrc: '', outerDst: '' }),
        hop(BASE - 20, { encap: 'vxlan', vni: 4096, outerSrc: 'fd00::a', outerDst: 'fd00::b' }),
        hop(BASE - 10, { iface: 'cali1234', role: 'pod', direction: 'unknown', ttl: 1, length: 65535 }),
      ];
      const drop = makeDrop({ path, evidence: [{ kind: 'a', detail: 'x' }, { kind: 'b', detail: 'y' }], sport: 0, dport: 65535, proto: 'udp' });
      await s.write(write({ drops: [drop] }));
      expect(await s.getDrop(drop.event.id)).toEqual(drop);
    });

    it('packets: first bytes come back byte for byte, oldest first, at most limit', async () => {
      const s = await open(await fresh());
      const every = new Uint8Array(256).map((_, i) => i);
      const packet = (tsMs: number, bytes: Uint8Array, dropId = 'drop-1'): StoredPacket => ({
        dropId,
        node: 'node-a',
        iface: 'tunl0',
        tsMs,
        linkType: 276,
        origLen: 1514,
        bytes,
      });
      const later = packet(BASE + 20, every.slice().reverse());
      const first = packet(BASE, every);
      const middle = packet(BASE + 10, new Uint8Array(0));
      await s.write(write({ packets: [later, first, packet(BASE, every, 'drop-2')] }));
      await s.write(write({ packets: [middle] }));
      const got = await s.packetsOf('drop-1', 10);
      expect(got).toEqual([first, middle, later]);
      expect(Buffer.from(got[0]!.bytes).equals(Buffer.from(every))).toBe(true);
      expect(await s.packetsOf('drop-1', 2)).toEqual([first, middle]);
      expect(await s.packetsOf('drop-3', 2)).toEqual([]);
    });

    it('flows: filters by time, node, addresses, port, proto and limit; newest first', async () => {
      const s = await open(await fresh());
      const f1 = makeFlow({ firstSeenMs: BASE, lastSeenMs: BASE + 1000, node: 'node-a', sport: 53, dport: 33000, proto: 17 });
      const f2 = makeFlow({ firstSeenMs: BASE + 500, lastSeenMs: BASE + 2000, node: 'node-b', src: 'fd00::5', dst: 'fd00::6', encap: 'vxlan', outerSrc: '192.168.0.1', outerDst: '192.168.0.2', vni: 4096, direction: 'out' });
      const f3 = makeFlow({ firstSeenMs: BASE + 2500, lastSeenMs: BASE + 3000, node: 'node-a', dport: 53, proto: 17, source: 'replay', packets: 2 ** 40, bytes: 2 ** 52 });
      await s.write(write({ flows: [f1, f2, f3] }));
      expect(await s.queryFlows({ limit: 100 })).toEqual([f3, f2, f1]);
      expect(await s.queryFlows({ limit: 1 })).toEqual([f3]);
      expect(await s.queryFlows({ limit: 100, sinceMs: BASE + 2000 })).toEqual([f3, f2]);
      expect(await s.queryFlows({ limit: 100, untilMs: BASE + 500 })).toEqual([f2, f1]);
      expect(await s.queryFlows({ limit: 100, node: 'node-a' })).toEqual([f3, f1]);
      expect(await s.queryFlows({ limit: 100, src: 'fd00:0:0::5' })).toEqual([f2]);
      expect(await s.queryFlows({ limit: 100, dst: '10.0.0.2' })).toEqual([f3, f1]);
      expect(await s.queryFlows({ limit: 100, port: 53 })).toEqual([f3, f1]);
      expect(await s.queryFlows({ limit: 100, proto: 17, port: 33000 })).toEqual([f1]);
      expect(await s.queryFlows({ limit: 100, proto: 1 })).toEqual([]);
    });

    it('agents: the latest status of each agent', async () => {
      const s = await open(await fresh());
      const status = (agentId: string, node: string, lastBatchMs: number): StoredAgentStatus => ({
        agentId,
        node,
        bootId: `boot-${lastBatchMs}`,
        lastBatchMs,
        statusJson: JSON.stringify({ interfaces: ['eth0'], at: lastBatchMs }),
      });
      await s.write(write({ agentStatus: status('agent-1', 'node-a', BASE) }));
      await s.write(write({ agentStatus: status('agent-2', 'node-b', BASE + 10) }));
      await s.write(write({ agentStatus: status('agent-1', 'node-a', BASE + 20) }));
      await s.write(write({ agentStatus: status('agent-2', 'node-b', BASE + 5) }));
      const got = (await s.agents()).sort((x, y) => (x.agentId < y.agentId ? -1 : 1));
      expect(got).toEqual([status('agent-1', 'node-a', BASE + 20), status('agent-2', 'node-b', BASE + 10)]);
    });

    it('hostile strings are stored and read back unchanged, and filter only what they name', async () => {
      const s = await open(await fresh());
      const drops = HOSTILE_STRINGS.map((text, i) =>
        makeDrop({
          node: text,
          iface: text,
          verdict: text,
          proto: text,
          remedy: text,
          evidence: [{ kind: text, detail: text }],
          // The empty string is how "no kernel summary" is stored: it stands for none here.
          kernel: text === '' ? null : { reason: text, packets: i + 1 },
          path: [hop(BASE, { node: text, iface: text, role: text, encap: text })],
          lastSeen: new Date(BASE + i).toISOString(),
        }),
      );
      const flows = HOSTILE_STRINGS.map((text) => makeFlow({ node: text, iface: text, encap: text, outerSrc: text }));
      const agents = HOSTILE_STRINGS.map((text, i): StoredAgentStatus => ({
        agentId: `${text}#${i}`,
        node: text,
        bootId: text,
        lastBatchMs: BASE,
        statusJson: text,
      }));
      await s.write(write({ drops, flows }));
      for (const [i, text] of HOSTILE_STRINGS.entries()) {
        await s.write(write({
          agentStatus: agents[i]!,
          batch: { agentId: text, bootId: text, sequence: i, node: text, receivedAtMs: BASE },
          packets: [{ dropId: text, node: text, iface: text, tsMs: BASE, linkType: 1, origLen: 1, bytes: new Uint8Array([i]) }],
        }));
      }
      for (const [i, text] of HOSTILE_STRINGS.entries()) {
        expect(await s.queryDrops({ limit: 100, node: text }), JSON.stringify(text)).toEqual([drops[i]]);
        expect(await s.getDrop(drops[i]!.event.id)).toEqual(drops[i]);
        expect(await s.queryFlows({ limit: 100, node: text })).toEqual([flows[i]]);
        expect(await s.hasBatch({ agentId: text, bootId: text, sequence: i })).toBe(true);
        expect(await s.hasBatch({ agentId: text, bootId: text, sequence: i + 100 })).toBe(false);
        expect((await s.packetsOf(text, 10)).map((p) => [p.dropId, p.node, p.iface, [...p.bytes]])).toEqual([[text, text, text, [i]]]);
      }
      expect((await s.agents()).sort((x, y) => (x.agentId < y.agentId ? -1 : 1))).toEqual(
        [...agents].sort((x, y) => (x.agentId < y.agentId ? -1 : 1)),
      );
      for (const probe of ["x' OR '1'='1", "' OR 1=1 --", '\\', "node-a' --", '%', '_']) {
        expect(await s.queryDrops({ limit: 100, node: probe })).toEqual([]);
        expect(await s.queryFlows({ limit: 100, node: probe })).toEqual([]);
        expect(await s.packetsOf(probe, 10)).toEqual([]);
      }
      // Still all there: nothing was dropped or altered by what went through the SQL.
      expect(await s.queryDrops({ limit: 100 })).toHaveLength(HOSTILE_STRINGS.length);
      expect(await s.queryFlows({ limit: 100 })).toHaveLength(HOSTILE_STRINGS.length);
    });

    it('refuses malformed rows before storing any of them', async () => {
      const s = await open(await fresh());
      const good = makeFlow();
      await expect(s.write(write({ flows: [good, makeFlow({ src: "10.0.0.1' OR 1" })] }))).rejects.toThrow();
      await expect(s.write(write({ flows: [good, makeFlow({ sport: 70000 })] }))).rejects.toThrow();
      await expect(s.write(write({ flows: [good, makeFlow({ bytes: 1.5 })] }))).rejects.toThrow();
      await expect(s.queryDrops({ limit: 10, src: 'not an address' })).rejects.toThrow();
      expect(await s.queryFlows({ limit: 10 })).toEqual([]);
    });

    it('retention: enforceRetention deletes what was stored before the retention, keeps the rest', async () => {
      const spec = await fresh();
      const now = Date.now();
      const oldDrop = makeDrop({ node: 'old' });
      const newDrop = makeDrop({ node: 'new' });
      const rows = (tag: 'old' | 'new', drop: StoredDrop, sequence: number): IngestWrite => ({
        batch: { agentId: 'agent', bootId: 'boot', sequence, node: tag, receivedAtMs: BASE },
        flows: [makeFlow({ node: tag })],
        drops: [drop],
        packets: [{ dropId: drop.event.id, node: tag, iface: 'tunl0', tsMs: BASE, linkType: 1, origLen: 4, bytes: new Uint8Array([1, 2, 3, 4]) }],
        agentStatus: { agentId: `agent-${tag}`, node: tag, bootId: 'boot', lastBatchMs: BASE, statusJson: '{}' },
      });
      let s = await open(spec, { retentionDays: 7, clock: () => now - 30 * DAY });
      await s.write(rows('old', oldDrop, 1));
      await s.close();
      s = await open(spec, { retentionDays: 7 });
      await s.write(rows('new', newDrop, 2));
      await s.enforceRetention(now);
      expect(await s.queryDrops({ limit: 100 })).toEqual([newDrop]);
      expect(await s.getDrop(oldDrop.event.id)).toBeUndefined();
      expect((await s.queryFlows({ limit: 100 })).map((f) => f.node)).toEqual(['new']);
      expect(await s.packetsOf(oldDrop.event.id, 10)).toEqual([]);
      expect(await s.packetsOf(newDrop.event.id, 10)).toHaveLength(1);
      expect(await s.hasBatch({ agentId: 'agent', bootId: 'boot', sequence: 1 })).toBe(false);
      expect(await s.hasBatch({ agentId: 'agent', bootId: 'boot', sequence: 2 })).toBe(true);
      expect((await s.agents()).map((a) => a.agentId)).toEqual(['agent-new']);
      // Enforcing again, or with a clock inside the retention, deletes nothing more.
      await s.enforceRetention(now);
      expect(await s.queryDrops({ limit: 100 })).toEqual([newDrop]);
    });

    it('retention: the old rows were there until enforced (legacy: no TTL) or are gone by TTL (current)', async () => {
      const spec = await fresh();
      const now = Date.now();
      const s = await open(spec, { retentionDays: 7, clock: () => now - 30 * DAY });
      await s.write(write({ flows: [makeFlow()] }));
      // Legacy keeps the rows until enforceRetention; on current the TTL may already have removed them.
      const before = await s.queryFlows({ limit: 10 });
      if (target.expectedProfile === 'legacy') expect(before).toHaveLength(1);
      await s.enforceRetention(now);
      expect(await s.queryFlows({ limit: 10 })).toEqual([]);
    });
  });
}
