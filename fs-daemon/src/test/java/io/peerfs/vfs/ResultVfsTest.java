package io.peerfs.vfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.peerfs.backend.Backend;
import io.peerfs.backend.ForwardingBackend;
import io.peerfs.backend.LocalDirBackend;
import io.peerfs.chunk.ByteSize;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.disk.DiskChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.ResultPaths;
import io.peerfs.meta.rocksdb.RocksDbMetaStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Result paths through {@link Vfs}, without a kernel: written back to a real backend directory. */
class ResultVfsTest {
    static final int CHUNK = 64 * 1024;
    static final Caller ME = new Caller(1000, 1000);
    @TempDir
    Path backendDir;
    @TempDir
    Path cacheDir;
    final AtomicLong now = new AtomicLong(1_000_000);
    /** While set, uploads to the backend fail as if it were unreachable. */
    final AtomicBoolean backendDown = new AtomicBoolean();
    /** While set, an upload counts it down and then waits until interrupted, as on a slow store. */
    volatile java.util.concurrent.CountDownLatch uploadStarted;
    /** Set once the MetaStore is closed; a call after it is counted (on RocksDB it would crash the JVM). */
    final AtomicBoolean metaClosed = new AtomicBoolean();
    final java.util.concurrent.atomic.AtomicInteger callsAfterClose = new java.util.concurrent.atomic.AtomicInteger();
    DiskChunkStore store;
    /** What reaches the backend directory. */
    io.peerfs.backend.CountingBackend counted;
    BackendMetaCache meta;
    MetaStore metaStore;
    ChunkFetcher fetcher;
    Vfs vfs;

    void open(boolean writeback, String... globs) throws Exception {
        open(64L << 20, writeback, globs);
    }

    VfsHarness h;

    void open(long cacheBytes, boolean writeback, String... globs) throws Exception {
        h = VfsHarness.options().cacheBytes(cacheBytes).writeback(writeback).resultPaths(globs)
                .clocks(System::currentTimeMillis, () -> now.incrementAndGet() * 1_000_000)
                .backend(counted -> new ForwardingBackend(counted) {
                    @Override
                    public io.peerfs.meta.FileAttr replace(String path, long size, NewFile m, Content content,
                                                           String tag) throws IOException {
                        if (backendDown.get()) {
                            throw new IOException("backend unreachable (test)");
                        }
                        java.util.concurrent.CountDownLatch started = uploadStarted;
                        if (started != null) {
                            started.countDown();
                            try {
                                Thread.sleep(60_000);
                            } catch (InterruptedException e) {
                                throw new java.io.InterruptedIOException("upload interrupted (test)");
                            }
                        }
                        return super.replace(path, size, m, content, tag);
                    }
                })
                .metaStore(this::countingCallsAfterClose).recover().open(backendDir, cacheDir);
        counted = h.counted;
        store = h.store;
        meta = h.meta;
        metaStore = h.metaStore;
        fetcher = h.fetcher;
        vfs = h.vfs;
    }

    /** Stops everything without uploading what is queued: what kill -9 leaves. */
    void crash() {
        h.close();
        vfs = null;
    }

    @AfterEach
    void close() {
        if (vfs != null) {
            crash();
        }
    }

    private MetaStore countingCallsAfterClose(MetaStore real) {
        return new io.peerfs.meta.ForwardingMetaStore(real) {
            @Override
            protected <T> T call(String op, Call<T> call) throws java.io.IOException {
                if (metaClosed.get()) {
                    callsAfterClose.incrementAndGet();
                }
                return call.run();
            }
        };
    }

    private static ByteBuffer bytes(byte[] b) {
        return ByteBuffer.allocateDirect(b.length).put(b).flip();
    }

    private void writeFile(String path, byte[] data) throws Exception {
        long fh = vfs.create(path, 0640, ME);
        vfs.write(fh, 0, bytes(data));
        vfs.flush(fh);
        vfs.release(fh);
    }

