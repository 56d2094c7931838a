// A minimal SSE client over fetch: collects `id/event/data` frames until the test stops it.
export interface SseFrame {
  id: string | undefined;
  event: string | undefined;
  data: any;
}

export interface SseClient {
  status: number;
  headers: Headers;
  frames: SseFrame[];
  /** Comment lines seen (heartbeats, the opening cursor note). */
  comments: string[];
  close(): void;
  closed: Promise<void>;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const client: SseClient = { status: res.status, headers: res.headers, frames: [], comments: [], close: () => abort.abort(), closed: Promise.resolve() };
  if (!res.ok || !res.body) return client;
  client.closed = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: SseFrame = { id: undefined, event: undefined, data: undefined };
          let hasData = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) client.comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) frame.id = line.slice(4);
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) {
              frame.data = JSON.parse(line.slice(6));
              hasData = true;
            }
          }
          if (hasData) client.frames.push(frame);
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return client;
}
