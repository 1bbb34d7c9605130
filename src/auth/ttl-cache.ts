// A bounded map whose entries expire; when it is full, an entry not used since it was added (or
// since its last second chance) goes first — the "second chance" approximation of least recently
// used. A hit only sets a flag: moving the entry to the end of the Map on every hit (delete, then
// set) made V8 rebuild the Map's whole table every few thousand hits, garbage that outlived the
// young generation and grew the heap (docs/explanation/performance.md, "Memory").

export type TtlCache<K, V> = {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  /** Drops every entry whose value matches (for invalidation by owner). */
  deleteWhere(predicate: (value: V) => boolean): void;
  readonly size: number;
};

type Entry<V> = { value: V; expiresAt: number; used: boolean };

export function createTtlCache<K, V>(options: { maxEntries: number; ttlMs: number; now?: () => number }): TtlCache<K, V> {
  const now = options.now ?? Date.now;
  // Map keeps insertion order: the first entry is the one that went longest without a move.
  const entries = new Map<K, Entry<V>>();
  const evictOne = (newest: K) => {
    for (const [key, entry] of entries) {
      if (key === newest) continue; // not before it had its chance to be used
      entries.delete(key);
      if (!entry.used || entry.expiresAt <= now()) return;
      entry.used = false; // used since it was added: a second chance, at the end
      entries.set(key, entry);
    }
  };
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= now()) {
        entries.delete(key);
        return undefined;
      }
      entry.used = true;
      return entry.value;
    },
    set(key, value) {
      entries.delete(key);
      entries.set(key, { value, expiresAt: now() + options.ttlMs, used: false });
      if (entries.size > options.maxEntries) evictOne(key);
    },
    deleteWhere(predicate) {
      for (const [key, entry] of entries) if (predicate(entry.value)) entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
}
