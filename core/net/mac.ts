/** 48-bit MAC addresses as the engine keeps them (a number) and as people read them. */

/** `aa:bb:cc:dd:ee:ff` for a MAC held as a number; null for -1 (none). */
export function formatMac(mac: number): string | null {
  if (mac < 0) return null;
  const hex = mac.toString(16).padStart(12, '0');
  return hex.replace(/(..)(?!$)/g, '$1:');
}
