/**
 * One-line errors for everything that can go wrong talking to the API server. The client reports
 * failures in several shapes, none of them fit for a log line:
 * - the generated API (lists) throws ApiException, whose message is "HTTP-Code: 403\nMessage: Unknown
 *   API Status Code!\nBody: ...\nHeaders: ..." over several lines; the status is in `code` and the
 *   API's Status object (with the useful "pods is forbidden: User ... cannot list ...") in `body`, as text;
 * - Watch rejects a non-200 answer with an Error whose message is the status text and whose
 *   `statusCode` is the status;
 * - node-fetch (under both) fails with FetchError ("request to http://... failed, reason: connect
 *   ECONNREFUSED ...", `code` ECONNREFUSED), AbortError, or a bare "Premature close" Error when the
 *   server drops a stream.
 * All become a KubeApiError: `kubernetes API <server>: <what happened> <action>[: <API's message>]`.
 */
import { STATUS_CODES } from 'node:http';
import { ApiException } from '@kubernetes/client-node';
import { asObject, asString } from './json-fields.js';
import { oneLine } from './one-line.js';

export class KubeApiError extends Error {
  override name = 'KubeApiError';
  /** The HTTP status (or watch ERROR event code) when the API answered; null for connection failures. */
  readonly status: number | null;

  constructor(message: string, status: number | null) {
    super(message);
    this.status = status;
  }
}

const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS)',
};

function field(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
}

/** The `message` of a Kubernetes Status object given as JSON text or object, if there is one. */
function statusMessage(body: unknown): string | null {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return null; // not a Status (a proxy's HTML page, say): the status line says enough
    }
  }
  return asString(asObject(parsed)?.['message']);
}

function httpStatusText(status: number, text?: string | null): string {
  return `${status} ${text || STATUS_CODES[status] || 'error'}`;
}

/** `kubernetes API <server>: <detail> <action>`, classifying whatever the client threw. */
export function toKubeApiError(err: unknown, server: string, action: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const prefix = `kubernetes API ${server}:`;
  if (err instanceof ApiException) {
    const status = Number(err.code);
    const message = statusMessage(err.body);
    return new KubeApiError(oneLine(`${prefix} ${httpStatusText(status)} ${action}${message ? `: ${message}` : ''}`), status);
  }
  const statusCode = field(err, 'statusCode');
  if (typeof statusCode === 'number') {
    // Watch: the message is the response's status text.
    return new KubeApiError(oneLine(`${prefix} ${httpStatusText(statusCode, err instanceof Error ? err.message : null)} ${action}`), statusCode);
  }
  const code = field(err, 'code');
  if (typeof code === 'string' && SYSTEM_ERRORS[code] !== undefined) {
    return new KubeApiError(`${prefix} ${SYSTEM_ERRORS[code]} (${code}) ${action}`, null);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (message === 'Premature close' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new KubeApiError(`${prefix} connection closed mid-response ${action}`, null);
  }
  // Anything else (TLS verification, unreadable credentials, an exec plugin's failure): its own line,
  // without node-fetch's "request to <url> failed, reason: " (the URL is the server's, already said).
  const reason = message.replace(/^request to \S+ failed, reason: /, '');
  return new KubeApiError(oneLine(`${prefix} ${reason}${typeof code === 'string' && !reason.includes(code) ? ` (${code})` : ''} ${action}`), null);
}

/** An ERROR event inside a watch stream carries a Status object: code, reason, message. */
export function watchStatusError(status: unknown, server: string, action: string): KubeApiError {
  const o = asObject(status);
  const code = typeof o?.['code'] === 'number' ? o['code'] : null;
  const reason = asString(o?.['reason']);
  const message = asString(o?.['message']);
  const what = code !== null ? httpStatusText(code, reason) : `error event${reason ? ` ${reason}` : ''}`;
  return new KubeApiError(oneLine(`kubernetes API ${server}: ${what} ${action}${message ? `: ${message}` : ''}`), code);
}
