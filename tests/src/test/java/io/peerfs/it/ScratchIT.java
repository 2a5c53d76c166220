package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;

import io.peerfs.it.PosixOps.Op;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scratch data through a real mount, checked against what a local file system does with
 * the same sequence of calls: same results, same errors, same final tree and bytes; and
 * nothing of it on the backend.
 */
class ScratchIT {
    static final int CHUNK = 1 << 20;
    @TempDir
    static Path tmp;
    static Path backend;
    static PeerFsMount mount;

    @BeforeAll
    static void mountIt() throws Exception {
        PeerFsMount.assumeFuse();
        backend = tmp.resolve("backend");
        TestFiles.write(backend.resolve("src/input.txt"), "source data".getBytes(StandardCharsets.UTF_8));
        mount = new PeerFsMount(backend, tmp.resolve("mnt"), tmp.resolve("cache"), "--chunk-size", "1MiB").mount();
    }

    @AfterAll
    static void unmount() throws Exception {
        if (mount != null) {
            mount.close();
        }
    }

    /** Runs the same ops in a local directory and in a scratch directory of the mount, comparing each. */
    private static void sameAsLocal(String name, Map<String, Op> ops) throws Exception {
        Path local = Files.createDirectories(tmp.resolve("local-" + name));
        Path scratch = Files.createDirectories(mount.mountpoint.resolve("src/" + name));
        assertEquals(List.of(), PosixOps.differences(local, scratch, ops));
        TestFiles.assertSameTree(local, scratch);
    }

    @Test
    void fileDataOperationsBehaveAsOnALocalFileSystem() throws Exception {
        Map<String, Op> ops = PosixOps.fileData();
        sameAsLocal("data", ops);
    }

    @Test
    void namespaceOperationsBehaveAsOnALocalFileSystem() throws Exception {
        Map<String, Op> ops = PosixOps.namespace();
        sameAsLocal("names", ops);
    }

    @Test
    void theLargestFileSizeIsExt4s() throws Exception {
        Map<String, Op> ops = new LinkedHashMap<>();
        long largest = (1L << 44) - 4096;
        // ext4's largest file with 4 KiB blocks: 16 TiB less a block (scratch only: a result file
        // opened for writing at that size would be uploaded whole)
        ops.put("sparse file", r -> Files.write(r.resolve("huge"), new byte[] {1}) != null);
        ops.put("truncate to the largest size", r -> truncate(r.resolve("huge"), largest));
        ops.put("truncate past it", r -> truncate(r.resolve("huge"), 999_999_999_999_999L));
        ops.put("read the end", r -> PosixOps.pread(r.resolve("huge"), largest - 10, 10));
        // a write out there costs one layout entry (it cost one per chunk before it: 16 M of them)
        ops.put("write the end", r -> PosixOps.pwrite(r.resolve("huge"), largest - 10, "the end...".getBytes()));
        ops.put("read the end again", r -> PosixOps.pread(r.resolve("huge"), largest - 10, 10));
        ops.put("read the hole before it", r -> PosixOps.pread(r.resolve("huge"), largest - 5000, 100));
        ops.put("size after it", r -> Files.size(r.resolve("huge")));
        ops.put("remove it", r -> {
            Files.delete(r.resolve("huge"));
            return true;
        });
        sameAsLocal("huge", ops);
    }

    private static long truncate(Path f, long size) throws Exception {
        try (RandomAccessFile file = new RandomAccessFile(f.toFile(), "rw")) {
            file.setLength(size);
        }
        return Files.size(f);
    }

    @Test
    void directoryTimesAndLinkCountsFollowTheirEntriesAsOnALocalFileSystem() throws Exception {
        sameAsLocal("parents", PosixOps.parentTimes());
    }

    @Test
    void fifosSocketsAndDeviceNodesBehaveAsOnALocalFileSystem() throws Exception {
        sameAsLocal("special", PosixOps.specialFiles());
    }

