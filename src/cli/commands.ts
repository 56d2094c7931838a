// The commands: clients of a running server over HTTP (link, status, send) and `keys`, which works on the local data
// directory. One table drives dispatch, each command's --help and the command list in the top-level --help.
import { type FlagSpec, type ParsedArgs, UsageError, parseArgs, stringFlag } from './args.js';
import { ApiError, Cancelled, CliError, ServerClient, resolveTarget } from './client.js';
import { KEYS_DETAILS, KEYS_FLAGS, runKeys } from './keys.js';
import { runLink } from './link.js';
import { runSend } from './send.js';
import { runStatus } from './status.js';
import { type Stream, Terminal } from './terminal.js';

export interface CommandContext {
  args: ParsedArgs;
  /** The running server; a local command (keys) has none. */
  client: ServerClient;
  env: Record<string, string | undefined>;
  term: Terminal;
  json: boolean;
  signal: AbortSignal;
}

export interface CommandSpec {
  name: string;
  /** After the command name in the usage line. */
  usage: string;
  summary: string;
  /** More lines for its --help. */
  details: string[];
  flags: FlagSpec[];
  /** Works on this machine's files instead of talking to a server: no --url / --api-key. */
  local?: boolean;
  run(ctx: CommandContext): Promise<number>;
}

const CONNECTION_FLAGS: FlagSpec[] = [
  { name: 'url', value: 'url', help: 'The server (env WHATSAPP_URL; default http://<WHATSAPP_MCP_HOST>:<WHATSAPP_MCP_PORT>, i.e. http://127.0.0.1:8790).' },
  { name: 'api-key', value: 'key', help: 'The server\'s API key, sent as "Authorization: Bearer <key>" (env WHATSAPP_API_KEY).' },
  { name: 'account', value: 'id', help: 'The account to work on (POST /api/accounts adds one): its /api/accounts/<id>/... routes. Default: the default account.' },
  { name: 'json', help: 'Print the server\'s answers as JSON (one per line) instead of text.' },
  { name: 'help', help: 'Show this help.' },
];
const LOCAL_FLAGS: FlagSpec[] = [
  { name: 'json', help: 'Print the answer as JSON instead of text.' },
  { name: 'help', help: 'Show this help.' },
];

const DEFAULT_LINK_TIMEOUT_S = 300;

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'link',
    usage: '[--phone <number>] [--timeout <seconds>]',
    summary: 'link WhatsApp from the terminal: a QR code, or a pairing code with --phone',
    details: [
      'Starts WhatsApp on the server and prints the QR code to scan (redrawn when it changes), or with --phone a',
      'pairing code to type on the phone. Waits until the account is linked, then exits 0; exits 1 with the reason',
      'when linking fails or times out, 130 on Ctrl-C (the server keeps the link attempt going).',
      'On the phone: WhatsApp > Settings > Linked devices > Link a device (> "Link with phone number instead").',
      'With --account <id>, links that account (add it first: POST /api/accounts {"id": "<id>"}).',
    ],
    flags: [
      { name: 'phone', value: 'number', help: 'Link with a pairing code for this phone number (with country code) instead of a QR code.' },
      { name: 'timeout', value: 'seconds', help: `Give up after this many seconds (default ${DEFAULT_LINK_TIMEOUT_S}).` },
    ],
    run: ({ args, client, term, json, signal }) => {
      const raw = stringFlag(args, 'timeout') ?? String(DEFAULT_LINK_TIMEOUT_S);
      if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 86_400) throw new UsageError(`--timeout must be a whole number of seconds from 1 to 86400, not ${JSON.stringify(raw)}`);
      noPositionals(args, 'link');
      return runLink(client, term, { phone: stringFlag(args, 'phone'), timeoutMs: Number(raw) * 1000, json, signal });
    },
  },
  {
    name: 'status',
    usage: '',
    summary: 'the connection state, account and last error (exit 0 when ready, else 1)',
    details: ['Prints where the server\'s WhatsApp stands (with --account, that account\'s). Exits 0 when it is linked and connected, 1 otherwise.'],
    flags: [],
    run: ({ args, client, term, json }) => {
      noPositionals(args, 'status');
      return runStatus(client, term, { json });
    },
  },
  {
    name: 'send',
    usage: '<number or chat id> <text...>',
    summary: 'send a text message; prints its message id',
    details: [
      'Sends the words after the recipient as one message (quote it, or put -- before text that starts with a dash).',
      'The recipient is a phone number with country code (+1 555 010 2030, 15550102030) or a chat id',
      '(15550102030@c.us, 120363000000000001@g.us for a group). Prints the WhatsApp message id; exits 1 with the',
      'server\'s reason (not linked, not on WhatsApp, paced...) when it is not sent. --account <id> sends from that account.',
    ],
    flags: [{ name: 'queue', help: 'If it cannot go now (not linked, paced), keep it in the outbox and send it later; prints the outbox id.' }],
    run: ({ args, client, term, json }) => {
      const [to, ...words] = args.positionals;
      if (!to || words.length === 0) throw new UsageError('send needs a recipient and a text: whatsapp-mcp-api send <number or chat id> <text...>');
      return runSend(client, term, { to, text: words.join(' '), queue: args.flags.queue === true, json });
    },
  },
  {
    name: 'keys',
    usage: 'add --name <name> --scopes <list> [--chats <list>] [--accounts <list>] [--rate <n>] | list | revoke <name>',
    summary: 'API keys for agents: add (prints the key once), list, revoke; on this machine, no server needed',
    details: KEYS_DETAILS,
    flags: KEYS_FLAGS,
    local: true,
    run: ({ args, term, json, env }) => runKeys({ args, term, json, env }),
  },
];

