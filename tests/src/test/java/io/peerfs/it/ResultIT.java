package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Result paths through a real mount: the same call sequences as a local file system, with
 * the same results and errors, and afterwards the backend holds exactly what the local
 * directory holds. Tags, info and persist through {@code bin/peerfs}.
 */
class ResultIT {
    static final int CHUNK = PosixOps.CHUNK;
    @TempDir
    static Path tmp;
    static Path backend;
    static PeerFsMount mount;

    @BeforeAll
    static void mountIt() throws Exception {
        PeerFsMount.assumeFuse();
        backend = tmp.resolve("backend");
        Files.createDirectories(backend.resolve("out"));
        TestFiles.write(backend.resolve("data/input.txt"), "source data".getBytes(StandardCharsets.UTF_8));
        mount = new PeerFsMount(backend, tmp.resolve("mnt"), tmp.resolve("cache"), "--chunk-size", "1MiB",
                "--result-paths", "out/**").mount();
    }

    @AfterAll
    static void unmount() throws Exception {
        if (mount != null) {
            mount.close();
        }
    }

    /** Runs the ops locally and in a result directory; then the mount and the backend must both equal local. */
    private static void sameAsLocal(String name, java.util.Map<String, PosixOps.Op> ops) throws Exception {
        Path local = Files.createDirectories(tmp.resolve("local-" + name));
        Path result = Files.createDirectories(mount.mountpoint.resolve("out/" + name));
        assertEquals(List.of(), PosixOps.differences(local, result, ops));
        TestFiles.assertSameTree(local, result);
        TestFiles.assertSameTree(local, backend.resolve("out/" + name));
        assertEquals(List.of(), temporaries(), "no temporary upload files left on the backend");
        assertEquals(0, mount.status().path("writeback").path("staged").asLong(), "nothing left staged");
    }

