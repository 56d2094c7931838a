// Full-text search over message bodies (FTS5), and the translation of user text into FTS5 query syntax.
//
// Speed design (1M messages; TOOLCHAIN.md, bench/store.ts): ranking every hit of a common word by bm25 costs ~110 ms,
// while FTS5 walks hits newest-first by rowid in ~0.1 ms (seq is time-ordered, see rows.ts). So `newest` (the
// default) is a rowid walk that stops at `limit`, and `relevance` scores only the newest RELEVANCE_WINDOW matches
// (relevance.ts says why not with bm25()): complete for any term with fewer hits, "best of the recent ones" for a
// very common term (reported as candidates_capped).
import type { Message } from '../domain.js';
import { AppError } from '../errors.js';
import type { Db } from './db.js';
import { rankCandidates } from './relevance.js';
import { MESSAGE_COLUMNS, type MessageRow, SEQ_PER_SECOND } from './rows.js';

export const RELEVANCE_WINDOW = 1_000;
export const SEARCH_MODES = ['words', 'fts'] as const;
export const SEARCH_ORDERS = ['newest', 'relevance'] as const;

export interface SearchQuery {
  q: string;
  /** words: plain words, "quoted phrases", prefix*, OR. fts: raw FTS5 syntax for callers who want NEAR, NOT, ... */
  mode: (typeof SEARCH_MODES)[number];
  order: (typeof SEARCH_ORDERS)[number];
  limit: number;
  chat_id?: string | undefined;
  /** Only these chats (a chat-limited key's, with their lid twins); chat_id, when given, is the one that counts. */
  chat_ids?: readonly string[] | undefined;
  sender?: string | undefined;
  /** The same person under their other id (the lid of a phone chat id, or the reverse), when known. */
  sender_alt?: string | undefined;
  from_me?: boolean | undefined;
  /** Unix seconds, exclusive. */
  after?: number | undefined;
  before?: number | undefined;
}

export interface SearchHit {
  message: Message;
  /** The matching part of the body with each match in [brackets]. */
  snippet: string;
  /** Relevance score (higher is better) in relevance order; null in newest order. */
  score: number | null;
}

export interface SearchResult {
  hits: SearchHit[];
  /** Relevance order only: more matches existed than were ranked. */
  candidates_capped: boolean;
}

const HAS_WORD = /[\p{L}\p{N}]/u;
const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * Plain user text → FTS5 query. Every word becomes a quoted string, so FTS5 operators and punctuation in user text
 * (`AND`, `-`, `:`, `(`, `*` in the middle) are searched for as words instead of failing as syntax.
 */
export function wordsToFts(input: string): string {
  const parts: string[] = [];
  // Control characters (a NUL ends FTS5's parse mid-string) separate words like spaces do.
  for (const m of input.replace(/\p{Cc}/gu, ' ').matchAll(/"([^"]*)"?|(\S+)/g)) {
    const phrase = m[1];
    const word = m[2];
    if (phrase !== undefined) {
      if (HAS_WORD.test(phrase)) parts.push(quote(phrase));
    } else if (word === 'OR') {
      // OR between two terms is clearly intended; anywhere else it is dropped.
      if (parts.length > 0 && parts[parts.length - 1] !== 'OR') parts.push('OR');
    } else if (word !== undefined && HAS_WORD.test(word)) {
      const prefix = word.endsWith('*') && HAS_WORD.test(word.replace(/\*+$/, ''));
      parts.push(prefix ? `${quote(word.replace(/\*+$/, ''))}*` : quote(word));
    }
  }
  while (parts[parts.length - 1] === 'OR') parts.pop();
  if (parts.length === 0) {
    throw new AppError('invalid_input', 'q: nothing to search for; give at least one word with a letter or a digit');
  }
  return parts.join(' ');
}

/**
 * Raw FTS5 text (mode=fts) as one self-contained group. It is pasted between our parentheses, AND-ed with the chat
 * scope: text that closed them (`x)) OR ((body : y`), left a string open, or held a NUL (FTS5 stops reading there)
 * would turn the scope into one branch of an OR, and a chat-limited key could count other chats' messages.
 */
export function ftsGroup(input: string): string {
  const text = input.replace(/\p{Cc}/gu, ' ');
  let depth = 0;
  let inString = false;
  for (const ch of text) {
    // Inside a string "" is an escaped quote: two toggles, still inside.
    if (ch === '"') inString = !inString;
    else if (!inString && ch === '(') depth++;
    else if (!inString && ch === ')' && --depth < 0) break;
  }
  if (inString || depth !== 0) {
    throw new AppError('invalid_input', `q: not a valid search: ${inString ? 'unterminated string' : 'unbalanced parentheses'}`, {
      hint: 'mode=fts takes SQLite FTS5 syntax with balanced parentheses and closed "strings"; use mode=words for plain text.',
    });
  }
  return text;
}

/** `chatKeys`: only messages of these chats, as part of the match (undefined: every chat; never empty). */
export function buildMatch(q: SearchQuery, chatKeys: readonly number[] | undefined): string {
  const text = q.mode === 'fts' ? ftsGroup(q.q) : wordsToFts(q.q);
  const body = `body : (${text})`;
  return chatKeys === undefined ? body : `(${body}) AND scope : (${chatKeys.map((k) => quote(`k${k}`)).join(' OR ')})`;
}

