// The docs list what the code offers: every REST route in README, every MCP tool in docs/mcp.md.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPERATIONS } from '../src/operations/index.js';

const readme = fs.readFileSync('README.md', 'utf8');
const mcpDoc = fs.readFileSync('docs/mcp.md', 'utf8');

describe('docs', () => {
  it.each(OPERATIONS.flatMap((op) => op.rest.map((r) => [`${r.method} ${r.path}`, r.method, r.path] as const)))('README documents %s', (_name, method, path) => {
    // A row of the route table: "| POST | `/api/send` |" (or "| GET/POST | `/api/messages` |")
    expect(readme).toMatch(new RegExp(`\\| [A-Z/]*\\b${method}\\b[A-Z/]* \\| \`${path.replace(/[{}]/g, '\\$&')}\` \\|`));
  });

  it.each(OPERATIONS.filter((op) => op.mcp !== false).map((op) => op.name))('docs/mcp.md documents the tool %s', (name) => {
    expect(mcpDoc).toContain(`\`${name}\``);
  });
});
