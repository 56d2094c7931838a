// npm run bench: builds, then runs every benchmark; each prints ratios against a baseline measured in the same run.
import { execSync } from 'node:child_process';
import { benchRest } from './rest.js';

execSync('npm run build --silent', { stdio: 'inherit' });
await benchRest();
