package io.peerfs.chunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class ChunkKeyTest {
    @Test
    void keyChangesWithEveryIdentifyingField() {
        ChunkKey k = ChunkKey.forBackendFile("a/b", 100, 5, 0);
        assertEquals(k, ChunkKey.forBackendFile("a/b", 100, 5, 0));
        assertNotEquals(k, ChunkKey.forBackendFile("a/c", 100, 5, 0));
        assertNotEquals(k, ChunkKey.forBackendFile("a/b", 101, 5, 0));
        assertNotEquals(k, ChunkKey.forBackendFile("a/b", 100, 6, 0));
        assertNotEquals(k, ChunkKey.forBackendFile("a/b", 100, 5, 1));
        assertNotEquals(k, ChunkKey.forScratchFile(1, 1, 0));
    }

    @Test
    void roundTripsThroughHexAndBytes() {
        ChunkKey k = ChunkKey.forScratchFile(42, 7, 3);
        assertEquals(32, k.hex().length());
        assertEquals(k, ChunkKey.parse(k.hex()));
        assertEquals(k, ChunkKey.fromBytes(k.toBytes()));
    }
}