    private byte[] readAll(String path) throws Exception {
        long fh = vfs.open(path, Vfs.O_RDONLY);
        try {
            ByteBuffer dst = ByteBuffer.allocateDirect((int) vfs.getattr(path).size() + 10);
            int n = vfs.read(fh, 0, dst);
            byte[] out = new byte[n];
            dst.flip().get(out);
            return out;
        } finally {
            vfs.release(fh);
        }
    }

    private List<String> backendFiles() throws IOException {
        try (Stream<Path> s = Files.walk(backendDir)) {
            return s.filter(Files::isRegularFile).map(p -> backendDir.relativize(p).toString()).sorted().toList();
        }
    }

    private JsonNode info(String path) throws Exception {
        return new ObjectMapper().readTree(vfs.getxattr(path, XattrNames.INFO_XATTR));
    }

    private static void awaitTrue(String what, java.util.function.BooleanSupplier cond) throws InterruptedException {
        for (int i = 0; i < 300 && !cond.getAsBoolean(); i++) {
            Thread.sleep(50);
        }
        assertTrue(cond.getAsBoolean(), what);
    }

    @Test
    void aResultFileReachesTheBackendWholeAtClose() throws Exception {
        Files.createDirectories(backendDir.resolve("out"));
        open(false, "out/**");
        byte[] data = TestBytes.random(3 * CHUNK + 17, 1);
        long fh = vfs.create("/out/model.bin", 0640, ME);
        vfs.write(fh, 0, bytes(Arrays.copyOf(data, CHUNK)));
        assertEquals(0, Files.size(backendDir.resolve("out/model.bin")), "nothing half-written before close");
        vfs.write(fh, CHUNK, bytes(Arrays.copyOfRange(data, CHUNK, data.length)));
        assertArrayEquals(data, readAll("/out/model.bin"), "this node reads the staged data");
        vfs.flush(fh);
        assertArrayEquals(data, Files.readAllBytes(backendDir.resolve("out/model.bin")));
        vfs.release(fh);
        assertEquals("rw-r-----", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(backendDir.resolve("out/model.bin"))));
        assertEquals(List.of("out/model.bin"), backendFiles(), "no temporary file left");
        assertEquals(0, store.stats().pinnedBytes(), "staged chunks are freed after the upload");
        assertEquals(0L, vfs.writebackStats().get("staged"));
        assertArrayEquals(data, readAll("/out/model.bin"), "read back through the cache from the backend");
    }

    @Test
    void anUploadedResultFileIsReadBackFromItsStagedChunksNotTheBackend() throws Exception {
        Files.createDirectories(backendDir.resolve("out"));
        open(false, "out/**");
        byte[] data = TestBytes.random(2 * CHUNK + 100, 2);
        writeFile("/out/ckpt", data);
        assertEquals(0, store.stats().pinnedBytes(), "the staged chunks are cache entries now, unpinned");
        assertEquals(3, store.stats().chunks());
        long before = counted.counts().bytesRead();
        assertArrayEquals(data, readAll("/out/ckpt"));
        assertEquals(before, counted.counts().bytesRead(), "read back without a backend read");

        // a chunk written short (a hole after it) is not the file's bytes: it is dropped, and read from the backend
        byte[] sparse = new byte[2 * CHUNK + 10];
        System.arraycopy(data, 0, sparse, 0, 100);
        System.arraycopy(data, 0, sparse, 2 * CHUNK, 10);
        long fh = vfs.create("/out/sparse", 0640, ME);
        vfs.write(fh, 0, bytes(Arrays.copyOf(data, 100)));
        vfs.write(fh, 2 * CHUNK, bytes(Arrays.copyOf(data, 10)));
        vfs.flush(fh);
        vfs.release(fh);
        assertArrayEquals(sparse, Files.readAllBytes(backendDir.resolve("out/sparse")));
        assertArrayEquals(sparse, readAll("/out/sparse"));

        // changed on the backend since: its new size and mtime key other chunks, so the new bytes are read
        byte[] other = TestBytes.random(data.length, 3);
        Files.write(backendDir.resolve("out/ckpt"), other);
        Files.setLastModifiedTime(backendDir.resolve("out/ckpt"),
                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        meta.invalidate("out/ckpt");
        assertArrayEquals(other, readAll("/out/ckpt"));
    }

    @Test
    void writingInsideAnExistingResultFileKeepsTheRestAndItsXattrs() throws Exception {
        Path f = backendDir.resolve("res/log.txt");
        Files.createDirectories(f.getParent());
        byte[] old = TestBytes.random(2 * CHUNK + 5, 2);
        Files.write(f, old);
        Files.getFileAttributeView(f, UserDefinedFileAttributeView.class).write("origin", bytes("cpfs".getBytes()));
        open(false, "res");
        long fh = vfs.open("/res/log.txt", 2);
        vfs.write(fh, CHUNK - 2, bytes("PATCH".getBytes(StandardCharsets.US_ASCII)));
        vfs.flush(fh);
        vfs.release(fh);
        System.arraycopy("PATCH".getBytes(StandardCharsets.US_ASCII), 0, old, CHUNK - 2, 5);
        assertArrayEquals(old, Files.readAllBytes(f));
        assertEquals(List.of("user.origin"), vfs.listxattr("/res/log.txt"));

        long trunc = vfs.open("/res/log.txt", 2 | Vfs.O_TRUNC);
        vfs.write(trunc, 0, bytes("new".getBytes()));
        assertEquals(old.length, Files.size(f), "O_TRUNC does not cut the backend file before close");
        vfs.flush(trunc);
        vfs.release(trunc);
        assertEquals("new", Files.readString(f));
    }

    @Test
    void namespaceChangesUnderResultPathsHappenOnTheBackend() throws Exception {
        open(false, "out/**");
        vfs.mkdir("/out", 0755, ME);
        vfs.mkdir("/out/d", 0700, ME);
        assertTrue(Files.isDirectory(backendDir.resolve("out/d")));
        writeFile("/out/d/a", "aaa".getBytes());
        vfs.symlink("a", "/out/d/l", ME);
        assertEquals("a", Files.readSymbolicLink(backendDir.resolve("out/d/l")).toString());
        vfs.link("/out/d/a", "/out/d/hard");
        vfs.rename("/out/d", "/out/e");
        assertEquals("aaa", Files.readString(backendDir.resolve("out/e/hard")));
        vfs.chmod("/out/e/a", 0600);
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(backendDir.resolve("out/e/a"))));
        vfs.truncate("/out/e/a", 1);
        assertEquals("a", Files.readString(backendDir.resolve("out/e/a")));
        vfs.unlink("/out/e/hard");
        vfs.unlink("/out/e/a");
        vfs.unlink("/out/e/l");
        vfs.rmdir("/out/e");
        assertEquals(List.of("out"), Files.list(backendDir).map(p -> p.getFileName().toString()).toList());
        assertTrue(Files.list(backendDir.resolve("out")).findAny().isEmpty());
    }

    @Test
    void aStagedFileRenamedOrRemovedWhileOpenFollowsItsName() throws Exception {
        Files.createDirectories(backendDir.resolve("out"));
        open(false, "out/**");
        long fh = vfs.create("/out/tmp.part", 0644, ME);
        vfs.write(fh, 0, bytes("whole".getBytes()));
        vfs.rename("/out/tmp.part", "/out/final");
        vfs.flush(fh);
        vfs.release(fh);
        assertEquals("whole", Files.readString(backendDir.resolve("out/final")));
        assertFalse(Files.exists(backendDir.resolve("out/tmp.part")));

        long gone = vfs.create("/out/gone", 0644, ME);
        vfs.write(gone, 0, bytes("never".getBytes()));
        vfs.unlink("/out/gone");
        vfs.write(gone, 5, bytes("more".getBytes()));
        vfs.flush(gone);
        vfs.release(gone);
        assertEquals(List.of("out/final"), backendFiles(), "data of a removed name never reaches the backend");
        assertEquals(0, store.stats().pinnedBytes());
    }

    /**
     * libfuse renames a result file removed while open to .fuse_hiddenNNN on the backend and
     * removes it at the release, which the kernel sends after close() returned: an rmdir of the
     * directory in between waits for it, and fails only when the file stays open.
     */
    @Test
    void anRmdirWaitsForTheReleaseOfFilesLibfuseHid() throws Exception {
        Files.createDirectories(backendDir.resolve("out/d"));
        Files.writeString(backendDir.resolve("out/d/f"), "data");
        open(false, "out/**");
        long fh = vfs.open("/out/d/f", Vfs.O_RDONLY);
        String hidden = "/out/d/.fuse_hidden0000000400000001";
        vfs.rename("/out/d/f", hidden);
        assertEquals(List.of(), vfs.readdir("/out/d"));
        assertEquals(4, vfs.getattr(fh).size(), "fstat by handle follows the rename");
        Thread release = new Thread(() -> {
            try {
                Thread.sleep(200);
                vfs.release(fh);
                vfs.unlink(hidden); // what libfuse does once the release is answered
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        release.start();
        vfs.rmdir("/out/d");
        release.join();
        assertFalse(Files.exists(backendDir.resolve("out/d")));

        Files.createDirectories(backendDir.resolve("out/e"));
        Files.writeString(backendDir.resolve("out/e/.fuse_hidden0000000400000002"), "held");
        assertThrows(DirectoryNotEmptyException.class, () -> vfs.rmdir("/out/e"), "a file still open keeps it");
        assertTrue(Files.exists(backendDir.resolve("out/e/.fuse_hidden0000000400000002")));
    }

    @Test
    void scratchAndResultDataDoNotMixAndSourceStaysReadOnly() throws Exception {
        Files.createDirectories(backendDir.resolve("out"));
        Files.writeString(backendDir.resolve("src.txt"), "source");
        open(false, "out/**");
        writeFile("/scratch.bin", "s".getBytes());
        writeFile("/out/r.bin", "r".getBytes());
        FileSystemException xdev = assertThrows(FileSystemException.class,
                () -> vfs.rename("/scratch.bin", "/out/scratch.bin"));
        assertEquals("Invalid cross-device link", xdev.getReason());
        assertThrows(FileSystemException.class, () -> vfs.rename("/out/r.bin", "/r.bin"));
        assertThrows(FileSystemException.class, () -> vfs.link("/scratch.bin", "/out/s"));
        assertThrows(ReadOnlyPathException.class, () -> vfs.open("/src.txt", 1));
        assertThrows(ReadOnlyPathException.class, () -> vfs.rename("/src.txt", "/out/src.txt"));
        assertEquals(List.of("out/r.bin", "src.txt"), backendFiles(), "no scratch byte or name on the backend");
        assertEquals("scratch", info("/scratch.bin").path("class").asText());
        assertEquals("result", info("/out/r.bin").path("class").asText());
        assertEquals("matches --result-paths glob 'out/**' (via its directory 'out')",
                info("/out/r.bin").path("why").asText());
        assertEquals("source", info("/src.txt").path("class").asText());
        assertEquals("result", info("/out").path("newNames").asText());
        assertEquals("scratch", info("/").path("newNames").asText());
    }

    @Test
    void taggingADirectoryMakesItAResultPathUntilUntagged() throws Exception {
        Files.createDirectories(backendDir.resolve("keep/sub"));
        open(false);
        vfs.setxattr("/keep", "user.peerfs.result", "1".getBytes(), 0);
        writeFile("/keep/sub/a", "kept".getBytes());
        assertEquals("kept", Files.readString(backendDir.resolve("keep/sub/a")));
        assertEquals("directory 'keep' is tagged user.peerfs.result=1", info("/keep/sub/a").path("why").asText());
        assertArrayEquals("1".getBytes(), vfs.getxattr("/keep", "user.peerfs.result"));
        assertTrue(vfs.listxattr("/keep").contains("user.peerfs.result"));
        vfs.mkdir("/scratchdir", 0755, ME);
        assertThrows(FileSystemException.class, () -> vfs.setxattr("/scratchdir", "user.peerfs.result", "1".getBytes(), 0));
        assertThrows(FileSystemException.class, () -> vfs.setxattr("/keep", "user.peerfs.result", "yes".getBytes(), 0));
        crash();
        open(false);
        assertEquals("result", info("/keep/sub/a").path("class").asText(), "tags survive a restart");
        vfs.removexattr("/keep", "user.peerfs.result");
        writeFile("/keep/sub/b", "scratch".getBytes());
        assertFalse(Files.exists(backendDir.resolve("keep/sub/b")));
        assertThrows(ReadOnlyPathException.class, () -> vfs.unlink("/keep/sub/a"));
    }

    @Test
    void persistWritesAScratchTreeToTheBackendAndMakesItResult() throws Exception {
        open(false);
        vfs.mkdir("/run", 0755, ME);
        vfs.mkdir("/run/sub", 0750, ME);
        byte[] big = TestBytes.random(3 * CHUNK + 1, 3);
        writeFile("/run/sub/big", big);
        vfs.symlink("sub/big", "/run/link", ME);
        assertThrows(FileSystemException.class, () -> vfs.setxattr("/run/sub", XattrNames.PERSIST_XATTR, "1".getBytes(), 0),
                "a directory inside a scratch directory is persisted with its parent");
        vfs.setxattr("/run", XattrNames.PERSIST_XATTR, "1".getBytes(), 0);
        assertArrayEquals(big, Files.readAllBytes(backendDir.resolve("run/sub/big")));
        assertEquals("sub/big", Files.readSymbolicLink(backendDir.resolve("run/link")).toString());
        assertEquals("rwxr-x---", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(backendDir.resolve("run/sub"))));
        assertEquals("result", info("/run/sub/big").path("class").asText());
        long before = counted.counts().bytesRead();
        assertArrayEquals(big, readAll("/run/sub/big"));
        assertEquals(before, counted.counts().bytesRead(), "its scratch chunks are its cache entries now");
        assertEquals(0, store.stats().pinnedBytes(), "the scratch copy is gone");
        assertEquals(4, store.stats().chunks());
        writeFile("/run/after", "x".getBytes());
        assertEquals("x", Files.readString(backendDir.resolve("run/after")), "new files below it are result files");
        assertThrows(FileSystemException.class, () -> vfs.setxattr("/run", XattrNames.PERSIST_XATTR, "1".getBytes(), 0));
    }

    @Test
    void writebackQueuesUploadsAndAKilledDaemonFinishesThemAtTheNextStart() throws Exception {
        Files.createDirectories(backendDir.resolve("out"));
        open(true, "out/**");
        backendDown.set(true);
        byte[] data = TestBytes.random(2 * CHUNK + 3, 4);
        writeFile("/out/ckpt", data); // close returns: the data is journaled, the upload queued
        assertEquals(0, Files.size(backendDir.resolve("out/ckpt")));
        assertArrayEquals(data, readAll("/out/ckpt"));
        assertTrue(info("/out/ckpt").path("uploadPending").asBoolean());
        awaitTrue("the failed upload is counted", () -> vfs.writebackStats().get("failures") > 0);
        crash();

        backendDown.set(false);
        open(true, "out/**");
        assertArrayEquals(data, readAll("/out/ckpt"), "staged data is served while the upload is pending");
        awaitTrue("the journal is replayed", () -> vfs.writebackStats().get("staged") == 0);
        assertArrayEquals(data, Files.readAllBytes(backendDir.resolve("out/ckpt")));
        assertEquals(List.of("out/ckpt"), backendFiles());
        assertEquals(0, store.stats().pinnedBytes());
    }

    @Test
    void closeWaitsForARunningUploadToStopBeforeTheStoresClose() throws Exception {
        Files.createDirectories(backendDir.resolve("out"));
        open(true, "out/**");
        uploadStarted = new java.util.concurrent.CountDownLatch(1);
        writeFile("/out/slow", TestBytes.random(CHUNK + 1, 9));
        assertTrue(uploadStarted.await(10, java.util.concurrent.TimeUnit.SECONDS), "the upload started");
        assertTrue(vfs.close(0), "the interrupted upload stopped");
        metaClosed.set(true); // what the daemon does next: close the MetaStore
        Thread.sleep(200);
        assertEquals(0, callsAfterClose.get(), "the upload used the MetaStore after close returned");
        uploadStarted = null;
        metaClosed.set(false);
    }

    @Test
    void fsyncUploadsEvenWithWritebackAndAFailedUploadIsReportedAndKept() throws Exception {
        Files.createDirectories(backendDir.resolve("out"));
        open(true, "out/**");
        long fh = vfs.create("/out/f", 0644, ME);
        vfs.write(fh, 0, bytes("synced".getBytes()));
        vfs.fsync(fh);
        assertEquals("synced", Files.readString(backendDir.resolve("out/f")));
        backendDown.set(true);
        vfs.write(fh, 6, bytes("+more".getBytes()));
        assertThrows(IOException.class, () -> vfs.fsync(fh));
        vfs.release(fh);
        assertEquals("synced", Files.readString(backendDir.resolve("out/f")), "the backend keeps the old whole file");
        backendDown.set(false);
        awaitTrue("the uploader retries", () -> vfs.writebackStats().get("staged") == 0);
        assertEquals("synced+more", Files.readString(backendDir.resolve("out/f")));
    }

    @Test
    void aFullCacheFailsTheWriterAndTheBackendKeepsItsWholeFile() throws Exception {
        Path f = backendDir.resolve("out/weights");
        Files.createDirectories(f.getParent());
        byte[] old = TestBytes.random(2 * CHUNK, 5);
        Files.write(f, old);
        open(6L * CHUNK, false, "out/**");
        long fh = vfs.open("/out/weights", 2);
        IOException full = assertThrows(IOException.class, () -> {
            for (int i = 0; i < 12; i++) {
                vfs.write(fh, (long) i * CHUNK, bytes(TestBytes.random(CHUNK, 100 + i)));
            }
            vfs.flush(fh);
        });
        assertTrue(full.getClass().getSimpleName().contains("CacheFull"), full.toString());
        vfs.release(fh);
        assertArrayEquals(old, Files.readAllBytes(f), "the backend keeps the previous whole file");
        assertEquals(0L, vfs.writebackStats().get("staged"));
        awaitTrue("staged chunks are freed", () -> store.stats().pinnedBytes() == 0);
        writeFile("/out/small", "fits".getBytes());
        assertEquals("fits", Files.readString(backendDir.resolve("out/small")), "room again afterwards");
    }

    @Test
    void aChildClosingAnInheritedDescriptorDoesNotUploadAHalfWrittenFile() throws Exception {
        Files.createDirectories(backendDir.resolve("out"));
        open(false, "out/**");
        long fh = vfs.create("/out/ckpt", 0644, new Caller(1000, 1000, 100));
        vfs.write(fh, 0, bytes("first half ".getBytes()));
        vfs.flush(fh, 200); // a child of the writer (fork + exec) closes its copy of the descriptor
        assertEquals(0, Files.size(backendDir.resolve("out/ckpt")), "not uploaded half-way");
        vfs.write(fh, 11, bytes("second half".getBytes()));
        vfs.flush(fh, 100); // the writer's own close
        assertEquals("first half second half", Files.readString(backendDir.resolve("out/ckpt")));
        vfs.release(fh);

        long again = vfs.open("/out/ckpt", 2, 100);
        vfs.write(again, 0, bytes("FIRST".getBytes()));
        vfs.flush(again, 300);
        vfs.release(again); // the writer died without closing: the last release still uploads
        awaitTrue("uploaded after the last release", () -> {
            try {
                return Files.readString(backendDir.resolve("out/ckpt")).startsWith("FIRST");
            } catch (IOException e) {
                return false;
            }
        });
    }
}
