/**
 * The decoder's frozen answers: what the decoder and fingerprint said about every packet of the
 * fixture captures and of generated and mutated packet sets, stored compactly in
 * test/native/expected/decoder-answers.json and checked by test/native/decoder-differential.test.ts
 * and decoder-mutation-differential.test.ts.
 *
 * Where they come from: those two tests compared the native engine with the TypeScript decoder
 * (agent/decode) and fingerprint (agent/flow/fingerprint.ts) record by record. Before the TypeScript
 * ones were deleted, every set was decoded by both, found identical, and the TypeScript answers were
 * frozen (`by: "typescript"`) by test/support/freeze-decoder-answers.test.ts, which lived for one
 * commit (a49f0ae) for that. The sets are rebuilt the same way for every run
 * (test/support/decoder-answer-sets.ts: the fixtures, the seeded generator, fast-check with fixed seeds).
 *
 * One record's answer, in canonical form, is one JSON line:
 *   [status, [every view field in VIEW_FIELD_NAMES order, arrays in full, including what a decode
 *    leaves from earlier packets], [[event name, count added by this record], ...], fingerprint, weak]
 * A set is one decoder fed its records in order (state carries over, as in a pipeline). Per set the
 * file keeps: the record count, the SHA-256 of its answer lines (each followed by "\n"), the SHA-256
 * of its inputs (link type, offset, length and the whole buffer handed to the decoder: a changed
 * generator or fixture shows as a changed input, not as a changed answer), a short digest per block
 * of records (so a failure names the first differing block: single records for the fixtures), and
 * readable totals (statuses, events, weak and non-zero fingerprints).
 *
 * Rewriting: only for a behaviour change that is meant, reviewed set by set:
 *   PATHWATCH_UPDATE_EXPECTED=1 npx vitest run test/native/decoder-differential.test.ts test/native/decoder-mutation-differential.test.ts
 * writes the native engine's answers (`by: "native"`) for every group that ran; refused under CI=true.
 */
import { createHash, type Hash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DECODE_EVENT_NAMES } from '../../agent/decode/decode-events.js';
import type { NativePacketView, NativeTunnelPorts } from '../../agent/native/engine-native.js';
import { DECODE_STATUS_NAMES, EngineDecoder, VIEW_FIELD_NAMES } from './engine-decoder.js';

export const DECODER_ANSWERS_PATH = fileURLToPath(new URL('../native/expected/decoder-answers.json', import.meta.url));

/** Set to 1 to rewrite the expected answers from the native engine (never under CI=true). */
export const UPDATE_VARIABLE = 'PATHWATCH_UPDATE_EXPECTED';

/** Which implementation produced a stored answer. */
export type AnswerSource = 'typescript' | 'native';

/** Everything one decode said. */
export interface DecodeAnswer {
  readonly status: number;
  /** The view by field name; arrays may be typed arrays or plain ones. */
  readonly view: Readonly<Record<keyof NativePacketView, number | ArrayLike<number>>>;
  /** The decoder's event counters since it was made, in DECODE_EVENT_NAMES order. */
  readonly events: ArrayLike<number>;
  readonly fingerprint: number;
  readonly weak: boolean;
}

/** One decoder whose answers are recorded; a set feeds one its records in order. */
export interface AnsweringDecoder {
  answer(data: Uint8Array, offset: number, length: number, linkType: number): DecodeAnswer;
}

export type AnsweringDecoderFactory = (tunnelPorts?: NativeTunnelPorts) => AnsweringDecoder;

/** The native engine as an answering decoder (what the tests check). */
export const engineAnswers: AnsweringDecoderFactory = (tunnelPorts) => {
  const dec = new EngineDecoder(tunnelPorts);
  return {
    answer(data, offset, length, linkType) {
      const status = dec.decode(data, offset, length, linkType);
      return { status, view: dec.view, events: dec.events.counts, fingerprint: dec.fingerprint, weak: dec.weak };
    },
  };
};

/** What one set's records gave: what is stored, and what a failure shows. */
export interface ComputedSet {
  readonly name: string;
  readonly records: number;
  readonly sha256: string;
  readonly inputSha256: string;
  readonly blockSize: number;
  /** The first 8 hex digits of each block's SHA-256, space-separated. */
  readonly blocks: string;
  readonly statuses: Readonly<Record<string, number>>;
  readonly events: Readonly<Record<string, number>>;
  readonly weak: number;
  readonly fingerprinted: number;
  /** Not stored: each block's first record, its input and answer, to show when that block differs. */
  readonly blockLeads: readonly BlockLead[];
}

