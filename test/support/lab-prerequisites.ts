/**
 * Whether the network-namespace lab can run here: Linux, root, iproute2, tcpdump, dumpcap, python3,
 * and a namespace can be made. Tests skip with this reason outside CI and fail with it in CI.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { pythonExecutable } from '../../lab/exec.js';

/** Why the lab cannot run here, or null. Synchronous: describe.skipIf needs the answer up front. */
export function labUnavailableReason(prefix: string): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, raw sockets, captures)';
  const tools: Array<[string, string[]]> = [
    ['ip', ['-V']], ['bridge', ['-V']], ['sysctl', ['--version']], ['tcpdump', ['--version']],
    ['dumpcap', ['-v']], [pythonExecutable(), ['--version']],
  ];
  for (const [tool, args] of tools) {
    try {
      execFileSync(tool, args, { stdio: 'ignore', timeout: 10_000 });
    } catch {
      return `${tool} is not installed or does not run`;
    }
  }
  const probe = `${prefix}probe${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe', timeout: 10_000 });
  } catch (e) {
    return `cannot create a network namespace: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // not created
    }
  }
  return null;
}

