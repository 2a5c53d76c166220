package io.peerfs.vfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.backend.CountingBackend;
import io.peerfs.backend.LocalDirBackend;
import io.peerfs.chunk.ByteSize;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.disk.DiskChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.ResultPaths;
import io.peerfs.meta.FileType;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.rocksdb.RocksDbMetaStore;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Syscall sequences replayed on {@link Vfs} without a kernel. */
class VfsTest {
    static final int CHUNK = 64 * 1024;
    @TempDir
    Path backendDir;
    @TempDir
    Path cacheDir;
    final AtomicLong now = new AtomicLong(1_000_000);
    CountingBackend backend;
    DiskChunkStore store;
    BackendMetaCache meta;
    ChunkFetcher fetcher;
    MetaStore metaStore;
    Vfs vfs;

    VfsHarness h;

    @BeforeEach
    void open() throws Exception {
        h = VfsHarness.options().clocks(now::get, () -> now.get() * 1_000_000).open(backendDir, cacheDir);
        backend = h.counted;
        store = h.store;
        meta = h.meta;
        fetcher = h.fetcher;
        metaStore = h.metaStore;
        vfs = h.vfs;
    }

    @AfterEach
    void close() {
        h.close();
    }

    private byte[] file(String name, int size, long seed) throws Exception {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        Path p = backendDir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.write(p, b);
        return b;
    }

    /** read(2) as the kernel issues it: into a buffer of {@code len} bytes. */
    private byte[] pread(long fh, long off, int len) throws Exception {
        ByteBuffer dst = ByteBuffer.allocateDirect(len);
        int n = vfs.read(fh, off, dst);
        byte[] out = new byte[n];
        dst.flip().get(out);
        return out;
    }

    @Test
    void readsAcrossChunkBoundariesAndStopAtEndOfFile() throws Exception {
        byte[] data = file("d/f", 3 * CHUNK + 10, 1);
        long fh = vfs.open("/d/f", Vfs.O_RDONLY);
        assertArrayEquals(Arrays.copyOfRange(data, CHUNK - 5, 2 * CHUNK + 5), pread(fh, CHUNK - 5, CHUNK + 10));
        assertArrayEquals(Arrays.copyOfRange(data, 3 * CHUNK, 3 * CHUNK + 10), pread(fh, 3 * CHUNK, 128 * 1024));
        assertEquals(0, pread(fh, data.length, 4096).length);
        assertEquals(0, pread(fh, data.length + 999, 4096).length);
        assertArrayEquals(data, pread(fh, 0, data.length + 100));
        vfs.release(fh);
        assertEquals(0, vfs.openFiles());
    }

    @Test
    void sequentialReadersGetReadahead() throws Exception {
        file("big", 8 * CHUNK, 2);
        long fh = vfs.open("/big", Vfs.O_RDONLY);
        pread(fh, 0, 4096);
        for (int i = 0; i < 100 && fetcher.stats().prefetches() < 2; i++) {
            Thread.sleep(10);
        }
        assertTrue(fetcher.stats().prefetches() >= 2, "chunks 1 and 2 are loaded ahead of the reader");
    }

    @Test
    void anOpenFileKeepsTheVersionItOpenedAndAReopenSeesTheNewOne() throws Exception {
        byte[] first = file("f", 2 * CHUNK, 1);
        long fh = vfs.open("/f", Vfs.O_RDONLY);
        assertArrayEquals(Arrays.copyOf(first, 100), pread(fh, 0, 100));
        byte[] second = file("f", 2 * CHUNK + 1, 2);
        long fh2 = vfs.open("/f", Vfs.O_RDONLY);
        assertArrayEquals(second, pread(fh2, 0, second.length));
        assertEquals(2 * CHUNK + 1, vfs.getattr("/f").size(), "open refreshed the cached attributes");
    }

    @Test
    void metadataComesFromTheCache() throws Exception {
        file("dir/a", 10, 1);
        Files.createSymbolicLink(backendDir.resolve("dir/l"), Path.of("a"));
        assertEquals(FileType.DIRECTORY, vfs.getattr("/").type());
        assertEquals(List.of("a", "l"), vfs.readdir("/dir").stream().sorted().toList());
        assertEquals("a", vfs.readlink("/dir/l"));
        long calls = backend.counts().metaCalls();
        vfs.getattr("/dir/a");
        vfs.getattr("/dir/a");
        vfs.readdir("/dir");
        assertEquals(calls + 1, backend.counts().metaCalls(), "listing cached; one stat for a, then cached");
        assertThrows(NoSuchFileException.class, () -> vfs.getattr("/dir/missing"));
    }

