package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.it.PosixOps.Op;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Both libfuse bindings over real mounts: libfuse 3 (the default, PeerFS's own jnr-ffi binding)
 * and {@code --libfuse 2} (jnr-fuse) run the same POSIX sequences as a local file system does,
 * with the same results, and read a source file in large requests as it is on the backend;
 * with libfuse 3 the cached chunks are read past the page cache into its aligned buffers.
 */
class LibfuseVersionsIT {
    @TempDir
    static Path tmp;

    @BeforeAll
    static void fuse() {
        PeerFsMount.assumeFuse();
    }

    /** The system's pipe size limit, which decides whether libfuse 3 read replies are spliced. */
    private static final Path PIPE_MAX = Path.of("/proc/sys/fs/pipe-max-size");

    @ParameterizedTest(name = "libfuse {0}")
    @ValueSource(strings = {"3, replies spliced", "3, replies copied", "2", "none"})
    void posixOperationsAndLargeReadsBehaveAsOnALocalFileSystem(String variant) throws Exception {
        int libfuse = variant.startsWith("3") ? 3 : variant.equals("2") ? 2 : 0;
        boolean spliced = variant.endsWith("spliced");
        String before = Files.readAllLines(PIPE_MAX).get(0).trim(); // readString sees one byte of a /proc file
        // 2 MiB pipes (what the deb package's sysctl sets) let libfuse splice 1 MiB replies; 1 MiB
        // (the kernel's default) does not, for a daemon without CAP_SYS_RESOURCE
        Files.writeString(PIPE_MAX, spliced ? "2097152" : "1048576");
        try {
            posixAndLargeReads(variant.replace(", ", "-").replace(' ', '-'), libfuse, spliced);
        } finally {
            Files.writeString(PIPE_MAX, before);
        }
    }

    private void posixAndLargeReads(String name, int libfuse, boolean spliced) throws Exception {
        Path backend = tmp.resolve("backend-" + name);
        byte[] source = TestFiles.random(9 << 20, libfuse);
        TestFiles.write(backend.resolve("src/big.bin"), source);
        String option = libfuse == 0 ? "none" : String.valueOf(libfuse);
        try (PeerFsMount m = new PeerFsMount(backend, tmp.resolve("mnt-" + name), tmp.resolve("cache-" + name),
                "--libfuse", option, "--chunk-size", "1MiB").mount()) {
            assertEquals(libfuse, m.status().path("daemon").path("libfuse").asInt());
            // "links" compares inode numbers of hard links and the parents' times and link counts:
            // use_ino reaches libfuse 2 (a -o option) and 3 (struct fuse_config) alike
            for (Map.Entry<String, Map<String, Op>> ops : Map.of("data", PosixOps.fileData(),
                    "names", PosixOps.namespace(), "links", PosixOps.parentTimes(),
                    "special", PosixOps.specialFiles()).entrySet()) {
                Path local = Files.createDirectories(tmp.resolve("local-" + name + "-" + ops.getKey()));
                Path scratch = Files.createDirectories(m.mountpoint.resolve("src/" + ops.getKey()));
                assertEquals(List.of(), PosixOps.differences(local, scratch, ops.getValue()), ops.getKey());
                TestFiles.assertSameTree(local, scratch);
            }
            // 2 MiB preads straddling chunk boundaries, and the whole file through the page cache
            try (FileChannel ch = FileChannel.open(m.mountpoint.resolve("src/big.bin"))) {
                for (long off = 0; off < source.length; off += (3 << 20) / 2) {
                    ByteBuffer b = ByteBuffer.allocateDirect(2 << 20);
                    while (b.hasRemaining() && ch.read(b, off + b.position()) > 0) {
                        // a short read is followed by the next
                    }
                    byte[] got = new byte[b.flip().remaining()];
                    b.get(got);
                    int end = (int) Math.min(source.length, off + (2 << 20));
                    assertArrayEquals(Arrays.copyOfRange(source, (int) off, end), got, "at " + off);
                }
            }
            assertArrayEquals(source, Files.readAllBytes(m.mountpoint.resolve("src/big.bin")));
            if (spliced) {
                // cold chunks: replies spliced from the buffers they were fetched into, no copy
                long fromMemory = m.status().path("fuse").path("bytesFromMemory").asLong();
                assertTrue(fromMemory > 0, "replies from fetched chunks: " + m.status().path("fuse"));
            }
            if (libfuse != 0) {
                // 3,000 callbacks (open, flush, release): libfuse's threads stay attached to the JVM
                // after their second callback, where jffi alone would attach and detach each of
                // them for its first 1,000
                for (int i = 0; i < 1000; i++) {
                    Files.newByteChannel(m.mountpoint.resolve("src/big.bin")).close();
                }
                long attaches = m.status().path("fuse").path("threadAttaches").asLong();
                assertTrue(attaches > 0 && attaches <= 200, "callbacks on newly attached threads: " + attaches);
            }
        }
        // the same cache mounted again: every chunk is in it, nothing is in memory or the mount's page cache
        try (PeerFsMount m = new PeerFsMount(backend, tmp.resolve("mnt-" + name), tmp.resolve("cache-" + name),
                "--libfuse", option, "--chunk-size", "1MiB").mount()) {
            assertArrayEquals(source, Files.readAllBytes(m.mountpoint.resolve("src/big.bin")));
            var cache = m.status().path("cache");
            assertEquals(0, m.status().path("backend").path("dataReads").asLong(), "all from the cache");
            long direct = cache.path("bytesServedDirect").asLong();
            var fuse = m.status().path("fuse");
            if (libfuse == 0) {
                // PeerFS's own loop reads into page-aligned reply buffers too
                assertEquals(source.length, direct, "bytes read with direct I/O of " + cache);
            }
            if (libfuse == 3) {
                // its read buffers are page-aligned: the chunk files are read past the page cache
                assertEquals(source.length, direct, "bytes read with direct I/O of " + cache);
                // into memfd slots libfuse splices into the kernel, where a pipe holds a reply
                assertEquals(spliced ? "spliced" : "copied", fuse.path("readReplies").asText(), fuse.toString());
                long splicedBytes = fuse.path("bytesSpliced").asLong();
                if (spliced) {
                    // every byte once, and now and then a few pages the kernel asks for again (a
                    // CI run saw 12 KiB more), answered from the slot that still holds them
                    assertTrue(splicedBytes >= source.length && splicedBytes < source.length + (1 << 20),
                            fuse.toString());
                } else {
                    assertEquals(0, splicedBytes, fuse.toString());
                }
                assertEquals(0, fuse.path("bytesFromMemory").asLong(), "all from the cache disk: " + fuse);
            }
            // libfuse 2's buffers are malloc'd: page-aligned only by chance (a CI run saw 10 of
            // them), and then read with direct I/O too, rightly; nothing to assert there
        }
    }

    @org.junit.jupiter.api.Test
    void aLibfuse3MountReadsAheadInItsLargestRequests() throws Exception {
        Path backend = Files.createDirectories(tmp.resolve("backend-ra"));
        try (PeerFsMount m = new PeerFsMount(backend, tmp.resolve("mnt-ra"), tmp.resolve("cache-ra")).mount()) {
            String device = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().map(l -> l.split(" "))
                    .filter(f -> f[4].equals(m.mountpoint.toString()) && List.of(f).contains("fuse.peerfs"))
                    .map(f -> f[2]).findFirst().orElseThrow(); // not the read-only guard beneath
            assertEquals("2048", Files.readString(Path.of("/sys/class/bdi", device, "read_ahead_kb")).trim());
        }
    }
}
