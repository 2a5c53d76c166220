package io.peerfs.fetch;

import io.peerfs.chunk.ChunkKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;

/**
 * The last few chunks this node fetched, in memory: off-heap, least recently used replaced
 * first, so a reader walking a chunk in 128 KiB requests is served from the buffer the chunk
 * was fetched into. Used for chunks fetched from peers when the node keeps no copies
 * ({@code --no-keep-peer-chunks}), for chunks read while the cache disk takes none, and for
 * chunks just loaded into the store, whose files are written past the page cache. A slot
 * being refilled for another chunk is never read: readers and the refill take the slot's
 * lock, and a reader checks the slot still holds its key. Where the buffers have a file
 * descriptor ({@link ChunkMemory}), bytes can be {@linkplain #hold held} instead of copied:
 * the slot is then neither refilled nor given up for another chunk until the hold is released.
 * A chunk {@linkplain #fillAndKeep kept} after its fill (while its file is written behind the
 * readers) stays readable here until it is let go, even when read to the end.
 */
final class ChunkWindow {
    /** A chunk-sized page-aligned off-heap buffer and the chunk it holds (null while refilling). */
    private static final class Slot {
        final ByteBuffer buf;
        /** Where the buffer's bytes are in a file descriptor, or -1: replies from it are copied. */
        final int fd;
        final long fdOffset;
        ChunkKey key;
        /** Bytes copied out since the fill. */
        long served;
        /** Holds on its bytes ({@link HeldBytes} not yet closed); guarded by the window's map. */
        int pins;
        /** Given up while held: it goes to the free slots when the last hold is released. */
        boolean dropped;
        /** Keeps ({@link Kept} not yet closed): the slot stays in the map though read to the end. */
        int keeps;

        Slot(ByteBuffer buf, int fd, long fdOffset) {
            this.buf = buf;
            this.fd = fd;
            this.fdOffset = fdOffset;
        }

        /** Memory of the window's own: kept for refills, never let go. */
        boolean regionSlot() {
            return fd >= 0;
        }
    }

    /** Fills a buffer with a chunk; false when it could not. */
    @FunctionalInterface
    interface Fill {
        boolean into(ByteBuffer dst) throws IOException;
    }

    /**
     * A chunk just filled, kept in the window and its slot held until {@link #close}: what the
     * chunk's file is written from while readers are served from the same bytes.
     */
    final class Kept implements AutoCloseable {
        private final Slot slot;
        private final ChunkKey key;
        private boolean closed;

        private Kept(Slot slot, ChunkKey key) {
            this.slot = slot;
            this.key = key;
        }

        /** The chunk's bytes, position 0 to its length; read only them. */
        ByteBuffer bytes() {
            return slot.buf.duplicate();
        }

        /** Lets the window give the chunk up as usual (at once, if it was read to the end meanwhile). */
        @Override
        public void close() {
            synchronized (slot) {
                if (closed) {
                    return;
                }
                closed = true;
                synchronized (slots) {
                    slot.keeps--;
                    slot.pins--;
                    if (slot.keeps == 0 && dropWhenRead && slot.served >= slot.buf.limit() && slots.remove(key, slot)) {
                        if (slot.pins > 0) {
                            slot.dropped = true;
                        } else {
                            giveUp(slot);
                        }
                    } else if (slot.pins == 0 && slot.dropped) {
                        slot.dropped = false;
                        giveUp(slot);
                    }
                }
            }
        }
    }

    private static final int PAGE = 4096;

    private final int chunkSize;
    private final int capacity;
    private final boolean dropWhenRead;
    /** Memory with a file descriptor for the window's first slots; the next ones are plain off-heap. */
    private final ChunkMemory.Region[] regions;
    /** Slots made so far (regions used first). */
    private int made;
    private final LinkedHashMap<ChunkKey, Slot> slots = new LinkedHashMap<>(16, 0.75f, true);
    /** Slots given up by chunks read to the end, for the next fills; never held. */
    private final ArrayDeque<Slot> free = new ArrayDeque<>();

    ChunkWindow(int chunkSize, int capacity, boolean dropWhenRead) {
        this(chunkSize, capacity, dropWhenRead, ChunkMemory.OFF_HEAP);
    }

