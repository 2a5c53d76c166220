package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A soak run: many concurrent readers and writers over a cache much smaller than the data,
 * for {@code -Dpeerfs.soak.seconds} (90 in CI; run it for an hour by hand). Every read is
 * checked byte for byte against its model; the daemon's RSS, open descriptors and cache
 * occupancy are sampled throughout and must stay bounded, and come back down afterwards.
 *
 * <p>Load: random-offset readers over a source dataset 4× the cache, scratch writers that
 * write, verify and delete files, a result writer whose files are checked on the backend
 * after close, and a metadata walker.
 */
class SoakIT {
    static final int CHUNK = 1 << 20;
    static final long CACHE = 48L << 20;
    static final int FILES = 12;
    static final int FILE_SIZE = 16 << 20;
    @TempDir
    Path tmp;

    @Test
    void manyReadersAndWritersOverASmallCacheStayCorrectAndBounded() throws Exception {
        PeerFsMount.assumeFuse();
        int seconds = Integer.getInteger("peerfs.soak.seconds", 90);
        Path backend = Files.createDirectories(tmp.resolve("backend"));
        for (int i = 0; i < FILES; i++) {
            TestFiles.write(backend.resolve("data/f" + i), random(FILE_SIZE + i * 4099, 700 + i));
        }
        Files.createDirectories(backend.resolve("out"));
        try (PeerFsMount m = new PeerFsMount(backend, tmp.resolve("mnt"), tmp.resolve("cache"), "--chunk-size", "1MiB",
                "--cache-size", "48MiB", "--result-paths", "out/**").mount()) {
            long pid = m.pid();
            long fdsAtStart = PeerIT.openFds(pid);
            Map<String, Long> fdKindsAtStart = openFdKinds(pid);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            AtomicLong verifiedBytes = new AtomicLong();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<?>> load = new ArrayList<>();
            for (int r = 0; r < 4; r++) {
                int seed = r;
                load.add(pool.submit(() -> readRandomly(m, seed, deadline, verifiedBytes)));
            }
            for (int w = 0; w < 2; w++) {
                int seed = w;
                load.add(pool.submit(() -> writeScratch(m, seed, deadline, verifiedBytes)));
            }
            load.add(pool.submit(() -> writeResults(m, deadline, verifiedBytes)));
            load.add(pool.submit(() -> walkMetadata(m, deadline)));

            List<long[]> samples = new ArrayList<>(); // seconds, RSS KiB, fds, cache bytes
            long start = System.nanoTime();
            while (load.stream().anyMatch(f -> !f.isDone())) {
                long used = m.status().path("cache").path("usedBytes").asLong();
                samples.add(new long[] {(System.nanoTime() - start) / 1_000_000_000L, PeerIT.rssKiB(pid),
                        PeerIT.openFds(pid), used});
                assertTrue(used <= CACHE, "cache over its size: " + used);
                if (load.stream().anyMatch(f -> f.isDone() && !f.isCancelled())) {
                    load.stream().filter(Future::isDone).forEach(SoakIT::rethrow); // a failed worker fails now
                }
                Thread.sleep(2000);
            }
            pool.shutdown();
            for (Future<?> f : load) {
                f.get();
            }
            System.out.println("soak " + seconds + " s, " + (verifiedBytes.get() >> 20) + " MiB verified");
            System.out.println("   s   RSS MiB   fds   cache MiB");
            samples.forEach(s -> System.out.printf("%4d %9d %5d %11d%n", s[0], s[1] >> 10, s[2], s[3] >> 20));

            long peakRss = samples.stream().mapToLong(s -> s[1]).max().orElseThrow();
            int third = Math.max(1, samples.size() / 3);
            long earlyPeak = samples.subList(0, third).stream().mapToLong(s -> s[1]).max().orElseThrow();
            long latePeak = samples.subList(samples.size() - third, samples.size()).stream().mapToLong(s -> s[1])
                    .max().orElseThrow();
            assertTrue(peakRss < 1024 * 1024, "daemon RSS peaked at " + (peakRss >> 10) + " MiB");
            assertTrue(latePeak < earlyPeak + 128 * 1024, "RSS keeps growing: " + (earlyPeak >> 10) + " MiB early, "
                    + (latePeak >> 10) + " MiB late");
            long peakFds = samples.stream().mapToLong(s -> s[2]).max().orElseThrow();
            assertTrue(peakFds < fdsAtStart + 600, "open descriptors peaked at " + peakFds);
            System.out.println("descriptors at start " + fdKindsAtStart + ", after the load " + openFdKinds(pid));
            long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (PeerIT.openFds(pid) > fdsAtStart + 64 && System.nanoTime() < settle) {
                Thread.sleep(500);
            }
            assertTrue(PeerIT.openFds(pid) <= fdsAtStart + 64, "descriptors left open after the load: "
                    + PeerIT.openFds(pid) + ", " + fdsAtStart + " at start (" + fdKindsAtStart + "); open now: "
                    + openFdKinds(pid));
            assertTrue(m.status().path("cache").path("evictions").asLong() > 0, "the cache was under pressure");
            assertTrue(verifiedBytes.get() > 4L * CACHE, "the load went through more than the cache holds");
        }
    }

