package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the daemon while result files are being written: after the next mount every
 * byte that close or fsync returned for is on the backend and equal, and no file there is
 * half-written. Run with close waiting for the upload and with {@code --writeback}.
 */
class ResultCrashIT {
    static final int CHUNK = 1 << 20;
    @TempDir
    Path tmp;

    /** Sizes and seeds of the files whose close (or fsync) returned: what must survive. */
    private final Map<String, byte[]> acknowledged = new ConcurrentHashMap<>();

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void everyAcknowledgedByteIsOnTheBackendAfterAKill(boolean writeback) throws Exception {
        PeerFsMount.assumeFuse();
        Path backend = Files.createDirectories(tmp.resolve("backend/out"));
        List<String> args = writeback ? List.of("--chunk-size", "1MiB", "--result-paths", "out/**", "--writeback")
                : List.of("--chunk-size", "1MiB", "--result-paths", "out/**");
        try (PeerFsMount m = new PeerFsMount(tmp.resolve("backend"), tmp.resolve("mnt"), tmp.resolve("cache"),
                args.toArray(String[]::new)).mount()) {
            Path out = m.mountpoint.resolve("out");
            AtomicBoolean stop = new AtomicBoolean();
            Thread[] writers = new Thread[2];
            for (int w = 0; w < writers.length; w++) {
                int id = w;
                writers[w] = new Thread(() -> write(out, id, stop), "writer-" + w);
                writers[w].start();
            }
            while (acknowledged.size() < 6) {
                Thread.sleep(20);
            }
            m.kill9(); // while both writers are in the middle of files
            stop.set(true);
            for (Thread t : writers) {
                t.join(60_000);
            }
            int acked = acknowledged.size();
            m.mount();
            awaitUploads(m);
            for (Map.Entry<String, byte[]> e : acknowledged.entrySet()) {
                assertArrayEquals(e.getValue(), Files.readAllBytes(backend.resolve(e.getKey())),
                        e.getKey() + " was acknowledged but differs on the backend");
            }
            try (Stream<Path> s = Files.list(backend)) {
                for (Path p : s.toList()) {
                    String name = p.getFileName().toString();
                    assertTrue(!name.endsWith(".peerfs-tmp"), "temporary upload file left: " + name);
                    // a file not acknowledged is empty (created, never closed) or whole (uploaded, but
                    // the daemon died before close could return)
                    byte[] got = Files.readAllBytes(p);
                    assertTrue(got.length == 0 || java.util.Arrays.equals(intended(name), got),
                            name + " is half-written: " + got.length + " bytes");
                }
            }
            System.out.printf("writeback=%s: %d files acknowledged before kill -9, all on the backend%n", writeback,
                    acked);
        }
    }

    /** The content writer {@code w} gives its file number {@code i}, named {@code w<w>-<i>}. */
    private static byte[] intended(String name) {
        String[] parts = name.substring(1).split("-");
        int writer = Integer.parseInt(parts[0]);
        int i = Integer.parseInt(parts[1]);
        return random((1 + i % 3) * CHUNK + 1000 * (i % 7), writer * 1000L + i);
    }

    /** Writes files of a few chunks; each one closed (or fsynced) is recorded as acknowledged. */
    private void write(Path out, int writer, AtomicBoolean stop) {
        for (int i = 0; !stop.get(); i++) {
            String name = "w" + writer + "-" + i;
            byte[] data = intended(name);
            try {
                if (i % 4 == 3) {
                    try (FileChannel ch = FileChannel.open(out.resolve(name), StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.WRITE)) {
                        ch.write(java.nio.ByteBuffer.wrap(data));
                        ch.force(true);
                        acknowledged.put(name, data); // fsync returned
                    }
                } else {
                    try (OutputStream o = Files.newOutputStream(out.resolve(name))) {
                        o.write(data);
                    }
                    acknowledged.put(name, data); // close returned
                }
            } catch (IOException e) {
                return; // the daemon is gone
            }
        }
    }

    private static void awaitUploads(PeerFsMount m) throws Exception {
        for (int i = 0; i < 600; i++) {
            if (m.status().path("writeback").path("staged").asLong() == 0) {
                return;
            }
            Thread.sleep(100);
        }
        assertEquals(0, m.status().path("writeback").path("staged").asLong(), "pending uploads did not finish");
    }
}
