// The storage contract on embedded chDB (always runs): the current profile as the collector uses it, and
// the legacy SQL too, so the 18.16 statements are exercised even where no 18.16 server is installed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStorage, StorageUnavailableError } from '../../../collector/store/open-storage.js';
import { describeStorageContract, makeDrop, makeFlow } from './storage-contract.js';
import { embeddedTarget } from './store-targets.js';

describeStorageContract('embedded chDB (current)', embeddedTarget('current'));
describeStorageContract('embedded chDB running the legacy SQL', embeddedTarget('legacy'));

describe('embedded store', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'pathwatch-store-test-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its data in DIR across close and reopen', async () => {
    const dir = tempDir();
    let s = await openStorage(`embedded:${dir}`);
    expect(s.info).toMatchObject({ backend: 'embedded', profile: 'current', location: dir });
    const drop = makeDrop();
    await s.write({ flows: [makeFlow()], drops: [drop], packets: [] });
    await s.close();
    s = await openStorage(`embedded:${dir}`);
    expect(await s.queryDrops({ limit: 10 })).toEqual([drop]);
    expect(await s.queryFlows({ limit: 10 })).toEqual([makeFlow()]);
    await s.close();
  });

  it('another directory opens once the first store is closed (chDB holds one directory per process)', async () => {
    const first = await openStorage(`embedded:${tempDir()}`);
    await first.close();
    const second = await openStorage(`embedded:${tempDir()}`);
    expect(await second.queryDrops({ limit: 1 })).toEqual([]);
    await second.close();
  });

  it('a directory it cannot use is StorageUnavailableError with a one-line message', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const error = await openStorage(`embedded:${file}/data`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as Error).message).toMatch(/^embedded store at .*a-file\/data: /);
    expect((error as Error).message).not.toContain('\n');
  });
});
