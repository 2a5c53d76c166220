package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.it.PeerFsMount.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every bad input gets one line that says what to do, a non-zero exit, and leaves nothing mounted. */
class CliErrorsIT {
    @TempDir
    Path tmp;
    Path backend;
    Path mnt;

    @BeforeEach
    void setUp() throws Exception {
        PeerFsMount.assumeFuse();
        backend = Files.createDirectories(tmp.resolve("backend"));
        Files.writeString(backend.resolve("file"), "x");
        mnt = tmp.resolve("mnt");
    }

    /** Runs peerfs, expects failure with {@code exit} and a message containing {@code words}. */
    private void assertFails(int exit, String words, String... args) throws Exception {
        Run r = PeerFsMount.peerfs(args);
        assertEquals(exit, r.exit(), "exit code; stderr: " + r.err());
        String firstLine = r.err().lines().findFirst().orElse("");
        assertTrue(firstLine.startsWith("peerfs: ") && firstLine.contains(words),
                "expected a 'peerfs: ...' line containing '" + words + "', got: " + r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), "no stack trace: " + r.err());
        assertTrue(r.err().lines().count() <= 2, "one line (plus a usage hint): " + r.err());
        PeerFsMount probe = new PeerFsMount(backend, mnt, tmp.resolve("cache"));
        assertFalse(probe.isMounted() || probe.isGuarded(), "nothing may stay mounted, the read-only guard included");
    }

    private String[] mountArgs(String... extra) {
        String[] base = {"mount", backend.toString(), mnt.toString(), "--cache-dir", tmp.resolve("cache").toString()};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void staleOrGarbageClassDataArchiveIsSkippedSilently() throws Exception {
        // a copy of the launcher's lib dir whose peerfs.jsa does not match (another build, another JDK)
        Path lib = Files.createDirectories(tmp.resolve("lib"));
        try (var jars = Files.list(PeerFsMount.ROOT.resolve("cli/target/lib"))) {
            for (Path j : jars.filter(p -> p.toString().endsWith(".jar")).toList()) {
                Files.copy(j, lib.resolve(j.getFileName()));
            }
        }
        for (byte[] archive : new byte[][] {"not an archive".getBytes(), Files.exists(ARCHIVE)
                ? Files.readAllBytes(ARCHIVE) : new byte[0]}) {
            Files.write(lib.resolve("peerfs.jsa"), archive);
            Run v = PeerFsMount.command("env", "PEERFS_LIB=" + lib, PeerFsMount.LAUNCHER.toString(), "--version");
            assertEquals(0, v.exit(), v.err());
            assertTrue(v.out().matches("peerfs \\S+\\n"), "only the version: " + v.out());
            assertEquals("", v.err());
        }
    }

    static final Path ARCHIVE = PeerFsMount.ROOT.resolve("cli/target/lib/peerfs.jsa");

    @Test
    void missingBackend() throws Exception {
        assertFails(1, "does not exist", "mount", tmp.resolve("nope").toString(), mnt.toString(),
                "--cache-dir", tmp.resolve("cache").toString());
    }

    @Test
    void backendThatIsAFile() throws Exception {
        assertFails(1, "not a directory", "mount", backend.resolve("file").toString(), mnt.toString(),
                "--cache-dir", tmp.resolve("cache").toString());
    }

    @Test
    void unusableResultPathGlobs() throws Exception {
        assertFails(1, "relative to the backend root", mountArgs("--result-paths", "/abs/**"));
        assertFails(1, "not a valid glob", mountArgs("--result-paths", "out/[x"));
    }

    @Test
    void pathCommandsOutsideAPeerFsMount() throws Exception {
        assertFails(1, "not on a PeerFS mount", "info", backend.toString());
        assertFails(1, "not on a PeerFS mount", "tag", "--result", backend.toString());
        assertFails(1, "not on a PeerFS mount", "persist", backend.toString());
        assertFails(1, "no such file", "info", tmp.resolve("missing").toString());
        assertFails(2, "--result", "tag", backend.toString());
    }

    @Test
    void nonEmptyMountpoint() throws Exception {
        Files.createDirectories(mnt);
        Files.writeString(mnt.resolve("something"), "y");
        assertFails(1, "not empty", mountArgs());
    }

    @Test
    void mountpointInsideTheBackend() throws Exception {
        assertFails(1, "inside the backend", "mount", backend.toString(), backend.resolve("sub").toString(),
                "--cache-dir", tmp.resolve("cache").toString());
    }

    @Test
    void cacheDirThatCannotBeCreated() throws Exception {
        Files.writeString(tmp.resolve("plainfile"), "z");
        assertFails(1, "not writable", "mount", backend.toString(), mnt.toString(),
                "--cache-dir", tmp.resolve("plainfile/cache").toString());
    }

    @Test
    void cacheDirOpenToOtherUsersIsRefused() throws Exception {
        Path open = Files.createDirectories(tmp.resolve("open-cache"));
        Files.setPosixFilePermissions(open, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        assertFails(1, "is open to group or others (mode 0755) and would expose every user's cached bytes: run chmod 700 "
                + open, "mount", backend.toString(), mnt.toString(), "--cache-dir", open.toString());
        assertTrue(Files.notExists(open.resolve("chunks")), "nothing was written into it");
    }

    @Test
    void aRedisUrlFromTheEnvironmentIsUsedAndItsPasswordNeverShown() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String secret = TestFiles.secret(tmp.resolve("env-secret"), "sixteen bytes or more").toString();
        Run r = PeerFsMount.command("env", "PEERFS_META=redis://:p4ss-w0rd@127.0.0.1:" + closed + "/0",
                PeerFsMount.LAUNCHER.toString(), "mount", backend.toString(), mnt.toString(), "--cache-dir",
                tmp.resolve("cache").toString(), "--listen", "127.0.0.1:0", "--secret-file", secret);
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("redis://127.0.0.1:" + closed + "/0"), "the URL came from PEERFS_META: " + r.err());
        Run malformed = PeerFsMount.command("env", "PEERFS_META=redis://:p@ss/w0rd@127.0.0.1:" + closed + "/0",
                PeerFsMount.LAUNCHER.toString(), "mount", backend.toString(), mnt.toString(), "--cache-dir",
                tmp.resolve("cache").toString(), "--listen", "127.0.0.1:0", "--secret-file", secret);
        assertEquals(1, malformed.exit(), malformed.err());
        assertTrue(malformed.err().contains("is not a Redis URL"), malformed.err());
        String log = Files.readString(tmp.resolve("cache/peerfs.log"));
        for (String shown : new String[] {r.out(), r.err(), malformed.out(), malformed.err(), log}) {
            assertFalse(shown.contains("p4ss") || shown.contains("p@ss") || shown.contains("w0rd"),
                    "the password is never shown: " + shown);
        }
        PeerFsMount probe = new PeerFsMount(backend, mnt, tmp.resolve("cache"));
        assertFalse(probe.isMounted() || probe.isGuarded());
    }

    @Test
    void aConfigFileWithARedisPasswordMustBeOwnerOnly() throws Exception {
        Path conf = Files.writeString(tmp.resolve("pw.conf"), "meta = redis://:s3cr3t@127.0.0.1:1/0\n");
        Files.setPosixFilePermissions(conf, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        assertFails(2, "config file " + conf + " holds a Redis password and is open to group or others (mode 0644)",
                "mount", "--config", conf.toString(), backend.toString(), mnt.toString());
        Run r = PeerFsMount.peerfs("mount", "--config", conf.toString(), backend.toString(), mnt.toString());
        assertFalse(r.err().contains("s3cr3t"), r.err());
    }

    @Test
    void nonsenseSizesAndDurations() throws Exception {
        assertFails(2, "'lots' is not a size", mountArgs("--cache-size", "lots"));
        assertFails(1, "power of two", mountArgs("--chunk-size", "3MiB"));
        assertFails(1, "smaller than one chunk", mountArgs("--cache-size", "1MiB", "--chunk-size", "4MiB"));
        assertFails(2, "'4' is not 2, 3 or none", mountArgs("--libfuse", "4"));
    }

    @Test
    void aUserWhoCannotOpenTheFuseDeviceIsToldSo() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(devFuseIsOpenToAll(), "/dev/fuse is open to every user here");
        Run r = PeerFsMount.command("su", "-s", "/bin/bash", "nobody", "-c", PeerFsMount.LAUNCHER + " mount "
                + backend + " " + mnt + " --cache-dir /tmp/peerfs-nobody-cache");
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().startsWith("peerfs: this user (uid 65534) cannot open /dev/fuse"), r.err());
    }

    private static boolean devFuseIsOpenToAll() throws Exception {
        return Files.getPosixFilePermissions(Path.of("/dev/fuse")).containsAll(java.nio.file.attribute
                .PosixFilePermissions.fromString("------rw-"));
    }

    @Test
    void anOptionLibfuseDoesNotKnowIsRefusedWithWhereLibfuseSaysWhy() throws Exception {
        for (String libfuse : new String[] {"3", "2"}) {
            assertFails(1, "libfuse" + libfuse, mountArgs("-o", "no_such_option", "--libfuse", libfuse));
            String log = Files.readString(tmp.resolve("cache/peerfs.log"));
            assertTrue(log.contains("no_such_option") && log.contains("fuse: unknown option"), log);
            Files.delete(tmp.resolve("cache/peerfs.log"));
        }
        // PeerFS's own loop takes the options it knows and names the one it does not
        assertFails(1, "-o no_such_option is not supported by PeerFS's own FUSE loop",
                mountArgs("-o", "no_such_option", "--libfuse", "none"));
        assertFails(2, "not a duration", mountArgs("--meta-ttl", "soon"));
        assertFails(1, "--free-space-ratio", mountArgs("--free-space-ratio", "2"));
        assertFails(1, "--cache-pin-limit 2GiB is larger than --cache-size 1GiB",
                mountArgs("--cache-size", "1GiB", "--cache-pin-limit", "2GiB"));
    }

    @Test
    void clusterOptionsThatCannotWork() throws Exception {
        String secret = TestFiles.secret(tmp.resolve("secret"), "sixteen bytes or more").toString();
        assertFails(1, "--scratch-replicas needs a cluster", mountArgs("--scratch-replicas", "2"));
        assertFails(1, "--scratch-replicas must be from 1 to 8", mountArgs("--listen", "127.0.0.1:0",
                "--secret-file", secret, "--scratch-replicas", "0"));
        assertFails(1, "needs --meta redis://", mountArgs("--listen", "127.0.0.1:0", "--secret-file", secret,
                "--scratch-replicas", "2"));
        assertFails(1, "--meta-replicas 1 waits for Redis replicas: it needs --meta redis://",
                mountArgs("--meta-replicas", "1"));
        assertFails(1, "--meta-replicas must be from 0 to 16", mountArgs("--listen", "127.0.0.1:0", "--secret-file",
                secret, "--meta", "redis://127.0.0.1:1/0", "--meta-replicas", "-1"));
        assertFails(1, "names no master: end it with #NAME", mountArgs("--listen", "127.0.0.1:0", "--secret-file",
                secret, "--meta", "redis-sentinel://:pw@127.0.0.1:1,127.0.0.1:2/0"));
        assertFails(1, "--node-id may hold", mountArgs("--listen", "127.0.0.1:0", "--secret-file", secret,
                "--node-id", "a,b"));
        assertFails(1, "at least 16 bytes", mountArgs("--listen", "127.0.0.1:0", "--secret-file",
                TestFiles.secret(tmp.resolve("short"), "short").toString()));
        Path readable = Files.writeString(tmp.resolve("readable-secret"), "sixteen bytes or more");
        Files.setPosixFilePermissions(readable, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        assertFails(1, "--secret-file " + readable + " is open to group or others (mode 0644): whoever reads it"
                + " joins the cluster and reads every cached byte; chmod 600 " + readable,
                mountArgs("--listen", "127.0.0.1:0", "--secret-file", readable.toString()));
    }

    @Test
    void configFileSuppliesOptionsFlagsOverrideItAndBadFilesAreRefused() throws Exception {
        Path conf = Files.writeString(tmp.resolve("peerfs.conf"), "# a mount from a file\nbackend = " + backend
                + "\nmountpoint = " + mnt + "\ncache-dir = " + tmp.resolve("cache") + "\ncache-size = 1GiB\n"
                + "chunk-size = 1MiB\nmetrics = none\n");
        try (PeerFsMount m = new PeerFsMount(backend, mnt, tmp.resolve("cache"))) {
            Run r = PeerFsMount.peerfs("mount", "--config", conf.toString(), "--cache-size", "2GiB");
            assertEquals(0, r.exit(), r.err());
            assertEquals("x", Files.readString(mnt.resolve("file")));
            assertEquals(2L << 30, m.status().path("cache").path("capacityBytes").asLong(), "the flag wins");
            assertEquals(1L << 20, m.status().path("daemon").path("chunkSize").asLong(), "the file's value");
            assertTrue(m.status().path("daemon").path("metrics").isNull(), "metrics = none");
            // cluster controls on a node on its own
            Run drain = PeerFsMount.peerfs("drain", mnt.toString());
            assertEquals(1, drain.exit(), drain.err());
            assertTrue(drain.err().startsWith("peerfs: ") && drain.err().contains("a node on its own (no --listen or"
                    + " --peers): there is nothing to drain"), drain.err());
            Run bare = PeerFsMount.peerfs("cache");
            assertEquals(2, bare.exit());
            assertTrue(bare.err().contains("evict"), "usage names the subcommands: " + bare.err());
            Run missing = PeerFsMount.peerfs("cache", "evict", mnt.resolve("missing").toString());
            assertEquals(1, missing.exit(), missing.err());
            assertTrue(missing.err().startsWith("peerfs: ") && missing.err().contains("no such file"), missing.err());
            Run ls = PeerFsMount.peerfs("cache", "ls", mnt.toString());
            assertEquals(0, ls.exit(), ls.err());
            assertTrue(ls.out().lines().anyMatch(l -> l.startsWith("file ") && l.endsWith("100.0%")), ls.out());
            Run evicted = PeerFsMount.peerfs("cache", "evict", mnt.resolve("file").toString());
            assertEquals(0, evicted.exit(), evicted.err());
            assertTrue(evicted.out().startsWith("1 files: 1 B dropped"), evicted.out());
            ls = PeerFsMount.peerfs("cache", "ls", mnt.toString());
            assertTrue(ls.out().lines().anyMatch(l -> l.startsWith("file ") && l.endsWith(" 0.0%")), ls.out());
            assertTrue(ls.out().contains("cache: "), ls.out());
            assertEquals("x", Files.readString(mnt.resolve("file")), "read again from the backend");
        }
        Files.writeString(conf, "cache-size = 1GiB\nbogus = 1\n");
        assertFails(2, "line 2: unknown option 'bogus'", mountArgs("--config", conf.toString()));
        Files.writeString(conf, "just words\n");
        assertFails(2, "expected 'key = value'", mountArgs("--config", conf.toString()));
        assertFails(2, "does not exist", mountArgs("--config", tmp.resolve("nope.conf").toString()));
    }

    @Test
    void unknownFlagOrMissingArguments() throws Exception {
        assertFails(2, "Unknown option", mountArgs("--bogus"));
        assertFails(2, "Missing required", "mount");
        assertFails(2, "subcommand", new String[0]);
    }

    @Test
    void alreadyMountedAndSharedCacheDir() throws Exception {
        try (PeerFsMount m = new PeerFsMount(backend, mnt, tmp.resolve("cache")).mount()) {
            Run again = PeerFsMount.peerfs(mountArgs());
            assertEquals(1, again.exit());
            assertTrue(again.err().contains("already mounted"), again.err());
            Run shared = PeerFsMount.peerfs("mount", backend.toString(), tmp.resolve("mnt2").toString(),
                    "--cache-dir", tmp.resolve("cache").toString());
            assertEquals(1, shared.exit());
            assertTrue(shared.err().contains("in use by another PeerFS daemon"), shared.err());
            assertTrue(m.isMounted(), "the first mount keeps working");
            assertEquals("x", Files.readString(mnt.resolve("file")));
        }
    }

    /** A machine without /dev/fuse, made in a private mount namespace with a bare /dev. */
    @Test
    void noFuseDevice() throws Exception {
        String script = "mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3"
                + " && mknod -m 666 /dev/urandom c 1 9 && mknod -m 666 /dev/random c 1 8"
                + " && exec " + PeerFsMount.LAUNCHER + " mount " + backend + " " + mnt + " --cache-dir " + tmp.resolve("cache");
        Process p = new ProcessBuilder("unshare", "-m", "--propagation", "private", "sh", "-c", script)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        org.junit.jupiter.api.Assumptions.assumeFalse(out.contains("unshare failed") || out.contains("mount: "),
                "cannot make a mount namespace here: " + out);
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.startsWith("peerfs: /dev/fuse does not exist") && out.lines().count() == 1, out);
    }

    @Test
    void statusAndUmountOfSomethingThatIsNotAMount() throws Exception {
        assertFails(1, "not a PeerFS mount", "status", tmp.toString());
        assertFails(1, "not a PeerFS mount", "umount", tmp.toString());
    }
}
