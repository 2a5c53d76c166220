package io.peerfs.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalDirBackendTest {
    @TempDir
    Path tmp;

    @Test
    void pathsLeadingOutsideTheBackendAreRefused() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("backend"));
        Files.writeString(tmp.resolve("secret.txt"), "not yours");
        Files.createDirectories(root.resolve("a"));
        Files.writeString(root.resolve("b"), "inside");
        LocalDirBackend backend = LocalDirBackend.open(root);
        for (String evil : new String[] {"../secret.txt", "a/../../secret.txt", "/etc/passwd", ".."}) {
            assertThrows(AccessDeniedException.class, () -> backend.read(evil, 0, ByteBuffer.allocate(10)), evil);
            assertThrows(AccessDeniedException.class, () -> backend.stat(evil), evil);
        }
        assertThrows(AccessDeniedException.class, () -> backend.delete("../secret.txt"));
        assertEquals("not yours", Files.readString(tmp.resolve("secret.txt")));
        assertEquals(6, backend.stat("a/../b").size(), "a path that stays inside is fine");
    }

    @Test
    void aReadOfOneVersionRefusesTheBytesOfAnother() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("backend"));
        byte[] first = new byte[3 * 4096 + 100];
        java.util.Arrays.fill(first, (byte) 1);
        Files.write(root.resolve("f"), first);
        LocalDirBackend backend = LocalDirBackend.open(root);
        io.peerfs.meta.FileAttr v1 = backend.stat("f");
        ByteBuffer dst = ByteBuffer.allocateDirect(first.length); // direct: the O_DIRECT part and the tail
        assertEquals(first.length, backend.readVersion("f", 0, dst, v1.size(), v1.mtimeNs()));
        byte[] second = first.clone();
        java.util.Arrays.fill(second, (byte) 2); // same size, other bytes: only the mtime tells
        Files.write(root.resolve("f"), second);
        Files.setLastModifiedTime(root.resolve("f"),
                java.nio.file.attribute.FileTime.fromMillis(v1.mtimeNs() / 1_000_000 + 5000));
        FileChangedException e = assertThrows(FileChangedException.class,
                () -> backend.readVersion("f", 0, ByteBuffer.allocateDirect(first.length), v1.size(), v1.mtimeNs()));
        assertTrue(e.getMessage().contains("changed on the store"), e.getMessage());
        assertThrows(FileChangedException.class, () -> backend.readVersion("f", 12288, ByteBuffer.allocate(100),
                v1.size(), v1.mtimeNs()), "the buffered tail checks too");
        io.peerfs.meta.FileAttr v2 = backend.stat("f");
        ByteBuffer now = ByteBuffer.allocate(first.length);
        assertEquals(first.length, backend.readVersion("f", 0, now, v2.size(), v2.mtimeNs()));
        assertEquals(2, now.get(0), "the version it was asked for");
    }

    @Test
    void filesWithTheLongestNamesAreReplacedWhole() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("backend"));
        LocalDirBackend backend = LocalDirBackend.open(root);
        byte[] data = "result bytes".getBytes();
        for (String name : new String[] {"a".repeat(255), "é".repeat(127), "x"}) {
            long mtimeNs = 1_700_000_000_123_456_789L;
            io.peerfs.meta.FileAttr written = backend.replace(name, data.length,
                    new Backend.NewFile(0644, -1, -1, mtimeNs, mtimeNs, java.util.Map.of()),
                    (off, dst) -> {
                        int n = (int) Math.min(dst.remaining(), data.length - off);
                        dst.put(data, (int) off, n);
                        return n;
                    }, "peerfs-123456789");
            assertEquals("result bytes", Files.readString(root.resolve(name)), name);
            assertEquals(backend.stat(name).size(), written.size(), "what replace answers is what a stat sees");
            assertEquals(backend.stat(name).mtimeNs(), written.mtimeNs());
            assertEquals(mtimeNs, written.mtimeNs(), "the mtime the upload was given");
            String temp = Backend.temporaryName(name, "peerfs-123456789");
            assertEquals(true, Backend.isTemporary(temp));
            assertEquals(true, temp.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= Backend.NAME_MAX, temp);
        }
        try (var s = Files.list(root)) {
            assertEquals(3, s.count(), "no temporary file is left");
        }
    }

    @Test
    void wholeBlocksOfAlignedBuffersAreReadPastThePageCacheAndTheRestThroughIt() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("backend"));
        byte[] data = randomFile(root.resolve("f"), 3 * BLOCK + 1000, 7);
        LocalDirBackend backend = LocalDirBackend.open(root);

        ByteBuffer chunk = aligned(BLOCK);
        assertEquals(BLOCK, backend.readInto("f", BLOCK, chunk));
        assertBytes(data, BLOCK, chunk);
        assertEquals(BLOCK, backend.bytesReadDirect());

        ByteBuffer withTail = aligned(BLOCK + 1000);
        assertEquals(BLOCK + 1000, backend.readInto("f", 2 * BLOCK, withTail));
        assertBytes(data, 2 * BLOCK, withTail);
        assertEquals(2 * BLOCK, backend.bytesReadDirect(), "the 1000-byte tail goes through the page cache");

        ByteBuffer pastTheEnd = aligned(4 * BLOCK); // the file ends inside a block: a short direct read
        assertEquals(BLOCK + 1000, backend.readInto("f", 2 * BLOCK, pastTheEnd));
        assertBytes(data, 2 * BLOCK, pastTheEnd);

        assertEquals(0, backend.readInto("f", data.length, aligned(BLOCK)), "at the end");
    }

    @Test
    void unalignedBuffersAndOffsetsAreReadThroughThePageCache() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("backend"));
        byte[] data = randomFile(root.resolve("f"), 2 * BLOCK, 8);
        LocalDirBackend backend = LocalDirBackend.open(root);

        ByteBuffer heap = ByteBuffer.allocate(BLOCK);
        assertEquals(BLOCK, backend.readInto("f", 0, heap));
        assertBytes(data, 0, heap);
        ByteBuffer offByOne = aligned(BLOCK + 1).position(1).slice();
        assertEquals(BLOCK, backend.readInto("f", BLOCK, offByOne));
        assertBytes(data, BLOCK, offByOne);
        ByteBuffer atAnOddOffset = aligned(BLOCK);
        assertEquals(BLOCK, backend.readInto("f", 512, atAnOddOffset));
        assertBytes(data, 512, atAnOddOffset);
        assertEquals(0, backend.bytesReadDirect());
    }

    @Test
    void aBlockSizeTheKernelMayRefuseReadsRightEitherWay() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("backend"));
        byte[] data = randomFile(root.resolve("f"), 2 * BLOCK, 9);
        DirectReads reads = new DirectReads(RootDir.open(root), 512); // as if told a smaller block than the file system's
        ByteBuffer buf = aligned(BLOCK);
        buf.limit(BLOCK - 512);
        int n = reads.read("f", 512, buf);
        if (n == 0) {
            assertEquals(0, buf.position(), "refused (EINVAL): nothing read, the page cache reads it");
        } else {
            assertEquals(BLOCK - 512, n);
            assertBytes(data, 512, buf);
        }
        assertThrows(NoSuchFileException.class, () -> reads.read("missing", 0, aligned(BLOCK)),
                "a missing file is the caller's failure, not a refusal");
    }

    private static final int BLOCK = 64 << 10;

    private static byte[] randomFile(Path file, int size, int seed) throws IOException {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        Files.write(file, data);
        return data;
    }

    /** A direct buffer of {@code size} bytes at a page boundary. */
    private static ByteBuffer aligned(int size) {
        return ByteBuffer.allocateDirect(size + 2 * 4096).alignedSlice(4096).limit(size);
    }

    private static void assertBytes(byte[] data, int offset, ByteBuffer filled) {
        byte[] got = new byte[filled.position()];
        filled.flip().get(got);
        byte[] want = Arrays.copyOfRange(data, offset, Math.min(data.length, offset + got.length));
        assertArrayEquals(want, got);
    }
}
