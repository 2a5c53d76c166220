package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scratch data under faults: a full cache, and a daemon killed while writing. */
class ScratchFaultsIT {
    static final int CHUNK = 1 << 20;
    @TempDir
    Path tmp;

    @BeforeEach
    void setUp() throws Exception {
        PeerFsMount.assumeFuse();
        Files.createDirectories(tmp.resolve("backend"));
    }

    private PeerFsMount mount(String... extra) {
        return new PeerFsMount(tmp.resolve("backend"), tmp.resolve("mnt"), tmp.resolve("cache"), extra);
    }

    @Test
    void fillingTheCacheWithScratchDataGivesEnospcAndKeepsEarlierFiles() throws Exception {
        try (PeerFsMount m = mount("--chunk-size", "1MiB", "--cache-size", "8MiB").mount()) {
            byte[] first = random(3 * CHUNK, 1);
            Files.write(m.mountpoint.resolve("first"), first);
            IOException full = assertThrows(IOException.class, () -> {
                try (OutputStream out = Files.newOutputStream(m.mountpoint.resolve("second"))) {
                    for (int i = 0; i < 20; i++) {
                        out.write(random(CHUNK, i));
                    }
                }
            });
            assertTrue(String.valueOf(full.getMessage()).contains("No space left on device"), full.toString());
            assertArrayEquals(first, Files.readAllBytes(m.mountpoint.resolve("first")));
            assertTrue(m.status().path("cache").path("usedBytes").asLong() <= 8 * CHUNK);
            Files.delete(m.mountpoint.resolve("second"));
            Files.write(m.mountpoint.resolve("third"), random(2 * CHUNK, 3)); // room again once deleted
            assertTrue(Files.readString(m.cacheDir.resolve("peerfs.log")).contains("--cache-size"),
                    "the log names the limit that was hit");
        }
    }

    @Test
    void filesClosedBeforeAKillSurviveAndTheCacheStaysConsistent() throws Exception {
        try (PeerFsMount m = mount("--chunk-size", "1MiB").mount()) {
            Path dir = Files.createDirectories(m.mountpoint.resolve("out"));
            for (int i = 0; i < 5; i++) {
                Files.write(dir.resolve("done-" + i), random(CHUNK + i * 1000, i));
            }
            OutputStream open = Files.newOutputStream(dir.resolve("in-progress"));
            open.write(random(3 * CHUNK, 99)); // never closed: lost with the daemon, as on any file system crash
            m.kill9();
            try {
                open.close();
            } catch (IOException expected) {
                // the mount is gone
            }
            m.mount();
            for (int i = 0; i < 5; i++) {
                assertArrayEquals(random(CHUNK + i * 1000, i), Files.readAllBytes(dir.resolve("done-" + i)));
            }
            try (Stream<Path> s = Files.walk(m.cacheDir.resolve("chunks"))) {
                List<Path> temps = s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList();
                assertEquals(List.of(), temps);
            }
            try (Stream<Path> s = Files.walk(tmp.resolve("backend"))) {
                assertEquals(1, s.count(), "nothing of it reached the backend");
            }
        }
    }
}
