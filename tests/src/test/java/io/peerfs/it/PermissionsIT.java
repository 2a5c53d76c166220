package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.peerfs.it.PeerFsMount.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mount made by root is shared (allow_other) and the kernel checks every access against
 * the modes and owners (default_permissions): another user reads what the backend would let
 * it read, and nothing more, and cannot change source data.
 */
class PermissionsIT {
    static final String NOBODY = "65534";
    @TempDir
    static Path tmp;
    static PeerFsMount mount;

    @BeforeAll
    static void mountAsRoot() throws Exception {
        PeerFsMount.assumeFuse();
        assumeTrue(PeerFsMount.command("id", "-u").out().trim().equals("0"), "needs root");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x")); // nobody may walk in
        Path backend = Files.createDirectories(tmp.resolve("backend"));
        Files.createDirectories(backend.resolve("private"));
        Files.writeString(backend.resolve("private/secret.txt"), "root only\n");
        Files.writeString(backend.resolve("public.txt"), "everyone\n");
        Files.writeString(backend.resolve("owner-only.txt"), "root only too\n");
        Files.createDirectories(backend.resolve("shared"));
        chmod(backend, "rwxr-xr-x");
        chmod(backend.resolve("private"), "rwx------");
        chmod(backend.resolve("private/secret.txt"), "rw-------");
        chmod(backend.resolve("public.txt"), "rw-r--r--");
        chmod(backend.resolve("owner-only.txt"), "rw-------");
        chmod(backend.resolve("shared"), "rwxr-xr-x");
        mount = new PeerFsMount(backend, tmp.resolve("mnt"), tmp.resolve("cache")).mount();
    }

    @AfterAll
    static void unmount() throws Exception {
        if (mount != null) {
            mount.close();
        }
    }

    static void chmod(Path p, String mode) throws Exception {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
    }

    /** Runs a shell command as user nobody. */
    static Run asNobody(String script) throws Exception {
        return PeerFsMount.command("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups", "sh", "-c",
                script);
    }

    @Test
    void theCacheKeepsEveryUsersBytesFromEveryOtherUser() throws Exception {
        Path mnt = mount.mountpoint;
        assertEquals("root only\n", Files.readString(mnt.resolve("private/secret.txt"))); // now cached
        Files.writeString(mnt.resolve("scratch-by-root.txt"), "root's scratch bytes\n");
        Path cache = mount.cacheDir;
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
        assertEquals("rw-------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(cache.resolve("peerfs.log"))));
        Run grep = asNobody("grep -r -l -e 'root only' -e \"root's scratch\" " + cache + "; ls " + cache);
        assertNotEquals(0, grep.exit(), "nobody read the cache: " + grep.out());
        assertTrue(grep.err().contains("Permission denied"), grep.err());
        assertTrue(!grep.out().contains("chunks"), grep.out());
        try (var files = Files.walk(cache)) { // and nothing in it is open to others, were the dir opened up
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                int mode = (Integer) Files.getAttribute(f, "unix:mode");
                assertEquals(0, mode & 077, f + " is mode " + Integer.toOctalString(mode & 0777));
            }
        }
    }

    @Test
    void anotherUserReadsWhatTheModesAllowAndNothingElse() throws Exception {
        Path mnt = mount.mountpoint;
        Run pub = asNobody("cat " + mnt.resolve("public.txt"));
        assertEquals(0, pub.exit(), pub.err());
        assertEquals("everyone\n", pub.out());
        for (String denied : new String[] {"private/secret.txt", "owner-only.txt"}) {
            Run r = asNobody("cat " + mnt.resolve(denied));
            assertNotEquals(0, r.exit(), denied + " was readable: " + r.out());
            assertTrue(r.err().contains("Permission denied"), r.err());
        }
        Run list = asNobody("ls " + mnt.resolve("private"));
        assertNotEquals(0, list.exit(), "a 0700 directory cannot be listed: " + list.out());
        assertEquals("root only\n", Files.readString(mnt.resolve("private/secret.txt")), "root still reads it");
    }

    @Test
    void anotherUserCannotChangeSourceDataOrWriteIntoRootsDirectories() throws Exception {
        Path mnt = mount.mountpoint;
        Run overwrite = asNobody("echo changed > " + mnt.resolve("public.txt"));
        assertNotEquals(0, overwrite.exit());
        assertTrue(overwrite.err().contains("Permission denied"), overwrite.err());
        Run create = asNobody("echo new > " + mnt.resolve("shared/new.txt"));
        assertNotEquals(0, create.exit());
        Run remove = asNobody("rm -f " + mnt.resolve("public.txt"));
        assertNotEquals(0, remove.exit());
        Run chmod = asNobody("chmod 666 " + mnt.resolve("public.txt"));
        assertNotEquals(0, chmod.exit());
        assertEquals("everyone\n", Files.readString(mount.backend.resolve("public.txt")), "the backend is unchanged");
        assertTrue(Files.notExists(mount.backend.resolve("shared/new.txt")));
    }

    @Test
    void scratchFilesKeepTheModesTheirCreatorGave() throws Exception {
        Path mnt = mount.mountpoint;
        Path dir = Files.createDirectories(mnt.resolve("scratch-private"));
        Files.writeString(dir.resolve("data"), "intermediate\n");
        chmod(dir, "rwx------");
        Run r = asNobody("cat " + dir.resolve("data"));
        assertNotEquals(0, r.exit(), "read through a 0700 scratch directory: " + r.out());
        Path open = Files.createDirectories(mnt.resolve("scratch-open"));
        chmod(open, "rwxrwxrwx");
        Run write = asNobody("echo mine > " + open.resolve("by-nobody") + " && stat -c %u " + open.resolve("by-nobody"));
        assertEquals(0, write.exit(), write.err());
        assertEquals(NOBODY, write.out().trim(), "a scratch file belongs to its creator");
        Files.writeString(open.resolve("root-file"), "root\n");
        chmod(open.resolve("root-file"), "rw-r--r--");
        Run other = asNobody("echo x >> " + open.resolve("root-file"));
        assertNotEquals(0, other.exit(), "nobody appended to root's 0644 scratch file");
        assertEquals("root\n", Files.readString(open.resolve("root-file")));
    }
}
