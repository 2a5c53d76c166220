package io.peerfs.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.backend.CountingBackend;
import io.peerfs.backend.LocalDirBackend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackendMetaCacheTest {
    @TempDir
    Path backendDir;
    @TempDir
    Path cacheDir;
    final AtomicLong now = new AtomicLong(1_000_000);
    CountingBackend backend;
    BackendMetaCache cache;

    @BeforeEach
    void open() throws Exception {
        backend = new CountingBackend(LocalDirBackend.open(backendDir));
        cache = BackendMetaCache.open(backend, cacheDir, Duration.ofSeconds(1), now::get);
    }

    @AfterEach
    void close() {
        cache.close();
    }

    @Test
    void attributesAreCachedUntilTheTtlPasses() throws Exception {
        Files.writeString(backendDir.resolve("f"), "hello");
        assertEquals(5, cache.stat("f").size());
        Files.writeString(backendDir.resolve("f"), "hello world");
        assertEquals(5, cache.stat("f").size(), "within the TTL the cached value is served");
        assertEquals(1, backend.counts().metaCalls());
        now.addAndGet(1001);
        assertEquals(11, cache.stat("f").size());
        assertEquals(2, backend.counts().metaCalls());
    }

    @Test
    void freshStatBypassesAndRefreshesTheCache() throws Exception {
        Files.writeString(backendDir.resolve("f"), "a");
        cache.stat("f");
        Files.writeString(backendDir.resolve("f"), "abc");
        assertEquals(3, cache.statFresh("f").size());
        assertEquals(3, cache.stat("f").size());
    }

    @Test
    void aDatasetIsTrustedForItsOwnTtlOpensIncludedAndOtherPathsAreNot() throws Exception {
        Files.createDirectories(backendDir.resolve("ds/a"));
        Files.writeString(backendDir.resolve("ds/a/f"), "hello");
        Files.writeString(backendDir.resolve("other"), "x");
        cache.datasets(p -> PathTag.covering(java.util.Set.of("ds"), p) != null, Duration.ofHours(1));
        cache.list("ds/a");
        cache.stat("ds/a/f");
        cache.stat("other");
        assertThrows(NoSuchFileException.class, () -> cache.stat("ds/a/missing")); // from the listing
        long calls = backend.counts().metaCalls();
        Files.writeString(backendDir.resolve("ds/a/f"), "changed on the store");
        now.addAndGet(60_000); // far past --meta-ttl, within the dataset's
        assertEquals(5, cache.statFresh("ds/a/f").size(), "an open in a dataset is answered by the cache");
        assertEquals(List.of("f"), cache.list("ds/a"));
        assertThrows(NoSuchFileException.class, () -> cache.stat("ds/a/missing"));
        assertEquals(calls, backend.counts().metaCalls(), "a dataset epoch asks the store nothing");
        cache.stat("other");
        assertEquals(calls + 1, backend.counts().metaCalls(), "other paths live --meta-ttl");
        cache.invalidateTree("ds");
        assertEquals(20, cache.statFresh("ds/a/f").size(), "dropped (an untag): asked again");
        cache.stat("other");
        cache.invalidateTree("");
        calls = backend.counts().metaCalls();
        cache.stat("other");
        cache.stat("ds/a/f");
        assertEquals(calls + 4, backend.counts().metaCalls(),
                "the root's tree is every path: other, ds/a/f and the directories above it asked again");
        now.addAndGet(3_600_001);
        cache.datasets(p -> false, Duration.ofHours(1));
        calls = backend.counts().metaCalls();
        cache.statFresh("ds/a/f");
        assertEquals(calls + 1, backend.counts().metaCalls(), "past the dataset TTL, as any path");
    }

    @Test
    void absentPathsAreCachedToo() throws Exception {
        assertThrows(NoSuchFileException.class, () -> cache.stat("nope"));
        assertThrows(NoSuchFileException.class, () -> cache.stat("nope"));
        assertEquals(1, backend.counts().metaCalls());
        Files.writeString(backendDir.resolve("nope"), "x");
        now.addAndGet(1001);
        assertEquals(1, cache.stat("nope").size());
    }

    @Test
    void belowAnAbsentDirectoryTheBackendIsNotAsked() throws Exception {
        assertThrows(NoSuchFileException.class, () -> cache.stat("scratch"));
        long calls = backend.counts().metaCalls();
        for (int i = 0; i < 50; i++) {
            int n = i;
            assertThrows(NoSuchFileException.class, () -> cache.stat("scratch/f" + n));
            assertThrows(NoSuchFileException.class, () -> cache.stat("scratch/sub/deeper/g" + n));
        }
        assertEquals(calls, backend.counts().metaCalls(), "one lookup of the absent directory serves its children");
        // once the TTL passes the directory is asked again, once, and its children are found
        Files.createDirectories(backendDir.resolve("scratch"));
        Files.writeString(backendDir.resolve("scratch/f1"), "x");
        now.addAndGet(1001);
        assertEquals(1, cache.stat("scratch/f1").size());
        assertThrows(NoSuchFileException.class, () -> cache.stat("scratch/f2"));
    }

    @Test
    void invalidatingAPathForgetsItsParentsToo() throws Exception {
        assertThrows(NoSuchFileException.class, () -> cache.stat("out/a"));
        assertThrows(NoSuchFileException.class, () -> cache.stat("out/a/b.txt"));
        assertEquals(List.of(), cache.list(""));
        // PeerFS uploads a result file, creating its directories on the backend
        Files.createDirectories(backendDir.resolve("out/a"));
        Files.writeString(backendDir.resolve("out/a/b.txt"), "abc");
        cache.invalidate("out/a/b.txt");
        assertEquals(3, cache.stat("out/a/b.txt").size(), "visible at once, not after the TTL");
        assertTrue(cache.stat("out/a").isDirectory());
        assertEquals(List.of("out"), cache.list(""));
    }

    @Test
    void listingsSymlinksAndXattrsAreCached() throws Exception {
        Files.createDirectories(backendDir.resolve("d"));
        Files.writeString(backendDir.resolve("d/ä-file"), "x");
        Files.createSymbolicLink(backendDir.resolve("d/link"), Path.of("ä-file"));
        Files.getFileAttributeView(backendDir.resolve("d/ä-file"), UserDefinedFileAttributeView.class)
                .write("tag", StandardCharsets.UTF_8.encode("v1"));
        for (int i = 0; i < 3; i++) {
            assertEquals(List.of("link", "ä-file"), cache.list("d").stream().sorted().toList());
            assertEquals("ä-file", cache.readlink("d/link"));
            assertArrayEquals("v1".getBytes(StandardCharsets.UTF_8), cache.xattrs("d/ä-file").get("user.tag"));
        }
        assertEquals(3, backend.counts().metaCalls());
        assertTrue(cache.stats().hits() >= 6);
    }

    @Test
    void statfsIsCached() throws Exception {
        long total = cache.statfs().totalBlocks();
        assertTrue(total > 0);
        assertEquals(total, cache.statfs().totalBlocks());
        assertEquals(1, backend.counts().metaCalls());
    }

    @Test
    void entriesSurviveReopenWhileFresh() throws Exception {
        Files.writeString(backendDir.resolve("f"), "abc");
        FileAttr a = cache.stat("f");
        cache.close();
        cache = BackendMetaCache.open(backend, cacheDir, Duration.ofSeconds(1), now::get);
        assertEquals(a, cache.stat("f"));
        assertEquals(1, backend.counts().metaCalls());
    }

    @Test
    void zeroTtlAlwaysAsksTheBackend() throws Exception {
        cache.close();
        cache = BackendMetaCache.open(backend, cacheDir, Duration.ZERO, now::get);
        Files.writeString(backendDir.resolve("f"), "abc");
        cache.stat("f");
        cache.stat("f");
        assertEquals(2, backend.counts().metaCalls());
    }

    @Test
    void statReportsTypeModeAndNanosecondMtime() throws Exception {
        Path f = backendDir.resolve("f");
        Files.writeString(f, "abc");
        Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.from(java.time.Instant.ofEpochSecond(1000, 123456789)));
        FileAttr a = cache.stat("f");
        assertEquals(FileType.FILE, a.type());
        assertEquals(1000_123_456_789L, a.mtimeNs());
        assertEquals(FileType.DIRECTORY, cache.stat("").type());
    }
}