    @Test
    void scratchDataNeverReachesTheBackendAndSurvivesARestart() throws Exception {
        Path dir = Files.createDirectories(mount.mountpoint.resolve("src/intermediate"));
        byte[] data = random(5 * CHUNK + 3, 11);
        Files.write(dir.resolve("features.bin"), data);
        Files.writeString(mount.mountpoint.resolve("top-level.txt"), "scratch");
        try (Stream<Path> s = Files.walk(backend)) {
            assertEquals(List.of("", "src", "src/input.txt"),
                    s.map(p -> backend.relativize(p).toString()).sorted().toList());
        }
        byte[] chunkPattern = Arrays.copyOfRange(data, CHUNK, CHUNK + 64);
        try (Stream<Path> s = Files.walk(backend)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                assertFalse(indexOf(Files.readAllBytes(p), chunkPattern) >= 0, "scratch bytes in " + p);
            }
        }
        assertTrue(mount.status().path("cache").path("pinnedBytes").asLong() >= data.length);
        assertEquals(0, mount.status().path("backend").path("dataReads").asLong(), "scratch reads never touch the backend");
        mount.umount();
        mount.mount();
        assertTrue(Arrays.equals(data, Files.readAllBytes(mount.mountpoint.resolve("src/intermediate/features.bin"))));
        assertEquals("scratch", Files.readString(mount.mountpoint.resolve("top-level.txt")));
    }

    /**
     * As on a local file system, a directory can go while a file removed from it is still
     * open, and that file keeps its bytes until its last close, which frees them.
     */
    @Test
    void aDirectoryGoesWhileAFileRemovedFromItIsStillOpen() throws Exception {
        long pinnedBefore = mount.status().path("cache").path("pinnedBytes").asLong();
        Path dir = Files.createDirectories(mount.mountpoint.resolve("src/held"));
        byte[] data = random(2 * CHUNK + 5, 12);
        Files.write(dir.resolve("f"), data);
        try (FileChannel ch = FileChannel.open(dir.resolve("f"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Files.delete(dir.resolve("f"));
            Files.delete(dir);
            assertFalse(Files.exists(dir));
            ByteBuffer all = ByteBuffer.allocate(data.length + 1);
            while (ch.read(all, all.position()) > 0) {
                // to the end
            }
            assertArrayEquals(data, Arrays.copyOf(all.array(), all.position()));
            ch.write(ByteBuffer.wrap(new byte[] {7, 7, 7}), 1);
            ByteBuffer back = ByteBuffer.allocate(5);
            ch.read(back, 0);
            assertArrayEquals(new byte[] {data[0], 7, 7, 7, data[4]}, back.array());
            assertTrue(mount.status().path("cache").path("pinnedBytes").asLong() >= pinnedBefore + data.length);
        }
        long pinned = -1;
        for (int i = 0; i < 200 && pinned != pinnedBefore; i++) { // the release comes behind the close
            Thread.sleep(25);
            pinned = mount.status().path("cache").path("pinnedBytes").asLong();
        }
        assertEquals(pinnedBefore, pinned, "the last close frees the removed file's chunks");
        assertEquals(0, mount.status().path("daemon").path("openFiles").asLong());
    }

    @Test
    void sourceFilesStayProtected() throws Exception {
        Path m = mount.mountpoint;
        for (Op op : List.<Op>of(
                r -> Files.writeString(r.resolve("src/input.txt"), "x"),
                r -> {
                    Files.delete(r.resolve("src/input.txt"));
                    return null;
                },
                r -> Files.move(r.resolve("src/input.txt"), r.resolve("moved")),
                r -> {
                    Files.setPosixFilePermissions(r.resolve("src/input.txt"), PosixFilePermissions.fromString("rwxrwxrwx"));
                    return null;
                })) {
            assertEquals("FileSystemException:Read-only file system", PosixOps.outcome(op, m).replace("AccessDenied", ""));
        }
        assertEquals("source data", Files.readString(backend.resolve("src/input.txt")));
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