    /**
     * @param dropWhenRead give a chunk's slot up once as many bytes were read from it as it
     *     holds (a sequential reader is done with it; later readers find it in the store)
     * @param memory where the slots' buffers live
     */
    ChunkWindow(int chunkSize, int capacity, boolean dropWhenRead, ChunkMemory memory) {
        this.chunkSize = chunkSize;
        this.capacity = Math.max(2, capacity);
        this.dropWhenRead = dropWhenRead;
        this.regions = memory.regions(this.capacity, chunkSize);
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
            served(key, s, n);
            return n;
        }
    }

    /**
     * Holds up to {@code length} bytes of the chunk from {@code offsetInChunk} where they are,
     * when its buffer has a file descriptor: counted as read, and the buffer not refilled until
     * the hold is closed.
     *
     * @return the hold, or null when the window does not hold the chunk in such a buffer
     */
    HeldBytes hold(ChunkKey key, long offsetInChunk, int length) {
        Slot s;
        synchronized (slots) {
            s = slots.get(key);
        }
        if (s == null || s.fd < 0) {
            return null;
        }
        synchronized (s) {
            int from = (int) Math.min(offsetInChunk, s.buf.limit());
            int n = Math.min(length, s.buf.limit() - from);
            synchronized (slots) {
                // still this chunk's and in the map: no fill can take it from here on
                if (n <= 0 || !key.equals(s.key) || slots.get(key) != s) {
                    return null;
                }
                s.pins++;
            }
            served(key, s, n);
            return new HeldBytes(this, s, s.fd, s.fdOffset + from, n);
        }
    }

    /** Ends a hold: a slot given up meanwhile goes to the free ones with its last hold. */
    void release(Object held) {
        Slot s = (Slot) held;
        synchronized (slots) {
            if (--s.pins == 0 && s.dropped) {
                s.dropped = false;
                giveUp(s);
            }
        }
    }

    /** Counts bytes read from a slot; called holding its lock. */
    private void served(ChunkKey key, Slot s, int n) {
        s.served += n;
        if (dropWhenRead && s.served >= s.buf.limit() && s.keeps == 0) {
            synchronized (slots) {
                if (slots.remove(key, s)) {
                    if (s.pins > 0) {
                        s.dropped = true; // its bytes are still being read: free once released
                    } else {
                        giveUp(s);
                    }
                }
            }
        }
    }

    /** A slot out of the map and not held, for the next fills; called holding the map's lock. */
    private void giveUp(Slot s) {
        if (s.regionSlot() || free.size() < capacity) {
            s.key = null;
            free.push(s);
        }
    }

    /** Fills a slot (the least recently used one once all are taken) with the chunk. */
    boolean fill(ChunkKey key, int length, Fill fill) throws IOException {
        return fillSlot(key, length, fill, false) != null;
    }

    /**
     * Fills a slot with the chunk, as {@link #fill}, and keeps it: readers are served from it,
     * and it is neither refilled nor given up, until the returned {@link Kept} is closed.
     *
     * @return the kept chunk, or null when {@code fill} could not fill it
     */
    Kept fillAndKeep(ChunkKey key, int length, Fill fill) throws IOException {
        Slot s = fillSlot(key, length, fill, true);
        return s == null ? null : new Kept(s, key);
    }

    /** @return the slot filled and in the map (held with {@code keep}), or null when not filled */
    private Slot fillSlot(ChunkKey key, int length, Fill fill, boolean keep) throws IOException {
        Slot s = takeSlot();
        synchronized (s) {
            s.key = null;
            s.buf.clear().limit(length);
            if (!fill.into(s.buf)) {
                return null; // the slot is dropped, as after a failure: what gave up on it may still write there
            }
            s.buf.flip();
            s.key = key;
            s.served = 0;
        }
        synchronized (slots) {
            if (keep) {
                s.keeps++;
                s.pins++;
            }
            Slot before = slots.put(key, s);
            if (before != null && before != s) { // filled twice side by side: the older copy goes
                if (before.pins > 0) {
                    before.dropped = true;
                } else {
                    giveUp(before);
                }
            }
            Iterator<Slot> eldest = slots.values().iterator();
            while (slots.size() > capacity && eldest.hasNext()) { // fills ran side by side: drop extra slots
                Slot old = eldest.next();
                if (old.pins == 0) {
                    eldest.remove();
                    if (old.regionSlot()) {
                        old.key = null;
                        free.push(old);
                    }
                }
            }
        }
        return s;
    }

    /**
     * A slot to refill, out of the map and not held: a free one, a new one while fewer than the
     * capacity were made, else the least recently used one not held (or a new plain one when
     * all are held).
     */
    private Slot takeSlot() {
        synchronized (slots) {
            if (!free.isEmpty()) {
                return free.pop();
            }
            if (made < capacity) {
                made++;
                return made <= regions.length ? regionSlot(regions[made - 1]) : plainSlot();
            }
            for (Iterator<Slot> it = slots.values().iterator(); it.hasNext(); ) {
                Slot s = it.next();
                if (s.pins == 0) {
                    it.remove();
                    return s;
                }
            }
            return plainSlot();
        }
    }

    private static Slot regionSlot(ChunkMemory.Region r) {
        return new Slot(r.buf(), r.fd(), r.fdOffset());
    }

    private Slot plainSlot() {
        // page-aligned, so the cache disk can take it with direct I/O
        return new Slot(ByteBuffer.allocateDirect(chunkSize + PAGE).alignedSlice(PAGE).limit(chunkSize), -1, 0);
    }
}