    private static List<Path> temporaries() throws IOException {
        try (Stream<Path> s = Files.walk(backend)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".peerfs-tmp")).toList();
        }
    }

    @Test
    void fileDataOperationsBehaveAsOnALocalFileSystemAndLandOnTheBackend() throws Exception {
        sameAsLocal("data", PosixOps.fileData());
    }

    @Test
    void namespaceOperationsBehaveAsOnALocalFileSystemAndLandOnTheBackend() throws Exception {
        sameAsLocal("names", PosixOps.namespace());
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
    void aWriteThroughOneHardLinkReachesEveryNameOfTheFile() throws Exception {
        Path m = mount.mountpoint;
        Files.createDirectories(m.resolve("out/linked"));
        Files.writeString(m.resolve("out/linked/a"), "first\n");
        Files.createLink(m.resolve("out/linked/b"), m.resolve("out/linked/a"));
        Files.writeString(m.resolve("out/linked/b"), "second\n", java.nio.file.StandardOpenOption.APPEND);
        Path a = backend.resolve("out/linked/a");
        Path b = backend.resolve("out/linked/b");
        assertEquals("first\nsecond\n", Files.readString(a), "appended through the other name");
        assertEquals(Files.getAttribute(a, "unix:ino"), Files.getAttribute(b, "unix:ino"), "still one file");
        assertEquals(2, Files.getAttribute(a, "unix:nlink"));
        Files.writeString(m.resolve("out/linked/a"), "3\n"); // O_TRUNC, shorter, through the first name
        assertEquals("3\n", Files.readString(b));
        assertEquals(Files.getAttribute(a, "unix:ino"), Files.getAttribute(b, "unix:ino"));
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (!"3\n".equals(Files.readString(m.resolve("out/linked/b")))) { // its cached size expires
            assertTrue(System.nanoTime() < deadline, "the other name reads the new data through the mount");
            Thread.sleep(100);
        }
        assertEquals(List.of(), temporaries(), "no temporary upload files left on the backend");
    }

    @Test
    void aLargeCopyAppearsOnTheBackendOnlyWholeAndIsReadBack() throws Exception {
        byte[] data = random(7 * CHUNK + 123, 21);
        Path src = TestFiles.write(tmp.resolve("big.bin"), data);
        Files.copy(src, mount.mountpoint.resolve("out/big.bin"));
        assertArrayEquals(data, Files.readAllBytes(backend.resolve("out/big.bin")));
        // the uploaded file's chunks are the staged ones kept as cache entries: read back, also
        // past the page cache (O_DIRECT), its bytes come from the cache disk, none from the backend
        long before = mount.backendBytesRead();
        assertArrayEquals(data, Files.readAllBytes(mount.mountpoint.resolve("out/big.bin")));
        assertTrue(mount.status().path("backend").path("uploads").asLong() > 0);
        PeerFsMount.Run dd = PeerFsMount.command("dd", "if=" + mount.mountpoint.resolve("out/big.bin"),
                "of=" + tmp.resolve("big.back"), "iflag=direct", "bs=1M");
        assertEquals(0, dd.exit(), dd.err());
        assertArrayEquals(data, Files.readAllBytes(tmp.resolve("big.back")));
        assertEquals(before, mount.backendBytesRead(), "read back without reading the backend");
        assertTrue(mount.status().path("cache").path("adoptedChunks").asLong() >= 7, "status counts them");
    }

    @Test
    void scratchAndResultDoNotMix() throws Exception {
        Path m = mount.mountpoint;
        Files.writeString(m.resolve("data/scratch.txt"), "scratch");
        FileSystemException xdev = org.junit.jupiter.api.Assertions.assertThrows(FileSystemException.class,
                () -> Files.move(m.resolve("data/scratch.txt"), m.resolve("out/scratch.txt"),
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE)); // without it Java copies on EXDEV
        assertTrue(String.valueOf(xdev.getReason()).contains("cross-device"), xdev.toString());
        assertFalse(Files.exists(backend.resolve("data/scratch.txt")));
        // mv falls back to copy + delete, which is how scratch data is meant to be promoted by hand
        PeerFsMount.Run mv = PeerFsMount.command("mv", m.resolve("data/scratch.txt").toString(), m.resolve("out/").toString());
        assertEquals(0, mv.exit(), mv.err());
        assertEquals("scratch", Files.readString(backend.resolve("out/scratch.txt")));
        assertFalse(Files.exists(m.resolve("data/scratch.txt")));
    }

    @Test
    void tagInfoAndPersistThroughTheCli() throws Exception {
        Path m = mount.mountpoint;
        Files.createDirectories(backend.resolve("models"));
        PeerFsMount.Run info = PeerFsMount.peerfs("info", m.resolve("models").toString());
        assertEquals(0, info.exit(), info.err());
        assertTrue(info.out().contains("source"), info.out());

        PeerFsMount.Run tag = PeerFsMount.peerfs("tag", "--result", m.resolve("models").toString());
        assertEquals(0, tag.exit(), tag.err());
        Files.writeString(m.resolve("models/v1.txt"), "weights");
        assertEquals("weights", Files.readString(backend.resolve("models/v1.txt")));
        info = PeerFsMount.peerfs("info", m.resolve("models/v1.txt").toString());
        assertTrue(info.out().contains("result") && info.out().contains("'models' is tagged"), info.out());
        PeerFsMount.Run getfattr = PeerFsMount.command("getfattr", "-n", "user.peerfs.result", "--only-values",
                m.resolve("models").toString());
        assertEquals("1", getfattr.out().strip());

        PeerFsMount.Run clear = PeerFsMount.peerfs("tag", "--result", "--clear", m.resolve("models").toString());
        assertEquals(0, clear.exit(), clear.err());
        Files.writeString(m.resolve("models/v2.txt"), "scratch now");
        assertFalse(Files.exists(backend.resolve("models/v2.txt")));

        PeerFsMount.Run setfattr = PeerFsMount.command("setfattr", "-n", "user.peerfs.result", "-v", "1",
                m.resolve("models").toString());
        assertEquals(0, setfattr.exit(), setfattr.err());
        assertTrue(PeerFsMount.peerfs("info", m.resolve("models/v3").getParent().toString()).out()
                .contains("new files:  result"));
        PeerFsMount.command("setfattr", "-x", "user.peerfs.result", m.resolve("models").toString());

        Files.createDirectories(m.resolve("run7/sub"));
        byte[] data = random(2 * CHUNK + 9, 22);
        Files.write(m.resolve("run7/sub/f.bin"), data);
        PeerFsMount.Run badTag = PeerFsMount.peerfs("tag", "--result", m.resolve("run7").toString());
        assertEquals(1, badTag.exit());
        assertTrue(badTag.err().contains("peerfs persist"), badTag.err());
        PeerFsMount.Run persist = PeerFsMount.peerfs("persist", m.resolve("run7").toString());
        assertEquals(0, persist.exit(), persist.err());
        assertArrayEquals(data, Files.readAllBytes(backend.resolve("run7/sub/f.bin")));
        assertArrayEquals(data, Files.readAllBytes(m.resolve("run7/sub/f.bin")));
        PeerFsMount.Run again = PeerFsMount.peerfs("persist", m.resolve("run7").toString());
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("already on the backend"), again.err());
        PeerFsMount.Run missing = PeerFsMount.peerfs("info", m.resolve("nothing-here").toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("no such file"), missing.err());
        PeerFsMount.Run notPeerFs = PeerFsMount.peerfs("info", tmp.toString());
        assertEquals(1, notPeerFs.exit());
        assertTrue(notPeerFs.err().contains("not on a PeerFS mount"), notPeerFs.err());
    }

    @Test
    void sourceFilesOutsideResultPathsStayReadOnly() throws Exception {
        FileSystemException e = org.junit.jupiter.api.Assertions.assertThrows(FileSystemException.class,
                () -> Files.writeString(mount.mountpoint.resolve("data/input.txt"), "x"));
        assertTrue(String.valueOf(e.getReason()).contains("Read-only file system"), e.toString());
        assertEquals("source data", Files.readString(backend.resolve("data/input.txt")));
        assertTrue(Files.readString(mount.cacheDir.resolve("peerfs.log")).contains("peerfs tag --result"),
                "the log says how to make it writable");
    }
}
