package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The central store failing under a running daemon: hanging, answering EIO, its client
 * dead (ENOTCONN), unmounted underneath. The backend directory is a {@link FaultFs} mount.
 * Cached files must stay readable byte for byte, uncached reads must fail with EIO within
 * a bounded time instead of hanging the mount, and result uploads must retry until the
 * store is back, losing nothing.
 */
class BackendFaultsIT {
    static final int CHUNK = 1 << 20;
    /** The --backend-timeout of these mounts; every failure must come well within {@link #BOUND_SECONDS}. */
    static final String TIMEOUT = "2s";
    static final int BOUND_SECONDS = 20;
    @TempDir
    Path tmp;
    FaultFs store;
    PeerFsMount m;
    final ExecutorService reader = Executors.newSingleThreadExecutor();
    final byte[] cachedFile = random(3 * CHUNK + 17, 1);
    final byte[] uncachedFile = random(2 * CHUNK + 5, 2);

    @BeforeEach
    void setUp() throws Exception {
        PeerFsMount.assumeFuse();
        TestFiles.write(tmp.resolve("store/data/cached"), cachedFile);
        TestFiles.write(tmp.resolve("store/data/uncached"), uncachedFile);
        Files.createDirectories(tmp.resolve("store/out"));
        store = FaultFs.start(tmp.resolve("store"), tmp.resolve("backend"));
        m = new PeerFsMount(store.mountpoint, tmp.resolve("mnt"), tmp.resolve("cache"), "--chunk-size", "1MiB",
                "--backend-timeout", TIMEOUT, "--meta-ttl", "1s", "--result-paths", "out/**", "--writeback")
                .mount();
        assertArrayEquals(cachedFile, Files.readAllBytes(m.mountpoint.resolve("data/cached")));
    }

