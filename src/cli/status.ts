// `whatsapp-mcp-api status`: the running server's connection state, account and last error. Exit 0 only when ready,
// so scripts can wait on it (`until whatsapp-mcp-api status; do sleep 5; done`).
import type { EngineStatus } from '../domain.js';
import type { ServerClient } from './client.js';
import type { Terminal } from './terminal.js';

export async function runStatus(client: ServerClient, term: Terminal, opts: { json: boolean }): Promise<number> {
  const status: EngineStatus = await client.call('GET', '/api/status');
  if (opts.json) {
    term.json(status);
    return status.ready ? 0 : 1;
  }
  const account = status.account ? `${status.account.pushname ? `${status.account.pushname} ` : ''}(${status.account.wid})` : 'not linked';
  const rows: [string, string][] = [
    ['Server', client.target.url],
    ['Engine', status.engine],
    ['State', status.state + (status.ready ? ' (linked and connected)' : '')],
    ['Account', account],
    ['Last error', status.last_error ?? 'none'],
  ];
  if (status.pairing_code) rows.push(['Pairing code', status.pairing_code]);
  for (const [name, value] of rows) term.line(`${`${name}:`.padEnd(14)}${value}`);
  const next = nextStep(status);
  if (next) term.line(next);
  return status.ready ? 0 : 1;
}

function nextStep(s: EngineStatus): string | null {
  if (s.ready) return null;
  if (s.state === 'qr' || s.state === 'pairing') return 'Linking is under way: `whatsapp-mcp-api link` shows the code and waits for the phone.';
  if (s.account || s.state === 'disconnected' || s.state === 'authenticated' || s.state === 'starting') return 'WhatsApp is (re)connecting by itself.';
  return 'Not linked: run `whatsapp-mcp-api link` (QR code) or `whatsapp-mcp-api link --phone <your number>` (pairing code).';
}
