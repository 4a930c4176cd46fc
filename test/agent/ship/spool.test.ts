import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskSpool } from '../../../agent/ship/spool.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pathwatch-spool-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const batch = (text: string): Buffer => Buffer.from(text);
function drain(spool: DiskSpool): string[] {
  const out: string[] = [];
  for (let b = spool.peekOldest(); b !== undefined; b = spool.peekOldest()) {
    out.push(`${b.sequence}:${b.bytes.toString()}`);
    expect(spool.removeOldest(b.id)).toBe(true);
  }
  return out;
}
function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
}

describe('DiskSpool', () => {
  it('gives batches back oldest first, one file each, no temp files left', () => {
    const dir = tempDir();
    const spool = new DiskSpool({ dir, maxBytes: 1000 });
    expect(spool.append(7, batch('a'))).toBe(true);
    expect(spool.append(8, batch('bb'))).toBe(true);
    expect(spool.append(9, batch('ccc'))).toBe(true);
    expect(spool.size).toBe(3);
    expect(spool.bytes).toBe(6);
    const files = readdirSync(dir).sort();
    expect(files).toEqual([
      '0000000000000000-00000000000000000007.batch',
      '0000000000000001-00000000000000000008.batch',
      '0000000000000002-00000000000000000009.batch',
    ]);
    expect(drain(spool)).toEqual(['7:a', '8:bb', '9:ccc']);
    expect(spool.size).toBe(0);
    expect(spool.bytes).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removeOldest with an id removes only that batch', () => {
    const spool = new DiskSpool({ dir: tempDir(), maxBytes: 1000 });
    spool.append(1, batch('x'));
    spool.append(2, batch('y'));
    const oldest = spool.peekOldest();
    expect(oldest?.sequence).toBe(1);
    expect(spool.removeOldest(12345)).toBe(false);
    expect(spool.size).toBe(2);
  });

  it('recovers the batches of an earlier run in order, deletes torn temp files, continues after them', () => {
    const dir = tempDir();
    const first = new DiskSpool({ dir, maxBytes: 1000 });
    first.append(100, batch('old-1'));
    first.append(101, batch('old-2'));
    writeFileSync(join(dir, '0000000000000002-00000000000000000102.batch.tmp'), 'half');
    writeFileSync(join(dir, 'README'), 'not a batch');

    // The agent restarts under a new boot id: its sequence starts over, yet the old batches come first.
    const second = new DiskSpool({ dir, maxBytes: 1000 });
    expect(second.recoveredBatches).toBe(2);
    expect(second.bytes).toBe(10);
    second.append(0, batch('new-0'));
    expect(drain(second)).toEqual(['100:old-1', '101:old-2', '0:new-0']);
    expect(readdirSync(dir)).toEqual(['README']);
  });

  it('drops empty batch files (torn writes) on recovery and counts them', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '0000000000000000-00000000000000000005.batch'), '');
    writeFileSync(join(dir, '0000000000000001-00000000000000000006.batch'), 'ok');
    const spool = new DiskSpool({ dir, maxBytes: 1000 });
    expect(spool.lostBatches).toBe(1);
    expect(drain(spool)).toEqual(['6:ok']);
  });

  it('drops the oldest batches when over maxBytes and counts batches and bytes lost', () => {
    const spool = new DiskSpool({ dir: tempDir(), maxBytes: 10 });
    for (let seq = 1; seq <= 6; seq++) expect(spool.append(seq, batch(`b${seq}-`))).toBe(true); // 3 bytes each
    expect(spool.size).toBe(3);
    expect(spool.bytes).toBe(9);
    expect(spool.lostBatches).toBe(3);
    expect(spool.lostBytes).toBe(9);
    expect(spool.lastError).toMatch(/full/);
    expect(drain(spool)).toEqual(['4:b4-', '5:b5-', '6:b6-']);
  });

  it('drops a batch larger than the whole spool without touching the others', () => {
    const spool = new DiskSpool({ dir: tempDir(), maxBytes: 10 });
    spool.append(1, batch('keep'));
    expect(spool.append(2, Buffer.alloc(11, 1))).toBe(false);
    expect(spool.lostBatches).toBe(1);
    expect(spool.lostBytes).toBe(11);
    expect(drain(spool)).toEqual(['1:keep']);
  });

  it('never evicts the pinned batch (the one on the wire)', () => {
    const spool = new DiskSpool({ dir: tempDir(), maxBytes: 6 });
    spool.append(1, batch('aaa'));
    spool.append(2, batch('bbb'));
    const onWire = spool.peekOldest();
    spool.pin(onWire?.id ?? -1);
    spool.append(3, batch('ccc'));
    expect(spool.lostBatches).toBe(1);
    expect(spool.removeOldest(onWire?.id)).toBe(true);
    expect(drain(spool)).toEqual(['3:ccc']);
  });

  it('evicts on recovery when the limit was lowered since the last run', () => {
    const dir = tempDir();
    const big = new DiskSpool({ dir, maxBytes: 100 });
    for (let seq = 1; seq <= 5; seq++) big.append(seq, batch('1234'));
    const small = new DiskSpool({ dir, maxBytes: 8 });
    expect(small.lostBatches).toBe(3);
    expect(drain(small)).toEqual(['4:1234', '5:1234']);
  });

  it('on a full disk drops the oldest and retries once', () => {
    let failures = 1;
    const spool = new DiskSpool({
      dir: tempDir(),
      maxBytes: 1000,
      writeFile: (path, data) => {
        if (data.byteLength === 3 && failures-- > 0) throw enospc();
        writeFileSync(path, data);
      },
    });
    spool.append(1, batch('x'));
    spool.append(2, batch('y'));
    expect(spool.append(3, batch('zzz'))).toBe(true);
    expect(spool.lostBatches).toBe(1);
    expect(drain(spool)).toEqual(['2:y', '3:zzz']);
  });

  it('when the disk stays full, counts the new batch as lost and does not throw', () => {
    const spool = new DiskSpool({
      dir: tempDir(),
      maxBytes: 1000,
      writeFile: (path, data) => {
        if (data.byteLength === 3) throw enospc();
        writeFileSync(path, data);
      },
    });
    spool.append(1, batch('x'));
    expect(spool.append(2, batch('zzz'))).toBe(false);
    expect(spool.lostBatches).toBe(2); // the evicted oldest and the new batch
    expect(spool.lastError).toMatch(/ENOSPC/);
    expect(spool.size).toBe(0);
    // Other write errors: no eviction, just the loss.
    const other = new DiskSpool({
      dir: tempDir(),
      maxBytes: 1000,
      writeFile: () => {
        throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      },
    });
    expect(other.append(1, batch('x'))).toBe(false);
    expect(other.lostBatches).toBe(1);
    expect(other.lastError).toMatch(/EIO/);
  });

  it('drops a batch whose file vanished and moves on to the next', () => {
    const dir = tempDir();
    const spool = new DiskSpool({ dir, maxBytes: 1000 });
    spool.append(1, batch('gone'));
    spool.append(2, batch('here'));
    rmSync(join(dir, '0000000000000000-00000000000000000001.batch'));
    expect(drain(spool)).toEqual(['2:here']);
    expect(spool.lostBatches).toBe(1);
  });

  it('rejects programming errors loudly and unusable directories in one line', () => {
    const spool = new DiskSpool({ dir: tempDir(), maxBytes: 10 });
    expect(() => spool.append(-1, batch('x'))).toThrow(RangeError);
    expect(() => spool.append(1, new Uint8Array(0))).toThrow(/empty/);
    expect(() => new DiskSpool({ dir: tempDir(), maxBytes: 0 })).toThrow(/maxBytes/);
    const file = join(tempDir(), 'file');
    writeFileSync(file, '');
    expect(() => new DiskSpool({ dir: join(file, 'sub'), maxBytes: 10 })).toThrow(/^cannot create spool directory .*ENOTDIR$/);
  });
});
