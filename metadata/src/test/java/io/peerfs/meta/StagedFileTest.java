package io.peerfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The writeback journal's entries, as both engines store them. */
class StagedFileTest {
    @Test
    void entriesOfTheEarlierLayoutAreReadAndDamagedOnesRefused() throws Exception {
        byte[] old = {1, 'o', 'u', 't', '/', 'x'}; // readiness byte, then the path
        assertEquals(new StagedFile("out/x", true), StagedFile.decode(old));
        StagedFile full = new StagedFile("out/é", false, new StagedFile.Writer(1, 2, new int[] {3}));
        assertEquals(full, StagedFile.decode(full.encode()));
        byte[] cut = java.util.Arrays.copyOf(full.encode(), 6);
        assertThrows(java.io.IOException.class, () -> StagedFile.decode(cut));
        byte[] huge = full.encode();
        java.nio.ByteBuffer.wrap(huge).putInt(9, Integer.MAX_VALUE); // the group count
        assertThrows(java.io.IOException.class, () -> StagedFile.decode(huge));
        assertThrows(java.io.IOException.class, () -> StagedFile.decode(new byte[] {8, 'x'}));
    }
}
