package io.peerfs.it;

import static io.peerfs.it.PermissionsIT.asNobody;
import static io.peerfs.it.PermissionsIT.chmod;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.peerfs.it.PeerFsMount.Run;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacks of a local user on a node whose PeerFS runs as root, through a real mount: the user
 * (nobody) owns a result directory, holds a result file open and has its directory swapped for
 * a symlink to a root-only directory (directly on the store, and through a second mount as
 * another node would) before the upload; and changes in result directories whose store
 * permissions the kernel's check of the mount's modes does not see (an ACL, setgid and sticky
 * directories). Each must fail or land as the store itself would have it, and nothing outside
 * the user's reach may change.
 */
class SecurityIT {
    static final int TEAM = 4242;
    static final String RESULTS = "out/**,team/**,acl/**,sticky/**,group/**";
    @TempDir
    static Path tmp;
    static Path backend;
    static Path rootOnly;
    static PeerFsMount mount;
    static PeerFsMount other;

    @BeforeAll
    static void mountAsRoot() throws Exception {
        PeerFsMount.assumeFuse();
        assumeTrue(PeerFsMount.command("id", "-u").out().trim().equals("0"), "needs root");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        backend = Files.createDirectories(tmp.resolve("backend"));
        rootOnly = Files.createDirectories(tmp.resolve("root-only"));
        Files.writeString(rootOnly.resolve("victim"), "root's file\n");
        chmod(rootOnly, "rwx------");
        chmod(rootOnly.resolve("victim"), "rw-------");
        Path out = Files.createDirectories(backend.resolve("out"));
        Files.setAttribute(out, "unix:uid", 65534);
        Files.setAttribute(out, "unix:gid", 65534);
        Path team = Files.createDirectories(backend.resolve("team"));
        Files.setAttribute(team, "unix:gid", TEAM);
        Files.setAttribute(team, "unix:mode", 02777);
        Path acl = Files.createDirectories(backend.resolve("acl"));
        Files.setAttribute(acl, "unix:mode", 0777);
        Run setfacl = PeerFsMount.command("setfacl", "-m", "u:" + PermissionsIT.NOBODY + ":r-x", acl.toString());
        assertEquals(0, setfacl.exit(), setfacl.err());
        Files.writeString(team.resolve("roots-open"), "root's, open to all\n"); // root's, 0666
        Files.setAttribute(team.resolve("roots-open"), "unix:mode", 0666);
        Files.writeString(acl.resolve("denied"), "root's, 0666 but an ACL denies nobody\n");
        Files.setAttribute(acl.resolve("denied"), "unix:mode", 0666);
        Run deny = PeerFsMount.command("setfacl", "-m", "u:" + PermissionsIT.NOBODY + ":r--",
                acl.resolve("denied").toString());
        assertEquals(0, deny.exit(), deny.err());
        Path sticky = Files.createDirectories(backend.resolve("sticky"));
        Files.setAttribute(sticky, "unix:mode", 01777);
        Files.writeString(sticky.resolve("roots"), "root's\n");
        Path group = Files.createDirectories(backend.resolve("group")); // writable through a supplementary group
        Files.setAttribute(group, "unix:gid", TEAM);
        Files.setAttribute(group, "unix:mode", 0770);
        String results = RESULTS;
        mount = new PeerFsMount(backend, tmp.resolve("mnt"), tmp.resolve("cache"), "--result-paths", results,
                "--meta-ttl", "100ms").mount();
        other = new PeerFsMount(backend, tmp.resolve("mnt2"), tmp.resolve("cache2"), "--result-paths", results,
                "--meta-ttl", "100ms").mount();
    }

    @AfterAll
    static void unmount() throws Exception {
        for (PeerFsMount m : new PeerFsMount[] {mount, other}) {
            if (m != null) {
                m.close();
            }
        }
    }

    private static void assertRootOnlyIntact() throws Exception {
        assertEquals("root's file\n", Files.readString(rootOnly.resolve("victim")));
        assertEquals(0, (int) Files.getAttribute(rootOnly.resolve("victim"), "unix:uid"));
        try (var s = Files.list(rootOnly)) {
            assertEquals(List.of(rootOnly.resolve("victim")), s.toList(), "nothing made in the root-only directory");
        }
    }

