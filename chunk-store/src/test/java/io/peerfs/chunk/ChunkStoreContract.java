package io.peerfs.chunk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The contract every {@link ChunkStore} keeps; subclass it for each implementation. */
public abstract class ChunkStoreContract {
    protected static final long MiB = 1 << 20;
    protected ChunkStore store;

    /** A new, empty store holding at most {@code capacity} bytes. */
    protected abstract ChunkStore newStore(long capacity) throws Exception;

    @BeforeEach
    void open() throws Exception {
        store = newStore(8 * MiB);
    }

    @AfterEach
    void close() {
        store.close();
    }

    protected static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    protected static ByteBuffer direct(byte[] b) {
        return ByteBuffer.allocateDirect(b.length).put(b).flip();
    }

    protected static ChunkKey key(int i) {
        return ChunkKey.forScratchFile(i, 0, i);
    }

    /** Reads {@code len} bytes at {@code off} through a direct buffer, as the FUSE path does. */
    protected byte[] read(ChunkKey k, long off, int len) throws Exception {
        ByteBuffer dst = ByteBuffer.allocateDirect(len);
        int n = store.read(k, off, dst);
        if (n < 0) {
            return null;
        }
        assertEquals(n, dst.position());
        byte[] out = new byte[n];
        dst.flip().get(out);
        return out;
    }

    @Test
    void storedBytesReadBackAtEveryOffsetAndLength() throws Exception {
        int[] sizes = {0, 1, 65535, 65536, 65537, 3 * 65536 + 17, (int) (4 * MiB)};
        for (int s = 0; s < sizes.length; s++) {
            byte[] data = randomBytes(sizes[s], s);
            ByteBuffer buf = direct(data);
            store.put(key(s), buf, false);
            assertEquals(0, buf.position(), "put must not move the buffer");
            assertArrayEquals(data, read(key(s), 0, Math.max(1, data.length)), "size " + sizes[s]);
            Random r = new Random(s);
            for (int i = 0; i < 20 && data.length > 0; i++) {
                int off = r.nextInt(data.length);
                int len = 1 + r.nextInt(Math.min(300_000, data.length - off));
                byte[] want = java.util.Arrays.copyOfRange(data, off, off + len);
                assertArrayEquals(want, read(key(s), off, len), "size " + sizes[s] + " off " + off + " len " + len);
            }
        }
    }

    @Test
    void aScratchChunkKnowsTheInodeItWasStoredForAcrossARestart() throws Exception {
        store.putScratch(key(1), direct(randomBytes(1000, 1)), 42);
        store.put(key(2), direct(randomBytes(1000, 2)), true);
        store.put(key(3), direct(randomBytes(1000, 3)), false);
        store.close();
        store = newStore(8 * MiB);
        assertEquals(42, store.scratchOwner(key(1)));
        assertTrue(store.isPinned(key(1)));
        assertEquals(0, store.scratchOwner(key(2)), "pinned without an owner");
        assertTrue(store.isPinned(key(2)));
        assertEquals(0, store.scratchOwner(key(3)));
        assertFalse(store.isPinned(key(3)));
        assertEquals(0, store.scratchOwner(key(9)), "absent");
        store.remove(key(1));
        assertEquals(0, store.scratchOwner(key(1)));
    }

    @Test
    void readStopsAtChunkEnd() throws Exception {
        store.put(key(1), direct(randomBytes(1000, 1)), false);
        assertEquals(100, read(key(1), 900, 4096).length);
        assertEquals(0, read(key(1), 1000, 10).length);
        assertEquals(0, read(key(1), 5000, 10).length);
    }

    @Test
    void absentChunkIsAMiss() throws Exception {
        assertEquals(null, read(key(9), 0, 10));
        assertFalse(store.contains(key(9)));
        assertEquals(1, store.stats().misses());
    }

    @Test
    void putReplacesContent() throws Exception {
        store.put(key(1), direct(randomBytes(5000, 1)), false);
        byte[] second = randomBytes(3000, 2);
        store.put(key(1), direct(second), false);
        assertArrayEquals(second, read(key(1), 0, 8000));
        assertEquals(1, store.stats().chunks());
        assertEquals(3000, store.stats().usedBytes());
    }

