// A webhook receiver on 127.0.0.1:0 that records every request and answers what the test tells it to.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  id: string;
  /** The request's path and query. */
  path: string;
  timestamp: string;
  signature: string | undefined;
  rawBody: string;
  event: { cursor: number; account: string; type: string; chat_id: string | null; at: number; data: any };
  /** The status this receiver answered. */
  status: number;
}

export interface Receiver {
  url: string;
  /** Every request, in arrival order. */
  requests: ReceivedHook[];
  /** Requests answered 2xx. */
  accepted(): ReceivedHook[];
  /** Decide the status of the next request (default 200). */
  respond: (hook: Omit<ReceivedHook, 'status'>, n: number) => number;
  close(): Promise<void>;
}

export async function startReceiver(respond: Receiver['respond'] = () => 200): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    requests: [],
    accepted: () => r.requests.filter((h) => h.status >= 200 && h.status < 300),
    respond,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const hook = {
        id: String(req.headers['x-webhook-id']),
        path: req.url ?? '',
        timestamp: String(req.headers['x-webhook-timestamp']),
        signature: req.headers['x-webhook-signature'] as string | undefined,
        rawBody,
        event: JSON.parse(rawBody),
      };
      const status = r.respond(hook, r.requests.length);
      r.requests.push({ ...hook, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=abc`;
  return r;
}