    /** What the daemon's descriptors point at, counted by kind (chunk files, sockets, pipes, ...). */
    static Map<String, Long> openFdKinds(long pid) throws IOException {
        try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return fds.map(fd -> {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    return target.contains("/chunks/") ? "chunk file" : target.startsWith("/memfd:") ? "memfd"
                            : target.replaceAll("[\\[:].*|/[^/]*$", "");
                } catch (IOException e) {
                    return "closed meanwhile";
                }
            }).collect(Collectors.groupingBy(k -> k, TreeMap::new, Collectors.counting()));
        }
    }

    private static void rethrow(Future<?> f) {
        try {
            f.get();
        } catch (Exception e) {
            throw new AssertionError("a soak worker failed", e);
        }
    }

    private static Void readRandomly(PeerFsMount m, int seed, long deadline, AtomicLong verified) throws IOException {
        Random r = new Random(seed);
        byte[][] models = new byte[FILES][];
        while (System.nanoTime() < deadline) {
            int i = r.nextInt(FILES);
            if (models[i] == null) {
                models[i] = random(FILE_SIZE + i * 4099, 700 + i);
            }
            byte[] model = models[i];
            try (FileChannel ch = FileChannel.open(m.mountpoint.resolve("data/f" + i), StandardOpenOption.READ)) {
                for (int k = 0; k < 16; k++) {
                    int len = r.nextBoolean() ? 4096 : 1 + r.nextInt(3 * CHUNK);
                    long off = (long) r.nextInt(model.length);
                    ByteBuffer b = ByteBuffer.allocate(len);
                    int n = 0;
                    while (b.hasRemaining()) {
                        int got = ch.read(b, off + n);
                        if (got < 0) {
                            break;
                        }
                        n += got;
                    }
                    int want = (int) Math.min(len, model.length - off);
                    assertEquals(want, n, "bytes read from data/f" + i + " at " + off);
                    assertArrayEquals(Arrays.copyOfRange(model, (int) off, (int) off + want),
                            Arrays.copyOf(b.array(), n), "data/f" + i + " at " + off + " +" + n);
                    verified.addAndGet(n);
                }
            }
        }
        return null;
    }

    private static Void writeScratch(PeerFsMount m, int seed, long deadline, AtomicLong verified) throws IOException {
        Random r = new Random(100 + seed);
        Path dir = Files.createDirectories(m.mountpoint.resolve("scratch-" + seed));
        List<Path> kept = new ArrayList<>();
        for (int n = 0; System.nanoTime() < deadline; n++) {
            byte[] data = random(1 + r.nextInt(3 * CHUNK), r.nextLong());
            Path f = dir.resolve("s" + n);
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                for (int off = 0; off < data.length; ) { // pieces of odd sizes, as applications write
                    int len = Math.min(data.length - off, 1 + r.nextInt(300_000));
                    ch.write(ByteBuffer.wrap(data, off, len));
                    off += len;
                }
            }
            assertArrayEquals(data, Files.readAllBytes(f), "scratch " + f);
            verified.addAndGet(data.length);
            kept.add(f);
            if (kept.size() > 3) { // at most ~12 MiB pinned per writer: the cache must keep room for source data
                Files.delete(kept.remove(r.nextInt(kept.size())));
            }
        }
        return null;
    }

    private static Void writeResults(PeerFsMount m, long deadline, AtomicLong verified) throws IOException {
        Random r = new Random(200);
        for (int n = 0; System.nanoTime() < deadline; n++) {
            byte[] data = random(1 + r.nextInt(2 * CHUNK), r.nextLong());
            String name = "out/r" + (n % 5); // rewritten over and over: each close replaces the backend file whole
            Files.write(m.mountpoint.resolve(name), data);
            assertArrayEquals(data, Files.readAllBytes(m.backend.resolve(name)), "result " + name + " on the backend");
            verified.addAndGet(data.length);
        }
        return null;
    }

    private static Void walkMetadata(PeerFsMount m, long deadline) throws IOException {
        while (System.nanoTime() < deadline) {
            try (var s = Files.walk(m.mountpoint)) {
                s.forEach(p -> {
                    try {
                        Files.readAttributes(p, "unix:size,mode");
                    } catch (NoSuchFileException e) {
                        // deleted by a writer meanwhile
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            } catch (java.io.UncheckedIOException e) {
                if (!(e.getCause() instanceof NoSuchFileException)) {
                    throw e;
                }
            }
        }
        return null;
    }
}
