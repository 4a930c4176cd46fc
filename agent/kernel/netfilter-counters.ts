/**
 * Netfilter's own count of what each dropping rule matched, read with `iptables-save -c` (the nft
 * backend on current distributions: Calico's rules and a host firewall's alike): a rule whose
 * counter grew while a group's packets vanished names the rule that dropped them. Samples are taken
 * every few seconds and when a group is prepared; the growth is read between the sample before the
 * group's first packet and the newest. IPv4 tables only; without iptables-save there is no sample
 * and no such evidence.
 */
import { execFile } from 'node:child_process';
import { netfilterRuleProblem, type NetfilterRuleGrowth } from '../../core/findings/kernel-evidence.js';

interface RuleCount {
  readonly table: string;
  readonly chain: string;
  readonly rule: string;
  readonly packets: number;
}

/**
 * Rules whose target drops or rejects, with their packet counters, from `iptables-save -c` text.
 * The target must be DROP or REJECT itself: `-j DROP-LOG` jumps to a chain (whose own DROP rule counts).
 */
export function parseIptablesSave(text: string): RuleCount[] {
  const out: RuleCount[] = [];
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      table = line.slice(1).trim();
      continue;
    }
    const m = /^\[(\d+):\d+\] (-A (\S+) .*)$/.exec(line);
    if (!m || table === '') continue;
    const rule = m[2] as string;
    // One the collector would refuse would get the whole batch refused: left out (never cut).
    if (!/ -j (DROP|REJECT)(?: |$)/.test(rule) || netfilterRuleProblem(table, m[3] as string, rule) !== null) continue;
    out.push({ table, chain: m[3] as string, rule, packets: Number(m[1]) });
  }
  return out;
}

interface Sample {
  readonly ts: number;
  /** By table and rule text (a repeated identical rule gets its place appended). */
  readonly counts: ReadonlyMap<string, RuleCount>;
}

const MAX_SAMPLES = 32;
/** A sample newer than this serves a group being prepared. */
const FRESH_MS = 1000;

export class NetfilterCounters {
  private readonly samples: Sample[] = [];
  /** iptables-save failed to run (not installed, no privileges): say nothing more. */
  private unavailable = false;
  private pending: Promise<void> | undefined;

  constructor(private readonly read: () => Promise<string | undefined> = readIptablesSave) {}

  /** Takes a sample now (one at a time; a call while one runs waits for it). */
  sample(now = Date.now()): Promise<void> {
    if (this.unavailable) return Promise.resolve();
    this.pending ??= this.read()
      .then((text) => {
        if (text === undefined) {
          this.unavailable = true;
          return;
        }
        const counts = new Map<string, RuleCount>();
        for (const r of parseIptablesSave(text)) {
          let key = `${r.table} ${r.rule}`;
          for (let i = 2; counts.has(key); i++) key = `${r.table} ${r.rule} #${i}`;
          counts.set(key, r);
        }
        if (this.samples.length >= MAX_SAMPLES) this.samples.shift();
        this.samples.push({ ts: now, counts });
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  /** A sample no older than a second, for a group about to be judged. */
  async fresh(now = Date.now()): Promise<void> {
    const last = this.samples[this.samples.length - 1];
    if (!last || now - last.ts > FRESH_MS) await this.sample(now);
  }

  /** Dropping rules whose counters grew from before `from` to the newest sample. */
  growthSince(from: number): NetfilterRuleGrowth[] | undefined {
    const newest = this.samples[this.samples.length - 1];
    if (!newest) return undefined;
    let before: Sample | undefined;
    for (const s of this.samples) if (s.ts <= from) before = s;
    // No sample before the group: its first one stands in (the counters can only have grown since).
    before ??= this.samples[0];
    if (!before || before === newest) return [];
    const out: NetfilterRuleGrowth[] = [];
    for (const [key, r] of newest.counts) {
      const grew = r.packets - (before.counts.get(key)?.packets ?? 0);
      if (grew > 0) out.push({ table: r.table, chain: r.chain, rule: r.rule, packets: grew });
    }
    return out.sort((a, b) => b.packets - a.packets).slice(0, 8);
  }
}

/** `iptables-save -c` of every IPv4 table; undefined when it cannot run. */
function readIptablesSave(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('iptables-save', ['-c'], { timeout: 5000, maxBuffer: 64 << 20 }, (err, stdout) => resolve(err ? undefined : stdout));
  });
}
