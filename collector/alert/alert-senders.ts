/**
 * Where alerts go: an Alertmanager (`POST URL/api/v2/alerts`, its own alert shape) and any webhook
 * (`POST URL` with Alertmanager's webhook payload, version 4, which most chat and paging bridges
 * accept). A receiver that is down costs a logged line and a counter, never the collector.
 */
import type { AlertState } from './alert-rules.js';

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL: string;
}

export const ALERT_NAME = 'PathwatchPacketDrop';

function alertOf(a: AlertState, externalUrl: string): AlertmanagerAlert {
  const e = a.event;
  return {
    labels: {
      alertname: ALERT_NAME,
      severity: e.confidence === 'confirmed' ? 'critical' : 'warning',
      node: e.node,
      iface: e.iface,
      src: e.src,
      dst: e.dst,
      proto: e.proto,
      verdict: e.verdict,
      confidence: e.confidence,
      drop_id: e.id,
    },
    annotations: {
      summary: `${e.verdict} drop of ${e.proto} ${e.src} -> ${e.dst} on ${e.node}/${e.iface} (${e.packets} packets)`,
      description: e.evidence.map((x) => `${x.kind}: ${x.detail}`).join('\n'),
      remedy: e.remedy,
      // An annotation, not a label: labels name the alert, and the reason may change while it fires.
      ...(e.kernel ? { kernel: `${e.kernel.reason}, ${e.kernel.packets} packet(s) matched by fingerprint` } : {}),
    },
    startsAt: new Date(a.startsAtMs).toISOString(),
    ...(a.endsAtMs !== undefined ? { endsAt: new Date(a.endsAtMs).toISOString() } : {}),
    generatorURL: `${externalUrl}/drops/${e.id}`,
  };
}

export function alertmanagerPayload(alerts: readonly AlertState[], externalUrl: string): AlertmanagerAlert[] {
  return alerts.map((a) => alertOf(a, externalUrl));
}

export function webhookPayload(alerts: readonly AlertState[], externalUrl: string) {
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return {
    version: '4',
    groupKey: `{}:{alertname="${ALERT_NAME}"}`,
    truncatedAlerts: 0,
    status,
    receiver: 'pathwatch',
    groupLabels: { alertname: ALERT_NAME },
    commonLabels: { alertname: ALERT_NAME },
    commonAnnotations: {},
    externalURL: externalUrl,
    alerts: alerts.map((a) => ({ ...alertOf(a, externalUrl), status: a.status, endsAt: a.endsAtMs !== undefined ? new Date(a.endsAtMs).toISOString() : '0001-01-01T00:00:00Z', fingerprint: a.event.id })),
  };
}

export interface AlertTarget {
  readonly kind: 'alertmanager' | 'webhook';
  readonly url: string;
}

export class AlertUrlError extends Error {
  override name = 'AlertUrlError';
}

export function parseAlertTarget(kind: AlertTarget['kind'], text: string): AlertTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AlertUrlError(`--${kind} ${text}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AlertUrlError(`--${kind} ${text}: must be http:// or https://`);
  const base = text.replace(/\/+$/, '');
  return { kind, url: kind === 'alertmanager' ? `${base}/api/v2/alerts` : text };
}

export class AlertSender {
  readonly stats = { sent: 0, failed: 0 };
  private lastError = 0;

  constructor(
    private readonly targets: readonly AlertTarget[],
    private readonly externalUrl: string,
    private readonly log: (line: string) => void,
  ) {}

  async send(alerts: readonly AlertState[]): Promise<void> {
    if (alerts.length === 0) return;
    await Promise.all(
      this.targets.map(async (t) => {
        const body = t.kind === 'alertmanager' ? alertmanagerPayload(alerts, this.externalUrl) : webhookPayload(alerts, this.externalUrl);
        try {
          const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          this.stats.sent++;
        } catch (e) {
          this.stats.failed++;
          // One line a minute at most: a receiver that is down must not flood the log.
          if (Date.now() - this.lastError > 60_000) {
            this.lastError = Date.now();
            this.log(`alerts to ${t.url} failed: ${(e as Error).message}`);
          }
        }
      }),
    );
  }
}