    @Test
    void writesToSourceDataAreRefused() throws Exception {
        file("f", 10, 1);
        Files.createDirectories(backendDir.resolve("d"));
        assertThrows(ReadOnlyPathException.class, () -> vfs.open("/f", 1)); // O_WRONLY
        assertThrows(ReadOnlyPathException.class, () -> vfs.open("/f", 2)); // O_RDWR
        assertThrows(ReadOnlyPathException.class, () -> vfs.access("/f", 2)); // W_OK
        assertThrows(ReadOnlyPathException.class, () -> vfs.unlink("/f"));
        assertThrows(ReadOnlyPathException.class, () -> vfs.truncate("/f", 0));
        assertThrows(ReadOnlyPathException.class, () -> vfs.rename("/f", "/g"));
        assertThrows(ReadOnlyPathException.class, () -> vfs.rmdir("/d"));
        assertThrows(ReadOnlyPathException.class, () -> vfs.chmod("/f", 0777));
        assertThrows(ReadOnlyPathException.class, () -> vfs.setxattr("/f", "user.x", new byte[1], 0));
        assertThrows(ReadOnlyPathException.class, () -> vfs.chown("/f", 1, 1));
        assertThrows(ReadOnlyPathException.class, () -> vfs.utimens("/f", 1, 1));
        java.nio.file.attribute.UserDefinedFileAttributeView x = Files.getFileAttributeView(backendDir.resolve("f"),
                java.nio.file.attribute.UserDefinedFileAttributeView.class);
        x.write("k", ByteBuffer.wrap(new byte[] {7}));
        assertThrows(ReadOnlyPathException.class, () -> vfs.removexattr("/f", "user.k"));
        assertThrows(NoSuchXattrException.class, () -> vfs.removexattr("/f", "user.none"));
        for (String op : List.of("chmod", "chown", "utimens", "setxattr", "removexattr")) {
            assertThrows(NoSuchFileException.class, () -> {
                switch (op) {
                    case "chmod" -> vfs.chmod("/missing", 0600);
                    case "chown" -> vfs.chown("/missing", 1, 1);
                    case "utimens" -> vfs.utimens("/missing", 1, 1);
                    case "setxattr" -> vfs.setxattr("/missing", "user.x", new byte[1], 0);
                    default -> vfs.removexattr("/missing", "user.x");
                }
            }, op + " of a missing name");
        }
        vfs.access("/f", 4); // R_OK is fine
        vfs.access("/d", 2); // a source directory takes new scratch names
        long fh = vfs.create("/scratch", 0644, new Caller(0, 0));
        vfs.write(fh, 0, ByteBuffer.wrap(new byte[] {1}));
        vfs.release(fh);
        assertThrows(ReadOnlyPathException.class, () -> vfs.rename("/scratch", "/f"), "a scratch file cannot replace source");
        assertArrayEquals(Files.readAllBytes(backendDir.resolve("f")), pread(vfs.open("/f", 0), 0, 100));
    }

    @Test
    void errorsAreTyped() throws Exception {
        Files.createDirectories(backendDir.resolve("d"));
        assertThrows(NoSuchFileException.class, () -> vfs.open("/nope", Vfs.O_RDONLY));
        FileSystemException dir = assertThrows(FileSystemException.class, () -> vfs.open("/d", Vfs.O_RDONLY));
        assertEquals("Is a directory", dir.getReason());
        assertThrows(BadHandleException.class, () -> vfs.read(12345, 0, ByteBuffer.allocateDirect(10)));
        assertThrows(NoSuchXattrException.class, () -> vfs.getxattr("/d", "user.none"));
    }

    /** {@code ls -l} asks each file for its ACL and SELinux label: no backend call for those. */
    @Test
    void xattrsOutsideTheUserNamespaceAreAbsentWithoutABackendCall() throws Exception {
        Files.writeString(backendDir.resolve("f"), "x");
        vfs.getattr("/f");
        long calls = backend.counts().metaCalls();
        for (String name : List.of("system.posix_acl_access", "security.selinux", "security.capability")) {
            assertThrows(NoSuchXattrException.class, () -> vfs.getxattr("/f", name));
        }
        assertEquals(calls, backend.counts().metaCalls());
        assertThrows(NoSuchXattrException.class, () -> vfs.getxattr("/f", "user.none"));
        assertTrue(backend.counts().metaCalls() > calls, "user names are the backend file's");
    }

    @Test
    void statusIsAVirtualXattrOfTheRootOnly() throws Exception {
        assertEquals("{\"ok\":1}", new String(vfs.getxattr("/", XattrNames.STATUS_XATTR), StandardCharsets.UTF_8));
        Files.createDirectories(backendDir.resolve("d"));
        assertThrows(NoSuchXattrException.class, () -> vfs.getxattr("/d", XattrNames.STATUS_XATTR));
    }
}
