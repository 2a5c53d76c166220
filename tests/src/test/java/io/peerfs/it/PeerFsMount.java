package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real PeerFS mount driven through {@code bin/peerfs}, as a user runs it. Always
 * unmounts on {@link #close()}, even after a failed test.
 */
final class PeerFsMount implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    static final Path LAUNCHER = ROOT.resolve("bin/peerfs");

    final Path backend;
    final Path mountpoint;
    final Path cacheDir;
    private final List<String> extra;

    /** The output and exit code of one {@code bin/peerfs} run. */
    record Run(int exit, String out, String err) {
    }

    PeerFsMount(Path backend, Path mountpoint, Path cacheDir, String... extra) {
        this.backend = backend;
        this.mountpoint = mountpoint;
        this.cacheDir = cacheDir;
        this.extra = List.of(extra);
    }

    /** Skips the calling test where this machine cannot mount FUSE file systems. */
    static void assumeFuse() {
        assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse");
        assumeTrue(Files.isExecutable(LAUNCHER), "bin/peerfs missing");
        assumeTrue(Files.exists(ROOT.resolve("cli/target/lib")), "launcher jars not built (mvn package)");
    }

    static Run peerfs(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LAUNCHER.toString());
        cmd.addAll(Arrays.asList(args));
        return command(cmd.toArray(String[]::new));
    }

    /** Runs a command to its end (at most 120 s) and gives its exit code and output. */
    static Run command(String... cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile("peerfs-out", ".txt");
        Path err = Files.createTempFile("peerfs-err", ".txt");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", cmd) + " did not finish in 120 s");
            }
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    PeerFsMount mount() throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("mount", backend.toString(), mountpoint.toString(),
                "--cache-dir", cacheDir.toString()));
        args.addAll(extra);
        Run r = peerfs(args.toArray(String[]::new));
        assertEquals(0, r.exit(), "mount failed: " + r.err() + r.out());
        return this;
    }

    JsonNode status() throws IOException {
        UserDefinedFileAttributeView view = Files.getFileAttributeView(mountpoint, UserDefinedFileAttributeView.class);
        ByteBuffer b = ByteBuffer.allocate(view.size("peerfs.status") + 4096); // counters may grow meanwhile
        view.read("peerfs.status", b);
        return JSON.readTree(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8));
    }

    long backendBytesRead() throws IOException {
        return status().path("backend").path("bytesRead").asLong();
    }

    /** Waits until the chunks read so far are on the cache disk: the daemon writes them behind its readers. */
    void awaitChunksStored() throws Exception {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (status().path("cache").path("storesPending").asInt() > 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("chunks still being written to the cache disk after 15 s");
            }
            Thread.sleep(20);
        }
    }

    long pid() throws IOException {
        return status().path("daemon").path("pid").asLong();
    }

    /** True when a PeerFS (FUSE) mount is at the mountpoint, live or stale. */
    boolean isMounted() throws IOException {
        return mountsHere().stream().anyMatch(l -> l.contains(" - fuse.peerfs "));
    }

    /** True when the read-only guard a daemon mounts under its FUSE mount is there. */
    boolean isGuarded() throws IOException {
        return mountsHere().stream().anyMatch(l -> l.contains(" - tmpfs peerfs-guard "));
    }

    private List<String> mountsHere() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(l -> l.split(" ")[4].equals(mountpoint.toString())).toList();
    }

    void umount() throws IOException, InterruptedException {
        Run r = peerfs("umount", mountpoint.toString());
        assertEquals(0, r.exit(), "umount failed: " + r.err());
    }

    /** Kills the daemon with SIGKILL and waits for it to be gone. */
    void kill9() throws IOException, InterruptedException {
        long pid = pid();
        new ProcessBuilder("kill", "-9", Long.toString(pid)).start().waitFor();
        ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
    }

    /** Copies the daemon's warnings and errors into the test output (surefire keeps it per class). */
    void printDaemonLog() throws IOException {
        Path log = cacheDir.resolve("peerfs.log");
        if (Files.exists(log)) {
            System.out.println("---- " + log + " (warnings and errors)");
            Files.readAllLines(log).stream().filter(l -> !l.contains(" INFO ") && !l.contains(" DEBUG "))
                    .limit(200).forEach(System.out::println);
        }
    }

    @Override
    public void close() throws Exception {
        printDaemonLog();
        if (isMounted() || isGuarded()) { // a killed daemon's guard too: the temporary folder must come free
            Run r = peerfs("umount", mountpoint.toString());
            if (r.exit() != 0) {
                new ProcessBuilder("fusermount", "-u", "-z", mountpoint.toString()).start().waitFor();
                new ProcessBuilder("umount", "-l", mountpoint.toString()).start().waitFor();
            }
        }
    }
}
