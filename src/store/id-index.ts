// Message id → seq, without a random-order index on the hot write path.
//
// WhatsApp ids are random: an index on them takes every insert at a random leaf, and at 1M rows a 10k-message
// batch dirtied most of that index's pages (writes alone went 55k → 101k msg/s without it, bench/store.ts). So ids
// live in two places: `msg_ids` on disk, merged by the search indexer in big chunks (one pass over the index per
// chunk instead of one random page per row), and `tail`, a map of the ids written since, which the indexer has not
// merged yet. The unmerged rows are exactly the ones the search index has not reached (above `fts_state.indexed_to`
// or listed in `fts_pending`), so after a crash the tail is rebuilt from them and nothing is missed.
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { idKey } from './rows.js';

export const ID_INDEX_SCHEMA = `
CREATE TABLE msg_ids (
  id_key INTEGER NOT NULL,   -- idKey(id); lookups compare the full id in messages, so a collision is harmless
  seq INTEGER NOT NULL,
  PRIMARY KEY (id_key, seq)
) WITHOUT ROWID;
INSERT INTO msg_ids (id_key, seq) SELECT id_key, seq FROM messages ORDER BY id_key, seq;
DROP INDEX messages_by_id;
`;

/** Merged ids kept in memory too: acks and edits come for recent messages, and a statement call costs ~3 us here. */
const RECENT_MAX = 50_000;
/**
 * Up to this many unmerged ids, merged() walks the whole tail (~0.1 µs an entry); above it, the indexer's transaction
 * reads the ids it merged (~1–2 µs a row), so a commit costs its own rows, not the lag: a walk of a ~170k-id tail took
 * 17.5 ms of CPU in one 346-row slice (bench:history).
 */
const WALK_MAX = 20_000;

export class IdIndex {
  private tail = new Map<string, number>();
  /** Ids merged lately, oldest first (Map keeps insertion order). */
  private readonly recent = new Map<string, number>();
  /** What the indexer's transaction merged: the ids it read (a large tail), or the bounds to walk the tail with. */
  private merging: Array<{ id: string; seq: number }> | null = null;
  private bounds: { pendingHi: number | null; from: number; to: number | null } = { pendingHi: null, from: 0, to: null };
  private readonly q: Record<'find' | 'unmerged' | 'mergeRange' | 'mergePending' | 'rangeIds' | 'pendingIds', Statement>;

  constructor(private readonly db: Db) {
    this.q = {
      find: db.prepare('SELECT m.seq FROM msg_ids i CROSS JOIN messages m ON m.seq = i.seq WHERE i.id_key = ? AND m.id = ?').pluck(),
      unmerged: db.prepare(`SELECT seq, id FROM messages WHERE seq > (SELECT indexed_to FROM fts_state)
        UNION ALL SELECT m.seq, m.id FROM fts_pending p CROSS JOIN messages m ON m.seq = p.seq`),
      // Sorted by key: the merge walks msg_ids once, front to back, instead of jumping around it.
      mergeRange: db.prepare('INSERT OR IGNORE INTO msg_ids (id_key, seq) SELECT id_key, seq FROM messages WHERE seq > ? AND seq <= ? ORDER BY id_key'),
      mergePending: db.prepare(`INSERT OR IGNORE INTO msg_ids (id_key, seq)
        SELECT m.id_key, m.seq FROM fts_pending p CROSS JOIN messages m ON m.seq = p.seq WHERE p.seq <= ? ORDER BY m.id_key`),
      rangeIds: db.prepare('SELECT id, seq FROM messages WHERE seq > ? AND seq <= ?'),
      pendingIds: db.prepare('SELECT m.id, m.seq FROM fts_pending p CROSS JOIN messages m ON m.seq = p.seq WHERE p.seq <= ?'),
    };
    this.reload();
  }

  /** seq of the stored message with this id, if any. */
  find(id: string): number | undefined {
    return this.tail.get(id) ?? this.recent.get(id) ?? (this.q.find.get(idKey(id), id) as number | undefined);
  }

  /** A row was just inserted (inside the writer's transaction). */
  added(id: string, seq: number): void {
    this.tail.set(id, seq);
  }

  /**
   * Inside the indexer's transaction, before it unlists pending rows: merge the listed rows up to `pendingHi` and
   * the walked range (from, to]. With a large tail, also read their ids, so merged() costs the rows merged.
   */
  merge(pendingHi: number | null, from: number, to: number | null): void {
    const read = this.tail.size > WALK_MAX;
    if (read) this.merging ??= [];
    if (pendingHi !== null) {
      this.q.mergePending.run(pendingHi);
      this.bounds.pendingHi = pendingHi;
      if (read) this.merging = this.merging!.concat(this.q.pendingIds.all(pendingHi) as Array<{ id: string; seq: number }>);
    }
    if (to !== null) {
      this.q.mergeRange.run(from, to);
      this.bounds.from = from;
      this.bounds.to = to;
      if (read) this.merging = this.merging!.concat(this.q.rangeIds.all(from, to) as Array<{ id: string; seq: number }>);
    }
  }

  /** After the indexer's transaction: if it committed, forget what msg_ids now holds. */
  merged(committed: boolean): void {
    const rows = this.merging;
    const { pendingHi, from, to } = this.bounds;
    this.merging = null;
    this.bounds = { pendingHi: null, from: 0, to: null };
    if (!committed || (pendingHi === null && to === null)) return;
    const moved = (id: string, seq: number) => {
      this.tail.delete(id);
      this.recent.delete(id);
      this.recent.set(id, seq);
    };
    if (rows) {
      for (const { id, seq } of rows) if (this.tail.get(id) === seq) moved(id, seq);
    } else {
      for (const [id, seq] of this.tail) {
        if ((pendingHi !== null && seq <= pendingHi) || (to !== null && seq > from && seq <= to)) moved(id, seq);
      }
    }
    for (const id of this.recent.keys()) {
      if (this.recent.size <= RECENT_MAX) break;
      this.recent.delete(id);
    }
  }

  /** Rebuild the tail from the table (at open, and after a rolled-back write). */
  reload(): void {
    this.tail = new Map();
    for (const r of this.q.unmerged.iterate() as IterableIterator<{ seq: number; id: string }>) this.tail.set(r.id, r.seq);
  }
}
