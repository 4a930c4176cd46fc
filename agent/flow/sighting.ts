/**
 * One packet seen on one interface, as the pipeline hands it to the flow table and its node's
 * matcher: a single object per pipeline, overwritten for every packet (nothing is allocated per
 * packet), valid only during the call. `data` and `view` are the capture's bytes and their decoding.
 *
 * Its time and fingerprint are not numbers of the object but slots of `numbers`, a Float64Array:
 * a fractional or 53-bit value stored in an object, or passed to a function that is not inlined,
 * is boxed (16 bytes of heap per packet); in a typed array it is not. Callees take the sighting.
 */
import { Direction, DirectionSource } from '../capture/capture-record.js';
import { PacketView } from '../decode/packet-view.js';

/** Slots of Sighting.numbers. */
export const SIGHTING_TS = 0;
export const SIGHTING_FINGERPRINT = 1;

export class Sighting {
  view: PacketView = new PacketView();
  data: Uint8Array = new Uint8Array(0);
  /** [SIGHTING_TS]: milliseconds since the epoch (fractional); [SIGHTING_FINGERPRINT]: 53 bits. */
  readonly numbers = new Float64Array(2);
  /** The fingerprint rests on too little to tell packets apart (see fingerprintIsWeak). */
  weak = false;
  ifaceId = -1;
  direction: Direction = Direction.Unknown;
  directionSource: DirectionSource = DirectionSource.None;
  /** Length on the wire. */
  length = 0;
  /** The packet's flow in the flow table, or -1. */
  flowSlot = -1;
  /** Where the pipeline kept its first bytes (PacketBytesRing sequence), or -1. */
  bytesSeq = -1;
}
