// --stdio end to end: the real CLI as a child process, driven by the SDK's StdioClientTransport.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BASELINE_TOOLS, MCP_TOOLS, structured } from './helpers/mcp.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-mcp-stdio-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

it('serves the tools over stdio, writes nothing but JSON-RPC to stdout, and exits when the client closes', async () => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', 'src/cli.ts', '--stdio'],
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      PATH: process.env.PATH ?? '',
      WHATSAPP_ENGINE: 'sandbox',
      WHATSAPP_SANDBOX_LINK_DELAY_MS: '50',
      WHATSAPP_AUTH_DIR: path.join(dir, 'auth'),
      WHATSAPP_DATA_DIR: path.join(dir, 'data'),
      LOG_LEVEL: 'debug', // logs on: they must still stay off stdout
    },
    stderr: 'pipe',
  });
  const stderr: string[] = [];
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));

  // Every line the child writes to stdout passes through the transport's parser; anything that is not JSON-RPC
  // (a stray console.log, a log line) surfaces as an onerror call.
  const client = new Client({ name: 'stdio-test', version: '1.0.0' });
  const stdoutProblems: Error[] = [];
  await client.connect(transport);
  const onerror = transport.onerror;
  transport.onerror = (err) => {
    stdoutProblems.push(err);
    onerror?.(err);
  };

  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining([...BASELINE_TOOLS]));
    expect(tools.map((t) => t.name).sort()).toEqual([...MCP_TOOLS].sort());
  const status = structured(await client.callTool({ name: 'whatsapp_status', arguments: {} }));
  expect(status).toMatchObject({ engine: 'sandbox', auth_dir: path.join(dir, 'auth') });
  const failed = await client.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: '15550001001', message: 'hi' } });
  expect(failed.isError).toBe(true);
  expect(structured(failed).error.code).toBe('not_ready');

  const pid = transport.pid!;
  const exited = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      try {
        process.kill(pid, 0);
      } catch {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
  await client.close(); // closes the child's stdin first: our server must stop on its own
  await exited;

  expect(stdoutProblems).toEqual([]);
  expect(stderr.join('')).toContain('serving MCP on stdio'); // the logs went to stderr
  // It stopped because stdin ended, not because the SDK client fell back to SIGTERM after its 2 s grace period.
  expect(stderr.join('')).toContain('"reason":"stdin closed"');
});

it('answers a line that is not JSON (-32700) or not JSON-RPC (-32600) with id null, and keeps serving', async () => {
  const { PassThrough } = await import('node:stream');
  const { loadConfig } = await import('../src/config.js');
  const { silentLogger } = await import('../src/logger.js');
  const { serveStdio } = await import('../src/mcp/stdio.js');
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const lines: Array<Record<string, any>> = [];
  let buffered = '';
  stdout.on('data', (c: Buffer) => {
    buffered += c.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      lines.push(JSON.parse(buffered.slice(0, i)));
      buffered = buffered.slice(i + 1);
    }
  });
  const config = loadConfig({ WHATSAPP_ENGINE: 'sandbox', WHATSAPP_AUTH_DIR: path.join(dir, 'auth'), WHATSAPP_DATA_DIR: path.join(dir, 'data') });
  const session = await serveStdio(config, { logger: silentLogger(), stdin, stdout });
  const next = async (n: number) => {
    const deadline = Date.now() + 5_000;
    while (lines.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return lines[n - 1];
  };
  stdin.write('this is not json\n');
  expect(await next(1)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  stdin.write('{"hello":"world"}\n');
  expect(await next(2)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
  stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' })}\n`);
  expect(await next(3)).toMatchObject({ jsonrpc: '2.0', id: 7, result: {} });
  await session.close('test done');
});
