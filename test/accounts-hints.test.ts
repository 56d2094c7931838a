// An added account's errors point at its own routes: hints are written for the default account (/api/..., /qr) and
// rebased once, where an operation's error leaves its account (errors.ts onAccountHints, called by invoke.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { noLinkingScreen } from '../src/engine/wwebjs-events.js';
import { AppError, notReady, onAccountHints } from '../src/errors.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('not_ready hints on an added account', () => {
  it('a never-linked account is told to link on its own routes; the default account keeps /api and /qr', async () => {
    srv = await startTestServer();
    expect((await srv.call('POST', '/api/accounts', { id: 'idle' })).status).toBe(201);

    const idle = await srv.call('POST', '/api/accounts/idle/send', { phone_number: '15550100001', message: 'hi' });
    expect(idle.status).toBe(503);
    expect(idle.json.error.code).toBe('not_ready');
    const hint: string = idle.json.error.hint;
    expect(hint).toContain('POST /api/accounts/idle/pairing-code');
    expect(hint).toContain('open /accounts/idle/qr');
    expect(hint).not.toMatch(/ \/api\/pairing-code| \/qr/);
    // The routes it names are real: the pairing code is asked on idle's engine, not the default's.
    const paired = await srv.call('POST', '/api/accounts/idle/pairing-code', { phone_number: '15550100001' });
    expect(paired.status).toBe(200);
    expect((await srv.call('GET', '/api/status')).json.state).toBe('stopped');

    const plain = await srv.call('POST', '/api/send', { phone_number: '15550100001', message: 'hi' });
    expect(plain.status).toBe(503);
    expect(plain.json.error.hint).toContain('POST /api/pairing-code');
    expect(plain.json.error.hint).toContain('open /qr');
  });
});

describe('onAccountHints', () => {
  it('rebases the 502 of a pairing code without a linking screen, leaves /api/accounts and the MCP hint alone', () => {
    const err = onAccountHints(noLinkingScreen({ state: 'error', last_error: 'boom' }), 'work') as AppError;
    expect(err.code).toBe('engine_error');
    expect(err.hint).toBe('GET /api/accounts/work/status shows last_error; once it is fixed, ask again: POST /api/accounts/work/pairing-code (or whatsapp_pairing_code) starts the browser anew.');

    const bug = new Error('x');
    expect(onAccountHints(bug, 'work')).toBe(bug);
    const named = onAccountHints(new AppError('not_found', 'x', { hint: 'GET /api/accounts lists them; GET /api/status shows it.' }), 'work') as AppError;
    expect(named.hint).toBe('GET /api/accounts lists them; GET /api/accounts/work/status shows it.');
    const list = onAccountHints(notReady('stopped'), 'default') as AppError;
    expect(list.hint).toContain(' /api/pairing-code');

    const linking = onAccountHints(notReady('qr'), 'work') as AppError;
    expect(linking.hint).toContain('scan the QR at /accounts/work/qr');
    expect(linking.hint).toContain('GET /api/accounts/work/status');
    expect(linking.toBody('mcp').hint).toBe(notReady('qr').mcpHint);
  });
});

describe('notReady', () => {
  it('says "linked and reconnecting" only for an account that was linked', () => {
    // A Baileys account never paired and offline is `disconnected` too: it needs linking, not patience.
    expect(notReady('disconnected', false).hint).toMatch(/^Link WhatsApp first/);
    expect(notReady('disconnected', false).mcpHint).toMatch(/^Link WhatsApp first/);
    expect(notReady('disconnected', true).hint).toMatch(/^WhatsApp is linked and \(re\)connecting/);
    expect(notReady('starting', false).hint).toMatch(/^Link WhatsApp first/);
    expect(notReady('starting', true).hint).toMatch(/^WhatsApp is linked/);
    expect(notReady('authenticated', false).hint).toMatch(/^WhatsApp is linked/);
  });
});
