#!/usr/bin/env node
// The published entry point: plain JavaScript that loads the compiled CLI (built by `npm ci` through `prepare`).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    // Anything reaching here is a bug in pathwatch, not bad input: say so on one line.
    process.stderr.write(`pathwatch: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
