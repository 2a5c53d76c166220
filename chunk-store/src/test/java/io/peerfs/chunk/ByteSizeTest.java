package io.peerfs.chunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ByteSizeTest {
    @Test
    void parsesBinaryUnits() {
        assertEquals(4L << 20, ByteSize.parse("4MiB").bytes());
        assertEquals(4L << 20, ByteSize.parse("4M").bytes());
        assertEquals(10L << 30, ByteSize.parse("10GiB").bytes());
        assertEquals(512L << 10, ByteSize.parse("512k").bytes());
        assertEquals(1536L << 20, ByteSize.parse("1.5G").bytes());
        assertEquals(123, ByteSize.parse("123").bytes());
        assertEquals("4MiB", ByteSize.parse("4194304").toString());
    }

    @Test
    void rejectsNonsense() {
        for (String bad : new String[] {"", "-1M", "ten", "4X", "1e9", "9999999999P"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ByteSize.parse(bad), bad);
            assertEquals(true, e.getMessage().contains(bad), e.getMessage());
        }
    }
}
