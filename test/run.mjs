#!/usr/bin/env node
/**
 * `npm test`: runs vitest (extra arguments pass through), then prints the plain closing line
 * `N passed, N failed[, N skipped]` that CI reads, from vitest's JSON report. Exit code is
 * vitest's, and non-zero when the report is missing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const report = '.vitest-results.json';
fs.rmSync(report, { force: true });
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit', env: process.env });
let passed = 0;
let failed = 0;
let skipped = 0;
let ok = false;
try {
  const r = JSON.parse(fs.readFileSync(report, 'utf8'));
  passed = r.numPassedTests;
  // a file that fails to load has no failed test of its own: count it as one failure
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length;
  failed = r.numFailedTests + brokenFiles;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  ok = true;
} catch {
  failed = Math.max(failed, 1);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(run.status === 0 && ok ? 0 : run.status || 1);
