package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code peerfs mount} without {@code -f}: the launcher's JVM becomes the daemon, and the
 * command returns once the mount answers, leaving nothing of the caller's attached to it.
 */
class LauncherIT {
    @TempDir
    Path tmp;
    Path backend;

    @BeforeEach
    void setUp() throws Exception {
        PeerFsMount.assumeFuse();
        backend = Files.createDirectories(tmp.resolve("backend"));
        Files.writeString(backend.resolve("file"), "contents");
    }

    /** Output and exit code of a launcher run whose stdout and stderr are pipes, read to their end. */
    record Piped(int exit, String out, String err) {
    }

    /**
     * Runs the launcher with pipes, as a shell's {@code $(…)} or {@code | cat} does: it only
     * returns when every process holding the pipes closed them.
     */
    static Piped piped(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(PeerFsMount.LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        CompletableFuture<String> out = readAll(p.getInputStream());
        CompletableFuture<String> err = readAll(p.getErrorStream());
        String o = out.get(60, TimeUnit.SECONDS); // a daemon holding the pipe would stop us here
        String e = err.get(60, TimeUnit.SECONDS);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Piped(p.exitValue(), o, e);
    }

    private static CompletableFuture<String> readAll(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @Test
    void aBackgroundMountReturnsWithTheDaemonInItsOwnSessionWritingOnlyToItsLog() throws Exception {
        Path mnt = tmp.resolve("mnt");
        Path cache = tmp.resolve("cache");
        Piped r = piped("mount", backend.toString(), mnt.toString(), "--cache-dir", cache.toString());
        try {
            assertEquals(0, r.exit(), r.err());
            assertEquals("", r.err());
            Matcher m = Pattern.compile("mounted " + Pattern.quote(backend.toString()) + " on "
                    + Pattern.quote(mnt.toString()) + " \\(daemon pid (\\d+), log (\\S+)\\)\\n").matcher(r.out());
            assertTrue(m.matches(), r.out());
            long pid = Long.parseLong(m.group(1));
            Path log = Path.of(m.group(2));
            assertEquals(cache.resolve("peerfs.log"), log);
            assertEquals("contents", Files.readString(mnt.resolve("file")));

            String[] stat = Files.readString(Path.of("/proc/" + pid + "/stat")).replaceFirst(".*\\) ", "").split(" ");
            assertEquals(pid, Long.parseLong(stat[3]), "the daemon leads its own session (closing the shell"
                    + " does not stop it)");
            Path fds = Path.of("/proc/" + pid + "/fd");
            assertEquals(Path.of("/dev/null"), Files.readSymbolicLink(fds.resolve("0")));
            assertEquals(log, Files.readSymbolicLink(fds.resolve("1")));
            assertEquals(log, Files.readSymbolicLink(fds.resolve("2")));
            assertTrue(Files.readString(log).contains("mounted " + backend + " on " + mnt), "its log is written");

            // a second daemon over the same cache dir fails after it took over its output:
            // the caller still gets the reason and a failing exit code, and its pipes close
            Piped second = piped("mount", backend.toString(), tmp.resolve("mnt2").toString(), "--cache-dir",
                    cache.toString());
            assertEquals(1, second.exit(), second.err());
            assertEquals("", second.out());
            assertTrue(second.err().startsWith("peerfs: cache dir " + cache + " is in use by another PeerFS daemon")
                    && second.err().lines().count() == 1, second.err());
            assertTrue(Files.readString(log).contains("is in use by another PeerFS daemon"),
                    "the failure is in the log too");
        } finally {
            PeerFsMount.peerfs("umount", mnt.toString());
        }
        PeerFsMount probe = new PeerFsMount(backend, mnt, cache);
        assertTrue(!probe.isMounted() && !probe.isGuarded(), "unmounted, the read-only guard too");
    }
}
