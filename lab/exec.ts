/**
 * Process plumbing for the lab: run a command to completion, or keep one running in the background
 * (a capture, a tunnel helper, a TCP listener) and stop it cleanly.
 *
 * Everything goes through child_process.execFile/spawn with an argv array: no shell ever sees a
 * string we built, so a namespace or interface name can never become shell syntax. Commands inside a
 * network namespace are `ip netns exec <ns> <argv...>`; `ip` calls setns() and then execvp(), so the
 * pid we hold is the pid of the command itself (signals reach tcpdump, not a wrapper).
 *
 *   node (lab, tests)
 *    |- execFile  ip -n <ns> link add ...               run(): stdout, or CommandError (argv + stderr)
 *    |- spawn     ip netns exec <ns> tcpdump ...        BackgroundProcess.start({ ready: /listening on/ })
 *    |             `- (exec) tcpdump, inside <ns>       stop(): SIGINT/SIGTERM, wait, SIGKILL if stuck
 *    `- spawn     ip netns exec <ns> python3 helper.py  helpers die with us (PR_SET_PDEATHSIG)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A command that failed, with everything needed to reproduce it in one line. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderr: string,
    reason?: string,
  ) {
    const how = reason ?? (signal !== null ? `killed by ${signal}` : `exit ${exitCode ?? '?'}`);
    const err = oneLine(stderr);
    super(`command failed (${how}): ${argv.join(' ')}${err === '' ? '' : `: ${err}`}`);
    this.name = 'CommandError';
  }
}

/** Collapses whitespace runs and newlines so an error message stays on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export interface RunOptions {
  /** Hard limit; the command is killed (SIGKILL) after this. Default 15 s. */
  timeoutMs?: number;
  /** Data written to the command's stdin (for `ip -batch -`). */
  input?: string;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command and resolves with its exit code and output, whatever the code. Rejects only when
 * the command could not be started or hit its timeout: those are never an answer.
 */
export function runResult(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('runResult: empty argv'));
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) {
          resolvePromise({ code: 0, stdout, stderr });
          return;
        }
        // execFile reports a non-zero exit as an error whose `code` is the number; spawn failures
        // (ENOENT, EACCES) carry a string code instead.
        const code = (error as NodeJS.ErrnoException & { code?: unknown }).code;
        const killed = (error as { killed?: boolean }).killed === true;
        const sig = (error as { signal?: NodeJS.Signals | null }).signal ?? null;
        if (typeof code === 'number' && !killed) {
          resolvePromise({ code, stdout, stderr });
        } else if (killed || sig !== null) {
          reject(new CommandError(argv, null, sig, stderr, `timed out after ${timeoutMs} ms`));
        } else {
          reject(new CommandError(argv, null, null, stderr || error.message, `cannot start: ${String(code)}`));
        }
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a command; resolves with stdout on exit 0, else rejects with a one-line CommandError. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await runResult(argv, options);
  if (result.code !== 0) throw new CommandError(argv, result.code, null, result.stderr || result.stdout);
  return result.stdout;
}

/** argv that runs `argv` inside network namespace `ns`. */
export function inNetns(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface StartOptions {
  argv: readonly string[];
  /** Resolve start only once this matches the accumulated stdout or stderr. */
  ready?: RegExp;
  /** How long to wait for `ready`. Default 10 s. */
  readyTimeoutMs?: number;
  /** Short name for error messages. */
  label?: string;
}

/**
 * A long-running child: output is accumulated (bounded) for error messages and readiness checks.
 */
export class BackgroundProcess {
  private out = '';
  private err = '';
  private exitInfo: ExitInfo | undefined;
  /** Settles when the child has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;

  private constructor(
    readonly label: string,
    readonly argv: readonly string[],
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolveExit) => {
      // 'close' rather than 'exit': it fires after the stdio streams are drained, so the last lines
      // of stderr (tcpdump's packet counts) are in `stderr` when `exited` settles.
      child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolveExit(this.exitInfo);
      });
      child.once('error', () => {
        if (this.exitInfo === undefined) {
          this.exitInfo = { code: null, signal: null };
          resolveExit(this.exitInfo);
        }
      });
    });
    const keep = (acc: string, chunk: string): string => {
      // Keep the tail only: a chatty process must not grow our memory without bound.
      const joined = acc + chunk;
      return joined.length > 256 * 1024 ? joined.slice(-128 * 1024) : joined;
    };
    child.stdout?.setEncoding('utf8').on('data', (c: string) => { this.out = keep(this.out, c); });
    child.stderr?.setEncoding('utf8').on('data', (c: string) => { this.err = keep(this.err, c); });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Starts the process; if `ready` is given, resolves only after it matched. */
  static async start(options: StartOptions): Promise<BackgroundProcess> {
    const [file, ...args] = options.argv;
    if (file === undefined) throw new Error('startProcess: empty argv');
    const label = options.label ?? file;
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = new BackgroundProcess(label, options.argv, child);
    const spawnError = new Promise<Error>((resolveErr) => child.once('error', resolveErr));
    const ready = options.ready;
    const timeoutMs = options.readyTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    // Poll rather than parse stream events: readiness lines can be split across chunks and may come
    // on either stream; a 10 ms poll costs nothing at lab scale.
    for (;;) {
      const failed = await Promise.race([spawnError, sleep(10).then(() => undefined)]);
      if (failed !== undefined) {
        throw new CommandError(options.argv, null, null, failed.message, 'cannot start');
      }
      if (ready === undefined || ready.test(proc.out) || ready.test(proc.err)) return proc;
      if (!proc.running) {
        const info = await proc.exited;
        const how = info.signal !== null ? `killed by ${info.signal}` : `exit ${info.code ?? '?'}`;
        throw new CommandError(options.argv, info.code, info.signal, proc.err || proc.out, `${label}: ${how} before it was ready`);
      }
      if (Date.now() > deadline) {
        await proc.stop('SIGKILL', 2_000);
        throw new CommandError(options.argv, null, null, proc.err || proc.out, `${label} not ready after ${timeoutMs} ms`);
      }
    }
  }

  /**
   * Sends `signal` and waits for the exit; escalates to SIGKILL after `timeoutMs`. Idempotent: on an
   * exited process it just returns how it ended.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5_000): Promise<ExitInfo> {
    if (this.exitInfo !== undefined) return this.exitInfo;
    this.child.kill(signal);
    const done = await Promise.race([this.exited, sleep(timeoutMs).then(() => undefined)]);
    if (done !== undefined) return done;
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Path of a helper script shipped in lab/ (python). From source (vitest, tsx) it sits next to this
 * module; from the compiled dist/lab/ it does not (tsc copies no .py), so fall back to the package's
 * lab/ folder two levels up.
 */
export function labScript(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, name), resolve(here, '..', '..', 'lab', name)];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`lab helper ${name} not found (looked in ${candidates.join(', ')})`);
}

/**
 * The python interpreter for the lab helpers (stdlib only); PATHWATCH_PYTHON overrides. The system
 * interpreter comes first because `python3` on PATH may be a version-manager shim (pyenv's is a
 * bash script) that costs several hundred milliseconds per start on a busy machine, and the lab
 * starts a handful of helpers per topology.
 */
export function pythonExecutable(): string {
  const configured = process.env['PATHWATCH_PYTHON'];
  if (configured !== undefined && configured !== '') return configured;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}
