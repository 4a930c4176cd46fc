/**
 * Counts the messages a protobuf body would decode to, without decoding it: a walk over the bytes
 * guided by the schema, allocating nothing. The decoder turns every message into an object holding
 * all its fields (~290 bytes of heap for an empty vanished group), while an empty message costs 2
 * bytes on the wire, so the count is what bounds the heap a body can cost; checking it first means
 * a hostile body is refused before it costs anything.
 *
 * Malformed input is not this walk's business: where the bytes stop making sense it stops counting,
 * and the decoder that runs next reports the fault.
 */

/** For each message type, which field numbers hold a nested message, and of which type. */
export type NestedMessageFields = ReadonlyMap<string, ReadonlyMap<number, string>>;

interface SchemaField {
  readonly name: string;
  readonly type: string;
  readonly tag: number;
  readonly map: { readonly from: string; readonly to: string } | null;
}

interface SchemaMessage {
  readonly name: string;
  readonly fields: readonly SchemaField[];
}

/** A map field's entries are messages (key = 1, value = 2); their type names cannot clash with real ones. */
const MAP_ENTRY_PREFIX = ' map entry of ';

/** From protocol-buffers-schema's parse of a flat .proto (no nested message declarations). */
export function nestedMessageFields(messages: readonly SchemaMessage[]): NestedMessageFields {
  const names = new Set(messages.map((m) => m.name));
  const layout = new Map<string, Map<number, string>>();
  for (const message of messages) {
    const nested = new Map<number, string>();
    for (const field of message.fields) {
      if (field.map) {
        const entry = `${MAP_ENTRY_PREFIX}${message.name}.${field.name}`;
        nested.set(field.tag, entry);
        layout.set(entry, new Map(names.has(field.map.to) ? [[2, field.map.to]] : []));
      } else if (names.has(field.type)) {
        nested.set(field.tag, field.type);
      }
    }
    layout.set(message.name, nested);
  }
  return layout;
}

const MAX_DEPTH = 32;

/**
 * The number of messages in `bytes` read as `type` (itself included), or a number above `limit` as
 * soon as the count passes it.
 */
export function countMessages(bytes: Uint8Array, type: string, layout: NestedMessageFields, limit: number): number {
  let count = 0;
  let pos = 0;

  const readVarint = (end: number): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) return -1;
      const b = bytes[pos++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    return -1;
  };

  // Returns false where the bytes stop making sense (or the limit is passed): the walk ends there.
  const walk = (messageType: string, end: number, depth: number): boolean => {
    if (++count > limit || depth > MAX_DEPTH) return false;
    const nested = layout.get(messageType);
    while (pos < end) {
      const key = readVarint(end);
      if (key < 0) return false;
      const field = Math.floor(key / 8);
      switch (key % 8) {
        case 0:
          if (readVarint(end) < 0) return false;
          break;
        case 1:
          pos += 8;
          break;
        case 5:
          pos += 4;
          break;
        case 2: {
          const length = readVarint(end);
          if (length < 0 || length > end - pos) return false;
          const inner = nested?.get(field);
          if (inner === undefined) pos += length;
          else if (!walk(inner, pos + length, depth + 1)) return false;
          break;
        }
        default:
          return false;
      }
    }
    return pos === end;
  };

  walk(type, bytes.byteLength, 0);
  return count;
}
