package io.peerfs.fetch;

import io.peerfs.chunk.ChunkKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The last few chunks this node fetched, in memory: off-heap, least recently used replaced
 * first, so a reader walking a chunk in 128 KiB requests is served from the buffer the chunk
 * was fetched into. Used for chunks fetched from peers when the node keeps no copies
 * ({@code --no-keep-peer-chunks}), for chunks read while the cache disk takes none, and for
 * chunks just loaded into the store, whose files are written past the page cache. A slot
 * being refilled for another chunk is never read: readers and the refill take the slot's
 * lock, and a reader checks the slot still holds its key.
 */
final class ChunkWindow {
    /** A chunk-sized off-heap buffer and the chunk it holds (null while refilling). */
    private static final class Slot {
        final ByteBuffer buf;
        ChunkKey key;
        /** Bytes copied out since the fill. */
        long served;

        Slot(int chunkSize) {
            // page-aligned, so the cache disk can take it with direct I/O
            buf = ByteBuffer.allocateDirect(chunkSize + PAGE).alignedSlice(PAGE).limit(chunkSize);
        }
    }

    /** Fills a buffer with a chunk; false when it could not. */
    @FunctionalInterface
    interface Fill {
        boolean into(ByteBuffer dst) throws IOException;
    }

    private static final int PAGE = 4096;

    private final int chunkSize;
    private final int capacity;
    private final boolean dropWhenRead;
    private final LinkedHashMap<ChunkKey, Slot> slots = new LinkedHashMap<>(16, 0.75f, true);
    /** Slots given up by chunks read to the end, for the next fills. */
    private final ArrayDeque<Slot> free = new ArrayDeque<>();

    /**
     * @param dropWhenRead give a chunk's slot up once as many bytes were read from it as it
     *     holds (a sequential reader is done with it; later readers find it in the store)
     */
    ChunkWindow(int chunkSize, int capacity, boolean dropWhenRead) {
        this.chunkSize = chunkSize;
        this.capacity = Math.max(2, capacity);
        this.dropWhenRead = dropWhenRead;
    }

    boolean contains(ChunkKey key) {
        synchronized (slots) {
            return slots.containsKey(key);
        }
    }

    /**
     * Copies from the chunk, at {@code offsetInChunk}, up to {@code dst.remaining()} bytes.
     *
     * @return bytes copied, or -1 when the window does not hold the chunk
     */
    int read(ChunkKey key, long offsetInChunk, ByteBuffer dst) {
        Slot s;
        synchronized (slots) {
            s = slots.get(key);
        }
        if (s == null) {
            return -1;
        }
        synchronized (s) {
            if (!key.equals(s.key)) {
                return -1; // refilled for another chunk since we looked it up
            }
            int from = (int) Math.min(offsetInChunk, s.buf.limit());
            int n = Math.min(dst.remaining(), s.buf.limit() - from);
            dst.put(s.buf.slice(from, n));
            s.served += n;
            if (dropWhenRead && s.served >= s.buf.limit()) {
                synchronized (slots) {
                    if (slots.remove(key, s) && free.size() < capacity) {
                        s.key = null;
                        free.push(s);
                    }
                }
            }
            return n;
        }
    }

    /** Fills a slot (the least recently used one once all are taken) with the chunk. */
    boolean fill(ChunkKey key, int length, Fill fill) throws IOException {
        Slot s = takeSlot();
        synchronized (s) {
            s.key = null;
            s.buf.clear().limit(length);
            if (!fill.into(s.buf)) {
                return false; // the slot is dropped; the next fill allocates one
            }
            s.buf.flip();
            s.key = key;
            s.served = 0;
        }
        synchronized (slots) {
            slots.put(key, s);
            Iterator<Slot> eldest = slots.values().iterator();
            while (slots.size() > capacity) { // fills ran side by side: drop the extra slots
                eldest.next();
                eldest.remove();
            }
        }
        return true;
    }

    private Slot takeSlot() {
        synchronized (slots) {
            if (!free.isEmpty()) {
                return free.pop();
            }
            if (slots.size() < capacity) {
                return new Slot(chunkSize);
            }
            Iterator<Slot> eldest = slots.values().iterator();
            Slot s = eldest.next();
            eldest.remove();
            return s;
        }
    }
}
