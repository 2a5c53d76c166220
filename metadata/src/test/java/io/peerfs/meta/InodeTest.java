package io.peerfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Inode records, as both engines store them (Redis is shared: its bytes are not trusted). */
class InodeTest {
    @Test
    void aRecordCountingMoreEntriesThanItHasBytesIsRefusedWithoutAllocatingThem() throws Exception {
        Inode i = Inode.fresh(5, FileType.FILE, 0644, 1, 2, null, 3).withXattrs(Map.of("user.a", new byte[] {1}), 4);
        byte[] good = i.encode();
        assertEquals(i.attr(), Inode.decode(good).attr());
        // version, ino, type, mode, uid, gid, size, 3 times, nlink, generation, no target: then the xattr count
        int xattrCount = 1 + 8 + 1 + 4 + 4 + 4 + 8 + 8 + 8 + 8 + 4 + 8 + 1;
        byte[] hostile = good.clone();
        ByteBuffer.wrap(hostile).putInt(xattrCount, Integer.MAX_VALUE);
        assertThrows(IOException.class, () -> Inode.decode(hostile));
        byte[] negative = good.clone();
        ByteBuffer.wrap(negative).putInt(xattrCount, -1);
        assertThrows(IOException.class, () -> Inode.decode(negative));
        byte[] hugeValue = good.clone();
        int valueLength = xattrCount + 4 + 2 + "user.a".length();
        ByteBuffer.wrap(hugeValue).putInt(valueLength, 1 << 30);
        assertThrows(IOException.class, () -> Inode.decode(hugeValue));
    }
}
