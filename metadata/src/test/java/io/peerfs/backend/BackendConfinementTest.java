package io.peerfs.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backend is acted on beneath its root handle: a symlink met inside a backend path (put
 * there on the store, or by another node, while a file is open) is never followed, for reads
 * and for every change; nothing outside the backend is read, made, changed or removed.
 */
class BackendConfinementTest {
    @TempDir
    Path tmp;
    Path root;
    Path outside;
    LocalDirBackend backend;
    static final byte[] SECRET = "root's secret bytes".getBytes(StandardCharsets.UTF_8);

    @BeforeEach
    void setUp() throws IOException {
        root = Files.createDirectories(tmp.resolve("backend"));
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.write(outside.resolve("secret"), SECRET);
        Files.setPosixFilePermissions(outside.resolve("secret"), PosixFilePermissions.fromString("rw-------"));
        Files.createDirectories(root.resolve("out"));
        Files.createSymbolicLink(root.resolve("out/lnk"), outside);
        Files.createSymbolicLink(root.resolve("out/s"), outside.resolve("secret"));
        backend = LocalDirBackend.open(root, openat2());
    }

    /** Whether paths are resolved with openat2 (or walked, as on kernels before 5.6). */
    boolean openat2() {
        return true;
    }

    private void assertOutsideIntact() throws IOException {
        assertArrayEquals(SECRET, Files.readAllBytes(outside.resolve("secret")));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(outside.resolve("secret"))));
        try (var s = Files.list(outside)) {
            assertEquals(List.of(outside.resolve("secret")), s.toList(), "nothing made or removed outside");
        }
    }

    private static void assertLoop(ThrowingCall call, String what) {
        PosixException e = assertThrows(PosixException.class, call::run, what);
        assertEquals(PosixException.ELOOP, e.errno(), what + ": " + e);
    }

    interface ThrowingCall {
        void run() throws IOException;
    }

    @Test
    void aSymlinkedDirectoryInsideAPathIsNeverFollowed() throws IOException {
        Backend.NewFile meta = new Backend.NewFile(0644, -1, -1, Long.MIN_VALUE, Long.MIN_VALUE, Map.of());
        assertLoop(() -> backend.stat("out/lnk/secret"), "stat");
        assertLoop(() -> backend.read("out/lnk/secret", 0, ByteBuffer.allocate(64)), "read");
        assertLoop(() -> backend.readInto("out/lnk/secret", 0, ByteBuffer.allocateDirect(64)), "readInto");
        assertLoop(() -> backend.list("out/lnk"), "list of the link");
        assertLoop(() -> backend.list("out/lnk/."), "list below the link");
        assertLoop(() -> backend.xattrs("out/lnk/secret"), "xattrs");
        assertLoop(() -> backend.readlink("out/lnk/secret"), "readlink");
        assertLoop(() -> backend.replace("out/lnk/victim", 1, meta, (off, dst) -> {
            dst.put((byte) 'x');
            return 1;
        }, "t1"), "replace");
        assertLoop(() -> backend.replace("out/lnk/secret", 1, meta, (off, dst) -> {
            dst.put((byte) 'x');
            return 1;
        }, "t2"), "replace of an existing file");
        assertLoop(() -> backend.createFile("out/lnk/new", meta), "create");
        assertLoop(() -> backend.mkdir("out/lnk/dir", meta), "mkdir");
        assertLoop(() -> backend.symlink("/etc/shadow", "out/lnk/sl", -1, -1), "symlink");
        assertLoop(() -> backend.link("out/lnk/secret", "out/stolen"), "link from below the link");
        assertLoop(() -> backend.delete("out/lnk/secret"), "delete");
        assertLoop(() -> backend.rename("out/lnk/secret", "out/stolen"), "rename out");
        assertLoop(() -> backend.setMode("out/lnk/secret", 0666), "chmod");
        assertLoop(() -> backend.setOwner("out/lnk/secret", 65534, 65534), "chown");
        assertLoop(() -> backend.setTimes("out/lnk/secret", 0, 0), "utimens");
        assertLoop(() -> backend.truncate("out/lnk/secret", 0), "truncate");
        assertLoop(() -> backend.setXattr("out/lnk/secret", "user.a", new byte[] {1}), "setxattr");
        assertLoop(() -> backend.removeXattr("out/lnk/secret", "user.a"), "removexattr");
        assertOutsideIntact();
        assertFalse(Files.exists(root.resolve("out/stolen"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(FileType.SYMLINK, backend.stat("out/lnk").type(), "the link itself is seen, not its target");
        assertEquals(outside.toString(), backend.readlink("out/lnk"));
    }

    @Test
    void aFinalSymlinkIsActedOnItselfOrRefusedNeverFollowed() throws IOException {
        assertLoop(() -> backend.truncate("out/s", 0), "truncate");
        assertLoop(() -> backend.read("out/s", 0, ByteBuffer.allocate(64)), "read");
        assertThrows(IOException.class, () -> backend.setMode("out/s", 0666), "chmod of a symlink");
        assertThrows(IOException.class, () -> backend.setXattr("out/s", "user.a", new byte[] {1}),
                "a user xattr on a symlink");
        backend.setTimes("out/s", 1_000_000_000L, 1_000_000_000L); // the link's own times
        backend.setOwner("out/s", 65534, 65534); // the link's own owner
        assertEquals(65534, (int) Files.getAttribute(root.resolve("out/s"), "unix:uid", LinkOption.NOFOLLOW_LINKS));
        assertEquals(0, (int) Files.getAttribute(outside.resolve("secret"), "unix:uid"));
        assertEquals(Map.of(), backend.xattrs("out/s"));
        backend.delete("out/s"); // removes the link, not its target
        assertOutsideIntact();
        assertThrows(java.nio.file.NoSuchFileException.class, () -> backend.truncate("out/missing", 10),
                "truncate makes no file");
        assertFalse(Files.exists(root.resolve("out/missing")));
    }

    @Test
    void aDirectorySwappedForASymlinkDuringAnUploadKeepsTheUploadInTheDirectoryItOpened() throws IOException {
        Files.createDirectories(root.resolve("out/d"));
        AtomicBoolean swapped = new AtomicBoolean();
        byte[] data = "uploaded result".getBytes(StandardCharsets.UTF_8);
        FileAttr written = backend.replace("out/d/victim", data.length,
                new Backend.NewFile(0644, -1, -1, Long.MIN_VALUE, Long.MIN_VALUE, Map.of()), (off, dst) -> {
                    if (swapped.compareAndSet(false, true)) { // as another node, or a user on the store, would
                        Files.move(root.resolve("out/d"), root.resolve("out/d.moved"));
                        Files.createSymbolicLink(root.resolve("out/d"), outside);
                    }
                    int n = (int) Math.min(dst.remaining(), data.length - off);
                    dst.put(data, (int) off, n);
                    return n;
                }, "peerfs-1-1");
        assertTrue(swapped.get());
        assertArrayEquals(data, Files.readAllBytes(root.resolve("out/d.moved/victim")),
                "the upload stayed in the directory it was started in");
        assertEquals(data.length, written.size());
        assertFalse(Files.exists(outside.resolve("victim")));
        assertOutsideIntact();
        // the next upload through the swapped name is refused
        assertLoop(() -> backend.replace("out/d/victim", 1, new Backend.NewFile(0644, -1, -1, Long.MIN_VALUE,
                Long.MIN_VALUE, Map.of()), (off, dst) -> {
                    dst.put((byte) 1);
                    return 1;
                }, "peerfs-1-2"), "upload through the swapped-in symlink");
        assertOutsideIntact();
    }

    @Test
    void treesDeeperThanPathMaxWorkAsOnTheStoreItself() throws IOException {
        Backend.NewFile meta = new Backend.NewFile(0755, -1, -1, Long.MIN_VALUE, Long.MIN_VALUE, Map.of());
        StringBuilder path = new StringBuilder("out");
        for (int i = 0; i < 24; i++) { // 24 x 201 bytes: past PATH_MAX (4096)
            path.append('/').append(String.valueOf((char) ('a' + i)).repeat(200));
            backend.mkdir(path.toString(), meta);
        }
        String file = path + "/f";
        assertTrue(file.length() > 4096);
        byte[] data = "deep".getBytes(StandardCharsets.UTF_8);
        backend.replace(file, data.length, meta, (off, dst) -> {
            dst.put(data, (int) off, data.length - (int) off);
            return data.length - (int) off;
        }, "peerfs-2-1");
        assertEquals(4, backend.stat(file).size());
        ByteBuffer back = ByteBuffer.allocate(16);
        assertEquals(4, backend.read(file, 0, back));
        assertEquals(List.of("f"), backend.list(path.toString()));
        backend.truncate(file, 2);
        assertEquals(2, backend.stat(file).size());
        backend.delete(file);
        assertEquals(List.of(), backend.list(path.toString()));
        for (String dir = path.toString(); dir.contains("/"); dir = dir.substring(0, dir.lastIndexOf('/'))) {
            backend.delete(dir); // deeper than the JDK (and so JUnit's clean-up) reaches
        }
    }

    @Test
    void aFifoOrDeviceInPlaceOfAFileFailsAtOnceInsteadOfBlocking() throws Exception {
        Path fifo = root.resolve("out/fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        PosixException read = assertThrows(PosixException.class, () -> backend.read("out/fifo", 0, ByteBuffer.allocate(8)));
        assertEquals(PosixException.EINVAL, read.errno());
        ByteBuffer aligned = ByteBuffer.allocateDirect(3 * 65536).alignedSlice(65536).limit(65536);
        PosixException direct = assertThrows(PosixException.class, () -> backend.readInto("out/fifo", 0, aligned));
        assertEquals(PosixException.EINVAL, direct.errno(), "the FIFO's own failure");
        Files.write(root.resolve("out/real"), new byte[65536]);
        assertEquals(65536, backend.readInto("out/real", 0, aligned.clear()));
        assertEquals(65536, backend.bytesReadDirect(), "a FIFO does not switch direct reads off for the mount");
        assertThrows(IOException.class, () -> backend.truncate("out/fifo", 0));
        assertEquals(FileType.FIFO, backend.stat("out/fifo").type());
        assertEquals(Map.of(), backend.xattrs("out/fifo"));
    }

    @Test
    void specialFilesAreMadeBeneathTheRootWithTheirModeAndNumber() throws Exception {
        Backend.NewFile meta = new Backend.NewFile(0640, -1, -1, 0, 0, Map.of());
        backend.mknod("out/p", FileType.FIFO, 0, meta);
        backend.mknod("out/sock", FileType.SOCKET, 0, meta);
        long rdev = Statx.makedev(1, 3);
        backend.mknod("out/c", FileType.CHAR_DEVICE, rdev, meta);
        for (String name : new String[] {"p", "sock", "c"}) {
            FileAttr a = backend.stat("out/" + name);
            assertEquals(0640, a.mode(), name + ": the mode asked for, not the daemon's umask");
        }
        assertEquals(FileType.FIFO, backend.stat("out/p").type());
        assertEquals(FileType.SOCKET, backend.stat("out/sock").type());
        FileAttr c = backend.stat("out/c");
        assertEquals(FileType.CHAR_DEVICE, c.type());
        assertEquals(rdev, c.rdev());
        assertEquals(rdev, (long) Files.getAttribute(root.resolve("out/c"), "unix:rdev"), "glibc's makedev");
        assertThrows(java.nio.file.FileAlreadyExistsException.class,
                () -> backend.mknod("out/p", FileType.FIFO, 0, meta));
        assertThrows(IOException.class, () -> backend.mknod("out/lnk/p", FileType.FIFO, 0, meta),
                "not through a symlink to outside");
        assertTrue(Files.list(outside).noneMatch(x -> x.getFileName().toString().equals("p")));
        PosixException notSpecial = assertThrows(PosixException.class,
                () -> backend.mknod("out/d", FileType.DIRECTORY, 0, meta));
        assertEquals(PosixException.EINVAL, notSpecial.errno());
    }
}
