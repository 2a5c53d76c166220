package io.peerfs.chunk.disk;

import io.peerfs.chunk.ChunkKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * In-memory view of what the store holds, for space accounting and LRU order. Pinned
 * chunks are kept apart so eviction only ever walks evictable ones; resident chunks (of
 * paths pinned with {@code peerfs cache pin}, {@code group} names the pin) are a second LRU
 * that eviction reaches only when the ordinary one is empty, and that holds at most a limit
 * of bytes: past it its oldest become ordinary. Not thread-safe: {@link DiskChunkStore}
 * guards it with one lock.
 */
final class ChunkLru {
    /** One stored chunk; {@code lastAccessMs} is persisted lazily. */
    static final class Entry {
        final int length;
        final boolean pinned;
        /** Nonzero while resident: the pin ({@link ChunkMeta#group}) that keeps it. */
        long group;
        long lastAccessMs;
        boolean accessDirty;

        Entry(int length, boolean pinned, long lastAccessMs) {
            this(length, pinned, lastAccessMs, 0);
        }

        Entry(int length, boolean pinned, long lastAccessMs, long group) {
            this.length = length;
            this.pinned = pinned;
            this.lastAccessMs = lastAccessMs;
            this.group = pinned ? 0 : group;
        }
    }

    private final LinkedHashMap<ChunkKey, Entry> unpinned = new LinkedHashMap<>(1024, 0.75f, true);
    private final LinkedHashMap<ChunkKey, Entry> resident = new LinkedHashMap<>(1024, 0.75f, true);
    private final Map<ChunkKey, Entry> pinned = new HashMap<>();
    private long usedBytes;
    private long pinnedBytes;
    private long residentBytes;
    private long reservedBytes;

    /** Adds or replaces a chunk; returns the entry it replaced, if any. */
    Entry add(ChunkKey key, Entry e) {
        Entry old = remove(key);
        (e.pinned ? pinned : e.group != 0 ? resident : unpinned).put(key, e);
        usedBytes += e.length;
        if (e.pinned) {
            pinnedBytes += e.length;
        } else if (e.group != 0) {
            residentBytes += e.length;
        }
        return old;
    }

    Entry remove(ChunkKey key) {
        Entry old = unpinned.remove(key);
        if (old == null) {
            old = resident.remove(key);
            if (old == null) {
                old = pinned.remove(key);
            }
        }
        if (old != null) {
            usedBytes -= old.length;
            if (old.pinned) {
                pinnedBytes -= old.length;
            } else if (old.group != 0) {
                residentBytes -= old.length;
            }
        }
        return old;
    }

    /**
     * Makes a stored unpinned chunk resident for pin {@code group}, making room among the
     * resident ones by turning their oldest ordinary (their keys go to {@code regrouped}, with
     * the key itself when its group changed; each with its group now).
     *
     * @return false when the chunk is not here, is pinned, or is larger than {@code limit}
     */
    boolean makeResident(ChunkKey key, long group, long limit, Map<ChunkKey, Long> regrouped) {
        Entry e = resident.get(key);
        if (e != null) {
            if (e.group != group) {
                e.group = group;
                regrouped.put(key, group);
            }
            return true;
        }
        e = unpinned.get(key);
        if (e == null || e.length > limit) {
            return false;
        }
        while (residentBytes + e.length > limit) {
            ChunkKey oldest = resident.keySet().iterator().next();
            demote(oldest);
            regrouped.put(oldest, 0L);
        }
        unpinned.remove(key);
        e.group = group;
        resident.put(key, e);
        residentBytes += e.length;
        regrouped.put(key, group);
        return true;
    }

    /** Turns every resident chunk of pin {@code group} ordinary; returns their keys. */
    List<ChunkKey> release(long group) {
        List<ChunkKey> out = new ArrayList<>();
        for (Map.Entry<ChunkKey, Entry> e : resident.entrySet()) {
            if (e.getValue().group == group) {
                out.add(e.getKey());
            }
        }
        out.forEach(this::demote);
        return out;
    }

    /** Turns the oldest resident chunks ordinary until at most {@code limit} bytes are resident. */
    List<ChunkKey> trimResident(long limit) {
        List<ChunkKey> out = new ArrayList<>();
        while (residentBytes > limit) {
            ChunkKey oldest = resident.keySet().iterator().next();
            demote(oldest);
            out.add(oldest);
        }
        return out;
    }

    /** A resident chunk becomes ordinary, at the young end of the LRU (it was just resident). */
    private void demote(ChunkKey key) {
        Entry e = resident.remove(key);
        residentBytes -= e.length;
        e.group = 0;
        unpinned.put(key, e);
    }

    /** Marks a chunk as just read (moves it to the young end of the LRU). */
    void touch(ChunkKey key, long nowMs) {
        Entry e = unpinned.get(key);
        if (e == null) {
            e = resident.get(key);
        }
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
        return unpinned.containsKey(key) || resident.containsKey(key) || pinned.containsKey(key);
    }

    /**
     * The least recently used unpinned chunk other than {@code except}, or null: an ordinary
     * one while there is any, else a resident one.
     */
    ChunkKey oldestUnpinned(ChunkKey except) {
        for (Map<ChunkKey, Entry> m : List.of(unpinned, resident)) {
            for (ChunkKey k : m.keySet()) {
                if (!k.equals(except)) {
                    return k;
                }
            }
        }
        return null;
    }

    /** Entries whose access time changed since the last call, with the flag cleared. */
    List<Map.Entry<ChunkKey, Entry>> takeDirtyAccess() {
        List<Map.Entry<ChunkKey, Entry>> dirty = new ArrayList<>();
        for (Map<ChunkKey, Entry> m : List.of(unpinned, resident, pinned)) {
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

    long residentBytes() {
        return residentBytes;
    }

    int count() {
        return unpinned.size() + resident.size() + pinned.size();
    }
}
