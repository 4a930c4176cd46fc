/**
 * docker-compose.yml as Docker would read it: validated by docker-compose itself (`config`, which
 * needs no engine), and checked for what the watch service must have: the host's network namespace
 * and only the capabilities packet capture needs.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/built-cli.js';

function composeAvailable(): string | null {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'docker-compose is not installed (Debian package docker-compose)';
  }
}

const unavailable = composeAvailable();
const IN_CI = process.env['CI'] === 'true';

describe('docker-compose.yml', () => {
  it.runIf(IN_CI)('can be validated in CI', () => expect(unavailable).toBeNull());

  it.skipIf(unavailable !== null)('is valid and runs watch on the host network with NET_RAW and NET_ADMIN only', () => {
    const out = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: ROOT, encoding: 'utf8' });
    expect(out).toMatch(/network_mode: host/);
    const caps = /cap_add:\n((?:\s+- \w+\n)+)/.exec(out)?.[1]?.match(/\w+/g);
    expect(caps?.sort()).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(out).toMatch(/cap_drop:\n\s+- ALL/);
    expect(out).toMatch(/target: watch/);
  });
});