    /**
     * Holds {@code out/DIR/victim} open for writing as nobody, runs {@code swap} while it is
     * open, then lets the file close (its upload runs then).
     */
    private void openSwapClose(String dir, SwapStep swap) throws Exception {
        Run mk = asNobody("mkdir " + mount.mountpoint.resolve("out/" + dir));
        assertEquals(0, mk.exit(), mk.err());
        Path flag = tmp.resolve("flag-" + dir);
        Process writer = new ProcessBuilder("setpriv", "--reuid=" + PermissionsIT.NOBODY,
                "--regid=" + PermissionsIT.NOBODY, "--clear-groups",
                // one process that forks nothing while the file is open: a child's exit would close
                // an inherited descriptor, and that flush would upload before the swap
                "/usr/bin/python3", "-c", "import os, sys, time\n"
                + "f = open(sys.argv[1], 'w'); f.write('nobody was here\\n'); f.flush()\n"
                + "while not os.path.exists(sys.argv[2]): time.sleep(0.05)\n"
                + "f.close()\n", mount.mountpoint.resolve("out/" + dir + "/victim").toString(), flag.toString())
                .redirectErrorStream(true).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(backend.resolve("out/" + dir + "/victim"))) {
            assertTrue(System.nanoTime() < deadline, "the result file never appeared on the store");
            Thread.sleep(20);
        }
        swap.run();
        Files.writeString(flag, "");
        assertTrue(writer.waitFor(60, TimeUnit.SECONDS), "the writer's close returned");
    }

    @FunctionalInterface
    interface SwapStep {
        void run() throws Exception;
    }

    @Test
    void aDirectorySwappedForASymlinkOnTheStoreNeverRedirectsTheUpload() throws Exception {
        openSwapClose("d", () -> {
            Files.move(backend.resolve("out/d"), backend.resolve("out/d.moved"));
            Files.createSymbolicLink(backend.resolve("out/d"), rootOnly);
        });
        assertRootOnlyIntact();
        assertTrue(Files.isSymbolicLink(backend.resolve("out/d")));
        assertEquals(65534, (int) Files.getAttribute(backend.resolve("out/d.moved/victim"), "unix:uid"),
                "the file stayed where nobody made it");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!refusalLogged(Files.readString(mount.cacheDir.resolve("peerfs.log")))) {
            assertTrue(System.nanoTime() < deadline, "the refused upload is logged with its path and why");
            Thread.sleep(50);
        }
        Run stat = asNobody("cat " + mount.mountpoint.resolve("out/d.moved/victim") + " >/dev/null; echo ok");
        assertTrue(stat.out().contains("ok"), "the mount still answers: " + stat.err());
    }

    private static boolean refusalLogged(String log) {
        return log.lines().anyMatch(l -> l.contains("upload of result file out/d/victim failed")
                && l.contains("out/d: Too many levels of symbolic links") && l.contains("the data stays staged"));
    }

    @Test
    void aDirectorySwappedThroughAnotherNodesMountNeverRedirectsTheUpload() throws Exception {
        openSwapClose("e", () -> {
            Files.move(other.mountpoint.resolve("out/e"), other.mountpoint.resolve("out/e.moved"));
            Files.createSymbolicLink(other.mountpoint.resolve("out/e"), rootOnly);
        });
        assertRootOnlyIntact();
        assertTrue(Files.isSymbolicLink(backend.resolve("out/e")), "the other mount made the swap on the store");
    }

    @Test
    void theStoresOwnPermissionsDecideChangesUnderResultPaths() throws Exception {
        Path mnt = mount.mountpoint;
        Run acl = asNobody("touch " + mnt.resolve("acl/by-nobody"));
        assertNotEquals(0, acl.exit(), "an ACL on the store denies nobody, whatever the mode bits say");
        assertTrue(acl.err().contains("Permission denied"), acl.err());
        assertFalse(Files.exists(backend.resolve("acl/by-nobody")));

        Run team = asNobody("echo x > " + mnt.resolve("team/f") + " && mkdir " + mnt.resolve("team/d"));
        assertEquals(0, team.exit(), team.err());
        for (String name : new String[] {"f", "d"}) {
            Path p = backend.resolve("team/" + name);
            assertEquals(65534, (int) Files.getAttribute(p, "unix:uid"), name);
            assertEquals(TEAM, (int) Files.getAttribute(p, "unix:gid"), name + " has the setgid directory's group");
        }
        assertEquals(02000, (int) Files.getAttribute(backend.resolve("team/d"), "unix:mode") & 02000,
                "a directory made in a setgid directory is setgid");

        Run sticky = asNobody("rm -f " + mnt.resolve("sticky/roots") + "; mv " + mnt.resolve("team/f") + " "
                + mnt.resolve("sticky/roots"));
        assertNotEquals(0, sticky.exit(), "root's file in a sticky directory is not nobody's to remove or replace");
        assertEquals("root's\n", Files.readString(backend.resolve("sticky/roots")));

        Run chmod = asNobody("chmod 0777 " + mnt.resolve("sticky"));
        assertNotEquals(0, chmod.exit());
        assertEquals(01777, (int) Files.getAttribute(backend.resolve("sticky"), "unix:mode") & 07777);
        assertFalse(Files.exists(backend.resolve("acl/by-nobody"), LinkOption.NOFOLLOW_LINKS));
    }

    /** Runs a shell command as nobody with the supplementary group {@link #TEAM}. */
    private static Run asTeamMember(String script) throws Exception {
        return PeerFsMount.command("setpriv", "--reuid=" + PermissionsIT.NOBODY, "--regid=" + PermissionsIT.NOBODY,
                "--groups=" + TEAM, "sh", "-c", script);
    }

    @Test
    void uploadsAreMadeWithTheWritersSupplementaryGroupsOnCloseAndInTheBackground() throws Exception {
        Run onClose = asTeamMember("echo on-close > " + mount.mountpoint.resolve("group/on-close"));
        assertEquals(0, onClose.exit(), onClose.err());
        assertEquals("on-close\n", Files.readString(backend.resolve("group/on-close")));
        assertEquals(65534, (int) Files.getAttribute(backend.resolve("group/on-close"), "unix:uid"));

        PeerFsMount background = new PeerFsMount(backend, tmp.resolve("mnt-wb"), tmp.resolve("cache-wb"),
                "--result-paths", RESULTS, "--meta-ttl", "100ms", "--writeback").mount();
        try {
            Run queued = asTeamMember("echo queued > " + background.mountpoint.resolve("group/queued"));
            assertEquals(0, queued.exit(), queued.err());
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            while (!"queued\n".equals(readOrNull(backend.resolve("group/queued")))
                    || background.status().path("writeback").path("staged").asLong() > 0) {
                assertTrue(System.nanoTime() < deadline, "the background upload lands: "
                        + background.status().path("writeback"));
                Thread.sleep(100);
            }
            assertEquals(0, background.status().path("writeback").path("failures").asLong(),
                    "no attempt was refused by the store");
            assertEquals(65534, (int) Files.getAttribute(backend.resolve("group/queued"), "unix:uid"));
        } finally {
            background.close();
        }
    }

    @Test
    void anotherUsersFileIsWrittenAsTheWriterSoTheStoresPermissionOnItDecides() throws Exception {
        Path open = backend.resolve("team/roots-open");
        Object inode = Files.getAttribute(open, "unix:ino");
        Run write = asNobody("echo by-nobody > " + mount.mountpoint.resolve("team/roots-open"));
        assertEquals(0, write.exit(), write.err());
        assertEquals("by-nobody\n", Files.readString(open), "its modes let nobody write it");
        assertEquals(0, (int) Files.getAttribute(open, "unix:uid"), "still root's: written in place");
        assertEquals(0666, (int) Files.getAttribute(open, "unix:mode") & 07777);
        assertEquals(inode, Files.getAttribute(open, "unix:ino"), "the same file, not a replacement");

        Path denied = backend.resolve("acl/denied");
        // the mount shows mode 0666 (no ACLs through FUSE), so the kernel lets the open through;
        // the upload, made as nobody on the store, meets the ACL there
        asNobody("echo by-nobody > " + mount.mountpoint.resolve("acl/denied"));
        assertEquals("root's, 0666 but an ACL denies nobody\n", Files.readString(denied),
                "an ACL on the store denies nobody, whatever the modes say");
        assertEquals(0, (int) Files.getAttribute(denied, "unix:uid"));
    }

    private static String readOrNull(Path p) throws java.io.IOException {
        try {
            return Files.readString(p);
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        }
    }
}