    @Test
    void removeForgetsTheChunk() throws Exception {
        store.put(key(1), direct(randomBytes(5000, 1)), true);
        store.remove(key(1));
        assertFalse(store.contains(key(1)));
        assertEquals(null, read(key(1), 0, 10));
        assertEquals(0, store.stats().usedBytes());
        assertEquals(0, store.stats().pinnedBytes());
    }

    @Test
    void leastRecentlyUsedUnpinnedChunksAreEvictedToStayUnderCapacity() throws Exception {
        for (int i = 0; i < 8; i++) {
            store.put(key(i), direct(randomBytes((int) MiB, i)), false);
        }
        read(key(0), 0, 10); // key 0 becomes the most recently used
        store.put(key(8), direct(randomBytes((int) MiB, 8)), false);
        store.put(key(9), direct(randomBytes((int) MiB, 9)), false);
        assertTrue(store.contains(key(0)), "recently read chunk must survive");
        assertFalse(store.contains(key(1)));
        assertFalse(store.contains(key(2)));
        assertTrue(store.contains(key(9)));
        assertTrue(store.stats().usedBytes() <= 8 * MiB);
        assertEquals(2, store.stats().evictions());
    }

    @Test
    void pinnedChunksAreNeverEvictedAndOverflowIsRefused() throws Exception {
        for (int i = 0; i < 6; i++) {
            store.put(key(i), direct(randomBytes((int) MiB, i)), true);
        }
        store.put(key(100), direct(randomBytes((int) MiB, 100)), false);
        store.put(key(101), direct(randomBytes((int) MiB, 101)), false);
        store.put(key(6), direct(randomBytes((int) MiB, 6)), true); // evicts key 100
        store.put(key(7), direct(randomBytes((int) MiB, 7)), true); // evicts key 101
        CacheFullException e = assertThrows(CacheFullException.class,
                () -> store.put(key(8), direct(randomBytes((int) MiB, 8)), true));
        assertTrue(e.getMessage().contains("--cache-size"), e.getMessage());
        for (int i = 0; i < 8; i++) {
            assertArrayEquals(randomBytes((int) MiB, i), read(key(i), 0, (int) MiB), "pinned chunk " + i);
        }
        assertEquals(8 * MiB, store.stats().pinnedBytes());
        assertEquals(8, store.pinnedKeys().size());
        assertTrue(store.pinnedKeys().contains(key(7)));
        assertFalse(store.pinnedKeys().contains(key(100)));
    }

    @Test
    void concurrentReadersAndWritersSeeWholeChunks() throws Exception {
        int threads = 4;
        Thread[] ts = new Thread[threads];
        Throwable[] failure = new Throwable[1];
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts[t] = new Thread(() -> {
                try {
                    Random r = new Random(id);
                    for (int i = 0; i < 200; i++) {
                        int k = r.nextInt(12);
                        byte[] data = randomBytes(200_000, k);
                        if (r.nextBoolean()) {
                            store.put(key(k), direct(data), false);
                        } else {
                            byte[] got = read(key(k), 0, data.length);
                            if (got != null) {
                                assertArrayEquals(data, got);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failure[0] = e;
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        if (failure[0] != null) {
            throw new AssertionError(failure[0]);
        }
        assertTrue(store.stats().usedBytes() <= 8 * MiB);
    }

    @Test
    void exportGivesTheBytesAndTheirBlockChecksums() throws Exception {
        byte[] data = randomBytes(3 * ChunkStore.CHECKSUM_BLOCK + 100, 77);
        store.put(key(1), direct(data), false);
        ChunkStore.Exported e = store.export(key(1)).orElseThrow();
        try (java.nio.channels.FileChannel ch = e.file().open()) {
            assertEquals(data.length, e.length());
            ByteBuffer b = ByteBuffer.allocate(e.length());
            while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
                // read it all
            }
            assertArrayEquals(data, b.array());
            assertEquals(4, e.blockCrcs().length);
            java.util.zip.CRC32C c = new java.util.zip.CRC32C();
            c.update(data, 3 * ChunkStore.CHECKSUM_BLOCK, 100);
            assertEquals((int) c.getValue(), e.blockCrcs()[3]);
        }
        assertTrue(store.export(key(2)).isEmpty());
    }
}
