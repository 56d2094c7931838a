// GET /api/events as Server-Sent Events: replay after Last-Event-ID (or ?after=), then live, with heartbeats.
// The JSON form of the same URL is the whatsapp_get_updates operation; this route only takes SSE requests.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../errors.js';
import type { EventService } from '../events/event-service.js';
import { EventFollower } from '../events/follow.js';
import { type TypeFilter, parseTypeFilter, splitList } from '../events/types.js';
import { eventAllowed } from '../operations/access.js';
import { refuseUnknownFields } from '../operations/invoke.js';
import type { KeyService } from '../service/keys.js';
import { principalOf } from './security.js';

export const EVENTS_PATH = '/api/events';

export interface EventStreamOptions {
  /** Comment line sent this often so proxies and clients see a live connection (default 15 s). */
  heartbeatMs?: number;
  /** A chat-limited key's test (--chats): other chats' events are left out. */
  chatAllowed?: (chatId: string | null) => boolean;
  /** Re-checks the request's key (principalOf) before each event and heartbeat: revoked, the stream ends. */
  keys?: Pick<KeyService, 'stillValid'>;
}

/** The last thing a stream whose key was revoked (or changed) sends before it ends. */
export const KEY_REVOKED_COMMENT = ': key revoked\n\n';

/** True for a request this route answers: GET /api/events that accepts text/event-stream. */
export function wantsEventStream(req: IncomingMessage, pathname: string): boolean {
  if (pathname !== EVENTS_PATH && pathname !== `${EVENTS_PATH}/`) return false;
  return req.method === 'GET' && /\btext\/event-stream\b/i.test(req.headers.accept ?? '');
}

export function serveEventStream(req: IncomingMessage, res: ServerResponse, url: URL, events: EventService, opts: EventStreamOptions = {}): void {
  refuseUnknownFields(url.searchParams.keys(), ['after', 'types']);
  const start = startCursor(req, url, events);
  const types = url.searchParams.get('types');
  let filter: TypeFilter | undefined;
  try {
    filter = types ? parseTypeFilter(splitList(types)) : undefined;
  } catch (err) {
    throw new AppError('invalid_input', `types: ${(err as Error).message}`);
  }
  if (events.bus.isClosed) throw new AppError('not_ready', 'Server is shutting down');

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // nginx buffers responses unless told not to; an event stream must not wait in a proxy buffer.
    'x-accel-buffering': 'no',
  });
  // Between end() and 'close' a timer or the follower may still fire: a write after end would throw (and, with no
  // listener, crash the process), so every write goes through here.
  const write = (chunk: string): boolean => (res.writableEnded || res.destroyed ? true : res.write(chunk));
  write(`retry: 3000\n: cursor ${start}\n\n`);
  const allowed = opts.chatAllowed;
  const principal = principalOf(req);
  const { keys } = opts;
  // Per event, not per connection: the key was checked once when the stream opened, and it may outlive the key.
  const keyLapsed = (): boolean => {
    if (!keys || !principal || keys.stillValid(principal)) return false;
    write(KEY_REVOKED_COMMENT);
    end();
    res.end();
    return true;
  };
  const follower = new EventFollower(events.log, events.bus, { after: start, ...(filter ? { filter } : {}) }, (event) => {
    if (allowed && !eventAllowed(event, allowed)) return true;
    // false stops the follower's replay loop; end() has stopped it for good.
    if (keyLapsed()) return false;
    return write(`id: ${event.cursor}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  });
  res.on('drain', () => follower.resume());
  // Also at each heartbeat, so a quiet stream of a revoked key ends within heartbeatMs instead of at its next event.
  const heartbeat = setInterval(() => keyLapsed() || write(': ping\n\n'), opts.heartbeatMs ?? 15_000);
  heartbeat.unref();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    follower.stop();
    offClose();
  };
  // Shutdown ends the stream cleanly, so the client's reconnect (with Last-Event-ID) resumes on the next process.
  const offClose = events.bus.onClose(() => {
    end();
    res.end();
  });
  res.once('close', end);
  res.on('error', end);
  follower.start();
}

/** Last-Event-ID wins over ?after: a reconnecting EventSource resends its original URL but a fresher header. */
function startCursor(req: IncomingMessage, url: URL, events: EventService): number {
  const header = req.headers['last-event-id'];
  const raw = typeof header === 'string' && header.trim() !== '' ? header.trim() : url.searchParams.get('after');
  if (raw === null || raw === '') return events.log.latestCursor();
  if (!/^\d{1,15}$/.test(raw)) throw new AppError('invalid_input', 'after / Last-Event-ID: must be an event cursor (a whole number)');
  return Number(raw);
}
