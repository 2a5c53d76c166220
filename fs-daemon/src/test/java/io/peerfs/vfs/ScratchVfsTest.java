package io.peerfs.vfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.backend.LocalDirBackend;
import io.peerfs.backend.PosixException;
import io.peerfs.chunk.ByteSize;
import io.peerfs.chunk.CacheFullException;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.disk.DiskChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.ResultPaths;
import io.peerfs.meta.FileType;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.rocksdb.RocksDbMetaStore;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scratch files and directories through {@link Vfs}, without a kernel. */
class ScratchVfsTest {
    static final int CHUNK = 64 * 1024;
    static final Caller ME = new Caller(1000, 1000);
    @TempDir
    Path backendDir;
    @TempDir
    Path cacheDir;
    final AtomicLong now = new AtomicLong(1_000_000);
    DiskChunkStore store;
    BackendMetaCache meta;
    MetaStore metaStore;
    ChunkFetcher fetcher;
    Vfs vfs;
    /** Runs once, right after the next path lookup in the scratch MetaStore returned. */
    final java.util.concurrent.atomic.AtomicReference<Runnable> afterLookup = new java.util.concurrent.atomic.AtomicReference<>();
    /** What the MetaStore says of other nodes' opens (a one-node engine: never). */
    final java.util.concurrent.atomic.AtomicBoolean openOnAnotherNode = new java.util.concurrent.atomic.AtomicBoolean();
    /** The MetaStore cannot record closes (it is unreachable). */
    final java.util.concurrent.atomic.AtomicBoolean closesFail = new java.util.concurrent.atomic.AtomicBoolean();
    final List<Long> closesRecorded = new java.util.concurrent.CopyOnWriteArrayList<>();

    VfsHarness h;

    void open(long cacheBytes) throws Exception {
        h = VfsHarness.options().cacheBytes(cacheBytes).clocks(now::get, () -> now.incrementAndGet() * 1_000_000)
                .metaStore(this::withHookAfterLookup).open(backendDir, cacheDir);
        store = h.store;
        meta = h.meta;
        metaStore = h.metaStore;
        fetcher = h.fetcher;
        vfs = h.vfs;
    }

    void reopen() throws Exception {
        close();
        open(store.stats().capacityBytes());
    }

    @AfterEach
    void close() {
        if (h != null) {
            h.close();
            h = null;
        }
    }

    private MetaStore withHookAfterLookup(MetaStore real) {
        return new io.peerfs.meta.ForwardingMetaStore(real) {
            @Override
            public boolean openElsewhere(long ino) {
                return openOnAnotherNode.get();
            }

            @Override
            public java.util.Optional<Inode> closed(long ino) throws java.io.IOException {
                if (closesFail.get()) {
                    throw new io.peerfs.PeerFsException("metadata store unreachable");
                }
                closesRecorded.add(ino);
                return super.closed(ino);
            }

            @Override
            public java.util.Optional<Inode> lookup(String path) throws java.io.IOException {
                java.util.Optional<Inode> found = super.lookup(path);
                Runnable hook = afterLookup.getAndSet(null);
                if (hook != null) {
                    hook.run();
                }
                return found;
            }
        };
    }

