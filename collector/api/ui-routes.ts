/**
 * The web UI: one HTML page for every view (`/` live drops, `/drops/:id` one drop event, `/search`,
 * `/health`), whose script picks the view from the URL and draws it from the JSON API; and the
 * static files under `/ui/`. The files are plain ES modules and CSS in collector/ui/, served as they
 * are (no build step): from the sources they sit beside this folder, from dist/ in the package root.
 *
 * Every UI answer carries a Content-Security-Policy that allows nothing but this collector (no
 * inline script or style, no other origin, no framing), so even a value that got past the page's
 * escaping could not run or load anything.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseDropId } from './query-params.js';

export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': UI_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // Revalidated every time (cheap: an ETag), so a collector upgrade never meets a stale script.
  'cache-control': 'no-cache',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The UI's page paths (what `/?token=` may redirect to). */
export function isUiPage(path: string): boolean {
  return path === '/' || path === '/search' || path === '/health' || /^\/drops\/[0-9a-f]{20}$/.test(path);
}

/** collector/ui: beside this file's folder (sources, tests), or in the package root (dist/collector/api/). */
export function findUiDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '..', 'ui'), join(here, '..', '..', '..', 'collector', 'ui')].find((d) => existsSync(join(d, 'index.html')));
}

class UiUnavailableError extends Error {
  readonly statusCode = 503;
}

export function registerUiRoutes(app: FastifyInstance, dir: string | undefined = findUiDir()): void {
  // The files that may be served, by name, listed once: a request names one of them or gets a 404,
  // so no path in a URL ever reaches the file system.
  const files = new Map<string, string>();
  if (dir) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isFile() && CONTENT_TYPES[extname(entry.name)]) files.set(entry.name, join(dir, entry.name));
    }
  }

  async function send(req: FastifyRequest, reply: FastifyReply, name: string): Promise<FastifyReply> {
    const file = files.get(name);
    if (!file) {
      if (name === 'index.html') throw new UiUnavailableError('the web UI is not installed with this collector (collector/ui is missing)');
      return reply.code(404).type('application/json').send({ error: `no UI file ${name.slice(0, 100)}` });
    }
    const body = await readFile(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    reply.headers({ ...SECURITY_HEADERS, etag });
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.code(200).type(CONTENT_TYPES[extname(name)] as string).send(body);
  }

  const page = (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => send(req, reply, 'index.html');
  app.get('/', page);
  app.get('/search', page);
  app.get('/health', page);
  app.get('/drops/:id', (req, reply) => {
    parseDropId((req.params as { id: string }).id);
    return page(req, reply);
  });
  app.get('/ui/:name', (req, reply) => send(req, reply, (req.params as { name: string }).name));
}