    @AfterEach
    void tearDown() throws Exception {
        reader.shutdownNow();
        store.set("ok");
        try {
            m.close();
        } finally {
            store.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hang", "eio"})
    void cachedFilesStayReadableAndUncachedReadsFailInBoundedTime(String mode) throws Exception {
        store.set(mode);
        Thread.sleep(1500); // past --meta-ttl: every attribute must be asked for again
        dropPageCacheWithoutSync(); // sync(1) would wait for the hung store

        assertArrayEquals(cachedFile, within(() -> Files.readAllBytes(m.mountpoint.resolve("data/cached"))),
                "a cached file while the store is " + mode);
        IOException failed = within(() -> assertThrows(IOException.class,
                () -> Files.readAllBytes(m.mountpoint.resolve("data/uncached"))));
        assertTrue(String.valueOf(failed.getMessage()).contains("Input/output error"), failed.toString());
        assertTrue(within(() -> Files.exists(m.mountpoint.resolve("data/cached"))), "the listing stays");
        assertTrue(within(() -> m.status().path("backend").path("unavailable").asLong()
                + m.status().path("backend").path("timeouts").asLong()) > 0);

        store.set("ok");
        assertArrayEquals(uncachedFile, within(() -> Files.readAllBytes(m.mountpoint.resolve("data/uncached"))),
                "the store is back");
    }

    @Test
    void aDeadStoreClientAndAnUnmountedStoreCostUncachedReadsOnly() throws Exception {
        store.kill(); // its mount now answers ENOTCONN, as a crashed network file system client does
        Thread.sleep(1500);
        dropPageCacheWithoutSync();
        assertArrayEquals(cachedFile, within(() -> Files.readAllBytes(m.mountpoint.resolve("data/cached"))));
        assertThrows(IOException.class, () -> within(() -> Files.readAllBytes(m.mountpoint.resolve("data/uncached"))));

        store.unmount(); // the backend directory is now the empty directory under the mount
        Thread.sleep(1500);
        dropPageCacheWithoutSync();
        assertArrayEquals(cachedFile, within(() -> Files.readAllBytes(m.mountpoint.resolve("data/cached"))),
                "an unmounted store is not an empty one: cached files stay");
        assertThrows(IOException.class, () -> within(() -> Files.readAllBytes(m.mountpoint.resolve("data/uncached"))));

        store.restart();
        Thread.sleep(1500);
        assertArrayEquals(uncachedFile, within(() -> Files.readAllBytes(m.mountpoint.resolve("data/uncached"))));
        assertArrayEquals(cachedFile, within(() -> Files.readAllBytes(m.mountpoint.resolve("data/cached"))));
    }

    @Test
    void resultUploadsRetryWithBackoffAndLandOnceTheStoreIsBack() throws Exception {
        Files.write(store.root.resolve("out/model.bin"), new byte[0]);
        assertEquals(0, Files.size(m.mountpoint.resolve("out/model.bin"))); // known to the mount before the fault
        byte[] result = random(3 * CHUNK + 11, 3);
        try (var out = java.nio.channels.FileChannel.open(m.mountpoint.resolve("out/model.bin"),
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            out.write(java.nio.ByteBuffer.wrap(result));
            store.set("eio", "out"); // the result directory fails from here on, the rest of the store works
        } // --writeback: close returns and the upload is the uploader's
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_SECONDS);
        while (m.status().path("writeback").path("failures").asLong() < 2) {
            assertTrue(System.nanoTime() < deadline, "uploads are retried: " + m.status().path("writeback"));
            Thread.sleep(200);
        }
        assertEquals(0, Files.size(store.root.resolve("out/model.bin")), "nothing half-written on the store");
        assertArrayEquals(result, Files.readAllBytes(m.mountpoint.resolve("out/model.bin")), "staged data reads back");

        store.set("ok");
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_SECONDS + 60);
        while (Files.size(store.root.resolve("out/model.bin")) != result.length
                || m.status().path("writeback").path("staged").asLong() > 0) {
            assertTrue(System.nanoTime() < deadline, "the upload lands once the store is back");
            Thread.sleep(200);
        }
        assertArrayEquals(result, Files.readAllBytes(store.root.resolve("out/model.bin")));
        assertTrue(Files.readString(m.cacheDir.resolve("peerfs.log")).contains("uploaded after"));
    }

    @Test
    void aCloseWaitingForItsUploadFailsInBoundedTimeWhenTheStoreHangsAndTheUploadLandsLater() throws Exception {
        // without --writeback close waits for the upload: a hung store must not hang close (and a FUSE thread)
        PeerFsMount w = new PeerFsMount(store.mountpoint, tmp.resolve("mnt-w"), tmp.resolve("cache-w"), "--chunk-size",
                "1MiB", "--backend-timeout", TIMEOUT, "--meta-ttl", "1s", "--result-paths", "out/**").mount();
        try {
            Files.write(store.root.resolve("out/late.bin"), new byte[0]);
            assertEquals(0, Files.size(w.mountpoint.resolve("out/late.bin")));
            byte[] result = random(5 * CHUNK + 3, 4);
            IOException closeFailed = within(() -> assertThrows(IOException.class, () -> {
                try (var out = java.nio.channels.FileChannel.open(w.mountpoint.resolve("out/late.bin"),
                        java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
                    out.write(java.nio.ByteBuffer.wrap(result));
                    store.set("hang", "out");
                }
            }));
            assertTrue(String.valueOf(closeFailed.getMessage()).contains("Input/output error"), closeFailed.toString());
            assertArrayEquals(result, within(() -> Files.readAllBytes(w.mountpoint.resolve("out/late.bin"))),
                    "the acknowledged writes stay staged and readable");
            assertTrue(w.status().path("backend").path("timeouts").asLong() > 0, w.status().path("backend").toString());

            store.set("ok"); // the hung attempt wakes up too: it must not rename anything over the target
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_SECONDS + 60);
            while (!java.util.Arrays.equals(result, Files.readAllBytes(store.root.resolve("out/late.bin")))
                    || w.status().path("writeback").path("staged").asLong() > 0 || temporaries() > 0) {
                assertTrue(System.nanoTime() < deadline, "the upload lands once the store is back, temporaries gone: "
                        + w.status().path("writeback") + ", " + temporaries() + " temporary files");
                Thread.sleep(200);
            }
        } finally {
            w.close();
        }
    }

    private long temporaries() throws IOException {
        try (var s = Files.list(store.root.resolve("out"))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".peerfs-tmp")).count();
        }
    }

    /** Runs an operation on the mount and fails the test if it does not return within the bound. */
    private <T> T within(java.util.concurrent.Callable<T> op) throws Exception {
        Future<T> f = reader.submit(op);
        try {
            return f.get(BOUND_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("an operation on the mount hung for " + BOUND_SECONDS + " s");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    private static void dropPageCacheWithoutSync() throws IOException {
        Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
    }
}
