package io.peerfs.chunk.disk;

import io.peerfs.chunk.ChunkKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * In-memory view of what the store holds, for space accounting and LRU order. Pinned
 * chunks are kept apart so eviction only ever walks evictable ones. Not thread-safe:
 * {@link DiskChunkStore} guards it with one lock.
 */
final class ChunkLru {
    /** One stored chunk; {@code lastAccessMs} is persisted lazily. */
    static final class Entry {
        final int length;
        final boolean pinned;
        long lastAccessMs;
        boolean accessDirty;

        Entry(int length, boolean pinned, long lastAccessMs) {
            this.length = length;
            this.pinned = pinned;
            this.lastAccessMs = lastAccessMs;
        }
    }

    private final LinkedHashMap<ChunkKey, Entry> unpinned = new LinkedHashMap<>(1024, 0.75f, true);
    private final Map<ChunkKey, Entry> pinned = new HashMap<>();
    private long usedBytes;
    private long pinnedBytes;
    private long reservedBytes;

    /** Adds or replaces a chunk; returns the entry it replaced, if any. */
    Entry add(ChunkKey key, Entry e) {
        Entry old = remove(key);
        (e.pinned ? pinned : unpinned).put(key, e);
        usedBytes += e.length;
        if (e.pinned) {
            pinnedBytes += e.length;
        }
        return old;
    }

    Entry remove(ChunkKey key) {
        Entry old = unpinned.remove(key);
        if (old == null) {
            old = pinned.remove(key);
        }
        if (old != null) {
            usedBytes -= old.length;
            if (old.pinned) {
                pinnedBytes -= old.length;
            }
        }
        return old;
    }

    /** Marks a chunk as just read (moves it to the young end of the LRU). */
    void touch(ChunkKey key, long nowMs) {
        Entry e = unpinned.get(key);
        if (e == null) {
            e = pinned.get(key);
        }
        if (e != null && e.lastAccessMs != nowMs) {
            e.lastAccessMs = nowMs;
            e.accessDirty = true;
        }
    }

    java.util.Set<ChunkKey> pinnedKeys() {
        return new java.util.HashSet<>(pinned.keySet());
    }

    boolean contains(ChunkKey key) {
        return unpinned.containsKey(key) || pinned.containsKey(key);
    }

    /** The least recently used unpinned chunk other than {@code except}, or null. */
    ChunkKey oldestUnpinned(ChunkKey except) {
        for (ChunkKey k : unpinned.keySet()) {
            if (!k.equals(except)) {
                return k;
            }
        }
        return null;
    }

    /** Entries whose access time changed since the last call, with the flag cleared. */
    List<Map.Entry<ChunkKey, Entry>> takeDirtyAccess() {
        List<Map.Entry<ChunkKey, Entry>> dirty = new ArrayList<>();
        for (Map<ChunkKey, Entry> m : List.of(unpinned, pinned)) {
            for (Map.Entry<ChunkKey, Entry> e : m.entrySet()) {
                if (e.getValue().accessDirty) {
                    e.getValue().accessDirty = false;
                    dirty.add(Map.entry(e.getKey(), e.getValue()));
                }
            }
        }
        return dirty;
    }

    void reserve(long bytes) {
        reservedBytes += bytes;
    }

    void unreserve(long bytes) {
        reservedBytes -= bytes;
    }

    long committedBytes() {
        return usedBytes + reservedBytes;
    }

    long usedBytes() {
        return usedBytes;
    }

    long pinnedBytes() {
        return pinnedBytes;
    }

    int count() {
        return unpinned.size() + pinned.size();
    }
}
