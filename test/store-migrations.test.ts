import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion, type Db } from '../src/store/db.js';
import { MessageStore } from '../src/store/message-store.js';
import { LATEST_VERSION, MIGRATIONS } from '../src/store/migrations.js';
import { idKey } from '../src/store/rows.js';

const dirs: string[] = [];
function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-mig-'));
  dirs.push(dir);
  return path.join(dir, 'data', 'whatsapp.db');
}
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function schema(db: Db): string[] {
  return (db.prepare(`SELECT type, name, sql FROM sqlite_master ORDER BY name`).all() as Array<{ type: string; name: string; sql: string | null }>).map(
    (r) => `${r.type} ${r.name} ${r.sql ?? ''}`,
  );
}

describe('store migrations', () => {
  it('creates the latest schema from an empty file, private (0600) and in WAL mode', () => {
    const file = tempFile();
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    db.close();
  });

  it.each(MIGRATIONS.slice(0, -1).map((m) => m.version).concat(0))('upgrades from version %i to the same schema as a fresh file', (from) => {
    const fresh = openDatabase(':memory:');
    const file = tempFile();
    const old = openDatabase(file, { targetVersion: from });
    expect(schemaVersion(old)).toBe(from);
    old.close();
    const upgraded = openDatabase(file);
    expect(schemaVersion(upgraded)).toBe(LATEST_VERSION);
    expect(schema(upgraded)).toEqual(schema(fresh));
    upgraded.close();
    fresh.close();
  });

  it('indexes messages a version-1 store already held, so they are searchable after the upgrade', () => {
    const file = tempFile();
    const v1 = openDatabase(file, { targetVersion: 1 });
    v1.prepare(`INSERT INTO chats (key, id, name) VALUES (1, '15550001001@c.us', 'Alice')`).run();
    v1.prepare(`INSERT INTO messages (seq, id, id_key, chat, from_id, to_id, author, sender, from_me, type, body, timestamp, has_media, ack)
      VALUES (1700000000000000, 'old_1', ?, 1, '15550001001@c.us', 'me@c.us', NULL, '15550001001@c.us', 0, 'chat', 'the quarterly invoice', 1700000000, 0, NULL)`).run(idKey('old_1'));
    v1.close();

    const store = new MessageStore(openDatabase(file));
    const found = store.searchMessages({ q: 'invoice', mode: 'words', order: 'newest', limit: 5 });
    expect(found.hits.map((h) => h.message.id)).toEqual(['old_1']);
    expect(store.getMessage('old_1')?.body).toBe('the quarterly invoice');
    store.close();
  });

  it('reopening the latest version keeps the data and changes nothing', () => {
    const file = tempFile();
    const db = openDatabase(file);
    db.prepare(`INSERT INTO contacts (id, name) VALUES ('1@c.us', 'Zed')`).run();
    const before = schema(db);
    db.close();
    const again = openDatabase(file);
    expect(schema(again)).toEqual(before);
    expect(again.prepare('SELECT name FROM contacts').pluck().get()).toBe('Zed');
    again.close();
  });

  it('refuses a file written by a newer build instead of guessing', () => {
    const file = tempFile();
    const db = openDatabase(file);
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    db.close();
    expect(() => openDatabase(file)).toThrow(/newer than this build supports/);
  });
});
