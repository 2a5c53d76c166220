package io.peerfs.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Changes made with {@link Credentials} current run as that user on the backend: the store's
 * own modes, setgid directories and groups decide, and the thread is the daemon's again after.
 */
class ThreadIdentityTest {
    static final int NOBODY = 65534;
    static final int TEAM = 4242;
    @TempDir
    Path tmp;
    Path root;
    LocalDirBackend backend;
    static final Backend.NewFile FILE = new Backend.NewFile(0644, NOBODY, NOBODY, Long.MIN_VALUE, Long.MIN_VALUE,
            Map.of());

    @BeforeEach
    void setUp() throws IOException {
        assumeTrue(LibC.C.geteuid() == 0, "needs root");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        root = Files.createDirectories(tmp.resolve("backend"));
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
        backend = LocalDirBackend.open(root);
    }

    private static int attr(Path p, String name) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:" + name, LinkOption.NOFOLLOW_LINKS);
    }

    private void asNobody(ThreadIdentity.IoCall<?> body) throws IOException {
        try (Credentials.Scope s = Credentials.enter(Credentials.of(NOBODY, NOBODY))) {
            body.call();
        }
    }

    @Test
    void aUserCannotChangeWhatTheStoreDoesNotLetItChange() throws IOException {
        Files.writeString(root.resolve("roots"), "root's");
        assertThrows(AccessDeniedException.class, () -> asNobody(() -> {
            backend.createFile("new", FILE);
            return null;
        }), "a 0755 root directory takes no file from nobody");
        assertThrows(AccessDeniedException.class, () -> asNobody(() -> {
            backend.mkdir("dir", FILE);
            return null;
        }));
        PosixException chmod = assertThrows(PosixException.class, () -> asNobody(() -> {
            backend.setMode("roots", 0666);
            return null;
        }));
        assertEquals(PosixException.EPERM, chmod.errno());
        assertThrows(AccessDeniedException.class, () -> asNobody(() -> {
            backend.delete("roots");
            return null;
        }));
        assertThrows(IOException.class, () -> asNobody(() -> backend.replace("roots", 1, FILE, (off, dst) -> {
            dst.put((byte) 'x');
            return 1;
        }, "t")));
        assertEquals("root's", Files.readString(root.resolve("roots")));
        assertEquals(0644, attr(root.resolve("roots"), "mode") & 07777);
        backend.createFile("new", FILE); // the thread is the daemon's again
        assertEquals(NOBODY, attr(root.resolve("new"), "uid"), "as root, the owner is given");
    }

    @Test
    void whatAUserMakesIsItsOwnWithTheGroupTheStoreGives() throws IOException {
        Path team = Files.createDirectories(root.resolve("team"));
        Files.setAttribute(team, "unix:gid", TEAM);
        Files.setAttribute(team, "unix:mode", 02777);
        asNobody(() -> {
            backend.createFile("team/f", FILE);
            backend.mkdir("team/d", new Backend.NewFile(0755, NOBODY, NOBODY, Long.MIN_VALUE, Long.MIN_VALUE,
                    Map.of()));
            backend.symlink("f", "team/l", NOBODY, NOBODY);
            return backend.replace("team/up", 2, FILE, (off, dst) -> {
                dst.put((byte) 'o').put((byte) 'k');
                return 2;
            }, "t");
        });
        for (String name : new String[] {"f", "d", "l", "up"}) {
            Path p = team.resolve(name);
            assertEquals(NOBODY, attr(p, "uid"), name);
            assertEquals(TEAM, attr(p, "gid"), name + ": a setgid directory's group, not the caller's");
        }
        assertEquals(02755, attr(team.resolve("d"), "mode") & 07777, "the setgid bit is inherited, the mode kept");
        assertEquals(0644, attr(team.resolve("f"), "mode") & 07777, "the daemon's umask does not apply");
    }

    @Test
    void anUploadWithoutACallerIsMadeAsTheFilesWriter() throws IOException {
        Path open = Files.createDirectories(root.resolve("open"));
        Files.setAttribute(open, "unix:mode", 01777); // sticky, as /tmp
        Files.writeString(open.resolve("roots"), "root's");
        assertThrows(IOException.class, () -> backend.replace("open/roots", 1, FILE, (off, dst) -> {
            dst.put((byte) 'x');
            return 1;
        }, "t"), "nobody may not replace root's file in a sticky directory");
        assertEquals("root's", Files.readString(open.resolve("roots")));
        Path staged = Files.writeString(tmp.resolve("staged"), "x"); // as the cache's files: root's alone
        Files.setPosixFilePermissions(staged, PosixFilePermissions.fromString("rw-------"));
        backend.replace("open/mine", 1, FILE, (off, dst) -> {
            dst.put(Files.readAllBytes(staged)); // the content is read as the daemon, not as the writer
            return 1;
        }, "t");
        assertEquals(NOBODY, attr(open.resolve("mine"), "uid"));
        assertEquals("x", Files.readString(open.resolve("mine")));
        try (var s = Files.list(open)) {
            assertEquals(2, s.count(), "no temporary file is left");
        }
    }

    @Test
    void theCallersSupplementaryGroupsCount() throws Exception {
        Path shared = Files.createDirectories(root.resolve("shared"));
        Files.setAttribute(shared, "unix:gid", TEAM);
        Files.setAttribute(shared, "unix:mode", 0770);
        Process member = new ProcessBuilder("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                "--groups=" + TEAM, "sleep", "30").start();
        Process stranger = new ProcessBuilder("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                "--clear-groups", "sleep", "30").start();
        try {
            waitForGroups(member.pid(), TEAM);
            try (Credentials.Scope s = Credentials.enter(Credentials.ofProcess(NOBODY, NOBODY, member.pid()))) {
                backend.createFile("shared/by-member", FILE);
            }
            assertTrue(Files.exists(shared.resolve("by-member")));
            waitForGroups(stranger.pid(), -1);
            try (Credentials.Scope s = Credentials.enter(Credentials.ofProcess(NOBODY, NOBODY, stranger.pid()))) {
                assertThrows(AccessDeniedException.class, () -> backend.createFile("shared/by-stranger", FILE));
            }
            assertFalse(Files.exists(shared.resolve("by-stranger")));
        } finally {
            member.destroyForcibly();
            stranger.destroyForcibly();
        }
    }

    @Test
    void aGuardedBackendMakesTheCallOnItsThreadAsTheCaller() throws IOException {
        GuardedBackend guarded = new GuardedBackend(backend, root, Duration.ofSeconds(10));
        assertThrows(AccessDeniedException.class, () -> asNobody(() -> {
            guarded.createFile("new", FILE);
            return null;
        }));
        guarded.createFile("new", FILE);
        assertTrue(Files.exists(root.resolve("new")));
    }

    /** Waits until setpriv has taken on its groups (its status shows {@code group}, or none for -1). */
    private static void waitForGroups(long pid, int group) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            int[] g = Credentials.readGroups(Path.of("/proc/" + pid + "/status"));
            if (group < 0 ? g.length == 0 : g.length == 1 && g[0] == group) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("process " + pid + " never had the groups asked for");
    }
}
