/**
 * `npm start` in the background: it says where to look, the UI and API answer there, and it stops
 * cleanly on SIGTERM (collector closed, agent stopped).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../support/built-cli.js';

describe('npm start', () => {
  it('serves the collector on 127.0.0.1, says where, and stops cleanly', async () => {
    ensureBuilt();
    const data = mkdtempSync(join(tmpdir(), 'pw-start-'));
    // Its own process group, so the signal reaches npm and what it started, as Ctrl-C would.
    const child = spawn('npm', ['start', '--silent', '--', '--port', '0', '--data', data], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    // 'close': every process holding the pipes (npm and the pathwatch it started) has exited.
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
    try {
      const deadline = Date.now() + 90_000;
      let url: string | undefined;
      while (!url) {
        if (Date.now() > deadline) throw new Error(`npm start did not say where to look: ${stderr}`);
        url = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1];
        await new Promise((r) => setTimeout(r, 200));
      }
      const health = await fetch(`${url}healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', storage: { backend: 'embedded', up: true } });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      if (process.getuid?.() === 0) {
        const end = Date.now() + 20_000;
        while (!stderr.includes('pathwatch agent: watching') && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
        expect(stderr).toContain('pathwatch agent: watching');
      } else {
        expect(stderr).toContain('the agent needs root');
      }
      process.kill(-(child.pid as number), 'SIGTERM');
      // npm itself may end by the signal; pathwatch must stop on its own, cleanly.
      const end = await closed;
      expect(end.code === 0 || end.signal === 'SIGTERM', JSON.stringify(end)).toBe(true);
      expect(stderr).toContain('pathwatch: stopping');
      expect(stderr).toContain('pathwatch: stopped');
      if (process.getuid?.() === 0) expect(stderr, stderr).toMatch(/pathwatch agent: stopped:/);
    } finally {
      if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
      rmSync(data, { recursive: true, force: true });
    }
  }, 120_000);
});
