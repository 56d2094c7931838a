// How a webhook receiver is named where it is shown to more than its owner (/metrics labels, the server log).
import { createHash } from 'node:crypto';

/**
 * Scheme, host and port, and the first 8 hex of the sha256 of the whole URL to tell two URLs of one host apart.
 * Never the path: Slack, Discord and n8n put their secret token there, and /metrics is any `read` key's; nor the
 * credentials or the query.
 */
export function receiverLabel(url: string): string {
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 8);
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}#${hash}`;
  } catch {
    return `invalid#${hash}`;
  }
}
