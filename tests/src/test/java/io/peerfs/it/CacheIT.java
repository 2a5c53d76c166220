package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static io.peerfs.it.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chunk cache seen through real mounts: reuse, restart, eviction, corruption, freshness, lifecycle. */
class CacheIT {
    static final int CHUNK = 1 << 20;
    @TempDir
    Path tmp;
    Path backend;

    @BeforeEach
    void setUp() {
        PeerFsMount.assumeFuse();
        backend = tmp.resolve("backend");
    }

    private PeerFsMount mount(String... extra) {
        String[] args = Stream.concat(Stream.of("--chunk-size", "1MiB"), Stream.of(extra)).toArray(String[]::new);
        return new PeerFsMount(backend, tmp.resolve("mnt"), tmp.resolve("cache"), args);
    }

    private static List<Path> chunkFiles(Path cacheDir) throws Exception {
        try (Stream<Path> s = Files.walk(cacheDir.resolve("chunks"))) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    /** Flips the bits of {@code mask} in the byte at {@code offset} of a file, as a failing disk would. */
    private static void flipBit(Path file, long offset, int mask) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ mask);
        }
    }

    @Test
    void dataIsReadFromTheBackendOnceAcrossRereadsAndRestarts() throws Exception {
        byte[] data = random(7 * CHUNK + 3, 1);
        write(backend.resolve("data.bin"), data);
        try (PeerFsMount m = mount().mount()) {
            assertArrayEquals(data, Files.readAllBytes(m.mountpoint.resolve("data.bin")));
            assertArrayEquals(data, Files.readAllBytes(m.mountpoint.resolve("data.bin")));
            assertEquals(data.length, m.backendBytesRead());
            m.umount();
            assertFalse(m.isMounted());
            m.mount();
            assertArrayEquals(data, Files.readAllBytes(m.mountpoint.resolve("data.bin")));
            assertEquals(0, m.backendBytesRead(), "a restarted daemon serves cached chunks without the backend");
            assertTrue(m.status().path("cache").path("hits").asLong() >= 8);
        }
    }

    @Test
    void aSmallCacheEvictsAndStillReadsCorrectly() throws Exception {
        for (int i = 0; i < 4; i++) {
            write(backend.resolve("f" + i), random(5 * CHUNK, i));
        }
        try (PeerFsMount m = mount("--cache-size", "3MiB").mount()) {
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 4; i++) {
                    assertArrayEquals(random(5 * CHUNK, i), Files.readAllBytes(m.mountpoint.resolve("f" + i)));
                }
            }
            m.awaitChunksStored();
            var cache = m.status().path("cache");
            assertTrue(cache.path("usedBytes").asLong() <= 3 * CHUNK, cache.toString());
            assertTrue(cache.path("evictions").asLong() > 0, cache.toString());
            long onDisk = 0;
            for (Path p : chunkFiles(m.cacheDir)) {
                onDisk += Files.size(p);
            }
            assertTrue(onDisk <= 3 * CHUNK, "chunk files on disk: " + onDisk);
        }
    }

    @Test
    void aPinnedDirectoryStaysCachedWhileOtherReadsCycleTheCacheWithinItsLimitAndAcrossARestart() throws Exception {
        byte[] kept = random(2 * CHUNK + 5, 7); // 3 chunks
        write(backend.resolve("keep/a.bin"), kept);
        for (int i = 0; i < 3; i++) {
            write(backend.resolve("other/b" + i + ".bin"), random(4 * CHUNK, 10 + i));
        }
        java.nio.file.attribute.PosixFilePermission[] walk = java.nio.file.attribute.PosixFilePermissions
                .fromString("rwxr-xr-x").toArray(new java.nio.file.attribute.PosixFilePermission[0]);
        Files.setPosixFilePermissions(tmp, java.util.Set.of(walk)); // nobody may walk to the mount
        Files.createDirectories(backend.resolve("open"));
        Files.setPosixFilePermissions(backend.resolve("open"), java.nio.file.attribute.PosixFilePermissions
                .fromString("rwxrwxrwx")); // the kernel lets nobody set a user xattr here: the daemon decides
        try (PeerFsMount m = mount("--cache-size", "8MiB", "--cache-pin-limit", "4MiB").mount()) {
            PeerFsMount.Run r = PeerFsMount.peerfs("cache", "pin", m.mountpoint.resolve("keep").toString());
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("pinned 1 of 1 files"), r.out());
            m.awaitChunksStored();
            assertEquals(kept.length, m.status().path("cache").path("residentBytes").asLong());
            assertEquals(kept.length, m.backendBytesRead(), "pinning loaded the files");
            for (int round = 0; round < 2; round++) { // 12 MiB through an 8 MiB cache
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(random(4 * CHUNK, 10 + i),
                            Files.readAllBytes(m.mountpoint.resolve("other/b" + i + ".bin")));
                }
            }
            m.awaitChunksStored();
            assertTrue(m.status().path("cache").path("evictions").asLong() > 0);
            long before = m.backendBytesRead();
            assertArrayEquals(kept, Files.readAllBytes(m.mountpoint.resolve("keep/a.bin")));
            assertEquals(before, m.backendBytesRead(), "the pinned file was read from the cache");

            for (String v : List.of("1", "0")) { // a pin shapes every user's cache: root only, even where nobody writes
                PeerFsMount.Run denied = PermissionsIT.asNobody("setfattr -n user.peerfs.pin -v " + v + " "
                        + m.mountpoint.resolve("open"));
                assertTrue(denied.exit() != 0 && denied.err().contains("Operation not permitted"), denied.err());
            }
            assertEquals("/keep", PeerFsMount.command("getfattr", "--only-values", "-n", "user.peerfs.pin",
                    m.mountpoint.resolve("keep/a.bin").toString()).out());
            r = PeerFsMount.peerfs("cache", "pin", "--cluster", m.mountpoint.resolve("other").toString());
            assertEquals(2, r.exit(), "one node's own metadata cannot carry a pin to others: " + r.out());
            assertTrue(r.err().contains("--cluster needs a metadata store the nodes share"), r.err());
            r = PeerFsMount.peerfs("cache", "ls", m.mountpoint.toString());
            assertTrue(r.out().contains("of pinned paths, at most 4.0 MiB"), r.out());

            m.umount();
            m.mount();
            assertEquals(kept.length, m.status().path("cache").path("residentBytes").asLong(),
                    "the pin and its chunks survive a restart");
            r = PeerFsMount.peerfs("cache", "unpin", m.mountpoint.resolve("keep/a.bin").toString());
            assertEquals(1, r.exit(), r.out());
            assertTrue(r.err().contains("/keep of its mount is, which covers it"), r.err());
            r = PeerFsMount.peerfs("cache", "unpin", m.mountpoint.resolve("keep").toString());
            assertEquals(0, r.exit(), r.err());
            assertEquals(0, m.status().path("cache").path("residentBytes").asLong());
            assertTrue(PeerFsMount.command("getfattr", "-n", "user.peerfs.pin",
                    m.mountpoint.resolve("keep/a.bin").toString()).exit() != 0, "no pin covers it any more");

            r = PeerFsMount.peerfs("cache", "pin", m.mountpoint.resolve("other").toString()); // 12 MiB, limit 4
            assertEquals(0, r.exit(), r.err());
            m.awaitChunksStored();
            assertEquals(4 * CHUNK, m.status().path("cache").path("residentBytes").asLong(), "no more than the limit");
        }
    }

    /** Lists and reads every file below {@code dir} of the mount: one epoch of a training job. */
    private static void epoch(PeerFsMount m, String dir) throws Exception {
        try (Stream<Path> s = Files.walk(m.mountpoint.resolve(dir))) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                Files.readAllBytes(p);
            }
        }
    }

    private static long metaCalls(PeerFsMount m) throws Exception {
        return m.status().path("backend").path("metaCalls").asLong();
    }

    @Test
    void anEpochOverACachedDatasetAsksTheStoreNothingAndAnUntagSeesItsChanges() throws Exception {
        for (String top : List.of("ds", "plain")) {
            for (int d = 0; d < 4; d++) {
                for (int f = 0; f < 10; f++) {
                    write(backend.resolve(top + "/d" + d + "/f" + f), random(8192 + f, 100 * d + f));
                }
            }
        }
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createDirectories(backend.resolve("open"));
        Files.setPosixFilePermissions(backend.resolve("open"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        try (PeerFsMount m = mount("--meta-ttl", "200ms", "--dataset-ttl", "1h").mount()) {
            PeerFsMount.Run r = PeerFsMount.peerfs("tag", "--dataset", m.mountpoint.resolve("ds").toString());
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("read-mostly dataset /ds"), r.out());
            epoch(m, "ds");
            epoch(m, "plain");
            m.awaitChunksStored();
            Thread.sleep(600); // past --meta-ttl and the kernel's caches
            long calls = metaCalls(m);
            long bytes = m.backendBytesRead();
            epoch(m, "ds");
            assertEquals(calls, metaCalls(m), "an epoch over a cached dataset asks the store nothing");
            Thread.sleep(600);
            epoch(m, "plain");
            assertTrue(metaCalls(m) >= calls + 40, "other paths are checked after --meta-ttl: " + (metaCalls(m) - calls));
            assertEquals(bytes, m.backendBytesRead(), "both epochs read the cache");

            write(backend.resolve("ds/d0/f0"), "changed on the store\n".getBytes());
            Thread.sleep(600);
            assertArrayEquals(random(8192, 0), Files.readAllBytes(m.mountpoint.resolve("ds/d0/f0")),
                    "within --dataset-ttl the version cached is the one read");
            PeerFsMount.Run denied = PermissionsIT.asNobody("setfattr -n user.peerfs.dataset -v 1 "
                    + m.mountpoint.resolve("open"));
            assertTrue(denied.exit() != 0 && denied.err().contains("Operation not permitted"), denied.err());
            r = PeerFsMount.peerfs("tag", "--dataset", "--clear", m.mountpoint.resolve("ds").toString());
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("not a dataset"), r.out());
            Thread.sleep(600);
            assertEquals("changed on the store\n", Files.readString(m.mountpoint.resolve("ds/d0/f0")),
                    "untagged: the store's version at once");
        }
    }

    @Test
    void aFlippedByteInACachedChunkIsNeverReturned() throws Exception {
        byte[] data = random(3 * CHUNK, 3);
        write(backend.resolve("data.bin"), data);
        try (PeerFsMount m = mount().mount()) {
            assertArrayEquals(data, Files.readAllBytes(m.mountpoint.resolve("data.bin")));
            m.umount(); // drops the kernel's page cache of the file too
            List<Path> chunks = chunkFiles(m.cacheDir);
            assertEquals(3, chunks.size());
            for (Path chunk : chunks) {
                flipBit(chunk, 12345, 0x01);
            }
            m.mount();
            assertArrayEquals(data, Files.readAllBytes(m.mountpoint.resolve("data.bin")));
            assertEquals(3, m.status().path("cache").path("corruptChunks").asLong());
            assertEquals(data.length, m.backendBytesRead(), "corrupt chunks are refetched from the backend");
        }
    }

    @Test
    void chunkFilesDeletedTruncatedOrFlippedUnderARunningDaemonAreNeverServedWrong() throws Exception {
        byte[] data = random(4 * CHUNK, 7);
        write(backend.resolve("data.bin"), data);
        try (PeerFsMount m = mount().mount()) {
            assertArrayEquals(data, Files.readAllBytes(m.mountpoint.resolve("data.bin")));
            m.awaitChunksStored();
            List<Path> chunks = chunkFiles(m.cacheDir).stream().sorted().toList();
            assertEquals(4, chunks.size());
            Files.delete(chunks.get(0));
            try (RandomAccessFile f = new RandomAccessFile(chunks.get(1).toFile(), "rw")) {
                f.setLength(1000);
            }
            flipBit(chunks.get(2), CHUNK - 7, 0x80);
            PeerFsMount.command("sync");
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3"); // the next reads reach the daemon
            for (int round = 0; round < 2; round++) {
                assertArrayEquals(data, Files.readAllBytes(m.mountpoint.resolve("data.bin")), "round " + round);
            }
            assertTrue(m.status().path("cache").path("corruptChunks").asLong() >= 1, m.status().toString());
            assertTrue(m.backendBytesRead() >= data.length + CHUNK, "damaged chunks were read again from the"
                    + " backend: " + m.backendBytesRead());
        }
    }

    @Test
    void aFileRewrittenOnTheBackendIsReadFreshAfterTheTtl() throws Exception {
        Path f = write(backend.resolve("model.ckpt"), random(2 * CHUNK, 1));
        try (PeerFsMount m = mount("--meta-ttl", "200ms").mount()) {
            assertArrayEquals(random(2 * CHUNK, 1), Files.readAllBytes(m.mountpoint.resolve("model.ckpt")));
            byte[] second = random(2 * CHUNK, 2); // same size: only the mtime tells the versions apart
            Files.write(f, second);
            Files.setLastModifiedTime(f, FileTime.fromMillis(Files.getLastModifiedTime(f).toMillis() + 5000));
            Thread.sleep(400);
            assertArrayEquals(second, Files.readAllBytes(m.mountpoint.resolve("model.ckpt")));
            byte[] third = random(3 * CHUNK + 7, 3);
            Files.write(f, third);
            Thread.sleep(400);
            assertArrayEquals(third, Files.readAllBytes(m.mountpoint.resolve("model.ckpt")));
            write(backend.resolve("appeared.txt"), new byte[] {42});
            Thread.sleep(400);
            assertArrayEquals(new byte[] {42}, Files.readAllBytes(m.mountpoint.resolve("appeared.txt")));
        }
    }

    @Test
    void theNextMountRepairsAStaleMountLeftByAKilledDaemon() throws Exception {
        write(backend.resolve("a"), random(100, 1));
        try (PeerFsMount m = mount("--no-auto-unmount").mount()) {
            m.kill9();
            assertTrue(m.isMounted(), "without auto-unmount a killed daemon leaves its mount behind");
            Exception stale = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
                    () -> Files.readAllBytes(m.mountpoint.resolve("a")));
            assertTrue(stale.getMessage().contains("not connected"), stale.toString());
            m.mount();
            assertArrayEquals(random(100, 1), Files.readAllBytes(m.mountpoint.resolve("a")));
        }
    }

    @Test
    void aKilledDaemonWithAutoUnmountLeavesAReadOnlyGuardAndItsCacheIsConsistent() throws Exception {
        byte[] data = random(4 * CHUNK, 5);
        write(backend.resolve("a"), data);
        PeerFsMount mounted;
        try (PeerFsMount m = mount().mount()) {
            mounted = m;
            assertArrayEquals(data, Files.readAllBytes(m.mountpoint.resolve("a")));
            m.kill9();
            for (int i = 0; i < 100 && m.isMounted(); i++) {
                Thread.sleep(50);
            }
            assertFalse(m.isMounted());
            assertTrue(m.isGuarded(), "the read-only guard is left where the mount was");
            java.nio.file.FileSystemException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    java.nio.file.FileSystemException.class, () -> Files.writeString(m.mountpoint.resolve("out.txt"),
                            "a job's result that must not land on the node's disk"));
            assertTrue(String.valueOf(refused.getReason()).contains("Read-only file system"), refused.toString());
            m.mount(); // over the guard
            assertTrue(m.isMounted());
            assertArrayEquals(data, Files.readAllBytes(m.mountpoint.resolve("a")));
            assertEquals(0, m.backendBytesRead(), "chunks stored before the kill are reused");
            try (Stream<Path> s = Files.walk(m.cacheDir.resolve("chunks"))) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".tmp-")));
            }
        }
        assertFalse(mounted.isMounted() || mounted.isGuarded(), "a clean unmount takes the guard away too");
        try (Stream<Path> s = Files.list(mounted.mountpoint)) {
            assertEquals(0, s.count(), "nothing was written to the directory beneath");
        }
    }

    @Test
    void peerfsUmountRemovesTheGuardOfADaemonThatDied() throws Exception {
        write(backend.resolve("a"), random(100, 1));
        try (PeerFsMount m = mount().mount()) {
            m.kill9();
            for (int i = 0; i < 100 && m.isMounted(); i++) {
                Thread.sleep(50);
            }
            assertTrue(m.isGuarded());
            m.umount();
            assertFalse(m.isMounted() || m.isGuarded());
        }
    }

    @Test
    void sigtermUnmountsCleanlyAndTheDaemonExits() throws Exception {
        write(backend.resolve("a"), random(10, 1));
        try (PeerFsMount m = mount().mount()) {
            long pid = m.pid();
            new ProcessBuilder("kill", "-TERM", Long.toString(pid)).start().waitFor();
            ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
            assertFalse(m.isMounted());
            assertTrue(Files.readString(m.cacheDir.resolve("peerfs.log")).contains("cache closed"));
        }
    }
}