export function searchMessages(db: Db, q: SearchQuery, chatKeys: readonly number[] | undefined, toMessage: (r: MessageRow) => Message): SearchResult {
  const match = buildMatch(q, chatKeys);
  const params = {
    match,
    // FTS5 uses a rowid range only when it is bound as an integer; JS numbers bind as REAL, so pass BigInt.
    lo: BigInt((q.after ?? -1) + 1) * BigInt(SEQ_PER_SECOND),
    hi: q.before === undefined ? 2n ** 62n : BigInt(q.before) * BigInt(SEQ_PER_SECOND),
    after: q.after ?? null,
    before: q.before ?? null,
    sender: q.sender ?? null,
    sender_alt: q.sender_alt ?? q.sender ?? null,
    from_me: q.from_me === undefined ? null : q.from_me ? 1 : 0,
  };
  try {
    if (q.order === 'newest') {
      const rows = stmt(db, NEWEST).all({ ...params, limit: q.limit }) as Array<MessageRow & { snippet: string }>;
      return { hits: rows.map((r) => ({ message: toMessage(r), snippet: r.snippet, score: null })), candidates_capped: false };
    }
    const candidates = stmt(db, CANDIDATES).all({ ...params, window: RELEVANCE_WINDOW }) as Array<{ seq: number; body: string }>;
    const top = rankCandidates(q.mode === 'fts' ? q.q : q.q.replace(/\bOR\b/g, ' '), candidates).slice(0, q.limit);
    // One walk over the candidate range fetches every snippet: a rowid = ? probe per hit re-seeks the whole doclist
    // of a common word (~0.1 ms each).
    const seqs = top.map((t) => t.seq);
    if (seqs.length === 0) return { hits: [], candidates_capped: false };
    const rows = new Map(
      (stmt(db, SNIPPETS).all({ match, ids: JSON.stringify(seqs), lo: BigInt(Math.min(...seqs)), hi: BigInt(Math.max(...seqs)) }) as Array<MessageRow & { snippet: string }>).map((r) => [r.seq, r]),
    );
    const hits = top.flatMap(({ seq, score }) => {
      const row = rows.get(seq);
      return row ? [{ message: toMessage(row), snippet: row.snippet, score: Math.round(score * 1000) / 1000 }] : [];
    });
    return { hits, candidates_capped: candidates.length >= RELEVANCE_WINDOW };
  } catch (err) {
    if (err instanceof Error && (err as { code?: string }).code === 'SQLITE_ERROR') {
      throw new AppError('invalid_input', `q: not a valid search: ${err.message}`, {
        hint: q.mode === 'fts'
          ? 'mode=fts takes SQLite FTS5 syntax (words, "phrases", prefix*, AND, OR, NOT, NEAR()); use mode=words for plain text.'
          : 'Use plain words or "quoted phrases".',
      });
    }
    throw err;
  }
}

const FILTERS = `messages_fts MATCH @match AND messages_fts.rowid >= @lo AND messages_fts.rowid < @hi
  AND (@after IS NULL OR m.timestamp > @after) AND (@before IS NULL OR m.timestamp < @before)
  AND (@sender IS NULL OR m.sender = @sender OR m.sender = @sender_alt) AND (@from_me IS NULL OR m.from_me = @from_me)`;
const SNIPPET = `snippet(messages_fts, 0, '[', ']', '…', 16) AS snippet`;

// CROSS JOIN pins the FTS table as the outer loop: otherwise, with filters on messages, SQLite may walk a chat's
// messages and probe the FTS index once per row (~0.2 ms each for a common word).
const NEWEST = `SELECT ${MESSAGE_COLUMNS}, ${SNIPPET}
  FROM messages_fts CROSS JOIN messages m ON m.seq = messages_fts.rowid JOIN chats c ON c.key = m.chat
  WHERE ${FILTERS} ORDER BY messages_fts.rowid DESC LIMIT @limit`;
const CANDIDATES = `SELECT m.seq AS seq, m.body AS body
  FROM messages_fts CROSS JOIN messages m ON m.seq = messages_fts.rowid
  WHERE ${FILTERS} ORDER BY messages_fts.rowid DESC LIMIT @window`;
const SNIPPETS = `SELECT ${MESSAGE_COLUMNS}, ${SNIPPET}
  FROM messages_fts CROSS JOIN messages m ON m.seq = messages_fts.rowid JOIN chats c ON c.key = m.chat
  WHERE messages_fts MATCH @match AND messages_fts.rowid >= @lo AND messages_fts.rowid <= @hi
    AND +messages_fts.rowid IN (SELECT value FROM json_each(@ids))`; // unary + : a filter, not an FTS rowid lookup

// Statements are prepared once per database; preparing also surfaces FTS syntax errors only at run time, so the
// cache never holds a failed statement.
const cache = new WeakMap<Db, Map<string, ReturnType<Db['prepare']>>>();
function stmt(db: Db, sql: string): ReturnType<Db['prepare']> {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare(sql)));
  return s;
}
