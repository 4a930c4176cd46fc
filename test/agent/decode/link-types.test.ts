/**
 * The link types the native engine's decoder reads are the ones agent/decode/link-types.ts lists
 * (replay warns about the others by that list), and the others are named where a name is known.
 */
import { describe, expect, it } from 'vitest';
import { DECODED_LINK_TYPES, linkTypeLabel } from '../../../agent/decode/link-types.js';
import { EngineDecoder } from '../../support/engine-decoder.js';

describe('the link types the decoder reads', () => {
  it('are exactly the ones DECODED_LINK_TYPES lists (which replay warns about the others by)', () => {
    const frame = new Uint8Array(64);
    for (let lt = 0; lt < 300; lt++) {
      const d = new EngineDecoder();
      d.decode(frame, 0, frame.length, lt);
      expect(d.events.get('decoder.link.unsupported') === 0, `link type ${lt}`).toBe(DECODED_LINK_TYPES.has(lt));
    }
  });

  it('are named in warnings where a name is known', () => {
    expect(linkTypeLabel(239)).toBe('239 (NFLOG)');
    expect(linkTypeLabel(147)).toBe('147');
  });
});
