/**
 * Reading fields out of Kubernetes objects without trusting their shape. The same object arrives in
 * two forms: from a list, deserialized by the client into its model classes (V1Pod, with Dates for
 * timestamps), and from a watch, as the raw JSON the client parsed from the stream. The fields used
 * here have the same names in both (except ListMeta's `continue`, which the models call `_continue`),
 * so the decoders take `unknown` and narrow field by field: a malformed object is skipped, never
 * a crash in the middle of a watch.
 */

export type JsonObject = Readonly<Record<string, unknown>>;

export function asObject(value: unknown): JsonObject | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : null;
}

/** A non-empty string, or null. */
export function asString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A map of string values (labels), dropping anything else; always a fresh object the caller may keep. */
export function asStringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const o = asObject(value);
  if (o === null) return out;
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function metadataOf(obj: unknown): JsonObject | null {
  return asObject(asObject(obj)?.['metadata']);
}

export function resourceVersionOf(obj: unknown): string | null {
  return asString(metadataOf(obj)?.['resourceVersion']);
}