/** A block's first record as this run decoded it. */
export interface BlockLead {
  readonly record: number;
  /** "linkType offset length hex-of-the-whole-buffer", as the input digest reads it. */
  readonly input: string;
  /** The canonical answer line. */
  readonly answer: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Feeds one decoder a set's records and digests their answers. */
export class AnswerRecorder {
  private readonly decoder: AnsweringDecoder;
  private readonly answers = createHash('sha256');
  private readonly inputs = createHash('sha256');
  private block: Hash | undefined;
  private readonly blockDigests: string[] = [];
  private readonly blockLeads: BlockLead[] = [];
  private readonly seenEvents = new Float64Array(DECODE_EVENT_NAMES.length);
  private readonly statuses: Record<string, number> = {};
  private weak = 0;
  private fingerprinted = 0;
  records = 0;

  constructor(
    readonly name: string,
    factory: AnsweringDecoderFactory,
    /** Records per block digest: 1 names the first differing record exactly. */
    readonly blockSize: number,
    tunnelPorts?: NativeTunnelPorts,
  ) {
    this.decoder = factory(tunnelPorts);
  }

  /** Decodes data[offset, offset + length) as linkType and records the answer; returns it. */
  decode(data: Uint8Array, offset: number, length: number, linkType: number): DecodeAnswer {
    const a = this.decoder.answer(data, offset, length, linkType);
    const view = VIEW_FIELD_NAMES.map((name) => {
      const v = a.view[name];
      return typeof v === 'number' ? v : Array.from(v);
    });
    const added: [string, number][] = [];
    DECODE_EVENT_NAMES.forEach((name, i) => {
      const now = a.events[i] as number;
      if (now !== this.seenEvents[i]) added.push([name, now - (this.seenEvents[i] as number)]);
      this.seenEvents[i] = now;
    });
    const line = JSON.stringify([a.status, view, added, a.fingerprint, a.weak ? 1 : 0]);
    const input = `${linkType} ${offset} ${length} ${hex(data)}`;
    this.answers.update(`${line}\n`);
    this.inputs.update(`${input}\n`);
    if (this.records % this.blockSize === 0) {
      this.closeBlock();
      this.block = createHash('sha256');
      this.blockLeads.push({ record: this.records, input, answer: line });
    }
    this.block?.update(`${line}\n`);
    const status = DECODE_STATUS_NAMES[a.status] ?? String(a.status);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (a.weak) this.weak++;
    if (a.fingerprint !== 0) this.fingerprinted++;
    this.records++;
    return a;
  }

  private closeBlock(): void {
    if (this.block !== undefined) this.blockDigests.push(this.block.digest('hex').slice(0, 8));
    this.block = undefined;
  }

