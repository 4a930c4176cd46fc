/**
 * Bounded test traffic for the story lab (lab/topology.ts). Every probe runs inside one of the
 * lab's namespaces through lab/lab-traffic.py, has a fixed count and a hard deadline, and goes only
 * to addresses that exist inside the lab.
 *
 *        gw (client 100.64.0.1)
 *         |  \__________ clientToAsymmetric: via n1 -> tunnel -> n2: dropped by rp_filter
 *         |             \
 *        n1 ===tunnel=== n2
 *         |               |  asymmetricToClient: leaves n2 by eth0 straight to gw (the request
 *        ph              pa  gets there; the answer comes back the long way and is dropped)
 *   clientToHealthy / healthyToClient: symmetric through n1's eth0, both answered
 *
 * Results say what was sent and what was answered; "not answered" is an outcome, not an error. A
 * probe throws only if it could not run (missing python, namespace gone, deadline blown).
 */
import { inNetns, labScript, oneLine, pythonExecutable, run } from './exec.js';
import { labNamespace, STORY, type LabNsRole, type StoryTopology } from './topology.js';

export interface ProbeOptions {
  /** Source address to bind; default: the kernel's choice (for the gateway: 100.64.0.1 by route). */
  src?: string;
  count?: number;
  intervalMs?: number;
  /**
   * ICMP: wait after the last request; TCP: per connection attempt (< 1 s means one SYN), and with
   * tcpSendBytes as long again for the data's exchange.
   */
  timeoutMs?: number;
  /**
   * TCP only: after connecting, send this many bytes (at most 65536), close our side and wait for
   * the server's close, everything acknowledged: "connected" then, "stalled" when the time runs out.
   * Default 0: connect and close, nothing more (what the tests that count packets expect). For the
   * faults connect() cannot see: a handshake that completes while the packets after it vanish.
   */
  tcpSendBytes?: number;
}

interface ProbeBase {
  /** Role of the namespace the probe ran in. */
  readonly from: LabNsRole;
  readonly src: string | null;
  readonly dst: string;
  readonly sent: number;
  readonly answered: number;
}

export interface IcmpResult extends ProbeBase {
  readonly kind: 'icmp';
  readonly answeredSeqs: readonly number[];
  readonly rttMs: readonly number[];
  /** ICMP errors quoting our echo requests (unreachable, time exceeded). */
  readonly errors: ReadonlyArray<{ from: string; type: number; code: number; seq: number }>;
  /** Requests the namespace refused to send (a pod without a route: ENETUNREACH); counted in `sent`. */
  readonly sendErrors: ReadonlyArray<{ seq: number; errno: string }>;
}

export interface TcpResult extends ProbeBase {
  readonly kind: 'tcp';
  readonly port: number;
  /**
   * One per attempt: connected, refused (an RST is an answer), timeout (no SYN-ACK), stalled (with
   * tcpSendBytes: connected, but the data or the server's close never came back), or an errno name.
   * `answered` counts connected and refused.
   */
  readonly outcomes: readonly string[];
}

export type ProbeResult = IcmpResult | TcpResult;

const DEFAULTS = { count: 3, intervalMs: 200, icmpTimeoutMs: 1000, tcpCount: 2, tcpTimeoutMs: 900 } as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : [];
}

/** Parses the helper's one JSON line; anything unexpected is a bug in the helper, so throw. */
function parseHelperOutput(out: string, kind: 'icmp' | 'tcp'): Record<string, unknown> {
  const line = out.trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`lab-traffic.py printed no JSON: ${oneLine(out)}`);
  }
  if (!isRecord(parsed) || parsed['kind'] !== kind || typeof parsed['sent'] !== 'number' || typeof parsed['answered'] !== 'number') {
    throw new Error(`lab-traffic.py printed an unexpected result: ${oneLine(line)}`);
  }
  return parsed;
}

function hardDeadline(count: number, intervalMs: number, timeoutMs: number): number {
  // The helper has its own deadlines; this one only catches a hung interpreter.
  return count * (intervalMs + timeoutMs) + 5_000;
}

/** The helper's cap on tcp --send: a few segments are all a probe needs. */
const MAX_TCP_SEND_BYTES = 65_536;

/** ICMP echo from a lab namespace. */
export async function icmpEcho(
  topology: StoryTopology,
  from: LabNsRole,
  dst: string,
  options: ProbeOptions = {},
): Promise<IcmpResult> {
  const count = options.count ?? DEFAULTS.count;
  const intervalMs = options.intervalMs ?? DEFAULTS.intervalMs;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.icmpTimeoutMs;
  const argv = [pythonExecutable(), labScript('lab-traffic.py'), 'ping', '--dst', dst, '--count', String(count),
    '--interval', String(intervalMs / 1000), '--timeout', String(timeoutMs / 1000)];
  if (options.src !== undefined) argv.push('--src', options.src);
  const out = await run(inNetns(labNamespace(topology, from), argv), { timeoutMs: hardDeadline(count, intervalMs, timeoutMs) });
  const r = parseHelperOutput(out, 'icmp');
  const errors = Array.isArray(r['errors'])
    ? r['errors'].filter(isRecord).map((e) => ({
      from: String(e['from']), type: Number(e['type']), code: Number(e['code']), seq: Number(e['seq']),
    }))
    : [];
  const sendErrors = Array.isArray(r['sendErrors'])
    ? r['sendErrors'].filter(isRecord).map((e) => ({ seq: Number(e['seq']), errno: String(e['errno']) }))
    : [];
  return {
    kind: 'icmp',
    from,
    src: options.src ?? null,
    dst,
    sent: r['sent'] as number,
    answered: r['answered'] as number,
    answeredSeqs: numbers(r['answeredSeqs']),
    rttMs: numbers(r['rttMs']),
    errors,
    sendErrors,
  };
}