    private void closeQuietly(long fh) {
        try {
            vfs.flush(fh);
            vfs.release(fh);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static ByteBuffer bytes(byte[] b) {
        return ByteBuffer.allocateDirect(b.length).put(b).flip();
    }

    private byte[] readAll(String path) throws Exception {
        long fh = vfs.open(path, Vfs.O_RDONLY);
        try {
            int size = (int) vfs.getattr(path).size();
            ByteBuffer dst = ByteBuffer.allocateDirect(size + 10);
            int n = vfs.read(fh, 0, dst);
            byte[] out = new byte[n];
            dst.flip().get(out);
            return out;
        } finally {
            vfs.release(fh);
        }
    }

    private void writeFile(String path, byte[] data) throws Exception {
        long fh = vfs.create(path, 0644, ME);
        vfs.write(fh, 0, bytes(data));
        vfs.flush(fh);
        vfs.release(fh);
    }

    @Test
    void randomWritesTruncatesAndReadsMatchAModel() throws Exception {
        open(64L << 20);
        Random r = new Random(42);
        byte[] model = new byte[0];
        long fh = vfs.create("/fsx", 0644, ME);
        long fh2 = vfs.open("/fsx", 2); // a second descriptor of the same file sees every write at once
        for (int op = 0; op < 2000; op++) {
            int kind = r.nextInt(10);
            if (kind < 5) {
                int off = r.nextInt(6 * CHUNK);
                byte[] data = TestBytes.random(1 + r.nextInt(2 * CHUNK), op);
                vfs.write(fh, off, bytes(data));
                if (off + data.length > model.length) {
                    model = Arrays.copyOf(model, off + data.length);
                }
                System.arraycopy(data, 0, model, off, data.length);
            } else if (kind < 6) {
                int size = r.nextInt(7 * CHUNK);
                vfs.ftruncate(fh, size);
                model = Arrays.copyOf(model, size);
            } else if (kind < 7) {
                if (r.nextBoolean()) {
                    vfs.flush(r.nextBoolean() ? fh : fh2);
                } else {
                    vfs.fsync(r.nextBoolean() ? fh : fh2);
                }
            } else {
                int off = r.nextInt(model.length + 10);
                int len = 1 + r.nextInt(3 * CHUNK);
                ByteBuffer dst = ByteBuffer.allocateDirect(len);
                int n = vfs.read(r.nextBoolean() ? fh : fh2, off, dst);
                int want = Math.max(0, Math.min(len, model.length - off));
                assertEquals(want, n, "op " + op);
                byte[] got = new byte[n];
                dst.flip().get(got);
                assertArrayEquals(Arrays.copyOfRange(model, Math.min(off, model.length), Math.min(off, model.length) + n), got, "op " + op);
            }
            assertEquals(model.length, vfs.getattr("/fsx").size(), "op " + op);
        }
        vfs.release(fh);
        vfs.release(fh2);
        assertArrayEquals(model, readAll("/fsx"));
        reopen();
        assertArrayEquals(model, readAll("/fsx"), "committed data survives a restart");
        long expectChunks = (model.length + CHUNK - 1) / CHUNK;
        assertTrue(store.stats().chunks() <= expectChunks, "replaced chunks were freed: " + store.stats());
        assertEquals(store.stats().usedBytes(), store.stats().pinnedBytes(), "scratch chunks are pinned");
    }

    @Test
    void namespaceOperationsMergeWithTheBackend() throws Exception {
        Files.createDirectories(backendDir.resolve("src"));
        Files.writeString(backendDir.resolve("src/a.txt"), "source");
        open(64L << 20);
        vfs.mkdir("/src/out", 0755, ME);
        writeFile("/src/out/part-0", "zero".getBytes(StandardCharsets.UTF_8));
        writeFile("/src/b.txt", "scratch".getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of("a.txt", "b.txt", "out"), vfs.readdir("/src").stream().sorted().toList());
        assertEquals(FileType.DIRECTORY, vfs.getattr("/src/out").type());
        assertEquals(1000, vfs.getattr("/src/b.txt").uid());
        assertThrows(FileAlreadyExistsException.class, () -> vfs.create("/src/a.txt", 0644, ME));
        assertThrows(FileAlreadyExistsException.class, () -> vfs.mkdir("/src/out", 0755, ME));
        assertThrows(FileAlreadyExistsException.class, () -> vfs.create("/src/b.txt", 0644, ME), "a scratch name");
        assertThrows(FileAlreadyExistsException.class, () -> vfs.create("/src/out/part-0", 0644, ME));
        assertThrows(FileAlreadyExistsException.class, () -> vfs.symlink("x", "/src/b.txt", ME));
        assertThrows(FileAlreadyExistsException.class, () -> vfs.link("/src/out/part-0", "/src/b.txt"));
        assertThrows(java.nio.file.NotDirectoryException.class, () -> vfs.create("/src/b.txt/x", 0644, ME));
        assertThrows(NoSuchFileException.class, () -> vfs.create("/nodir/x", 0644, ME));
        vfs.rename("/src/out", "/final");
        assertEquals("zero", new String(readAll("/final/part-0"), StandardCharsets.UTF_8));
        assertThrows(NoSuchFileException.class, () -> vfs.getattr("/src/out/part-0"));
        assertThrows(DirectoryNotEmptyException.class, () -> vfs.rmdir("/final"));
        vfs.symlink("part-0", "/final/link", ME);
        assertEquals("part-0", vfs.readlink("/final/link"));
        vfs.link("/final/part-0", "/final/hard");
        assertEquals(2, vfs.getattr("/final/hard").nlink());
        vfs.unlink("/final/part-0");
        assertEquals("zero", new String(readAll("/final/hard"), StandardCharsets.UTF_8));
        vfs.chmod("/final/hard", 0600);
        vfs.chown("/final/hard", 7, -1);
        vfs.utimens("/final/hard", Vfs.OMIT, 5_000_000_000L);
        assertEquals(0600, vfs.getattr("/final/hard").mode());
        assertEquals(7, vfs.getattr("/final/hard").uid());
        assertEquals(1000, vfs.getattr("/final/hard").gid());
        assertEquals(5_000_000_000L, vfs.getattr("/final/hard").mtimeNs());
        vfs.setxattr("/final/hard", "user.k", new byte[] {9}, 0);
        assertArrayEquals(new byte[] {9}, vfs.getxattr("/final/hard", "user.k"));
        assertEquals(List.of("user.k"), vfs.listxattr("/final/hard"));
        vfs.removexattr("/final/hard", "user.k");
        assertThrows(NoSuchXattrException.class, () -> vfs.getxattr("/final/hard", "user.k"));
        for (String n : List.of("hard", "link")) {
            vfs.unlink("/final/" + n);
        }
        vfs.rmdir("/final");
        assertEquals(List.of("a.txt", "b.txt"), vfs.readdir("/src").stream().sorted().toList());
        try (Stream<Path> s = Files.walk(backendDir)) {
            assertEquals(3, s.count(), "the backend holds only its own root, src and a.txt");
        }
    }

    @Test
    void anUnlinkedOpenFileStaysReadableAndIsFreedAtLastClose() throws Exception {
        open(64L << 20);
        byte[] data = TestBytes.random(3 * CHUNK, 1);
        writeFile("/f", data);
        long fh = vfs.open("/f", Vfs.O_RDONLY);
        vfs.unlink("/f");
        assertThrows(NoSuchFileException.class, () -> vfs.getattr("/f"));
        ByteBuffer dst = ByteBuffer.allocateDirect(data.length);
        vfs.read(fh, 0, dst);
        assertArrayEquals(data, Arrays.copyOf(toArray(dst), data.length));
        assertTrue(store.stats().chunks() > 0);
        vfs.release(fh);
        assertEquals(0, store.stats().chunks(), "the last close frees the chunks");
        assertTrue(metaStore.orphans().isEmpty());
    }

    /** libfuse renames a file removed while open to .fuse_hiddenNNN and removes that at its release. */
    @Test
    void filesLibfuseHidUntilTheirReleaseAreNotListedAndGoWithTheirDirectory() throws Exception {
        open(64L << 20);
        byte[] data = TestBytes.random(2 * CHUNK + 3, 2);
        vfs.mkdir("/d", 0755, ME);
        writeFile("/d/f", data);
        long fh = vfs.open("/d/f", Vfs.O_RDONLY);
        vfs.rename("/d/f", "/d/.fuse_hidden0000000300000001");
        assertEquals(List.of(), vfs.readdir("/d"));
        assertEquals(data.length, vfs.getattr(fh).size(), "fstat by handle");
        vfs.rmdir("/d");
        assertThrows(NoSuchFileException.class, () -> vfs.getattr("/d"));
        ByteBuffer dst = ByteBuffer.allocateDirect(data.length);
        vfs.read(fh, 0, dst);
        assertArrayEquals(data, Arrays.copyOf(toArray(dst), data.length), "the open handle keeps its bytes");
        assertEquals(0, vfs.getattr(fh).nlink());
        vfs.release(fh);
        assertThrows(NoSuchFileException.class, () -> vfs.unlink("/d/.fuse_hidden0000000300000001"),
                "libfuse's unlink at the release finds nothing and is ignored");
        assertEquals(0, store.stats().chunks(), "the last close frees the chunks");
        assertTrue(metaStore.orphans().isEmpty());

        vfs.mkdir("/e", 0755, ME);
        writeFile("/e/.fuse_hidden0000000300000002", data);
        writeFile("/e/kept", data);
        assertEquals(List.of("kept"), vfs.readdir("/e"));
        assertThrows(DirectoryNotEmptyException.class, () -> vfs.rmdir("/e"), "other entries keep the directory");
        assertEquals(data.length, vfs.getattr("/e/.fuse_hidden0000000300000002").size(), "and the hidden file");
    }

    /** With a shared MetaStore: what another node has open stays until it is closed there. */
    @Test
    void aFileRemovedWhileOpenOnAnotherNodeIsFreedByTheSweepOnceClosedThere() throws Exception {
        open(64L << 20);
        byte[] data = TestBytes.random(2 * CHUNK, 3);
        writeFile("/f", data);
        openOnAnotherNode.set(true);
        vfs.unlink("/f");
        assertEquals(1, metaStore.orphans().size(), "kept for the other node");
        assertTrue(store.stats().chunks() > 0);
        assertEquals(0, vfs.sweep());
        openOnAnotherNode.set(false); // closed there while it could not free it (or that node died)
        assertEquals(1, vfs.sweep());
        assertTrue(metaStore.orphans().isEmpty());
        assertEquals(0, store.stats().chunks());

        writeFile("/g", data);
        long ino = metaStore.lookup("g").orElseThrow().ino();
        closesRecorded.clear(); // the writer's close was recorded
        closesFail.set(true);
        long fh = vfs.open("/g", Vfs.O_RDONLY);
        vfs.release(fh); // its close is not recorded: the MetaStore is unreachable
        assertFalse(closesRecorded.contains(ino));
        vfs.sweep();
        assertFalse(closesRecorded.contains(ino), "still unreachable");
        closesFail.set(false);
        vfs.sweep();
        assertTrue(closesRecorded.contains(ino), "recorded once it is back");
    }

    @Test
    void aRecordReadBeforeTheWritersCloseIsNotServedAfterIt() throws Exception {
        open(64L << 20);
        byte[] data = TestBytes.random(2 * CHUNK + 123, 5);
        long w = vfs.create("/f", 0644, ME);
        vfs.write(w, 0, bytes(data));
        // a getattr reads the record (size 0: nothing committed yet), then the writer closes
        afterLookup.set(() -> closeQuietly(w));
        assertEquals(data.length, vfs.getattr("/f").size(), "getattr racing the writer's close");
    }

    @Test
    void aHandleOpenedWithARecordFromBeforeAnotherHandlesCloseStartsFromItsCommit() throws Exception {
        open(64L << 20);
        ScratchFiles files = new ScratchFiles(metaStore, store, CHUNK, now::incrementAndGet);
        Inode created = metaStore.create("g", Inode.fresh(0, FileType.FILE, 0644, 1000, 1000, null, now.get()));
        byte[] data = TestBytes.random(CHUNK + 7, 6);
        OpenScratch writer = files.open(created);
        files.write(writer, 0, bytes(data));
        Inode before = metaStore.get(created.ino()).orElseThrow(); // an opener read this (size 0) ...
        files.commit(writer, false); // ... then the writer closed
        files.release(writer);
        OpenScratch reader = files.open(before);
        try {
            ByteBuffer dst = ByteBuffer.allocateDirect(2 * data.length);
            assertEquals(data.length, files.read(reader, 0, dst));
            assertArrayEquals(data, toArray(dst));
        } finally {
            files.release(reader);
        }
    }

    @Test
    void manyFilesWrittenAtOnceStayWithinTheWriteBuffersBudget() throws Exception {
        open(1L << 30);
        ScratchFiles files = new ScratchFiles(metaStore, store, CHUNK, now::incrementAndGet);
        int budget = (int) ((128L << 20) / CHUNK); // chunks all writers may hold off-heap
        List<OpenScratch> opened = new java.util.ArrayList<>();
        int most = 0;
        for (int i = 0; i < budget + 300; i++) { // each holds one chunk, the one it writes
            Inode created = metaStore.create("many-" + i, Inode.fresh(0, FileType.FILE, 0644, 1000, 1000, null, 1));
            OpenScratch f = files.open(created);
            opened.add(f);
            files.write(f, 0, bytes(("file " + i).getBytes(StandardCharsets.UTF_8)));
            most = Math.max(most, files.dirtyChunks());
        }
        assertTrue(most <= budget + 1, most + " chunks held for " + opened.size() + " files, budget " + budget);
        for (int i = 0; i < opened.size(); i++) {
            OpenScratch f = opened.get(i);
            files.write(f, 100, bytes(new byte[] {7})); // files sealed for room are written again
            ByteBuffer dst = ByteBuffer.allocateDirect(200);
            assertEquals(101, files.read(f, 0, dst));
            byte[] got = toArray(dst);
            assertArrayEquals(("file " + i).getBytes(StandardCharsets.UTF_8), Arrays.copyOf(got,
                    ("file " + i).length()));
            assertEquals(7, got[100]);
            files.commit(f, false);
            files.release(f);
        }
        assertEquals(0, files.dirtyChunks());
    }

    @Test
    void orphansOfACrashAreCollectedAtStart() throws Exception {
        open(64L << 20);
        writeFile("/f", TestBytes.random(2 * CHUNK, 1));
        vfs.open("/f", Vfs.O_RDONLY); // never closed: the daemon "dies"
        vfs.unlink("/f");
        reopen();
        assertEquals(1, vfs.recover().orphans());
        assertEquals(0, store.stats().chunks());
    }

    @Test
    void chunksWrittenAgainAndAgainKeepPinnedSpaceNearTheFilesSizeWhileOpen() throws Exception {
        open(1L << 30);
        int chunks = 2048; // twice the per-file dirty budget (1,024 chunks): half are sealed, then written again
        long fh = vfs.create("/again", 0644, ME);
        int passes = 4;
        long most = 0;
        for (int pass = 0; pass < passes; pass++) {
            for (int c = 0; c < chunks; c++) {
                vfs.write(fh, (long) c * CHUNK, bytes(TestBytes.random(CHUNK, pass * chunks + c)));
                most = Math.max(most, store.stats().pinnedBytes());
            }
        }
        long size = (long) chunks * CHUNK;
        assertTrue(most <= size + size / 8, "pinned " + most + " bytes for a file of " + size);
        vfs.flush(fh);
        vfs.release(fh);
        assertTrue(store.stats().pinnedBytes() <= size, "after close the file's chunks alone are pinned");
        long reader = vfs.open("/again", Vfs.O_RDONLY);
        try {
            ByteBuffer dst = ByteBuffer.allocateDirect(CHUNK);
            for (int c = 0; c < chunks; c++) {
                dst.clear();
                assertEquals(CHUNK, vfs.read(reader, (long) c * CHUNK, dst));
                assertArrayEquals(TestBytes.random(CHUNK, (passes - 1) * chunks + c), toArray(dst), "chunk " + c);
            }
        } finally {
            vfs.release(reader);
        }
    }

    @Test
    void chunksSealedButNeverCommittedAreFreedAtStart() throws Exception {
        open(256L << 20);
        writeFile("/kept", TestBytes.random(2 * CHUNK, 1));
        long fh = vfs.create("/crashed", 0644, ME);
        ByteBuffer block = bytes(TestBytes.random(CHUNK, 2));
        for (int i = 0; i < 1100; i++) { // past the per-file dirty budget (64 MiB): chunks are sealed before any commit
            vfs.write(fh, (long) i * CHUNK, block.duplicate());
        }
        assertTrue(store.stats().chunks() > 2, "sealed chunks of the uncommitted file are in the store");
        reopen(); // the daemon "dies" without closing
        Vfs.Recovery r = vfs.recover();
        assertTrue(r.orphans() + r.chunks() > 0);
        assertEquals(2, store.stats().chunks(), "only the committed file's chunks remain");
        assertArrayEquals(TestBytes.random(2 * CHUNK, 1), readAll("/kept"));
        assertEquals(0, vfs.getattr("/crashed").size(), "the never-committed file is empty, as after a crash");
    }

    @Test
    void aFullCacheGivesTheWriterAnErrorAndKeepsEarlierFiles() throws Exception {
        open(4L * CHUNK);
        byte[] first = TestBytes.random(2 * CHUNK, 1);
        writeFile("/first", first);
        long fh = vfs.create("/second", 0644, ME);
        byte[] big = TestBytes.random(CHUNK, 2);
        assertThrows(CacheFullException.class, () -> {
            for (int i = 0; i < 10; i++) {
                vfs.write(fh, (long) i * CHUNK, bytes(big));
            }
            vfs.flush(fh);
        });
        assertArrayEquals(first, readAll("/first"));
        assertTrue(store.stats().usedBytes() <= 4L * CHUNK);
        assertThrows(CacheFullException.class, () -> vfs.release(fh), "the last close still cannot commit");
        vfs.unlink("/second");
        assertEquals(2L * CHUNK, store.stats().pinnedBytes(), "the failed file's chunks are freed, the first file's kept");
        writeFile("/third", TestBytes.random(2 * CHUNK, 3));
        assertArrayEquals(TestBytes.random(2 * CHUNK, 3), readAll("/third"));
    }

    private static byte[] toArray(ByteBuffer b) {
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    @Test
    void timesSetOnAnOpenFileSurviveItsClose() throws Exception {
        open(64L << 20);
        long fh = vfs.create("/f", 0644, ME);
        vfs.write(fh, 0, bytes(new byte[] {1, 2, 3}));
        vfs.utimens("/f", Vfs.OMIT, 1_600_000_000_000_000_000L); // as tar and cp -p do before close
        assertEquals(1_600_000_000_000_000_000L, vfs.getattr("/f").mtimeNs());
        vfs.flush(fh);
        vfs.release(fh);
        assertEquals(1_600_000_000_000_000_000L, vfs.getattr("/f").mtimeNs());
        assertEquals(3, vfs.getattr("/f").size());
        long ro = vfs.open("/f", Vfs.O_RDONLY); // an idle open handle must not change the times either
        vfs.utimens("/f", Vfs.OMIT, 1_700_000_000_000_000_000L);
        assertEquals(1_700_000_000_000_000_000L, vfs.getattr("/f").mtimeNs());
        vfs.release(ro);
    }

    @Test
    void xattrSpaceIsBoundedLikeExt4() throws Exception {
        open(64L << 20);
        writeFile("/f", new byte[1]);
        writeFile("/g", new byte[1]);
        FileSystemException full = assertThrows(FileSystemException.class, () -> {
            for (int i = 0; i < 10_000; i++) {
                vfs.setxattr("/f", "user.var_" + i, ("value-" + i).getBytes(StandardCharsets.UTF_8), 0);
            }
        });
        assertEquals("No space left on device", full.getReason());
        int fit = vfs.listxattr("/f").size();
        assertTrue(fit >= 100 && fit <= 130, fit + " small xattrs fit, as on ext4 (125)");
        FileSystemException big = assertThrows(FileSystemException.class,
                () -> vfs.setxattr("/g", "user.big", new byte[4096], 0));
        assertEquals("No space left on device", big.getReason(), "a value larger than ext4's xattr block");
        assertThrows(FileSystemException.class, () -> vfs.setxattr("/f", "trusted.x", new byte[1], 0));
        assertThrows(FileAlreadyExistsException.class, () -> vfs.setxattr("/f", "user.var_0", new byte[1], 1));
        assertThrows(NoSuchXattrException.class, () -> vfs.setxattr("/f", "user.none", new byte[1], 2));
    }

    @Test
    void truncateOnOpenAndHolesReadAsZeros() throws Exception {
        open(64L << 20);
        writeFile("/f", TestBytes.random(100, 1));
        long fh = vfs.open("/f", 1 | Vfs.O_TRUNC);
        assertEquals(0, vfs.getattr("/f").size());
        vfs.write(fh, 5 * CHUNK, bytes(new byte[] {7}));
        vfs.release(fh);
        byte[] got = readAll("/f");
        assertEquals(5 * CHUNK + 1, got.length);
        assertEquals(7, got[5 * CHUNK]);
        for (int i = 0; i < 5 * CHUNK; i++) {
            if (got[i] != 0) {
                throw new AssertionError("hole byte " + i + " is " + got[i]);
            }
        }
        assertFalse(store.stats().chunks() > 1, "holes take no chunks");
    }

    @Test
    void pastTheLargestFileSizeIsEfbigAsOnExt4() throws Exception {
        open(64 << 20);
        long fh = vfs.create("/f", 0644, ME);
        try {
            PosixException write = assertThrows(PosixException.class,
                    () -> vfs.write(fh, ScratchFiles.MAX_FILE_SIZE, java.nio.ByteBuffer.wrap(new byte[1])));
            assertEquals(PosixException.EFBIG, write.errno());
            PosixException truncate = assertThrows(PosixException.class,
                    () -> vfs.ftruncate(fh, ScratchFiles.MAX_FILE_SIZE + 1));
            assertEquals(PosixException.EFBIG, truncate.errno());
            vfs.ftruncate(fh, ScratchFiles.MAX_FILE_SIZE); // the largest itself is a size, as there
            assertEquals(ScratchFiles.MAX_FILE_SIZE, vfs.getattr(fh).size());
        } finally {
            vfs.release(fh);
        }
        PosixException byPath = assertThrows(PosixException.class, () -> vfs.truncate("/f", 999_999_999_999_999L));
        assertEquals(PosixException.EFBIG, byPath.errno());
    }

    /**
     * A write just below the largest file size costs one layout entry, not one per chunk before
     * it (with 64 KiB chunks that would be 2^28 entries: the daemon ran out of heap), survives a
     * restart, and reads back with zeros before it; a truncate brings the layout down again.
     */
    @Test
    void aWriteNearTheLargestFileSizeCostsOneLayoutEntry() throws Exception {
        open(64 << 20);
        long at = ScratchFiles.MAX_FILE_SIZE - 10;
        byte[] tail = "ten bytes!".getBytes(StandardCharsets.UTF_8);
        long fh = vfs.create("/sparse", 0644, ME);
        assertEquals(10, vfs.write(fh, at, bytes(tail)));
        vfs.flush(fh);
        vfs.release(fh);
        reopen();
        assertEquals(ScratchFiles.MAX_FILE_SIZE, vfs.getattr("/sparse").size());
        Inode record = metaStore.lookup("sparse").orElseThrow();
        assertEquals(1, record.presentChunks().size());
        assertTrue(record.encode().length < 200, "a record of " + record.encode().length + " bytes");
        long reader = vfs.open("/sparse", Vfs.O_RDONLY);
        try {
            ByteBuffer end = ByteBuffer.allocateDirect(10);
            assertEquals(10, vfs.read(reader, at, end));
            byte[] got = new byte[10];
            end.flip().get(got);
            assertArrayEquals(tail, got);
            ByteBuffer hole = ByteBuffer.allocateDirect(4096);
            assertEquals(4096, vfs.read(reader, at - 4096, hole));
            for (int i = 0; i < 4096; i++) {
                assertEquals(0, hole.get(i), "hole byte " + i);
            }
        } finally {
            vfs.release(reader);
        }
        vfs.truncate("/sparse", 3);
        assertEquals(0, metaStore.lookup("sparse").orElseThrow().presentChunks().size());
        assertEquals(3, vfs.getattr("/sparse").size());
    }
}
