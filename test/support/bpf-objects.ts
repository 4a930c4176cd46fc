/**
 * The BPF programs and links a process holds, and whether the kernel still has them: for the tests
 * that check the kernel drop monitor is detached when an agent stops, fails or is killed. A program
 * or link is known by its id, read from the holder's descriptors (/proc/PID/fdinfo, which the
 * kernel writes for each BPF descriptor), because other processes may run the same program at the
 * same time: a name says nothing about whose it is. The kernel's word on what still exists is
 * bpftool's listing (Debian's bpftool; it cannot name the holders itself, lacking pid support).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface BpfIds {
  readonly progs: readonly number[];
  readonly links: readonly number[];
}

/** The BPF programs and links whose descriptors `pid` holds open. */
export function bpfIdsOf(pid: number | 'self'): BpfIds {
  const progs: number[] = [];
  const links: number[] = [];
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return { progs, links };
  }
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target !== 'anon_inode:bpf-prog' && target !== 'anon_inode:bpf_link') continue;
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      const id = (key: string): number | undefined => {
        const m = new RegExp(`^${key}:\\s+(\\d+)$`, 'm').exec(info);
        return m ? Number(m[1]) : undefined;
      };
      const found = target === 'anon_inode:bpf-prog' ? id('prog_id') : id('link_id');
      if (found !== undefined) (target === 'anon_inode:bpf-prog' ? progs : links).push(found);
    } catch {
      // closed meanwhile
    }
  }
  return { progs, links };
}

/** What `after` holds that `before` did not. */
export function newIds(before: BpfIds, after: BpfIds): BpfIds {
  return { progs: after.progs.filter((id) => !before.progs.includes(id)), links: after.links.filter((id) => !before.links.includes(id)) };
}

export interface BpftoolProg {
  readonly id: number;
  readonly name?: string;
}

export interface BpftoolLink {
  readonly id: number;
  readonly prog_id?: number;
  readonly tp_name?: string;
}

/** The kernel's BPF programs and links now (bpftool, as root). */
export function kernelBpf(): { progs: BpftoolProg[]; links: BpftoolLink[] } {
  const list = <T>(what: 'prog' | 'link'): T[] => JSON.parse(execFileSync('bpftool', [what, 'show', '--json'], { encoding: 'utf8', timeout: 10_000 })) as T[];
  return { progs: list<BpftoolProg>('prog'), links: list<BpftoolLink>('link') };
}

/** Those of `ids` the kernel still has. */
export function stillInKernel(ids: BpfIds): BpfIds {
  const now = kernelBpf();
  return { progs: now.progs.filter((p) => ids.progs.includes(p.id)).map((p) => p.id), links: now.links.filter((l) => ids.links.includes(l.id)).map((l) => l.id) };
}

/**
 * Waits until the kernel has freed every one of `ids` (a link goes with its last descriptor; a
 * tracing program after a grace period, tens of milliseconds later) or `ms` passed; returns what is
 * left.
 */
export async function freedWithin(ids: BpfIds, ms: number): Promise<BpfIds> {
  const end = Date.now() + ms;
  for (;;) {
    const left = stillInKernel(ids);
    if ((left.progs.length === 0 && left.links.length === 0) || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}
