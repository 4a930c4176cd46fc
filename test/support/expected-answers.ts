/**
 * Expected answers (goldens) for the native engine's former differential tests
 * (test/native/*-differential.test.ts). Those tests compared the native engine with the TypeScript
 * stages it replaced; before the TypeScript stages were deleted, each case's answer was computed by
 * both, found identical, and the TypeScript reference's answer was frozen here: per case, the SHA-256
 * of the canonical answer text the test builds, and a few counts in the clear (records, candidates,
 * flow records...) so that a reader of a diff sees what changed in size, not just that a hash did.
 *
 * The files live in test/native/expected/<test-name>.json: `cases` keyed by the case's label, each
 * with its group (one `it`: its cases are checked complete, and rewritten, together), `by` (which
 * implementation produced the digest: "typescript" for the frozen reference, "native" once rewritten
 * on purpose), `sha256`, optionally `inputSha256` (the case's generated input, where fast-check makes
 * it: a changed generator then shows as a changed input, not as a changed answer) and `counts`.
 *
 * Rewriting them: only after a behaviour change that is meant, and reviewed case by case:
 *   PATHWATCH_UPDATE_EXPECTED=1 npx vitest run test/native/<test-name>.test.ts
 * writes the native engine's answers for every group that ran (others are kept as they were), with
 * `by: "native"`. Refused under CI=true: CI checks answers, it never makes them.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXPECTED_DIR = fileURLToPath(new URL('../native/expected/', import.meta.url));

/** Set to 1 to rewrite the expected files from the answers of this run (never under CI=true). */
export const UPDATE_VARIABLE = 'PATHWATCH_UPDATE_EXPECTED';

export type CaseCounts = Readonly<Record<string, number>>;

/** Which implementation produced a stored digest. */
export type AnswerSource = 'typescript' | 'native';

export interface ExpectedCase {
  readonly group: string;
  readonly by: AnswerSource;
  readonly sha256: string;
  readonly inputSha256?: string;
  readonly counts: CaseCounts;
}

/** One case's answer as a test computed it. */
export interface CaseAnswer {
  readonly sha256: string;
  readonly counts: CaseCounts;
  readonly inputSha256?: string;
}

interface ExpectedFile {
  readonly test: string;
  readonly about: string;
  readonly update: string;
  readonly cases: Record<string, ExpectedCase>;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** True when this run rewrites expected files; throws under CI=true, where that is never wanted. */
export function updatingExpected(): boolean {
  if (process.env[UPDATE_VARIABLE] !== '1') return false;
  if (process.env.CI === 'true') throw new Error(`${UPDATE_VARIABLE}=1 under CI=true: refusing to rewrite expected answers in CI (they are checked there, never made)`);
  return true;
}

/** How a count moved between the expected and the computed answer, for the failure message. */
function countChanges(want: CaseCounts, got: CaseCounts): string {
  const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])];
  const changed = keys.filter((k) => want[k] !== got[k]).map((k) => `${k} ${want[k] ?? 'none'} -> ${got[k] ?? 'none'}`);
  return changed.length > 0 ? changed.join(', ') : 'counts unchanged';
}

/**
 * The expected answers of one test file. check() each case; endGroup() when an `it` has run all of
 * its cases (lists stored cases it did not run; when updating, writes the file).
 */
export class ExpectedAnswers {
  readonly updating = updatingExpected();
  readonly path: string;
  private readonly stored: Record<string, ExpectedCase>;
  private readonly about: string;
  /** Cases computed in this run, by group, in run order. */
  private readonly computed = new Map<string, Map<string, ExpectedCase>>();
  private readonly seen = new Set<string>();

  constructor(
    readonly testName: string,
    about: string,
    /** Who answers in this run: the digests written when updating say so. */
    private readonly source: AnswerSource = 'native',
  ) {
    this.path = join(EXPECTED_DIR, `${testName}.json`);
    const file = existsSync(this.path) ? (JSON.parse(readFileSync(this.path, 'utf8')) as ExpectedFile) : undefined;
    this.stored = file?.cases ?? {};
    this.about = about;
  }

  /**
   * Compares one case's answer with the stored one (or, when updating, records it). Returns what is
   * wrong, naming the case, or undefined when it matches.
   */
  check(group: string, label: string, answer: CaseAnswer): string | undefined {
    if (this.seen.has(label)) throw new Error(`${this.testName}: case label "${label}" used twice: labels key the expected answers`);
    this.seen.add(label);
    const entry: ExpectedCase = { group, by: this.source, sha256: answer.sha256, ...(answer.inputSha256 !== undefined ? { inputSha256: answer.inputSha256 } : {}), counts: answer.counts };
    let cases = this.computed.get(group);
    if (!cases) this.computed.set(group, (cases = new Map()));
    cases.set(label, entry);
    if (this.updating) return undefined;
    const want = this.stored[label];
    if (!want) return `${label}: no expected answer in ${this.path} (a new case? rewrite on purpose with ${UPDATE_VARIABLE}=1)`;
    if (want.inputSha256 !== undefined && want.inputSha256 !== answer.inputSha256)
      return `${label}: its generated input changed (input sha256 ${want.inputSha256} -> ${answer.inputSha256 ?? 'none'}): the generator no longer makes the case the ${want.by} answer was stored for`;
    if (want.sha256 !== answer.sha256) return `${label}: answer sha256 ${answer.sha256} is not the expected ${want.sha256} (${want.by}); ${countChanges(want.counts, answer.counts)}`;
    return undefined;
  }

  /** Stored cases of `group` this run did not check (none when updating: the group is rewritten). */
  endGroup(group: string): string[] {
    if (this.updating) {
      this.write(group);
      return [];
    }
    const ran = this.computed.get(group) ?? new Map<string, ExpectedCase>();
    return Object.entries(this.stored)
      .filter(([label, c]) => c.group === group && !ran.has(label))
      .map(([label]) => `${label}: expected (group ${group}) but not run`);
  }

  /** Rewrites the file: `group` from this run, every other group as stored, groups in their stored order. */
  private write(group: string): void {
    const fresh = this.computed.get(group) ?? new Map<string, ExpectedCase>();
    const groups: string[] = [];
    for (const c of Object.values(this.stored)) if (!groups.includes(c.group)) groups.push(c.group);
    if (!groups.includes(group)) groups.push(group);
    const cases: [string, ExpectedCase][] = [];
    for (const g of groups) {
      if (g === group) cases.push(...fresh);
      else cases.push(...Object.entries(this.stored).filter(([, c]) => c.group === g));
    }
    // One case per line: a rewrite's diff shows which cases changed.
    const lines = cases.map(([label, c]) => `    ${JSON.stringify(label)}: ${JSON.stringify(c)}`);
    const text = [
      '{',
      `  "test": ${JSON.stringify(`test/native/${this.testName}.test.ts`)},`,
      `  "about": ${JSON.stringify(this.about)},`,
      `  "update": ${JSON.stringify(`${UPDATE_VARIABLE}=1 npx vitest run test/native/${this.testName}.test.ts (never under CI=true); only for a behaviour change that is meant, reviewed case by case`)},`,
      '  "cases": {',
      lines.join(',\n'),
      '  }',
      '}',
      '',
    ].join('\n');
    mkdirSync(EXPECTED_DIR, { recursive: true });
    writeFileSync(this.path, text);
    // What is on disk now is what later groups of this run merge with.
    for (const [label, c] of fresh) this.stored[label] = c;
    for (const [label, c] of Object.entries(this.stored)) if (c.group === group && !fresh.has(label)) delete this.stored[label];
  }
}
