package io.peerfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.chunk.ChunkKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
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

    @Test
    void aLayoutMostlyHolesIsStoredSparseAndAnOrdinaryOneAsBefore() throws Exception {
        ChunkKey k = new ChunkKey(1, 2);
        Inode far = Inode.fresh(5, FileType.FILE, 0644, 1, 2, null, 3)
                .withData(1L << 44, SparseList.<ChunkKey>empty().with((1 << 28) - 1, k),
                        SparseList.<String>empty().with((1 << 28) - 1, "node-a"), 4, 5);
        byte[] record = far.encode();
        assertEquals(3, record[0], "the sparse form");
        assertTrue(record.length < 150, record.length + " bytes");
        Inode back = Inode.decode(record);
        assertEquals(1 << 28, back.chunks().size());
        assertEquals(k, back.chunks().get((1 << 28) - 1));
        assertEquals(List.of("node-a"), back.holders((1 << 28) - 1));
        assertEquals(far, back);
        Inode dense = Inode.fresh(6, FileType.FILE, 0644, 1, 2, null, 3)
                .withData(3 << 20, List.of(k, new ChunkKey(3, 4), new ChunkKey(5, 6)), 4, 5);
        assertEquals(2, dense.encode()[0], "what daemons of earlier versions read");
        assertEquals(dense, Inode.decode(dense.encode()));
        byte[] disordered = record.clone();
        int firstIndex = record.length - (4 + 8 + 8) - 4 - (4 + 2 + "node-a".length());
        ByteBuffer.wrap(disordered).putInt(firstIndex, 1 << 28); // past the layout's length
        assertThrows(IOException.class, () -> Inode.decode(disordered));
    }
}
