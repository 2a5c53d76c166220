package io.peerfs.fetch;

import io.peerfs.chunk.ChunkKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The last few chunks fetched from peers when the node does not keep copies of them in its
 * chunk store ({@code --no-keep-peer-chunks}): off-heap, least recently used replaced first,
 * so a reader walking a chunk in 128 KiB requests fetches it from the peer once, not once
 * per request. A slot being refilled for another chunk is never read: readers and the
 * refill take the slot's lock, and a reader checks the slot still holds its key.
 */
final class PeerChunkWindow {
    /** A chunk-sized off-heap buffer and the chunk it holds (null while refilling). */
    private static final class Slot {
        final ByteBuffer buf;
        ChunkKey key;

        Slot(int chunkSize) {
            buf = ByteBuffer.allocateDirect(chunkSize);
        }
    }

    /** Fills a buffer with a chunk; false when it could not. */
    @FunctionalInterface
    interface Fill {
        boolean into(ByteBuffer dst) throws IOException;
    }

    private final int chunkSize;
    private final int capacity;
    private final LinkedHashMap<ChunkKey, Slot> slots = new LinkedHashMap<>(16, 0.75f, true);

    PeerChunkWindow(int chunkSize, int capacity) {
        this.chunkSize = chunkSize;
        this.capacity = Math.max(2, capacity);
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
