// The live event stream of the page's account (GET /api/events as text/event-stream) read with fetch(), because EventSource cannot send
// the Authorization header and the key must stay out of URLs. Reconnects with Last-Event-ID, as EventSource would.
import { accountPath, authHeaders } from './api.js';

export function followEvents({ onEvent, onState }) {
  let last = null;
  let stopped = false;
  let controller = null;
  let retryMs = 3000;

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const headers = { accept: 'text/event-stream', ...authHeaders() };
        if (last !== null) headers['last-event-id'] = last;
        const res = await fetch(accountPath('/api/events'), { headers, signal: controller.signal });
        if (!res.ok) {
          let msg = `HTTP ${res.status}`;
          try {
            msg = (await res.json()).error.message;
          } catch {}
          onState('error', msg);
          if (res.status === 401) return;
        } else {
          onState('live');
          await read(res.body);
          onState('reconnecting', 'the stream ended');
        }
      } catch (err) {
        if (stopped) return;
        onState('reconnecting', err.message);
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }

  async function read(stream) {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let end;
      while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end).replace(/^\r?\n\r?\n/, '');
        dispatch(block);
      }
    }
  }

  function dispatch(block) {
    let id = null;
    let data = '';
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'data') data += (data ? '\n' : '') + value;
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (id !== null) last = id;
    if (!data) return;
    try {
      onEvent(JSON.parse(data));
    } catch (err) {
      console.warn('event not shown', err);
    }
  }

  run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