  finish(): ComputedSet {
    this.closeBlock();
    const events: Record<string, number> = {};
    DECODE_EVENT_NAMES.forEach((name, i) => {
      if (this.seenEvents[i] !== 0) events[name] = this.seenEvents[i] as number;
    });
    return {
      name: this.name,
      records: this.records,
      sha256: this.answers.digest('hex'),
      inputSha256: this.inputs.digest('hex'),
      blockSize: this.blockSize,
      blocks: this.blockDigests.join(' '),
      statuses: this.statuses,
      events,
      weak: this.weak,
      fingerprinted: this.fingerprinted,
      blockLeads: this.blockLeads,
    };
  }
}

/** One stored set. */
export interface ExpectedSet {
  readonly group: string;
  readonly by: AnswerSource;
  readonly records: number;
  readonly sha256: string;
  readonly inputSha256: string;
  readonly blockSize: number;
  readonly blocks: string;
  readonly statuses: Readonly<Record<string, number>>;
  readonly events: Readonly<Record<string, number>>;
  readonly weak: number;
  readonly fingerprinted: number;
}

interface ExpectedFile {
  readonly about: string;
  readonly update: string;
  /** The view's fields in the order the answers list them. */
  readonly viewFields: readonly string[];
  /** The event names answers use. */
  readonly eventNames: readonly string[];
  /** The fast-check version the generated sets were drawn with (its generators make the mutated packets). */
  readonly fastCheck: string;
  readonly sets: Record<string, ExpectedSet>;
}

function fastCheckVersion(): string {
  const pkg = fileURLToPath(new URL('../../node_modules/fast-check/package.json', import.meta.url));
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** True when this run rewrites the expected answers; throws under CI=true, where that is never wanted. */
export function updatingExpected(): boolean {
  if (process.env[UPDATE_VARIABLE] !== '1') return false;
  if (process.env.CI === 'true') throw new Error(`${UPDATE_VARIABLE}=1 under CI=true: expected answers are checked in CI, never made`);
  return true;
}

function tallyChanges(what: string, want: Readonly<Record<string, number>>, got: Readonly<Record<string, number>>): string[] {
  const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
  return keys.filter((k) => want[k] !== got[k]).map((k) => `${what} ${k} ${want[k] ?? 0} -> ${got[k] ?? 0}`);
}

/** A canonical answer line with its fields named, for a failure message. */
function readableAnswer(line: string): string {
  const [status, view, added, fingerprint, weak] = JSON.parse(line) as [number, (number | number[])[], [string, number][], number, number];
  const fields = VIEW_FIELD_NAMES.map((name, i) => {
    const v = view[i];
    return `${name}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`;
  });
  const events = added.map(([name, n]) => `${name} +${n}`).join(', ');
  return `status ${DECODE_STATUS_NAMES[status] ?? status}, fingerprint ${fingerprint}${weak === 1 ? ' (weak)' : ''}, events ${events === '' ? 'none' : events}\n      view ${fields.join(' ')}`;
}

/** What differs between a stored set and a computed one, in words; empty when they agree. */
function describeDifference(want: ExpectedSet, got: ComputedSet): string | undefined {
  if (want.inputSha256 !== got.inputSha256) {
    return `${got.name}: its input changed (${want.records} -> ${got.records} records, input sha256 ${want.inputSha256.slice(0, 12)} -> ${got.inputSha256.slice(0, 12)}): the fixture or generator no longer makes the packets the ${want.by} answers were frozen for (a fast-check upgrade can do this; see the file's fastCheck)`;
  }
  if (want.sha256 === got.sha256) return undefined;
  const lines = [`${got.name}: ${got.records} records, answers sha256 ${got.sha256} is not the expected ${want.sha256} (${want.by})`];
  const wantBlocks = want.blocks.split(' ');
  const gotBlocks = got.blocks.split(' ');
  const first = gotBlocks.findIndex((b, i) => b !== wantBlocks[i]);
  const lead = first >= 0 ? got.blockLeads[first] : undefined;
  if (lead === undefined) {
    lines.push('  no block digest differs: the stored digests disagree with each other (was the file edited by hand?)');
  } else {
    const from = first * want.blockSize;
    const to = Math.min(got.records, from + want.blockSize) - 1;
    lines.push(
      from === to
        ? `  first differing record: ${from} (0-based); the engine's answer now:`
        : `  first differing block: records ${from}-${to} (0-based); its first record, as the engine answers it now:`,
    );
    lines.push(`    record ${lead.record}: input ${lead.input}`, `      ${readableAnswer(lead.answer)}`);
  }
  const changes = [
    ...tallyChanges('status', want.statuses, got.statuses),
    ...tallyChanges('event', want.events, got.events),
    ...(want.weak !== got.weak ? [`weak ${want.weak} -> ${got.weak}`] : []),
    ...(want.fingerprinted !== got.fingerprinted ? [`fingerprinted ${want.fingerprinted} -> ${got.fingerprinted}`] : []),
  ];
  lines.push(`  totals: ${changes.length > 0 ? changes.join(', ') : 'unchanged (the difference is in fields the totals do not show)'}`);
  return lines.join('\n');
}

const ABOUT =
  "The decoder's and fingerprint's answers per set of packets (test/support/decoder-answers.ts says how they are made and digested). Frozen from the TypeScript decoder while it and the native engine still agreed record for record; checked against the native engine by test/native/decoder-differential.test.ts and decoder-mutation-differential.test.ts.";

/**
 * The expected answers file: check() a group of sets after computing them (or, when updating,
 * replace that group's sets with them and write the file).
 */
export class ExpectedDecoderAnswers {
  private readonly stored: ExpectedFile | undefined;
  private sets: Record<string, ExpectedSet>;

  constructor(
    /** Who answers in this run: a rewrite records it. */
    private readonly source: AnswerSource = 'native',
    readonly path = DECODER_ANSWERS_PATH,
    /** Rewrite the groups checked instead of checking them (PATHWATCH_UPDATE_EXPECTED=1). */
    readonly updating = updatingExpected(),
  ) {
    this.stored = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ExpectedFile) : undefined;
    this.sets = { ...(this.stored?.sets ?? {}) };
  }

  /** The view field order the stored answers list the view in (the canonical lines depend on it). */
  get viewFields(): readonly string[] {
    return this.stored?.viewFields ?? VIEW_FIELD_NAMES;
  }

  /** The event names the stored answers use. */
  get eventNames(): readonly string[] {
    return this.stored?.eventNames ?? DECODE_EVENT_NAMES;
  }

  /**
   * Compares a group's computed sets with the stored ones: returns every difference (sets that
   * differ, stored sets of the group not computed, computed sets not stored), each naming its set.
   * When updating, writes the group instead and returns nothing.
   */
  check(group: string, computed: readonly ComputedSet[]): string[] {
    const names = new Set<string>();
    for (const s of computed) {
      if (names.has(s.name)) throw new Error(`set name "${s.name}" used twice: names key the expected answers`);
      names.add(s.name);
    }
    if (this.updating) {
      this.write(group, computed);
      return [];
    }
    const problems: string[] = [];
    for (const s of computed) {
      const want = this.sets[s.name];
      if (want === undefined) problems.push(`${s.name}: no expected answers in ${this.path} (a new set? rewrite on purpose with ${UPDATE_VARIABLE}=1)`);
      else if (want.group !== group) problems.push(`${s.name}: stored in group ${want.group}, computed in ${group}`);
      else {
        const d = describeDifference(want, s);
        if (d !== undefined) problems.push(d);
      }
    }
    for (const [name, want] of Object.entries(this.sets)) {
      if (want.group === group && !names.has(name)) problems.push(`${name}: expected (group ${group}, ${want.records} records) but not computed: a fixture went missing?`);
    }
    const frozenWith = this.stored?.fastCheck;
    if (problems.length > 0 && frozenWith !== undefined && frozenWith !== fastCheckVersion()) {
      problems.push(`(the answers were frozen with fast-check ${frozenWith}, this run has ${fastCheckVersion()}: its generators make the mutated sets)`);
    }
    return problems;
  }

  /** Replaces the group's sets with these and writes the file (one set per line: a rewrite's diff shows which changed). */
  private write(group: string, computed: readonly ComputedSet[]): void {
    // The other test file may have rewritten its groups since this one read the file: merge with what is on disk now.
    if (existsSync(this.path)) this.sets = { ...(JSON.parse(readFileSync(this.path, 'utf8')) as ExpectedFile).sets };
    for (const [name, s] of Object.entries(this.sets)) if (s.group === group) delete this.sets[name];
    for (const s of computed) {
      this.sets[s.name] = {
        group,
        by: this.source,
        records: s.records,
        sha256: s.sha256,
        inputSha256: s.inputSha256,
        blockSize: s.blockSize,
        blocks: s.blocks,
        statuses: s.statuses,
        events: s.events,
        weak: s.weak,
        fingerprinted: s.fingerprinted,
      };
    }
    const names = Object.keys(this.sets).sort();
    const update = `${UPDATE_VARIABLE}=1 npx vitest run test/native/decoder-differential.test.ts test/native/decoder-mutation-differential.test.ts (never under CI=true): only for a behaviour change that is meant, reviewed set by set`;
    const text = [
      '{',
      `  "about": ${JSON.stringify(ABOUT)},`,
      `  "update": ${JSON.stringify(update)},`,
      `  "viewFields": ${JSON.stringify(VIEW_FIELD_NAMES)},`,
      `  "eventNames": ${JSON.stringify(DECODE_EVENT_NAMES)},`,
      `  "fastCheck": ${JSON.stringify(fastCheckVersion())},`,
      '  "sets": {',
      names.map((name) => `    ${JSON.stringify(name)}: ${JSON.stringify(this.sets[name])}`).join(',\n'),
      '  }',
      '}',
      '',
    ].join('\n');
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(this.path, text);
  }
}
