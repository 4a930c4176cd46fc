/**
 * Bearer tokens from files (`--token-file` for agents' ingest, `--read-token-file` for the query
 * API, UI and exports), compared in constant time: both sides are hashed first, so neither the
 * content nor the length of the expected token leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class TokenFileError extends Error {
  override name = 'TokenFileError';
}

export class BearerToken {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = createHash('sha256').update(token).digest();
  }

  static fromFile(path: string, flag: string): BearerToken {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new TokenFileError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    const token = text.trim();
    if (token.length < 8) throw new TokenFileError(`${flag} ${path}: the token must be at least 8 characters`);
    return new BearerToken(token);
  }

  /** Whether an Authorization header value presents this token. */
  accepts(authorization: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const presented = createHash('sha256').update(m?.[1] ?? '').digest();
    return timingSafeEqual(presented, this.digest) && m !== null;
  }
}
