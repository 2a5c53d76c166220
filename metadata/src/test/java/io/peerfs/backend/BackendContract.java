package io.peerfs.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every {@link Backend} keeps, checked against the directory it serves: what a
 * call returns, what it leaves on disk, and the errors of the local file system for the
 * cases POSIX names. Subclass it for each implementation and each wrapper the daemon stacks
 * on one (a top-level class each: surefire leaves nested test classes out).
 */
abstract class BackendContract {
    @TempDir
    Path tmp;
    Path root;
    Backend backend;

    /** The backend under test, serving {@code root}. */
    abstract Backend open(Path root) throws Exception;

    @BeforeEach
    void setUp() throws Exception {
        root = Files.createDirectories(tmp.resolve("root"));
        Files.createDirectories(root.resolve("d/sub"));
        Files.writeString(root.resolve("d/f.txt"), "hello, store");
        backend = open(root);
    }

    private static Backend.NewFile mode(int mode) {
        return new Backend.NewFile(mode, -1, -1, 1_000_000_000L, 2_000_000_000L, Map.of());
    }

    private static String text(Backend b, String path, int size) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(size);
        int n = b.read(path, 0, dst);
        return new String(dst.array(), 0, Math.max(n, 0), StandardCharsets.UTF_8);
    }

    @Test
    void statListReadAndReadlinkShowTheDirectory() throws Exception {
        Files.createSymbolicLink(root.resolve("d/ln"), Path.of("f.txt"));
        FileAttr f = backend.stat("d/f.txt");
        assertEquals(FileType.FILE, f.type());
        assertEquals(12, f.size());
        assertEquals(Files.getAttribute(root.resolve("d/f.txt"), "unix:ino"), f.ino());
        assertEquals(FileType.DIRECTORY, backend.stat("d").type());
        assertEquals(FileType.DIRECTORY, backend.stat("").type());
        assertEquals(FileType.SYMLINK, backend.stat("d/ln").type());
        assertEquals(List.of("f.txt", "ln", "sub"), backend.list("d").stream().sorted().toList());
        assertEquals("f.txt", backend.readlink("d/ln"));
        assertEquals("hello, store", text(backend, "d/f.txt", 64));
        ByteBuffer tail = ByteBuffer.allocate(4);
        assertEquals(4, backend.read("d/f.txt", 7, tail));
        assertEquals("stor", new String(tail.array(), StandardCharsets.UTF_8));
        assertThrows(NoSuchFileException.class, () -> backend.stat("d/none"));
        assertThrows(NoSuchFileException.class, () -> backend.list("none"));
    }

    @Test
    void namesAreMadeAndRemovedAsOnTheLocalFileSystem() throws Exception {
        backend.createFile("d/new", mode(0640));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("d/new"))));
        assertThrows(FileAlreadyExistsException.class, () -> backend.createFile("d/new", mode(0640)));
        backend.mkdir("d/dir", mode(0750));
        assertTrue(Files.isDirectory(root.resolve("d/dir")));
        assertThrows(FileAlreadyExistsException.class, () -> backend.mkdir("d/dir", mode(0750)));
        backend.symlink("new", "d/sym", -1, -1);
        assertEquals(Path.of("new"), Files.readSymbolicLink(root.resolve("d/sym")));
        backend.link("d/new", "d/hard");
        assertEquals(2, backend.stat("d/new").nlink());
        assertEquals(backend.stat("d/new").ino(), backend.stat("d/hard").ino());
        backend.mknod("d/fifo", FileType.FIFO, 0, mode(0600));
        assertEquals(FileType.FIFO, backend.stat("d/fifo").type());
        Files.writeString(root.resolve("d/dir/inside"), "x");
        assertThrows(DirectoryNotEmptyException.class, () -> backend.delete("d/dir"));
        backend.delete("d/dir/inside");
        backend.delete("d/dir");
        backend.delete("d/hard");
        backend.delete("d/fifo");
        assertFalse(Files.exists(root.resolve("d/dir")));
        assertEquals(1, backend.stat("d/new").nlink());
        assertThrows(NoSuchFileException.class, () -> backend.delete("d/none"));
    }

    @Test
    void renameMovesAndReplaces() throws Exception {
        Files.writeString(root.resolve("d/other"), "other");
        backend.rename("d/f.txt", "d/sub/moved");
        assertEquals("hello, store", Files.readString(root.resolve("d/sub/moved")));
        backend.rename("d/other", "d/sub/moved");
        assertEquals("other", Files.readString(root.resolve("d/sub/moved")));
        assertFalse(Files.exists(root.resolve("d/other")));
        backend.rename("d/sub", "d/sub2");
        assertTrue(Files.exists(root.resolve("d/sub2/moved")));
        assertThrows(NoSuchFileException.class, () -> backend.rename("d/none", "d/x"));
    }

    @Test
    void attributesAndXattrsChangeOnTheFile() throws Exception {
        backend.setMode("d/f.txt", 0600);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("d/f.txt"))));
        backend.setTimes("d/f.txt", 3_000_000_000L, 4_000_000_000L);
        assertEquals(4_000_000_000L, backend.stat("d/f.txt").mtimeNs());
        assertEquals(4_000_000_000L, Files.getLastModifiedTime(root.resolve("d/f.txt"), LinkOption.NOFOLLOW_LINKS)
                .toMillis() * 1_000_000L);
        backend.truncate("d/f.txt", 5);
        assertEquals("hello", Files.readString(root.resolve("d/f.txt")));
        backend.setXattr("d/f.txt", "user.k", new byte[] {1, 2});
        assertArrayEquals(new byte[] {1, 2}, backend.xattrs("d/f.txt").get("user.k"));
        backend.removeXattr("d/f.txt", "user.k");
        assertFalse(backend.xattrs("d/f.txt").containsKey("user.k"));
        assertThrows(NoSuchFileException.class, () -> backend.setMode("d/none", 0600));
    }

    @Test
    void replaceWritesTheWholeNewVersionUnderTheName() throws Exception {
        byte[] data = "the new version, whole".getBytes(StandardCharsets.UTF_8);
        FileAttr after = backend.replace("d/f.txt", data.length, mode(0644), (off, dst) -> {
            int n = (int) Math.min(dst.remaining(), data.length - off);
            dst.put(data, (int) off, n);
            return n;
        }, "t1");
        assertArrayEquals(data, Files.readAllBytes(root.resolve("d/f.txt")));
        assertEquals(data.length, after.size());
        assertEquals(List.of("f.txt", "sub"), backend.list("d").stream().sorted().toList(),
                "no temporary file left");
    }
}
