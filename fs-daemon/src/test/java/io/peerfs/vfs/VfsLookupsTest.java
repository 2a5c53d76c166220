package io.peerfs.vfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.backend.LocalDirBackend;
import io.peerfs.chunk.ByteSize;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.disk.DiskChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.ForwardingMetaStore;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.ResultPaths;
import io.peerfs.meta.rocksdb.RocksDbMetaStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every operation resolves each path it names once: a scratch lookup is a MetaStore round trip
 * (Redis in a cluster), so a second lookup of the same path in one call is a cost, and a
 * chance to see two different answers. The MetaStore here counts path lookups per path.
 */
class VfsLookupsTest {
    static final Caller ME = new Caller(0, 0);
    @TempDir
    Path backendDir;
    @TempDir
    Path cacheDir;
    final AtomicLong now = new AtomicLong(1_000_000);
    final Map<String, Integer> lookups = new TreeMap<>();
    VfsHarness h;
    Vfs vfs;

    @FunctionalInterface
    interface Op {
        void run() throws Exception;
    }

    @BeforeEach
    void open() throws Exception {
        Files.createDirectories(backendDir.resolve("src"));
        Files.writeString(backendDir.resolve("src/a.txt"), "source");
        Files.createDirectories(backendDir.resolve("out/old"));
        Files.writeString(backendDir.resolve("out/r.txt"), "result");
        h = VfsHarness.options().resultPaths("out/**").metaTtl(Duration.ofSeconds(60))
                .clocks(now::get, () -> now.incrementAndGet() * 1_000_000).metaStore(real -> new ForwardingMetaStore(real) {
                    @Override
                    public Optional<Inode> lookup(String path) throws IOException {
                        count(path);
                        return super.lookup(path);
                    }

                    @Override
                    public Optional<Inode> lookupToOpen(String path) throws IOException {
                        count(path);
                        return super.lookupToOpen(path);
                    }
                }).recover().open(backendDir, cacheDir);
        vfs = h.vfs;
        vfs.mkdir("/s", 0755, ME);
        write("/s/f", "scratch");
        write("/out/w.txt", "written");
    }

    @AfterEach
    void close() {
        h.close();
    }

    private synchronized void count(String path) {
        lookups.merge(path, 1, Integer::sum);
    }

    private void write(String path, String text) throws IOException {
        long fh = vfs.create(path, 0644, ME);
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        vfs.write(fh, 0, ByteBuffer.allocateDirect(b.length).put(b).flip());
        vfs.flush(fh);
        vfs.release(fh);
    }

    /** Runs {@code op} and checks that no path was looked up twice in the MetaStore meanwhile. */
    private void once(String what, Op op) throws Exception {
        synchronized (this) {
            lookups.clear();
        }
        op.run();
        synchronized (this) {
            for (Map.Entry<String, Integer> e : lookups.entrySet()) {
                assertTrue(e.getValue() <= 1, what + " looked up " + e.getKey() + " " + e.getValue() + " times: "
                        + lookups);
            }
        }
    }

    @Test
    void attributesOfEveryKindResolveOnce() throws Exception {
        for (String p : List.of("/s/f", "/s", "/out/r.txt", "/out/w.txt", "/src/a.txt", "/src")) {
            once("getattr " + p, () -> vfs.getattr(p));
            once("access " + p, () -> vfs.access(p, 4));
            once("listxattr " + p, () -> vfs.listxattr(p));
        }
        for (String p : List.of("/s/f", "/out/r.txt", "/out/w.txt")) {
            once("chmod " + p, () -> vfs.chmod(p, 0600));
            once("chown " + p, () -> vfs.chown(p, -1, -1));
            once("utimens " + p, () -> vfs.utimens(p, Vfs.OMIT, 5_000_000_000L));
            once("access W " + p, () -> vfs.access(p, 2));
            once("setxattr " + p, () -> vfs.setxattr(p, "user.k", new byte[] {1}, 0));
            once("getxattr " + p, () -> vfs.getxattr(p, "user.k"));
            once("removexattr " + p, () -> vfs.removexattr(p, "user.k"));
            assertEquals(0600, vfs.getattr(p).mode() & 07777, p);
        }
        once("access W of source", () -> assertThrows(ReadOnlyPathException.class, () -> vfs.access("/src/a.txt", 2)));
        once("chmod of source", () -> assertThrows(ReadOnlyPathException.class, () -> vfs.chmod("/src/a.txt", 0600)));
    }

    @Test
    void namespaceChangesResolveEachPathOnce() throws Exception {
        once("link scratch", () -> vfs.link("/s/f", "/s/g"));
        write("/s/h", "other");
        once("rename scratch over scratch", () -> vfs.rename("/s/h", "/s/g"));
        once("rename scratch into a backend dir", () -> vfs.rename("/s/f", "/src/moved"));
        once("truncate scratch", () -> vfs.truncate("/src/moved", 3));
        once("unlink scratch", () -> vfs.unlink("/src/moved"));
        once("unlink scratch", () -> vfs.unlink("/s/g"));
        once("link result", () -> vfs.link("/out/r.txt", "/out/r2.txt"));
        once("rename result", () -> vfs.rename("/out/r2.txt", "/out/r3.txt"));
        once("truncate result", () -> vfs.truncate("/out/r3.txt", 2));
        once("unlink result", () -> vfs.unlink("/out/r3.txt"));
        once("rmdir result", () -> vfs.rmdir("/out/old"));
        once("rmdir scratch", () -> vfs.rmdir("/s"));
        once("rename of source", () -> assertThrows(ReadOnlyPathException.class,
                () -> vfs.rename("/src/a.txt", "/src/b.txt")));
        once("unlink of source", () -> assertThrows(ReadOnlyPathException.class, () -> vfs.unlink("/src/a.txt")));
        assertEquals(List.of("a.txt"), vfs.readdir("/src"));
        assertEquals(List.of("r.txt", "w.txt"), vfs.readdir("/out").stream().sorted().toList());
        assertEquals(2, vfs.getattr("/out/r.txt").size());
    }

    @Test
    void aStagedResultFileResolvesOnce() throws Exception {
        long fh = vfs.open("/out/w.txt", 2);
        try {
            once("getattr staged", () -> vfs.getattr("/out/w.txt"));
            once("truncate staged", () -> vfs.truncate("/out/w.txt", 4));
            once("chmod staged", () -> vfs.chmod("/out/w.txt", 0640));
            once("utimens staged", () -> vfs.utimens("/out/w.txt", Vfs.OMIT, 7_000_000_000L));
            assertEquals(4, vfs.getattr("/out/w.txt").size());
            assertEquals(7_000_000_000L, vfs.getattr("/out/w.txt").mtimeNs());
        } finally {
            vfs.flush(fh);
            vfs.release(fh);
        }
        assertEquals("writ", Files.readString(backendDir.resolve("out/w.txt")));
    }
}
