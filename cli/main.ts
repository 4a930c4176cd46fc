/**
 * The `pathwatch` command line: dispatches to a command, turns a user's mistake into one line on
 * stderr and exit status 2, and never shows a stack trace for bad input.
 */
import { UsageError } from './cli-error.js';
import { AGENT_USAGE, agentCommand } from './agent-command.js';
import { REPLAY_USAGE, replayCommand } from './replay-command.js';
import { WATCH_USAGE, watchCommand } from './watch-command.js';

const MAIN_USAGE = `Usage: pathwatch <command> [options]

pathwatch finds packets that entered a Kubernetes node and never left it, and says why
(above all the reverse-path filter under asymmetric routing).

Commands:
  replay     analyse capture files (pcap, pcapng, gzip, stdin): pathwatch replay --help
  watch      watch this host live and report packets that vanish: pathwatch watch --help
  agent      watch this node and ship what it finds to collectors: pathwatch agent --help
  collector  receive agents' findings, store and explain them, serve the API: pathwatch collector --help
  lab        the story on this machine, in network namespaces, end to end: pathwatch lab --help
  start      collector, web UI and an agent on this host, on 127.0.0.1 (npm start): pathwatch start --help

Run \`pathwatch <command> --help\` (or \`pathwatch help <command>\`) for a command's options.
`;

// The collector and the lab are loaded only when they run: the collector's embedded store imports chDB,
// which the agent's image leaves out.
const collectorCommand = async (argv: string[]): Promise<number> => (await import('./collector-command.js')).collectorCommand(argv);
const labCommand = async (argv: string[]): Promise<number> => (await import('./lab-command.js')).labCommand(argv);
const startCommand = async (argv: string[]): Promise<number> => (await import('./start-command.js')).startCommand(argv);

/** A command without `usage` prints its own (`run(['--help'])`). */
const COMMANDS: Readonly<Record<string, { usage?: string; run: (argv: string[]) => Promise<number> }>> = {
  replay: { usage: REPLAY_USAGE, run: replayCommand },
  watch: { usage: WATCH_USAGE, run: watchCommand },
  agent: { usage: AGENT_USAGE, run: agentCommand },
  collector: { run: collectorCommand },
  lab: { run: labCommand },
  start: { run: startCommand },
};

/**
 * A reader that closed our standard output (`pathwatch replay --json F | head`) wants no more of it:
 * stop quietly, as other command-line tools do, instead of dying on EPIPE with a stack trace.
 */
function endQuietlyOnClosedOutput(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    process.stderr.write(`pathwatch: cannot write the output: ${e.message}\n`);
    process.exit(1);
  });
}

export async function main(argv: string[]): Promise<number> {
  endQuietlyOnClosedOutput();
  const [command, ...rest] = argv;
  const helpFor = command === 'help' && rest[0] !== undefined ? COMMANDS[rest[0]] : undefined;
  if (helpFor) {
    if (helpFor.usage === undefined) return helpFor.run(['--help']);
    process.stdout.write(helpFor.usage);
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(MAIN_USAGE);
    return command === undefined ? 2 : 0;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    process.stderr.write(`pathwatch: unknown command "${command}" (see pathwatch --help)\n`);
    return 2;
  }
  try {
    return await entry.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`pathwatch: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
