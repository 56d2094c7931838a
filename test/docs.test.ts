// The docs list what the code offers: every REST route and error code in README, every MCP tool in docs/mcp.md.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERROR_STATUS } from '../src/errors.js';
import { OPERATIONS } from '../src/operations/index.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const readme = fs.readFileSync('README.md', 'utf8');
const mcpDoc = fs.readFileSync('docs/mcp.md', 'utf8');

/** The README table row of a route or an event type, by its first cells. */
function row(prefix: string): string {
  const line = readme.split('\n').find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`README has no row starting ${prefix}`);
  return line;
}

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('docs', () => {
  it.each(OPERATIONS.flatMap((op) => op.rest.map((r) => [`${r.method} ${r.path}`, r.method, r.path] as const)))('README documents %s', (_name, method, path) => {
    // A row of the route table: "| POST | `/api/send` |" (or "| GET/POST | `/api/messages` |")
    expect(readme).toMatch(new RegExp(`\\| [A-Z/]*\\b${method}\\b[A-Z/]* \\| \`${path.replace(/[{}]/g, '\\$&')}\` \\|`));
  });

  it.each(OPERATIONS.filter((op) => op.mcp !== false).map((op) => op.name))('docs/mcp.md documents the tool %s', (name) => {
    expect(mcpDoc).toContain(`\`${name}\``);
  });

  it.each(Object.entries(ERROR_STATUS))('README lists the error code %s with its status %i', (code, status) => {
    // A row of the error table: "| `headers_too_large` | 431 |"
    expect(readme).toContain(`| \`${code}\` | ${status} |`);
  });

  it('README lists no error code the server does not have', () => {
    const table = readme.slice(readme.indexOf('| Code | Status | When |'));
    const rows = [...table.slice(0, table.indexOf('\n\n')).matchAll(/^\| `(\w+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(rows.length).toBeGreaterThan(0);
    expect(Object.fromEntries(rows)).toEqual(ERROR_STATUS);
  });

  it.each(['getChatMessagesOp', 'getMessageContextOp'])('README lists every field %s answers', async (name) => {
    const ops = await import('../src/operations/history.js');
    const op = (ops as Record<string, (typeof OPERATIONS)[number]>)[name]!;
    const answer = row(`| GET | \`${op.rest[0]!.path}\` |`).split(' | ').at(-1)!;
    for (const key of Object.keys((op.output as z.ZodObject).shape)) expect(answer, key).toMatch(new RegExp(`\\b${key}\\b`));
  });

  it('README lists every field of the outbox.* events', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'x', queue: true });
    const s = srv;
    const [event] = await waitFor(async () => {
      const { events } = (await s.call('GET', '/api/events?after=0&types=outbox.queued')).json;
      return events.length > 0 ? events : null;
    }, 'outbox.queued');
    const documented = row('| `outbox.queued`');
    for (const key of Object.keys(event.data)) expect(documented, key).toMatch(new RegExp(`\\b${key}\\b`));
  });
});