function noPositionals(args: ParsedArgs, command: string): void {
  if (args.positionals.length > 0) throw new UsageError(`${command} takes no arguments, got ${JSON.stringify(args.positionals[0])} (see whatsapp-mcp-api ${command} --help)`);
}

export function findCommand(name: string | undefined): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The lines the top-level --help lists the commands with. */
export function commandsHelp(): string {
  const rows = COMMANDS.map((c) => `  ${`whatsapp-mcp-api ${c.name} ${c.usage}`.padEnd(51)} ${c.summary}`);
  return ['Commands (keys works on the data directory, the others talk to a running server; whatsapp-mcp-api <command> --help for each):', ...rows, ''].join('\n');
}

export function commandHelp(c: CommandSpec): string {
  const flags = [...c.flags, ...(c.local ? LOCAL_FLAGS : CONNECTION_FLAGS)].map((f) => `  ${`--${f.name}${f.value ? ` <${f.value}>` : ''}`.padEnd(22)} ${f.help}`);
  return [`Usage: whatsapp-mcp-api ${c.name}${c.usage ? ` ${c.usage}` : ''} [options]`, '', `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`, '', ...c.details, '', 'Options:', ...flags, ''].join(
    '\n',
  );
}

export interface RunIo {
  stdout: Stream;
  stderr: Stream;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
  fetch?: typeof fetch;
}

/** Run one command; resolves to the exit code, never rejects. */
export async function runCommand(c: CommandSpec, argv: readonly string[], io: RunIo): Promise<number> {
  const term = new Terminal(io.stdout, io.stderr);
  let json = false;
  let client: ServerClient | undefined;
  try {
    const args = parseArgs(argv, [...c.flags, ...(c.local ? LOCAL_FLAGS : CONNECTION_FLAGS)], c.name);
    if (args.flags.help) {
      io.stdout.write(commandHelp(c));
      return 0;
    }
    json = args.flags.json === true;
    if (c.local) {
      const noClient = new Proxy({}, { get: () => { throw new Error(`${c.name} works locally and has no server client`); } }) as ServerClient;
      return await c.run({ args, client: noClient, env: io.env, term, json, signal: io.signal });
    }
    const target = resolveTarget(io.env, { url: stringFlag(args, 'url'), apiKey: stringFlag(args, 'api-key'), account: stringFlag(args, 'account') });
    client = new ServerClient(target, io.signal, io.fetch);
    return await c.run({ args, client, env: io.env, term, json, signal: io.signal });
  } catch (err) {
    if (err instanceof Cancelled) {
      term.error(
        c.name === 'link' ? `\nCancelled. The server goes on with the link attempt: \`${client?.again('status') ?? 'whatsapp-mcp-api status'}\` shows where it stands.` : '\nCancelled.',
      );
      return 130;
    }
    if (err instanceof UsageError) {
      term.error(`whatsapp-mcp-api ${c.name}: ${err.message}`);
      return 2;
    }
    if (err instanceof ApiError && json) term.json(err.body);
    if (err instanceof CliError) {
      term.error(`whatsapp-mcp-api ${c.name}: ${err.message}`);
      return err.exitCode;
    }
    term.error(`whatsapp-mcp-api ${c.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}
