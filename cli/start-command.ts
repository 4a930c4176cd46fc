/**
 * `pathwatch start [--port N] [--data DIR] [--node NAME]` (what `npm start` runs): the main job on
 * one machine. A collector with the embedded store, its web UI and API on 127.0.0.1, and an agent
 * watching this host and shipping to it. Without capture privileges the collector and UI still
 * run, with one line saying how to grant them.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCollector } from '../collector/collector-runner.js';
import { UsageError } from './cli-error.js';

export const START_USAGE = `Usage: pathwatch start [--port N] [--data DIR] [--node NAME]

The main job on one machine: a collector with the embedded store, the web UI and API on
127.0.0.1:PORT, and an agent watching this host (every interface) shipping to it.

  --port N       port on 127.0.0.1 (default 7070, or $PATHWATCH_PORT)
  --data DIR     where the embedded store and the agent's spool live (default ./pathwatch-data)
  --node NAME    this node's name (default: the host name)
  -h, --help     show this help

The agent needs root (or CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF, CAP_PERFMON); without them the
collector and UI run alone and say how to grant them. Stops on Ctrl-C or SIGTERM.
`;

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/pathwatch.js');

export async function startCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: process.env['PATHWATCH_PORT'] ?? '7070' },
        data: { type: 'string', default: './pathwatch-data' },
        node: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError(`start: ${(e as Error).message.split('\n')[0]}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(START_USAGE);
    return 0;
  }
  const port = Number(v.port);
  if (!/^\d{1,5}$/.test(v.port) || port > 65535) throw new UsageError(`start: --port takes 0 to 65535, not "${v.port}"`);
  const data = resolve(v.data);
  try {
    mkdirSync(data, { recursive: true });
  } catch (e) {
    throw new UsageError(`start: cannot use ${data} for data: ${(e as Error).message}`);
  }
  const log = (line: string): void => void process.stderr.write(`pathwatch: ${line}\n`);
  const collector = await startCollector({ listen: [`127.0.0.1:${port}`], store: `embedded:${join(data, 'store')}`, log: (l) => log(`collector: ${l}`) });
  const url = `http://${collector.addresses[0]}/`;
  const node = v.node ?? hostname();
  const privileged = process.getuid?.() === 0;
  let agent: ReturnType<typeof spawn> | undefined;
  if (privileged) {
    agent = spawn(process.execPath, [BIN, 'agent', '--collector', `http://${collector.addresses[0]}`, '--node', node, '--spool-dir', join(data, 'spool')], { stdio: ['ignore', 'inherit', 'inherit'] });
    agent.on('exit', (code, signal) => {
      if (!stopping) log(`the agent stopped (${signal ?? `exit ${code}`}); the collector and UI keep running`);
    });
  }
  log(`open ${url}  (collector and UI on 127.0.0.1, store in ${join(data, 'store')})`);
  if (!privileged) {
    log('not watching this host: the agent needs root. Run `sudo npm start`, or the agent alone as root');
    log(`  (it captures with CAP_NET_RAW and CAP_NET_ADMIN, and reads the kernel's drop reasons with CAP_BPF and CAP_PERFMON): sudo npx pathwatch agent --collector http://${collector.addresses[0]}`);
  }
  let stopping = false;
  await new Promise<void>((done) => {
    // on, not once: a second signal (a process group's Ctrl-C, then a supervisor's SIGTERM) while
    // stopping must not kill the process before it has flushed and closed.
    process.on('SIGINT', () => done());
    process.on('SIGTERM', () => done());
  });
  stopping = true;
  log('stopping');
  if (agent && agent.exitCode === null) {
    const exited = new Promise((r) => agent?.once('exit', r));
    agent.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  }
  await collector.close();
  log('stopped');
  return 0;
}
