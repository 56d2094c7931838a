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
    ...(client.target.account === undefined || client.target.account === 'default' ? [] : ([['Account id', client.target.account]] as [string, string][])),
    ['Engine', status.engine],
    ['State', status.state + (status.ready ? ' (linked and connected)' : '')],
    ['Account', account],
    ['Last error', status.last_error ?? 'none'],
  ];
  if (status.pairing_code) rows.push(['Pairing code', status.pairing_code]);
  for (const [name, value] of rows) term.line(`${`${name}:`.padEnd(14)}${value}`);
  const next = nextStep(status, client);
  if (next) term.line(next);
  return status.ready ? 0 : 1;
}

function nextStep(s: EngineStatus, client: ServerClient): string | null {
  if (s.ready) return null;
  const link = client.again('link');
  if (s.state === 'qr' || s.state === 'pairing') return `Linking is under way: \`${link}\` shows the code and waits for the phone.`;
  // `disconnected` alone is no sign of a link: a Baileys account never paired and offline is disconnected too.
  if (s.account || s.authenticated) return 'WhatsApp is (re)connecting by itself.';
  if (s.state === 'starting') return 'WhatsApp is starting.';
  return `Not linked: run \`${link}\` (QR code) or \`${link} --phone <your number>\` (pairing code).`;
}
