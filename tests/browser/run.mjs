// Runs every *.test.mjs here under Node's test runner, one file at a time, after emptying the
// screenshot directory (so a FAILED-*.png there is from this run). Exits with the runner's code.
//   node run.mjs [extra node --test arguments, e.g. --test-name-pattern=typing]

import { spawn } from 'node:child_process';
import { readdirSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARTIFACTS } from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((name) => name.endsWith('.test.mjs')).sort()
  .map((name) => path.join(here, name));

rmSync(ARTIFACTS, { recursive: true, force: true });
mkdirSync(ARTIFACTS, { recursive: true });
console.log(`screenshots: ${ARTIFACTS}`);

const runner = spawn(process.execPath,
  ['--test', '--test-concurrency=1', ...process.argv.slice(2), ...files], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => runner.kill(signal));
}
runner.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
