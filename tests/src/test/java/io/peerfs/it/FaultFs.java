package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A directory served through {@code tests/faults/faultfs.py}, a passthrough FUSE file
 * system that fails on demand with real errno values (EIO, EROFS, ENOSPC) or hangs: the
 * stand-in for dm-flakey and dm-error, which this machine's kernel does not have.
 */
final class FaultFs implements AutoCloseable {
    static final Path SCRIPT = PeerFsMount.ROOT.resolve("tests/faults/faultfs.py");

    final Path root;
    final Path mountpoint;
    private final Path control;
    private Process process;

    private FaultFs(Path root, Path mountpoint, Path control) {
        this.root = root;
        this.mountpoint = mountpoint;
        this.control = control;
    }

    /** Serves {@code root} at {@code mountpoint}, passing everything through until told otherwise. */
    static FaultFs start(Path root, Path mountpoint) throws Exception {
        PeerFsMount.Run probe = PeerFsMount.command("/usr/bin/python3", "-c", "import fusepy");
        assertTrue(probe.exit() == 0, "faultfs needs Debian's python3-fusepy (bin/install-deps installs it): "
                + probe.err());
        Files.createDirectories(root);
        Files.createDirectories(mountpoint);
        FaultFs fs = new FaultFs(root, mountpoint, mountpoint.resolveSibling(mountpoint.getFileName() + ".faults"));
        fs.set("ok");
        fs.serve();
        return fs;
    }

    private void serve() throws Exception {
        Path log = mountpoint.resolveSibling(mountpoint.getFileName() + ".log");
        process = new ProcessBuilder("/usr/bin/python3", SCRIPT.toString(), root.toString(), mountpoint.toString(),
                control.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!isMounted()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                close();
                throw new AssertionError("faultfs did not mount " + mountpoint + ": " + Files.readString(log));
            }
            Thread.sleep(50);
        }
    }

    /** Kills the file system process: its mount answers ENOTCONN, like a crashed network file system client. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** Unmounts whatever is at the mountpoint (lazily, a dead mount included): the directory shows what is under it. */
    void unmount() throws Exception {
        new ProcessBuilder("fusermount", "-u", "-z", mountpoint.toString()).start().waitFor();
        process.destroy();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Mounts it again after {@link #kill} or {@link #unmount}. */
    void restart() throws Exception {
        if (isMounted()) {
            unmount();
        }
        serve();
    }

    /** Sets the mode ({@code ok}, {@code eio}, {@code erofs}, {@code enospc}, {@code hang}) for paths under the prefixes. */
    void set(String mode, String... prefixes) throws IOException {
        Path tmp = control.resolveSibling(control.getFileName() + ".tmp");
        Files.writeString(tmp, mode + " " + String.join(" ", prefixes) + "\n");
        Files.move(tmp, control, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    boolean isMounted() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.split(" ")[4].equals(mountpoint.toString()));
    }

    @Override
    public void close() throws Exception {
        set("ok");
        if (isMounted()) {
            new ProcessBuilder("fusermount", "-u", "-z", mountpoint.toString()).start().waitFor();
        }
        if (process != null) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
