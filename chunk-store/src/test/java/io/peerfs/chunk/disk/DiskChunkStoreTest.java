package io.peerfs.chunk.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.chunk.ByteSize;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.ChunkStoreContract;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskChunkStoreTest extends ChunkStoreContract {
    @TempDir
    Path dir;

    @Override
    protected ChunkStore newStore(long capacity) throws Exception {
        return DiskChunkStore.open(new ChunkStoreConfig(dir, ByteSize.ofBytes(capacity), 0));
    }

    private DiskChunkStore disk() {
        return (DiskChunkStore) store;
    }

    private void reopen() throws Exception {
        store.close();
        store = newStore(8 * MiB);
    }

    @Test
    void chunksIndexAndAccessOrderSurviveARestart() throws Exception {
        for (int i = 0; i < 8; i++) {
            store.put(key(i), direct(randomBytes((int) MiB, i)), i == 7);
        }
        read(key(0), 0, 1);
        reopen();
        assertEquals(8, store.stats().chunks());
        assertEquals(MiB, store.stats().pinnedBytes());
        for (int i = 0; i < 8; i++) {
            assertArrayEquals(randomBytes((int) MiB, i), read(key(i), 0, (int) MiB));
        }
        read(key(0), 0, 1);
        store.put(key(8), direct(randomBytes((int) MiB, 8)), false);
        assertTrue(store.contains(key(0)));
        assertFalse(store.contains(key(1)), "LRU order must survive a restart");
    }

    @Test
    void fetchedChunksInAnyBufferReadBackWholeAndTheBufferIsLeftAsItWas() throws Exception {
        int[] sizes = {4096, 3 * 4096 + 10, 100, (int) MiB + 1};
        int k = 0;
        for (int size : sizes) {
            byte[] data = randomBytes(size, size);
            ByteBuffer aligned = ByteBuffer.allocateDirect(size + 2 * 4096).alignedSlice(4096);
            ByteBuffer unaligned = ByteBuffer.allocateDirect(size + 1).position(1);
            for (ByteBuffer buf : new ByteBuffer[] {aligned, unaligned, ByteBuffer.allocate(size)}) {
                int start = buf.position();
                buf.put(data).position(start).limit(start + size);
                ChunkKey key = key(k++);
                store.putFetched(key, buf);
                assertEquals(start, buf.position());
                assertEquals(start + size, buf.limit());
                assertEquals(size, Files.size(disk().chunkFile(key)));
                assertArrayEquals(data, read(key, 0, size));
            }
        }
        reopen();
        assertEquals(0, store.stats().corrupt());
        assertArrayEquals(randomBytes((int) MiB + 1, (int) MiB + 1), read(key(k - 3), 0, (int) MiB + 1));
        try (Stream<Path> files = Files.walk(dir)) {
            assertEquals(0, files.filter(p -> p.getFileName().toString().startsWith(".tmp-")).count());
        }
    }

    @Test
    void flippedByteIsNeverReturnedAndTheChunkIsDropped() throws Exception {
        byte[] data = randomBytes(300_000, 1);
        store.put(key(1), direct(data), false);
        Path file = disk().chunkFile(key(1));
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(200_000);
            int b = f.read();
            f.seek(200_000);
            f.write(b ^ 0x10);
        }
        assertArrayEquals(java.util.Arrays.copyOf(data, 100), read(key(1), 0, 100), "untouched block still verifies");
        assertEquals(null, read(key(1), 190_000, 20_000));
        assertEquals(1, store.stats().corrupt());
        assertFalse(store.contains(key(1)));
        assertFalse(Files.exists(file));
    }

    /** Reads into a page-aligned buffer, as libfuse 3's read buffers are; null when the chunk is absent. */
    private byte[] readAligned(ChunkKey key, long off, int len) throws Exception {
        ByteBuffer dst = ByteBuffer.allocateDirect(len + 2 * 4096).alignedSlice(4096).limit(len);
        int n = store.read(key, off, dst);
        if (n < 0) {
            return null;
        }
        byte[] out = new byte[n];
        dst.flip().get(out);
        return out;
    }

    @Test
    void alignedReadsOfFetchedChunksGoPastThePageCacheAndStillReadTheRightBytes() throws Exception {
        int size = (int) MiB + 5000; // whole blocks and a short last one
        byte[] data = randomBytes(size, 7);
        store.putFetched(key(1), direct(data));
        assertArrayEquals(data, readAligned(key(1), 0, size));
        long whole = store.stats().bytesReadDirect();
        assertEquals(size / 4096 * 4096, whole, "all but the last partial 4 KiB past the page cache");
        assertArrayEquals(Arrays.copyOfRange(data, 3 * 65536, 3 * 65536 + 200_000),
                readAligned(key(1), 3 * 65536, 200_000), "ending inside a block");
        assertArrayEquals(Arrays.copyOfRange(data, 4096, 4096 + 300_000), readAligned(key(1), 4096, 300_000),
                "starting inside a block");
        assertTrue(store.stats().bytesReadDirect() > whole);

        long before = store.stats().bytesReadDirect();
        ByteBuffer unaligned = ByteBuffer.allocateDirect(size + 1).position(1).slice();
        assertEquals(size, store.read(key(1), 0, unaligned));
        assertArrayEquals(data, Arrays.copyOf(toArray(unaligned.flip()), size));
        store.put(key(2), direct(data), true);
        assertArrayEquals(data, readAligned(key(2), 0, size));
        assertEquals(before, store.stats().bytesReadDirect(),
                "unaligned buffers and pinned (scratch) chunks are read through the page cache");
        assertEquals(0, store.stats().corrupt());
    }

    private static byte[] toArray(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void readsPastThePageCacheFindFlippedBytesAndShortFiles() throws Exception {
        store.putFetched(key(1), direct(randomBytes((int) MiB, 1)));
        store.putFetched(key(2), direct(randomBytes((int) MiB, 2)));
        try (RandomAccessFile f = new RandomAccessFile(disk().chunkFile(key(1)).toFile(), "rw")) {
            f.seek(500_000);
            int b = f.read();
            f.seek(500_000);
            f.write(b ^ 0x01);
        }
        try (RandomAccessFile f = new RandomAccessFile(disk().chunkFile(key(2)).toFile(), "rw")) {
            f.setLength(300_000);
        }
        assertEquals(null, readAligned(key(1), 0, (int) MiB));
        assertEquals(null, readAligned(key(2), 0, (int) MiB), "a short file is corruption, not a disk failure");
        assertEquals(2, store.stats().corrupt());
        assertTrue(store.stats().bytesReadDirect() > 0, "the flipped block was read past the page cache");
        assertFalse(store.contains(key(1)));
        assertFalse(store.contains(key(2)));
    }

    @Test
    void truncatedOrDeletedChunkFileIsAMiss() throws Exception {
        store.put(key(1), direct(randomBytes(300_000, 1)), false);
        store.put(key(2), direct(randomBytes(300_000, 2)), false);
        try (RandomAccessFile f = new RandomAccessFile(disk().chunkFile(key(1)).toFile(), "rw")) {
            f.setLength(1000);
        }
        Files.delete(disk().chunkFile(key(2)));
        assertEquals(null, read(key(1), 0, 300_000));
        assertEquals(null, read(key(2), 0, 10));
        assertEquals(2, store.stats().corrupt());
        assertEquals(0, store.stats().usedBytes());
    }

    @Test
    void aFifoOrSymlinkInPlaceOfAChunkFileIsDroppedAsCorruptNeverOpened() throws Exception {
        store.put(key(1), direct(randomBytes(300_000, 1)), false);
        store.put(key(2), direct(randomBytes(300_000, 2)), false);
        store.put(key(3), direct(randomBytes(300_000, 3)), false);
        Path secret = Files.write(dir.resolve("secret"), randomBytes(300_000, 4));
        Files.delete(disk().chunkFile(key(1)));
        assertEquals(0, new ProcessBuilder("mkfifo", disk().chunkFile(key(1)).toString()).start().waitFor());
        Files.delete(disk().chunkFile(key(2)));
        Files.createSymbolicLink(disk().chunkFile(key(2)), secret);
        Files.delete(disk().chunkFile(key(3)));
        assertEquals(0, new ProcessBuilder("mkfifo", disk().chunkFile(key(3)).toString()).start().waitFor());
        // a FIFO opened for reading would block until a writer comes: these must return at once
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> {
            assertEquals(null, read(key(1), 0, 10), "a FIFO is a miss");
            assertEquals(null, read(key(2), 0, 10), "a symlink is a miss, its target never read");
            assertTrue(store.export(key(3)).isEmpty(), "a FIFO is never served to a peer");
        });
        assertEquals(3, store.stats().corrupt());
        assertFalse(Files.exists(disk().chunkFile(key(1)), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(disk().chunkFile(key(2)), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.exists(secret), "the symlink's target is left alone");
    }

    @Test
    void indexRecordsOfTheFirstVersionAreReadWithNoOwner() {
        ChunkMeta now = ChunkMeta.describe(direct(randomBytes(70_000, 5)), true, 123, 77);
        assertEquals(77, ChunkMeta.decode(now.encode()).owner());
        byte[] v2 = now.encode();
        byte[] v1 = java.util.Arrays.copyOf(v2, v2.length - 8); // as version 1 wrote it: no owner at the end
        v1[0] = 1;
        ChunkMeta old = ChunkMeta.decode(v1);
        assertEquals(0, old.owner());
        assertEquals(now.length(), old.length());
        assertTrue(old.pinned());
        assertArrayEquals(now.blockCrcs(), old.blockCrcs());
        v1[0] = 9;
        assertEquals(null, ChunkMeta.decode(v1), "an unknown version");
        // version 3 (a digest kept) only for a record with one; version 2's form stays as it was
        assertEquals(2, v2[0]);
        byte[] digest = new byte[32];
        java.util.Arrays.fill(digest, (byte) 7);
        byte[] v3 = now.withSha256(digest).encode();
        assertEquals(3, v3[0]);
        assertEquals(v2.length + 32, v3.length);
        ChunkMeta withDigest = ChunkMeta.decode(v3);
        assertArrayEquals(digest, withDigest.sha256());
        assertEquals(77, withDigest.owner());
        assertEquals(null, ChunkMeta.decode(java.util.Arrays.copyOf(v3, v3.length - 1)), "a cut record");
    }

    @Test
    void anExportedChunksDigestIsKeptUntilItsBytesChange() throws Exception {
        byte[] bytes = randomBytes(70_000, 9);
        store.put(key(1), direct(bytes), false);
        ChunkStore.Exported first = store.export(key(1)).orElseThrow();
        assertEquals(null, first.sha256(), "not digested before it was first sent");
        byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
        first.keepSha256().accept(digest);
        assertArrayEquals(digest, store.export(key(1)).orElseThrow().sha256());
        reopen();
        assertArrayEquals(digest, store.export(key(1)).orElseThrow().sha256(), "kept in the index");
        store.put(key(1), direct(randomBytes(70_000, 10)), false); // stored anew, other bytes
        assertEquals(null, store.export(key(1)).orElseThrow().sha256());
        first.keepSha256().accept(digest); // late, for the bytes that were replaced
        assertEquals(null, store.export(key(1)).orElseThrow().sha256(), "no digest for bytes it was not taken of");
    }

    @Test
    void openReconcilesIndexWithFiles() throws Exception {
        store.put(key(1), direct(randomBytes(1000, 1)), false);
        store.put(key(2), direct(randomBytes(1000, 2)), false);
        Path chunkDir = dir.resolve("chunks");
        Path orphan = disk().chunkFile(key(3));
        Files.createDirectories(orphan.getParent());
        Files.write(orphan, new byte[10]);
        Path temp = disk().chunkFile(key(1)).resolveSibling(".tmp-" + key(1).hex() + "-9");
        Files.write(temp, new byte[10]);
        Path truncated = disk().chunkFile(key(2));
        store.close();
        Files.write(truncated, new byte[5]);
        store = newStore(8 * MiB);
        assertTrue(store.contains(key(1)));
        assertFalse(store.contains(key(2)), "file shorter than its index entry is dropped");
        assertFalse(store.contains(key(3)), "file without index entry is dropped");
        assertFalse(Files.exists(orphan));
        assertFalse(Files.exists(temp));
        assertFalse(Files.exists(truncated));
        try (Stream<Path> s = Files.walk(chunkDir)) {
            assertEquals(1, s.filter(Files::isRegularFile).count());
        }
    }

    @Test
    void anAdoptedChunkIsTheSameBytesUnpinnedUnderItsNewKeyAndSurvivesARestart() throws Exception {
        byte[] data = randomBytes((int) MiB, 3);
        store.put(key(1), direct(data), true);
        store.put(key(2), direct(randomBytes(1000, 2)), true);
        assertFalse(store.adopt(key(1), key(10), (int) MiB - 1), "a chunk of another length stays as it is");
        assertFalse(store.adopt(key(9), key(10), 1000), "nothing stored under that key");
        assertTrue(store.contains(key(1)));
        assertTrue(store.adopt(key(1), key(10), (int) MiB));
        assertEquals(1, store.stats().adopted());
        assertFalse(store.contains(key(1)));
        assertArrayEquals(data, read(key(10), 0, (int) MiB));
        assertEquals(java.util.Set.of(key(2)), store.pinnedKeys());
        assertEquals(1000, store.stats().pinnedBytes());
        assertFalse(java.nio.file.Files.exists(disk().chunkFile(key(1))));
        reopen();
        assertEquals(2, store.stats().chunks());
        assertArrayEquals(data, read(key(10), 0, (int) MiB));
        assertEquals(1000, store.stats().pinnedBytes(), "unpinned after a restart too");
        for (int i = 20; i < 27; i++) { // fill the 8 MiB: the adopted chunk is evicted like any other
            store.put(key(i), direct(randomBytes((int) MiB, i)), false);
        }
        assertFalse(store.contains(key(10)));
        assertTrue(store.contains(key(2)));
    }

    @Test
    void shrinkingTheCapacityEvictsAtOpen() throws Exception {
        for (int i = 0; i < 8; i++) {
            store.put(key(i), direct(randomBytes((int) MiB, i)), false);
        }
        store.close();
        store = newStore(3 * MiB);
        assertEquals(3, store.stats().chunks());
        assertTrue(store.contains(key(7)));
    }

    @Test
    void concurrentReadersOfMoreChunksThanOpenFilesNeverMiss() throws Exception {
        int chunks = 700; // more than the store keeps open, so open files are recycled under the readers
        for (int i = 0; i < chunks; i++) {
            store.put(key(i), direct(randomBytes(4096, i)), false);
        }
        java.util.concurrent.atomic.AtomicInteger missed = new java.util.concurrent.atomic.AtomicInteger();
        Thread[] ts = new Thread[4];
        for (int t = 0; t < ts.length; t++) {
            int id = t;
            ts[t] = new Thread(() -> {
                java.util.Random r = new java.util.Random(id);
                try {
                    for (int i = 0; i < 5000; i++) {
                        int k = r.nextInt(chunks);
                        byte[] got = read(key(k), 0, 4096);
                        if (got == null) {
                            missed.incrementAndGet();
                        } else {
                            assertArrayEquals(randomBytes(4096, k), got);
                        }
                    }
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        assertEquals(0, missed.get(), "a stored chunk must never read as missing");
        assertEquals(0, store.stats().misses());
    }

    /** A real small file system (tmpfs, as root) so the free-space ratio meets a real disk limit. */
    @Test
    void freeSpaceRatioIsKeptOnARealSmallDisk() throws Exception {
        Path small = Files.createDirectories(dir.resolve("small"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", small.toString())
                .redirectErrorStream(true).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(mount.waitFor() == 0, "needs root to mount a tmpfs");
        try (DiskChunkStore s = DiskChunkStore.open(new ChunkStoreConfig(small, ByteSize.ofGiB(1), 0.5))) {
            java.nio.file.FileStore fs = Files.getFileStore(small);
            for (int i = 0; i < 20; i++) {
                s.put(key(i), direct(randomBytes((int) MiB, i)), false);
                assertTrue(fs.getUsableSpace() >= 0.5 * fs.getTotalSpace() - MiB,
                        "free space kept near half the disk after chunk " + i);
            }
            assertTrue(s.stats().evictions() > 0);
            assertTrue(s.contains(key(19)));
            for (int i = 100; i < 120; i++) {
                try {
                    s.put(key(i), direct(randomBytes((int) MiB, i)), true);
                } catch (io.peerfs.chunk.CacheFullException e) {
                    assertTrue(e.getMessage().contains("--free-space-ratio"), e.getMessage());
                    assertArrayEquals(randomBytes((int) MiB, 100), readFrom(s, key(100)), "earlier pinned data intact");
                    return;
                }
            }
            throw new AssertionError("pinned data beyond the free-space limit must be refused");
        } finally {
            new ProcessBuilder("umount", small.toString()).start().waitFor();
        }
    }

    private static byte[] readFrom(ChunkStore s, ChunkKey k) throws Exception {
        java.nio.ByteBuffer dst = java.nio.ByteBuffer.allocateDirect((int) MiB);
        s.read(k, 0, dst);
        byte[] out = new byte[dst.position()];
        dst.flip().get(out);
        return out;
    }

    @Test
    void keysOfOtherStoresAreNotConfusedWithFiles() {
        ChunkKey k = key(5);
        assertTrue(disk().chunkFile(k).toString().endsWith("/chunks/" + k.hex().substring(0, 2) + "/" + k.hex()));
    }

    @Test
    void chunksOfTheEarlierTwoLevelLayoutAreMovedUpAtOpen() throws Exception {
        byte[] one = randomBytes(1000, 1);
        byte[] two = randomBytes(3000, 2);
        store.put(key(1), direct(one), true);
        store.put(key(2), direct(two), false);
        store.close();
        Path chunkDir = dir.resolve("chunks");
        for (ChunkKey k : List.of(key(1), key(2))) { // where a store before 2026-12 kept them
            Path old = chunkDir.resolve(k.hex().substring(0, 2)).resolve(k.hex().substring(2, 4)).resolve(k.hex());
            Files.createDirectories(old.getParent());
            Files.move(chunkDir.resolve(k.hex().substring(0, 2)).resolve(k.hex()), old);
        }
        Path oldTemp = chunkDir.resolve("aa/bb/.tmp-" + key(3).hex() + "-1");
        Files.createDirectories(oldTemp.getParent());
        Files.write(oldTemp, new byte[10]);
        store = newStore(8 * MiB);
        assertArrayEquals(one, readFrom(store, key(1)));
        assertArrayEquals(two, readFrom(store, key(2)));
        assertEquals(1000, store.stats().pinnedBytes(), "pinned (scratch) data stays pinned");
        try (var s = Files.walk(chunkDir)) {
            List<Path> deep = s.filter(p -> chunkDir.relativize(p).getNameCount() > 2).toList();
            assertEquals(List.of(), deep, "nothing is left two levels down");
        }
        try (var s = Files.list(chunkDir)) {
            assertEquals(256, s.count(), "the 256 folders are made at open");
        }
    }

    @Test
    void chunksOfAPinnedPathAreEvictedLastAndStayResidentAcrossARestart() throws Exception {
        for (int i = 0; i < 4; i++) {
            store.put(key(i), direct(randomBytes((int) MiB, i)), false);
        }
        assertTrue(store.keepResident(key(0), "data/set"));
        assertTrue(store.keepResident(key(1), "data/set"));
        assertTrue(store.keepResident(key(1), "data/set"), "again: nothing changes");
        assertFalse(store.keepResident(key(99), "data/set"), "not in the store");
        store.put(key(50), direct(randomBytes(1000, 50)), true);
        assertFalse(store.keepResident(key(50), "data/set"), "pinned (scratch) chunks are not resident");
        assertEquals(2 * MiB, store.stats().residentBytes());
        assertEquals(4 * MiB, store.stats().residentLimitBytes(), "half the cache by default");
        reopen();
        assertEquals(2 * MiB, store.stats().residentBytes(), "resident chunks stay so after a restart");
        for (int i = 4; i < 10; i++) { // 6 MiB more into 8 MiB: every ordinary chunk goes first
            store.put(key(i), direct(randomBytes((int) MiB, i)), false);
        }
        assertTrue(store.contains(key(0)) && store.contains(key(1)));
        assertFalse(store.contains(key(2)) || store.contains(key(3)) || store.contains(key(4)));
        assertArrayEquals(randomBytes((int) MiB, 0), read(key(0), 0, (int) MiB));
        store.releaseResident("other/set");
        assertEquals(2 * MiB, store.stats().residentBytes(), "another pin's release leaves them");
        store.releaseResident("data/set");
        assertEquals(0, store.stats().residentBytes());
        reopen();
        assertEquals(0, store.stats().residentBytes(), "released for good");
        for (int i = 10; i < 17; i++) {
            store.put(key(i), direct(randomBytes((int) MiB, i)), false);
        }
        assertFalse(store.contains(key(0)) || store.contains(key(1)), "ordinary chunks again: evicted in turn");
    }

    @Test
    void residentChunksTakeAtMostTheirLimitAndTheOldestTurnOrdinary() throws Exception {
        store.close();
        store = DiskChunkStore.open(new ChunkStoreConfig(dir, ByteSize.ofBytes(8 * MiB), 0, ByteSize.ofBytes(3 * MiB)));
        for (int i = 0; i < 5; i++) {
            store.put(key(i), direct(randomBytes((int) MiB, i)), false);
            assertTrue(store.keepResident(key(i), "d"));
        }
        assertEquals(3 * MiB, store.stats().residentBytes());
        for (int i = 5; i < 10; i++) { // the two demoted ones are the youngest ordinary ones, evicted last of those
            store.put(key(i), direct(randomBytes((int) MiB, i)), false);
        }
        for (int i = 2; i < 5; i++) {
            assertTrue(store.contains(key(i)), "resident chunk " + i);
        }
        store.close();
        store = DiskChunkStore.open(new ChunkStoreConfig(dir, ByteSize.ofBytes(8 * MiB), 0, ByteSize.ofBytes(MiB)));
        assertEquals(MiB, store.stats().residentBytes(), "a lower limit at open turns the oldest ordinary");
        assertTrue(assertThrowsIllegal(() -> new ChunkStoreConfig(dir, ByteSize.ofBytes(MiB), 0,
                ByteSize.ofBytes(2 * MiB))).contains("must be from 0 to the cache size"));
    }

    private static String assertThrowsIllegal(org.junit.jupiter.api.function.Executable e) {
        return org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, e).getMessage();
    }

    @Test
    void indexRecordsOfEveryVersionDecode() {
        int[] crcs = {7, 8};
        byte[] sha = new byte[32];
        sha[0] = 9;
        for (ChunkMeta m : List.of(new ChunkMeta(70_000, 1, crcs, false, 5, 0),
                new ChunkMeta(70_000, 1, crcs, true, 5, 42),
                new ChunkMeta(70_000, 1, crcs, false, 5, 0, sha, 0),
                new ChunkMeta(70_000, 1, crcs, false, 5, 0, null, ChunkMeta.group("a")),
                new ChunkMeta(70_000, 1, crcs, false, 5, 0, sha, ChunkMeta.group("a")))) {
            ChunkMeta back = ChunkMeta.decode(m.encode());
            assertEquals(m.group(), back.group());
            assertEquals(m.owner(), back.owner());
            assertEquals(m.pinned(), back.pinned());
            assertArrayEquals(m.sha256(), back.sha256());
            assertArrayEquals(crcs, back.blockCrcs());
        }
        byte[] v3 = new ChunkMeta(70_000, 1, crcs, false, 5, 0, sha, 0).encode();
        assertEquals(3, v3[0], "a record without a group keeps the version earlier daemons read");
        byte[] cut = Arrays.copyOf(new ChunkMeta(70_000, 1, crcs, false, 5, 0, sha, 3).encode(), 20 + 8 + 8 + 8);
        assertEquals(null, ChunkMeta.decode(cut), "a truncated record is refused");
    }
}