/** TCP connection attempts (SYNs) from a lab namespace, with data when tcpSendBytes says so. */
export async function tcpConnect(
  topology: StoryTopology,
  from: LabNsRole,
  dst: string,
  options: ProbeOptions & { port?: number } = {},
): Promise<TcpResult> {
  const count = options.count ?? DEFAULTS.tcpCount;
  const intervalMs = options.intervalMs ?? DEFAULTS.intervalMs;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.tcpTimeoutMs;
  const port = options.port ?? STORY.servicePort;
  const sendBytes = options.tcpSendBytes ?? 0;
  if (!Number.isInteger(sendBytes) || sendBytes < 0 || sendBytes > MAX_TCP_SEND_BYTES) {
    throw new Error(`tcpSendBytes takes 0 to ${MAX_TCP_SEND_BYTES}, not ${sendBytes}`);
  }
  const argv = [pythonExecutable(), labScript('lab-traffic.py'), 'tcp', '--dst', dst, '--port', String(port),
    '--count', String(count), '--interval', String(intervalMs / 1000), '--timeout', String(timeoutMs / 1000)];
  if (options.src !== undefined) argv.push('--src', options.src);
  if (sendBytes > 0) argv.push('--send', String(sendBytes));
  // With data, an attempt may take its timeout twice: the connect, then the exchange.
  const perAttemptMs = sendBytes > 0 ? 2 * timeoutMs : timeoutMs;
  const out = await run(inNetns(labNamespace(topology, from), argv), { timeoutMs: hardDeadline(count, intervalMs, perAttemptMs) });
  const r = parseHelperOutput(out, 'tcp');
  return {
    kind: 'tcp',
    from,
    src: options.src ?? null,
    dst,
    port,
    sent: r['sent'] as number,
    answered: r['answered'] as number,
    outcomes: Array.isArray(r['outcomes']) ? r['outcomes'].map(String) : [],
  };
}

export interface ProbePair {
  readonly icmp: IcmpResult;
  readonly tcp: TcpResult;
}

/** The story's traffic in both directions for both pods. */
export interface StoryTraffic {
  /** gw (100.64.0.1) -> ph: answered. */
  readonly clientToHealthy: ProbePair;
  /** gw (100.64.0.1) -> pa: vanishes on n2's tunnel (rp_filter; other faults: lab/scenarios/). */
  readonly clientToAsymmetric: ProbePair;
  /** ph -> 100.64.0.1: answered. */
  readonly healthyToClient: ProbePair;
  /** pa -> 100.64.0.1: leaves n2 by eth0 (the asymmetry evidence); the answers vanish on the long way back. */
  readonly asymmetricToClient: ProbePair;
  /** Three-node labs: the same two for pb behind n3, across n1's other tunnel type. */
  readonly clientToAsymmetricN3?: ProbePair;
  readonly asymmetricN3ToClient?: ProbePair;
  readonly elapsedMs: number;
}

/**
 * Runs every story probe concurrently (random ICMP ids keep concurrent pings apart), so the whole
 * set takes about as long as the slowest probe: ~2 s with the defaults.
 */
export async function runStoryTraffic(topology: StoryTopology, options: ProbeOptions = {}): Promise<StoryTraffic> {
  const started = Date.now();
  const client = topology.gateway.clientAddress;
  const healthy = topology.pods.healthy.address;
  const asym = topology.pods.asymmetric.address;
  const pair = async (from: LabNsRole, dst: string, src: string | undefined): Promise<ProbePair> => {
    const opts: ProbeOptions = src === undefined ? { ...options } : { ...options, src };
    // Options the caller left out stay absent, so each probe kind falls back to its own defaults.
    const [icmp, tcp] = await Promise.all([icmpEcho(topology, from, dst, opts), tcpConnect(topology, from, dst, opts)]);
    return { icmp, tcp };
  };
  const asymN3 = topology.pods.asymmetricN3?.address;
  const [clientToHealthy, clientToAsymmetric, healthyToClient, asymmetricToClient, clientToAsymmetricN3, asymmetricN3ToClient] = await Promise.all([
    pair('gw', healthy, client),
    pair('gw', asym, client),
    pair('ph', client, undefined),
    pair('pa', client, undefined),
    asymN3 === undefined ? undefined : pair('gw', asymN3, client),
    asymN3 === undefined ? undefined : pair('pb', client, undefined),
  ]);
  return {
    clientToHealthy,
    clientToAsymmetric,
    healthyToClient,
    asymmetricToClient,
    ...(clientToAsymmetricN3 && asymmetricN3ToClient ? { clientToAsymmetricN3, asymmetricN3ToClient } : {}),
    elapsedMs: Date.now() - started,
  };
}
