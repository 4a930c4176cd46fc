/**
 * Server-sent events (`GET /api/v1/events`): every drop event, new or grown, goes to each connected
 * client as `event: drop` with the DropEvent as JSON. A client that stops reading is cut off once
 * its unsent backlog passes a bound, so one slow browser cannot make the collector hold memory.
 */
import type { ServerResponse } from 'node:http';
import type { DropEvent } from '../../core/explain/drop-event.js';

const MAX_BACKLOG_BYTES = 1 << 20;
const KEEPALIVE_MS = 15_000;
/** Open streams at most: each holds a socket and up to MAX_BACKLOG_BYTES; a browser tab needs one. */
export const MAX_EVENT_STREAMS = 256;

export class DropEventHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly keepalive: NodeJS.Timeout;
  private sequence = 0;

  constructor() {
    // Comments keep proxies from closing an idle stream.
    this.keepalive = setInterval(() => this.broadcast(': keepalive\n\n'), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Whether another stream may be attached (the API answers 503 when not). */
  get full(): boolean {
    return this.clients.size >= MAX_EVENT_STREAMS;
  }

  /** Takes over a response and streams events into it until the client goes away. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n: connected\n\n');
    this.clients.add(res);
    const forget = (): void => {
      this.clients.delete(res);
    };
    res.on('close', forget);
    res.on('error', forget);
  }

  publish(event: DropEvent): void {
    this.broadcast(`event: drop\nid: ${++this.sequence}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  close(): void {
    clearInterval(this.keepalive);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private broadcast(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BACKLOG_BYTES) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }
}
