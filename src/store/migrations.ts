// Schema migrations, applied in order by `PRAGMA user_version`. Append new ones (outbox, event log, ...) at the end;
// never edit one that has shipped.
import type Database from 'better-sqlite3';
import { EVENT_LOG_ID_SCHEMA, EVENTS_SCHEMA } from '../events/event-log.js';
import { WEBHOOK_SCHEMA } from '../events/webhook-store.js';
import { ID_INDEX_SCHEMA } from './id-index.js';
import { LID_MAP_SCHEMA } from './lid-map.js';
import { OUTBOX_SCHEMA } from './outbox-store.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'messages, chats, contacts',
    up: (db) =>
      db.exec(`
        CREATE TABLE chats (
          key INTEGER PRIMARY KEY,          -- small integer key: keeps the per-chat message index compact
          id TEXT NOT NULL UNIQUE,
          name TEXT,
          is_group INTEGER NOT NULL DEFAULT 0,
          is_read_only INTEGER NOT NULL DEFAULT 0,
          unread_count INTEGER NOT NULL DEFAULT 0,
          timestamp INTEGER NOT NULL DEFAULT 0,
          archived INTEGER NOT NULL DEFAULT 0,
          pinned INTEGER NOT NULL DEFAULT 0,
          muted INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX chats_by_time ON chats(timestamp);
        CREATE TABLE contacts (
          id TEXT PRIMARY KEY,
          name TEXT,
          pushname TEXT,
          number TEXT,
          is_my_contact INTEGER NOT NULL DEFAULT 0
        );
        -- seq = timestamp * 1e6 + n: rowid order is time order, so "newest first" anywhere (chat pages, FTS hits)
        -- is a rowid walk, and a cursor is one integer.
        CREATE TABLE messages (
          seq INTEGER PRIMARY KEY,
          id TEXT NOT NULL,
          id_key INTEGER NOT NULL,          -- 53-bit hash of id: an integer index is ~3x smaller than one on the text
          chat INTEGER NOT NULL,            -- chats.key
          from_id TEXT NOT NULL,
          to_id TEXT NOT NULL,
          author TEXT,
          sender TEXT NOT NULL,             -- author in groups, else from
          from_me INTEGER NOT NULL,
          type TEXT NOT NULL,
          body TEXT NOT NULL,
          timestamp INTEGER NOT NULL,
          has_media INTEGER NOT NULL,
          ack INTEGER,                      -- index into ACK_STATES
          edited INTEGER NOT NULL DEFAULT 0,
          revoked INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX messages_by_id ON messages(id_key);
        CREATE INDEX messages_by_chat ON messages(chat, seq);
      `),
  },
  {
    version: 2,
    name: 'full-text search',
    up: (db) =>
      db.exec(`
        -- Rows waiting to be indexed. The FTS table is filled from here in chunks (no per-row trigger: a trigger
        -- makes every insert pay for tokenising, 43k rows/s against ~200k/s in batches).
        CREATE TABLE fts_pending (seq INTEGER PRIMARY KEY);
        -- scope holds one token per message ('k' || chat key) so a chat filter is part of the FTS match instead
        -- of a post-filter that would walk every hit of a common word.
        CREATE VIEW messages_fts_source AS SELECT seq, body, 'k' || chat AS scope FROM messages;
        CREATE VIRTUAL TABLE messages_fts USING fts5(
          body, scope,
          content = 'messages_fts_source', content_rowid = 'seq',
          tokenize = 'unicode61 remove_diacritics 2'
        );
        -- Bigger leaf pages and lazier merging: ~20% faster bulk indexing for slightly more segments to read.
        INSERT INTO messages_fts(messages_fts, rank) VALUES ('pgsz', 4050);
        INSERT INTO messages_fts(messages_fts, rank) VALUES ('automerge', 8);
        INSERT INTO fts_pending(seq) SELECT seq FROM messages WHERE revoked = 0;
      `),
  },
  {
    version: 3,
    name: 'outbox',
    up: (db) => db.exec(OUTBOX_SCHEMA),
  },
  {
    version: 4,
    name: 'event log, webhook deliveries',
    up: (db) => db.exec(EVENTS_SCHEMA + WEBHOOK_SCHEMA),
  },
  {
    version: 5,
    name: 'search index by high-water mark',
    up: (db) =>
      db.exec(`
        -- Rows with seq <= indexed_to are indexed unless listed in fts_pending; rows above it are indexed by a rowid
        -- walk. seq is time-ordered, so new messages land above the mark and cost no fts_pending insert and delete
        -- (fts_pending keeps only history older than the newest row, and edits).
        CREATE TABLE fts_state (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_to INTEGER NOT NULL);
        -- Everything stored so far is either indexed or already listed in fts_pending.
        INSERT INTO fts_state (id, indexed_to) SELECT 1, coalesce(max(seq), 0) FROM messages;
        -- FTS5 flushes its in-memory term hash to a new segment whenever it exceeds hashsize (default 1 MB): a few
        -- segments per indexer chunk, then merges. Above any chunk's size (INDEX_CHUNK_MAX rows is ~10 MB) each chunk
        -- is one segment: ~20-40% faster indexing (bench/store.ts). Memory is bounded by the chunk, not by this.
        INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', 67108864);
      `),
  },
  {
    version: 6,
    name: 'message ids merged by the indexer',
    up: (db) => db.exec(ID_INDEX_SCHEMA),
  },
  {
    version: 7,
    name: 'full messaging: media, replies, reactions, locations, polls; outbox content kinds',
    up: (db) =>
      db.exec(`
        -- JSON (rows.ts MessageExtra): rare and never filtered on, so one nullable column costs a plain text row nothing.
        ALTER TABLE messages ADD COLUMN extra TEXT;
        -- JSON (outbox-store.ts OutboxContent); NULL is a plain text send, as every row before this migration.
        ALTER TABLE outbox ADD COLUMN content TEXT;
      `),
  },
  {
    version: 8,
    name: 'queued sends expire',
    up: (db) =>
      db.exec(`
        -- Unix ms: a send still queued then fails as expired and is never sent (outbox-store.ts). Rows from before get
        -- the default WHATSAPP_QUEUE_MAX_AGE_SECONDS (24 h) after they were accepted; a backlog older than that fails
        -- at the first start of this version instead of going out days late.
        ALTER TABLE outbox ADD COLUMN expires_at INTEGER;
        UPDATE outbox SET expires_at = created_at + 86400000;
      `),
  },
  {
    version: 9,
    name: 'linked ids (lid -> phone), fuller contacts',
    up: (db) =>
      db.exec(`${LID_MAP_SCHEMA}
        ALTER TABLE contacts ADD COLUMN lid TEXT;
        ALTER TABLE contacts ADD COLUMN business_name TEXT;
        ALTER TABLE contacts ADD COLUMN is_business INTEGER NOT NULL DEFAULT 0;
      `),
  },
  {
    version: 10,
    name: 'event log id (webhook ids unique across accounts and re-created accounts)',
    up: (db) => db.exec(EVENT_LOG_ID_SCHEMA),
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
