/**
 * Messages for logs and status lines: the client's errors (and js-yaml's) span several lines, with
 * bodies and headers; the collector reports each problem as one line of bounded length.
 */
const MAX_LENGTH = 300;

/** Collapses a message to one line of at most 300 characters. */
export function oneLine(text: string): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return line.length > MAX_LENGTH ? `${line.slice(0, MAX_LENGTH - 1)}…` : line;
}
