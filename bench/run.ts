// npm run bench: builds, then the HTTP benchmarks; each prints ratios against a baseline measured in the same run.
// The longer ones have their own scripts: bench:store (1M messages, ~2.5 min), bench:events, bench:memory (Chromium).
import { execSync } from 'node:child_process';
import { benchRest } from './rest.js';

execSync('npm run build --silent', { stdio: 'inherit' });
await benchRest();
execSync('npx tsx bench/events.ts', { stdio: 'inherit' });
