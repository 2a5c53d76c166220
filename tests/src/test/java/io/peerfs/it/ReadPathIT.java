package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static io.peerfs.it.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads through a real mount: every kind of file and tree, every byte compared with the backend. */
class ReadPathIT {
    static final int CHUNK = 1 << 20;
    @TempDir
    static Path tmp;
    static Path backend;
    static PeerFsMount mount;

    @BeforeAll
    static void mountTree() throws Exception {
        PeerFsMount.assumeFuse();
        backend = tmp.resolve("backend");
        int[] sizes = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 123};
        for (int size : sizes) {
            write(backend.resolve("sizes/f" + size), random(size, size));
        }
        try (RandomAccessFile sparse = new RandomAccessFile(write(backend.resolve("sparse"), new byte[0]).toFile(), "rw")) {
            sparse.setLength(3L * CHUNK + 77);
            sparse.seek(CHUNK + 5);
            sparse.write("island".getBytes(StandardCharsets.UTF_8));
        }
        Path deep = backend.resolve("deep");
        for (int i = 0; i < 40; i++) {
            deep = deep.resolve("level" + i);
        }
        write(deep.resolve("bottom.txt"), "deep".getBytes(StandardCharsets.UTF_8));
        for (String name : new String[] {"naïve façade.txt", "日本語.bin", "emoji-🙂.dat", "spaces in name", "semi;colon,comma"}) {
            write(backend.resolve("names").resolve(name), random(1000 + name.length(), name.hashCode()));
        }
        Files.createSymbolicLink(backend.resolve("rel-link"), Path.of("sizes/f1"));
        Files.createSymbolicLink(backend.resolve("dangling"), Path.of("/nonexistent/target"));
        Files.createSymbolicLink(backend.resolve("dir-link"), Path.of("names"));
        Path secret = write(backend.resolve("modes/secret"), random(10, 1));
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Files.getFileAttributeView(backend.resolve("sizes/f1"), UserDefinedFileAttributeView.class)
                .write("origin", StandardCharsets.UTF_8.encode("cpfs"));
        for (int i = 0; i < 500; i++) {
            write(backend.resolve("many/file-" + i), new byte[] {(byte) i});
        }
        mount = new PeerFsMount(backend, tmp.resolve("mnt"), tmp.resolve("cache"), "--chunk-size", "1MiB").mount();
    }

    @AfterAll
    static void unmount() throws Exception {
        if (mount != null) {
            mount.close();
        }
    }

    @Test
    void mountShowsTheSameTreeWithTheSameBytes() throws IOException {
        TestFiles.assertSameTree(backend, mount.mountpoint);
    }

    @Test
    void aFileReplacedOnTheStoreWhileOpenGivesAnErrorNeverTheOtherVersionsBytes() throws Exception {
        Path file = backend.resolve("replaced.bin");
        write(file, random(8 * CHUNK, 81));
        try (FileChannel ch = FileChannel.open(mount.mountpoint.resolve("replaced.bin"))) {
            ByteBuffer head = ByteBuffer.allocate(4096);
            ch.read(head, 100); // opened and its first chunk read: the version is fixed now
            assertArrayEquals(java.util.Arrays.copyOfRange(random(8 * CHUNK, 81), 100, 4196), head.array());
            // replaced in place on the store: same size, other bytes, a later mtime
            try (FileChannel store = FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
                store.write(ByteBuffer.wrap(random(8 * CHUNK, 82)), 0);
            }
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
            ByteBuffer tail = ByteBuffer.allocate(4096);
            IOException e = assertThrows(IOException.class, () -> ch.read(tail, 7L * CHUNK + 10),
                    "a chunk not cached yet is not read from the new version");
            assertTrue(e.getMessage().contains("Input/output error"), e.toString());
        }
        // reopened: the new version, whole
        assertArrayEquals(random(8 * CHUNK, 82), Files.readAllBytes(mount.mountpoint.resolve("replaced.bin")));
    }

    @Test
    void randomPositionalReadsMatchTheBackend() throws IOException {
        byte[] want = Files.readAllBytes(backend.resolve("sizes/f" + (5 * CHUNK + 123)));
        Random r = new Random(7);
        try (FileChannel ch = FileChannel.open(mount.mountpoint.resolve("sizes/f" + (5 * CHUNK + 123)))) {
            for (int i = 0; i < 200; i++) {
                int off = r.nextInt(want.length + 100);
                int len = 1 + r.nextInt(3 * CHUNK);
                ByteBuffer dst = ByteBuffer.allocate(len);
                int n = Math.max(0, ch.read(dst, off));
                int expect = Math.max(0, Math.min(len, want.length - off));
                if (expect > 0) {
                    // a single read may return less than asked; everything returned must be right
                    assertTrue(n > 0 && n <= expect, "offset " + off + ": got " + n);
                    assertArrayEquals(Arrays.copyOfRange(want, off, off + n), Arrays.copyOf(dst.array(), n),
                            "offset " + off + " length " + len);
                } else {
                    assertEquals(0, n);
                }
            }
        }
    }

    @Test
    void sparseFileReadsZerosAroundItsData() throws IOException {
        byte[] got = Files.readAllBytes(mount.mountpoint.resolve("sparse"));
        assertEquals(3 * CHUNK + 77, got.length);
        assertEquals("island", new String(got, CHUNK + 5, 6, StandardCharsets.UTF_8));
        assertEquals(0, got[0]);
        assertEquals(0, got[got.length - 1]);
    }

    @Test
    void symlinksAreServedAsLinks() throws IOException {
        assertEquals(Path.of("sizes/f1"), Files.readSymbolicLink(mount.mountpoint.resolve("rel-link")));
        assertArrayEquals(random(1, 1), Files.readAllBytes(mount.mountpoint.resolve("rel-link")));
        assertEquals(Path.of("/nonexistent/target"), Files.readSymbolicLink(mount.mountpoint.resolve("dangling")));
        assertTrue(Files.isDirectory(mount.mountpoint.resolve("dir-link")));
    }

    @Test
    void modesOwnersAndXattrsComeFromTheBackend() throws IOException {
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(mount.mountpoint.resolve("modes/secret"))));
        UserDefinedFileAttributeView view = Files.getFileAttributeView(mount.mountpoint.resolve("sizes/f1"),
                UserDefinedFileAttributeView.class);
        assertEquals(List.of("origin"), view.list());
        ByteBuffer b = ByteBuffer.allocate(view.size("origin"));
        view.read("origin", b);
        assertEquals("cpfs", new String(b.array(), 0, b.position(), StandardCharsets.UTF_8));
        assertEquals(Files.getLastModifiedTime(backend.resolve("sizes/f1")),
                Files.getLastModifiedTime(mount.mountpoint.resolve("sizes/f1")));
    }

    @Test
    void changesToSourceDataAreRefusedAsReadOnly() throws IOException {
        Path m = mount.mountpoint;
        for (ThrowingRunnable op : List.<ThrowingRunnable>of(
                () -> Files.write(m.resolve("sizes/f1"), new byte[1], StandardOpenOption.APPEND),
                () -> Files.write(m.resolve("sizes/f1"), new byte[1]),
                () -> Files.delete(m.resolve("sizes/f1")),
                () -> Files.delete(m.resolve("modes/secret")),
                () -> Files.setPosixFilePermissions(m.resolve("sizes/f1"), PosixFilePermissions.fromString("rwxrwxrwx")),
                () -> Files.move(m.resolve("sizes/f1"), m.resolve("sizes/moved")))) {
            FileSystemException e = assertThrows(FileSystemException.class, op::run);
            assertTrue(String.valueOf(e.getReason()).contains("Read-only file system"), e.toString());
        }
        assertArrayEquals(random(1, 1), Files.readAllBytes(backend.resolve("sizes/f1")));
        assertTrue(Files.notExists(backend.resolve("sizes/moved")));
    }

    @Test
    void concurrentReadersOfOneFileReadTheBackendOnce() throws Exception {
        byte[] data = random(6 * CHUNK + 5, 99);
        write(backend.resolve("shared/big"), data);
        // written behind the mount's back: it shows once the listings cached by earlier tests
        // (--meta-ttl, 1 s) expire; a stat reads no data
        Path big = mount.mountpoint.resolve("shared/big");
        for (int i = 0; i < 100 && !Files.exists(big); i++) {
            Thread.sleep(100);
        }
        var statusBefore = mount.status();
        long before = statusBefore.path("backend").path("bytesRead").asLong();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<byte[]>> reads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            reads.add(pool.submit(() -> Files.readAllBytes(mount.mountpoint.resolve("shared/big"))));
        }
        for (Future<byte[]> f : reads) {
            assertArrayEquals(data, f.get());
        }
        pool.shutdown();
        assertEquals(data.length, mount.backendBytesRead() - before,
                () -> "each chunk must be read from the backend once; before " + statusBefore + " after " + status());
        assertEquals(6L * CHUNK, mount.status().path("backend").path("bytesReadDirect").asLong()
                - statusBefore.path("backend").path("bytesReadDirect").asLong(),
                () -> "whole chunks are read past the page cache, the 5-byte tail through it; " + status());
    }

    private static String status() {
        try {
            return mount.status().toString();
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Test
    void listingsWithManyEntriesAreComplete() throws IOException {
        try (var s = Files.list(mount.mountpoint.resolve("many"))) {
            assertEquals(500, s.count());
        }
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
