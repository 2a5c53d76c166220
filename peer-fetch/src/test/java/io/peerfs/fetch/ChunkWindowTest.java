package io.peerfs.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.chunk.ChunkKey;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Holds on window buffers with a file descriptor: the held bytes stay until released, whatever fills come. */
class ChunkWindowTest {
    static final int CHUNK = 64 << 10;
    static final int FD = 77; // never opened: the window only passes it on

    /** Regions over one off-heap buffer, as a memfd mapped once would be. */
    static final class Regions implements ChunkMemory {
        final ByteBuffer all = ByteBuffer.allocateDirect(4 * CHUNK);

        @Override
        public Region[] regions(int count, int size) {
            Region[] r = new Region[Math.min(count, 4)];
            for (int i = 0; i < r.length; i++) {
                r[i] = new Region(all.slice(i * size, size), FD, (long) i * size);
            }
            return r;
        }

        /** What the kernel would splice: {@code length} bytes at {@code position} of the fd. */
        byte[] at(HeldBytes h) {
            byte[] b = new byte[h.length()];
            all.get((int) h.position(), b);
            return b;
        }
    }

    static ChunkKey key(int i) {
        return ChunkKey.forBackendFile("f", 1L << 30, 1, i);
    }

    static byte[] content(int i) {
        byte[] b = new byte[CHUNK];
        Arrays.fill(b, (byte) (i + 1));
        return b;
    }

    static void fill(ChunkWindow w, int i) throws Exception {
        assertTrue(w.fill(key(i), CHUNK, dst -> {
            dst.put(content(i));
            return true;
        }));
    }

    @Test
    void heldBytesStayUntilReleasedThoughTheChunkIsReadToTheEndAndOthersFill() throws Exception {
        Regions memory = new Regions();
        ChunkWindow w = new ChunkWindow(CHUNK, 2, true, memory);
        fill(w, 0);
        HeldBytes first = w.hold(key(0), 0, CHUNK / 2);
        HeldBytes second = w.hold(key(0), CHUNK / 2, CHUNK); // as far as the chunk goes
        assertNotNull(first);
        assertEquals(FD, second.fd());
        assertEquals(CHUNK / 2, second.length());
        assertEquals(first.position() + CHUNK / 2, second.position());
        assertFalse(w.contains(key(0)), "read to its end: given up, as after reads");

        for (int i = 1; i <= 6; i++) { // more fills than slots: none may take the held one
            fill(w, i);
        }
        assertTrue(Arrays.equals(Arrays.copyOf(content(0), CHUNK / 2), memory.at(first)), "held bytes refilled");
        assertTrue(Arrays.equals(Arrays.copyOf(content(0), CHUNK / 2), memory.at(second)));
        first.close();
        fill(w, 7);
        assertTrue(Arrays.equals(Arrays.copyOf(content(0), CHUNK / 2), memory.at(second)), "one hold is left");

        second.close();
        second.close(); // twice is once
        for (int i = 8; i <= 12; i++) {
            fill(w, i);
        }
        assertFalse(Arrays.equals(Arrays.copyOf(content(0), CHUNK / 2), memory.at(second)),
                "released: its slot takes new chunks again");
    }

    @Test
    void aHeldChunkIsNotReplacedAndStaysReadable() throws Exception {
        Regions memory = new Regions();
        ChunkWindow w = new ChunkWindow(CHUNK, 2, true, memory);
        fill(w, 0);
        HeldBytes h = w.hold(key(0), 0, 4096);
        for (int i = 1; i <= 5; i++) {
            fill(w, i); // the least recently used chunk is replaced, never a held one
        }
        assertTrue(w.contains(key(0)));
        ByteBuffer rest = ByteBuffer.allocate(CHUNK);
        assertEquals(CHUNK - 4096, w.read(key(0), 4096, rest));
        assertEquals(1, rest.get(0));
        assertEquals(-1, w.read(key(1), 0, ByteBuffer.allocate(1)), "replaced");
        h.close();
        fill(w, 6);
        fill(w, 7);
        assertFalse(w.contains(key(0)));
    }

    @Test
    void plainMemoryAndAbsentChunksAreNotHeld() throws Exception {
        ChunkWindow plain = new ChunkWindow(CHUNK, 2, true);
        fill(plain, 0);
        assertNull(plain.hold(key(0), 0, 4096), "no file descriptor: copied instead");
        ChunkWindow w = new ChunkWindow(CHUNK, 2, true, new Regions());
        assertNull(w.hold(key(0), 0, 4096));
        fill(w, 0);
        assertNull(w.hold(key(0), CHUNK, 4096), "past its end");
    }

    @Test
    void aKeptChunkStaysReadableThoughReadToTheEndUntilLetGoAndItsSlotIsReusedAfter() throws Exception {
        Regions memory = new Regions();
        ChunkWindow w = new ChunkWindow(CHUNK, 2, true, memory);
        ChunkWindow.Kept kept = w.fillAndKeep(key(0), CHUNK, dst -> {
            dst.put(content(0));
            return true;
        });
        assertEquals(CHUNK, kept.bytes().remaining());
        assertEquals(1, kept.bytes().get(CHUNK - 1));
        assertEquals(CHUNK, w.read(key(0), 0, ByteBuffer.allocate(CHUNK)));
        assertTrue(w.contains(key(0)), "read to its end, but kept: still here");
        HeldBytes h = w.hold(key(0), 0, 4096);
        for (int i = 1; i <= 5; i++) {
            fill(w, i); // never into the kept slot
        }
        assertEquals(CHUNK, w.read(key(0), 0, ByteBuffer.allocate(CHUNK)));
        assertTrue(Arrays.equals(Arrays.copyOf(content(0), 4096), memory.at(h)));
        kept.close();
        kept.close(); // twice is once
        assertFalse(w.contains(key(0)), "let go after it was read to the end: given up at once");
        assertTrue(Arrays.equals(Arrays.copyOf(content(0), 4096), memory.at(h)), "still held");
        h.close();
        for (int i = 6; i <= 12; i++) {
            fill(w, i);
        }
        assertFalse(Arrays.equals(Arrays.copyOf(content(0), 4096), memory.at(h)), "its slot takes new chunks again");
        assertNull(w.fillAndKeep(key(13), CHUNK, dst -> false), "not filled: nothing kept");
    }
}
