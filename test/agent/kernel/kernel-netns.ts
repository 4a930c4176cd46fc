/**
 * What the kernel drop tests share: whether this machine can run them (root, iproute2, BTF), a
 * command inside one of their namespaces, and a bounded UDP sender that only ever addresses
 * namespaces the tests made.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Why the eBPF tests in namespaces cannot run here, or null. */
export function kernelTestsUnavailable(): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (BPF, network namespaces, packet capture)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'iproute2 (ip) is not installed';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  return null;
}

/** Runs `args` inside namespace `ns`; throws with its stderr when it fails. */
export function ipns(ns: string, args: readonly string[]): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${args.join(' ')} in ${ns}: ${r.stderr.trim()}`);
}

/** Sends `count` UDP datagrams from namespace `ns`, bound to `from`, to dst:port, one after another. */
export function sendUdp(ns: string, from: string, dst: string, port: number, count: number): void {
  const script = `
const s = require('node:dgram').createSocket('udp4');
s.bind(0, '${from}', () => {
  let i = 0;
  const next = () => { if (i === ${count}) { s.close(); return; } s.send('drop ' + i++, ${port}, '${dst}', next); };
  next();
});`;
  ipns(ns, [process.execPath, '-e', script]);
}
