package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cache disk failing underneath a running daemon: I/O errors, a full disk, a disk
 * made read-only (injected by {@link FaultFs} into the chunk files and the chunk index;
 * the daemon's log on the same directory keeps working). Reads must keep returning the
 * right bytes from the backend, scratch writes must fail with the matching errno, data
 * written before the fault must survive it, and caching must resume once the disk is back.
 */
class DiskFaultsIT {
    static final int CHUNK = 1 << 20;
    static final String[] CACHE_DATA = {"chunks", "index"};
    @TempDir
    Path tmp;
    FaultFs disk;
    PeerFsMount m;
    byte[] cachedFile = random(6 * CHUNK + 123, 1);
    byte[] uncachedFile = random(5 * CHUNK + 7, 2);

    @BeforeEach
    void setUp() throws Exception {
        PeerFsMount.assumeFuse();
        TestFiles.write(tmp.resolve("backend/cached"), cachedFile);
        TestFiles.write(tmp.resolve("backend/uncached"), uncachedFile);
        Files.createDirectories(tmp.resolve("disk"), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"))); // a cache dir is private
        disk = FaultFs.start(tmp.resolve("disk"), tmp.resolve("cache"));
        m = new PeerFsMount(tmp.resolve("backend"), tmp.resolve("mnt"), tmp.resolve("cache"), "--chunk-size", "1MiB",
                "--cache-size", "256MiB", "--cache-recheck", "1s").mount();
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            m.close();
        } finally {
            disk.close();
        }
    }

    @Test
    void aFailingDiskIsBypassedForReadsFailsScratchWritesWithEioAndIsUsedAgainOnceBack() throws Exception {
        byte[] before = random(3 * CHUNK + 5, 3);
        Files.write(m.mountpoint.resolve("before"), before);
        assertArrayEquals(cachedFile, Files.readAllBytes(m.mountpoint.resolve("cached")));
        m.awaitChunksStored();

        disk.set("eio", CACHE_DATA);
        PeerIT.dropPageCache();
        long backendBefore = m.backendBytesRead();
        assertArrayEquals(cachedFile, Files.readAllBytes(m.mountpoint.resolve("cached")), "cached file, disk failing");
        assertArrayEquals(uncachedFile, Files.readAllBytes(m.mountpoint.resolve("uncached")), "uncached, disk failing");
        assertTrue(m.backendBytesRead() - backendBefore >= cachedFile.length + uncachedFile.length,
                "with the disk failing both files come from the backend");
        awaitDiskState("down");
        IOException refused = assertThrows(IOException.class,
                () -> Files.write(m.mountpoint.resolve("during"), random(2 * CHUNK, 4)));
        assertTrue(String.valueOf(refused.getMessage()).contains("Input/output error"), refused.toString());
        assertTrue(m.status().path("cache").path("diskErrors").asLong() > 0);

        disk.set("ok");
        awaitDiskState("normal");
        assertArrayEquals(before, Files.readAllBytes(m.mountpoint.resolve("before")),
                "scratch data written before the fault");
        assertArrayEquals(uncachedFile, Files.readAllBytes(m.mountpoint.resolve("uncached")));
        byte[] later = random(4 * CHUNK + 1, 6);
        TestFiles.write(m.backend.resolve("later"), later);
        assertArrayEquals(later, Files.readAllBytes(m.mountpoint.resolve("later")));
        PeerIT.dropPageCache();
        long afterRecovery = m.backendBytesRead();
        assertArrayEquals(later, Files.readAllBytes(m.mountpoint.resolve("later")));
        assertEquals(afterRecovery, m.backendBytesRead(), "caching resumed: the re-read came from the cache disk");
        byte[] after = random(2 * CHUNK + 9, 5);
        Files.write(m.mountpoint.resolve("after"), after);
        assertArrayEquals(after, Files.readAllBytes(m.mountpoint.resolve("after")));
        assertTrue(Files.readString(m.cacheDir.resolve("peerfs.log")).contains("healthy again"));
    }

    @ParameterizedTest
    @CsvSource({"enospc, No space left on device", "erofs, Read-only file system"})
    void aFullOrReadOnlyDiskStillServesWhatItHoldsAndRefusesScratchWritesWithTheMatchingErrno(String mode,
            String error) throws Exception {
        assertArrayEquals(cachedFile, Files.readAllBytes(m.mountpoint.resolve("cached")));
        m.awaitChunksStored();

        disk.set(mode, CACHE_DATA);
        PeerIT.dropPageCache();
        long backendBefore = m.backendBytesRead();
        assertArrayEquals(cachedFile, Files.readAllBytes(m.mountpoint.resolve("cached")));
        assertEquals(backendBefore, m.backendBytesRead(), "cached chunks are still read from the disk");
        assertArrayEquals(uncachedFile, Files.readAllBytes(m.mountpoint.resolve("uncached")), "uncached file");
        awaitDiskState("read-only");
        long afterFirst = m.backendBytesRead();
        assertTrue(afterFirst - backendBefore >= uncachedFile.length);
        assertTrue(afterFirst - backendBefore < 2L * uncachedFile.length,
                "an uncached chunk is read from the backend once per read, not twice");
        IOException refused = assertThrows(IOException.class,
                () -> Files.write(m.mountpoint.resolve("during"), random(2 * CHUNK, 4)));
        assertTrue(String.valueOf(refused.getMessage()).contains(error), refused.toString());

        disk.set("ok");
        awaitDiskState("normal");
        byte[] after = random(2 * CHUNK + 9, 5);
        Files.write(m.mountpoint.resolve("after"), after);
        PeerIT.dropPageCache();
        assertArrayEquals(after, Files.readAllBytes(m.mountpoint.resolve("after")));
    }

    private void awaitDiskState(String want) throws Exception {
        long deadline = System.nanoTime() + 15_000_000_000L;
        String state;
        while (!(state = m.status().path("cache").path("diskState").asText()).equals(want)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("cache disk state is " + state + ", not " + want + " after 15 s");
            }
            Thread.sleep(100);
        }
    }
}
