/**
 * The read token in a browser. A browser cannot add `Authorization: Bearer` to page loads, links or
 * an EventSource, so visiting a UI page once with `?token=TOKEN` sets the token as a
 * `pathwatch_token` cookie (HttpOnly: scripts never see it; SameSite=Strict: other sites' pages
 * never send it) and redirects to the same page without the token in its URL. From then on the
 * cookie stands for the header, for GET and HEAD requests only (the read API has no other kind, and
 * ingest never takes the read token).
 */
import type { BearerToken } from './bearer-token.js';
import { isUiPage } from './ui-routes.js';

export const TOKEN_COOKIE = 'pathwatch_token';
/** 30 days: a browser visits `/?token=` once a month at most. */
const COOKIE_MAX_AGE_S = 30 * 24 * 3600;

/** Every `pathwatch_token` in a Cookie header (stale ones included), as Authorization header values. */
export function cookieAuthorizations(cookieHeader: string | undefined): string[] {
  if (!cookieHeader) return [];
  const found: string[] = [];
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== TOKEN_COOKIE) continue;
    try {
      found.push(`Bearer ${decodeURIComponent(part.slice(eq + 1).trim())}`);
    } catch {
      // Not percent-encoded as we write it: not ours.
    }
  }
  return found;
}

export interface TokenLogin {
  /** Where to go: the same UI page, without the token parameter. */
  readonly location: string;
  readonly setCookie: string;
}

/**
 * `GET /?token=TOKEN` (or any UI page): when TOKEN is the read token, the cookie to set and the page
 * to redirect to. Undefined for anything else (no token parameter, a wrong one, not a UI page).
 */
export function tokenLogin(url: string, token: BearerToken, secure: boolean): TokenLogin | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const path = url.slice(0, q);
  if (!isUiPage(path)) return undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  const presented = params.getAll('token');
  if (presented.length !== 1 || !token.accepts(`Bearer ${presented[0]}`)) return undefined;
  params.delete('token');
  const rest = params.toString();
  return {
    // isUiPage admits only `/`, `/search`, `/health` and `/drops/ID`: never a URL to another site.
    location: rest ? `${path}?${rest}` : path,
    setCookie: `${TOKEN_COOKIE}=${encodeURIComponent(presented[0] as string)}; Path=/; Max-Age=${COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`,
  };
}
