/**
 * How the collector reaches the Kubernetes API, if at all:
 * - `--kubeconfig FILE` given: that file (its current context). An explicit flag wins over the
 *   pod's own credentials, as with kubectl and client-go.
 * - otherwise, in a pod (KUBERNETES_SERVICE_HOST and _PORT set by the kubelet): the pod's service
 *   account (token and CA under /var/run/secrets/kubernetes.io/serviceaccount). The token is read
 *   again before requests (the client's tokenFile provider rereads it every minute), so the kubelet's
 *   rotation of projected tokens is followed.
 * - otherwise null: the collector runs without Kubernetes, as before. $KUBECONFIG and ~/.kube/config
 *   are deliberately not consulted: a developer's credentials are not used unless asked for.
 *
 * The client reads most files lazily (the CA and client certificates at each request), so a broken
 * path would only surface as a failed request later; they are checked here, and every problem is
 * one KubeConfigError line: `kubeconfig /x: cannot read: ENOENT`.
 *
 * The client itself is imported only when there is a kubeconfig or a pod to use it for: loading it
 * takes about a second and 30 MB of heap, which a collector without Kubernetes should not pay.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { oneLine } from './one-line.js';

async function newKubeConfig(): Promise<KubeConfig> {
  const client = await import('@kubernetes/client-node');
  return new client.KubeConfig();
}

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

export interface KubeAccess {
  readonly kubeConfig: KubeConfig;
  readonly source: 'in-cluster' | 'kubeconfig';
  /** The API server's URL. */
  readonly server: string;
  /** For logs: `kubeconfig /x (https://...)` or `in-cluster service account (https://...)`. */
  readonly description: string;
}

export interface KubeAccessOptions {
  /** The `--kubeconfig` argument, if given. */
  readonly kubeconfig?: string | null;
  /** Prepended to the service account's paths (tests); the client's loadFromCluster takes the same prefix. */
  readonly serviceAccountPathPrefix?: string;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function errorCode(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : oneLine(err instanceof Error ? err.message : String(err));
}

/** Throws `<origin>: cannot read <what> <path>: CODE` unless the file can be read. */
function checkReadable(path: string, origin: string, what: string): void {
  try {
    readFileSync(path);
  } catch (err) {
    throw new KubeConfigError(`${origin}: cannot read ${what} ${path}: ${errorCode(err)}`);
  }
}

/** Credentials for the API, or null when neither a kubeconfig is given nor the collector runs in a pod. */
export async function loadKubeAccess(options: KubeAccessOptions = {}): Promise<KubeAccess | null> {
  if (options.kubeconfig !== undefined && options.kubeconfig !== null && options.kubeconfig !== '') return kubeAccessFromFile(options.kubeconfig);
  if (runsInPod()) return inClusterKubeAccess(options.serviceAccountPathPrefix ?? '');
  return null;
}

/** The kubelet sets both variables in every container (enableServiceLinks: false removes other services' variables, not these). */
export function runsInPod(): boolean {
  return Boolean(process.env['KUBERNETES_SERVICE_HOST']) && Boolean(process.env['KUBERNETES_SERVICE_PORT']);
}

export async function kubeAccessFromFile(path: string): Promise<KubeAccess> {
  const origin = `kubeconfig ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeConfigError(`${origin}: cannot read: ${errorCode(err)}`);
  }
  if (text.trim() === '') throw new KubeConfigError(`${origin}: invalid: the file is empty`);
  const kubeConfig = await newKubeConfig();
  try {
    // loadFromFile would do the same, but could not tell the file's read errors from YAML errors.
    kubeConfig.loadFromString(text);
    kubeConfig.makePathsAbsolute(dirname(resolve(path)));
  } catch (err) {
    // js-yaml's messages quote the offending lines over several lines; its `reason` is the gist.
    const reason = typeof err === 'object' && err !== null ? (err as { reason?: unknown; mark?: { line?: unknown } }) : {};
    const line = typeof reason.mark?.line === 'number' ? ` (line ${reason.mark.line + 1})` : '';
    const message = typeof reason.reason === 'string' ? `${reason.reason}${line}` : err instanceof Error ? err.message : String(err);
    throw new KubeConfigError(`${origin}: invalid: ${oneLine(message)}`);
  }
  return checked(kubeConfig, origin, 'kubeconfig');
}

/** The pod's service account, as the client's loadFromCluster sets it up, checked. */
export async function inClusterKubeAccess(serviceAccountPathPrefix = ''): Promise<KubeAccess> {
  const origin = 'in-cluster config';
  const dir = `${serviceAccountPathPrefix}${SERVICE_ACCOUNT_DIR}`;
  checkReadable(`${dir}/token`, origin, 'service account token');
  checkReadable(`${dir}/ca.crt`, origin, 'service account CA');
  const kubeConfig = await newKubeConfig();
  try {
    kubeConfig.loadFromCluster(serviceAccountPathPrefix);
  } catch (err) {
    throw new KubeConfigError(`${origin}: ${oneLine(err instanceof Error ? err.message : String(err))}`);
  }
  return checked(kubeConfig, origin, 'in-cluster');
}

/** Checks what the client would only find out at the first request. */
function checked(kubeConfig: KubeConfig, origin: string, source: KubeAccess['source']): KubeAccess {
  const contextName = kubeConfig.getCurrentContext();
  if (!contextName) throw new KubeConfigError(`${origin}: invalid: no current-context`);
  const context = kubeConfig.getContextObject(contextName);
  if (context === null) throw new KubeConfigError(`${origin}: invalid: current-context "${contextName}" is not defined`);
  const cluster = kubeConfig.getCluster(context.cluster);
  if (cluster === null) throw new KubeConfigError(`${origin}: invalid: context "${contextName}" names cluster "${context.cluster}", which is not defined`);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new KubeConfigError(`${origin}: invalid: cluster "${cluster.name}" server ${JSON.stringify(cluster.server)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new KubeConfigError(`${origin}: invalid: cluster "${cluster.name}" server ${cluster.server} is not http(s)`);
  if (url.protocol === 'http:' && !cluster.skipTLSVerify && !cluster.proxyUrl) {
    // @kubernetes/client-node 1.x refuses plain HTTP unless the cluster says insecure-skip-tls-verify
    // (its createAgent throws at each request otherwise).
    throw new KubeConfigError(`${origin}: cluster "${cluster.name}" server ${cluster.server} is plain HTTP: set insecure-skip-tls-verify: true on the cluster to allow it`);
  }
  if (cluster.caFile) checkReadable(cluster.caFile, origin, 'certificate-authority');
  const user = context.user ? kubeConfig.getUser(context.user) : null;
  if (context.user && user === null) throw new KubeConfigError(`${origin}: invalid: context "${contextName}" names user "${context.user}", which is not defined`);
  if (user?.certFile) checkReadable(user.certFile, origin, 'client-certificate');
  if (user?.keyFile) checkReadable(user.keyFile, origin, 'client-key');
  return { kubeConfig, source, server: cluster.server, description: `${source === 'in-cluster' ? 'in-cluster service account' : origin} (${cluster.server})` };
}
