// A bounded map whose entries expire: least recently used entries go first when it is full.
// Map keeps insertion order, so re-inserting on a hit is enough to track recency.

export type TtlCache<K, V> = {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  /** Drops every entry whose value matches (for invalidation by owner). */
  deleteWhere(predicate: (value: V) => boolean): void;
  readonly size: number;
};

export function createTtlCache<K, V>(options: { maxEntries: number; ttlMs: number; now?: () => number }): TtlCache<K, V> {
  const now = options.now ?? Date.now;
  const entries = new Map<K, { value: V; expiresAt: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      entries.delete(key);
      if (entry.expiresAt <= now()) return undefined;
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value) {
      entries.delete(key);
      entries.set(key, { value, expiresAt: now() + options.ttlMs });
      if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value as K);
    },
    deleteWhere(predicate) {
      for (const [key, entry] of entries) if (predicate(entry.value)) entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
}
