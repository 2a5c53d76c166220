package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * An fsx-style checker over the real mount (fsx from xfstests is not packaged in Debian):
 * thousands of random reads, writes, mmap reads and writes, truncates up and down, fsyncs
 * and reopen cycles on one file, each result compared with an in-memory model, through the
 * kernel's page cache and FUSE, in a scratch and in a result directory. For the result file
 * the backend's copy is compared too after every close. A failure prints the seed and the
 * last operations, as fsx does. It runs on both libfuse bindings (3, the default, and 2).
 */
class FsxIT {
    static final int MAX_SIZE = 3 << 20;
    static final int OPS = Integer.getInteger("peerfs.fsx.ops", 3000);
    @TempDir
    static Path tmp;
    /** One mount per libfuse binding (3, the default, and 2 through jnr-fuse), each on its own backend. */
    static final Map<Integer, PeerFsMount> MOUNTS = new TreeMap<>();

    @BeforeAll
    static void mountIt() throws Exception {
        PeerFsMount.assumeFuse();
        for (int libfuse : new int[] {3, 2}) {
            Path backend = tmp.resolve("backend-" + libfuse);
            Files.createDirectories(backend.resolve("out"));
            PeerFsMount m = new PeerFsMount(backend, tmp.resolve("mnt-" + libfuse), tmp.resolve("cache-" + libfuse),
                    "--chunk-size", "256KiB", "--result-paths", "out/**", "--libfuse", String.valueOf(libfuse));
            MOUNTS.put(libfuse, m.mount());
            Files.createDirectories(m.mountpoint.resolve("data"));
        }
    }

    @AfterAll
    static void unmount() throws Exception {
        for (PeerFsMount m : MOUNTS.values()) {
            m.close();
        }
    }

    @ParameterizedTest(name = "libfuse {0}, in {1}/")
    @CsvSource({"3, data", "3, out", "2, data", "2, out"})
    void randomOperationsMatchTheModel(int libfuse, String top) throws Exception {
        PeerFsMount mount = MOUNTS.get(libfuse);
        long seed = Long.getLong("peerfs.fsx.seed", System.nanoTime());
        Random r = new Random(seed);
        Path file = mount.mountpoint.resolve(top + "/fsx.bin");
        byte[] model = new byte[0];
        List<String> log = new ArrayList<>();
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        try {
            for (int op = 0; op < OPS; op++) {
                int kind = r.nextInt(100);
                long off = r.nextInt(MAX_SIZE);
                int len = 1 + r.nextInt(r.nextBoolean() ? 4096 : 300_000);
                if (kind < 30) {
                    log.add(op + " read " + off + " +" + len);
                    checkRead(ch, model, off, len, log, seed);
                } else if (kind < 60) {
                    len = (int) Math.min(len, MAX_SIZE - off);
                    byte[] data = new byte[len];
                    r.nextBytes(data);
                    log.add(op + " write " + off + " +" + len);
                    ByteBuffer b = ByteBuffer.wrap(data);
                    for (long p = off; b.hasRemaining(); ) {
                        p += ch.write(b, p);
                    }
                    model = grow(model, off + len);
                    System.arraycopy(data, 0, model, (int) off, len);
                } else if (kind < 70 && model.length > 0) {
                    off = r.nextInt(model.length);
                    len = (int) Math.min(len, model.length - off);
                    log.add(op + " mapread " + off + " +" + len);
                    MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, off, len);
                    byte[] got = new byte[len];
                    m.get(got);
                    assertArrayEquals(Arrays.copyOfRange(model, (int) off, (int) off + len), got, failure(seed, log));
                } else if (kind < 78 && model.length > 0) {
                    off = r.nextInt(model.length);
                    len = (int) Math.min(Math.min(len, 65536), model.length - off); // within the file, as fsx
                    byte[] data = new byte[len];
                    r.nextBytes(data);
                    log.add(op + " mapwrite " + off + " +" + len);
                    MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_WRITE, off, len);
                    m.put(data);
                    m.force();
                    System.arraycopy(data, 0, model, (int) off, len);
                } else if (kind < 88) {
                    long size = r.nextInt(MAX_SIZE);
                    log.add(op + " truncate " + size);
                    if (size < model.length) {
                        ch.truncate(size);
                        model = Arrays.copyOf(model, (int) size);
                    } else { // FileChannel.truncate never grows: extend with a byte at the end, as ftruncate up
                        ch.write(ByteBuffer.wrap(new byte[1]), size);
                        model = grow(model, size + 1);
                    }
                } else if (kind < 93) {
                    log.add(op + " fsync");
                    ch.force(true);
                } else {
                    log.add(op + " close+reopen");
                    ch.close();
                    if (top.equals("out")) {
                        assertArrayEquals(model, Files.readAllBytes(mount.backend.resolve(top + "/fsx.bin")),
                                "the backend copy after close: " + failure(seed, log));
                    }
                    ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                }
                assertEquals(model.length, ch.size(), failure(seed, log));
            }
            checkRead(ch, model, 0, model.length, log, seed);
        } finally {
            ch.close();
        }
        assertArrayEquals(model, Files.readAllBytes(file), failure(seed, log));
        if (top.equals("out")) {
            assertArrayEquals(model, Files.readAllBytes(mount.backend.resolve(top + "/fsx.bin")), failure(seed, log));
        }
        System.out.printf("fsx on libfuse %d in %s/: %d operations, seed %d, final size %d%n", libfuse, top, OPS, seed,
                model.length);
    }

    private static void checkRead(FileChannel ch, byte[] model, long off, int len, List<String> log, long seed)
            throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len);
        int n = 0;
        while (b.hasRemaining()) {
            int got = ch.read(b, off + n);
            if (got < 0) {
                break;
            }
            n += got;
        }
        int want = (int) Math.max(0, Math.min(len, model.length - off));
        assertEquals(want, n, failure(seed, log));
        assertArrayEquals(Arrays.copyOfRange(model, (int) Math.min(off, model.length), (int) Math.min(off, model.length)
                + want), Arrays.copyOf(b.array(), n), failure(seed, log));
    }

    private static byte[] grow(byte[] model, long size) {
        return size > model.length ? Arrays.copyOf(model, (int) size) : model;
    }

    private static String failure(long seed, List<String> log) {
        return "seed " + seed + " (-Dpeerfs.fsx.seed to replay), last operations: "
                + String.join("; ", log.subList(Math.max(0, log.size() - 12), log.size()));
    }
}
