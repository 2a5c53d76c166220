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

    final Path mountpoint;
    private final Path control;
    private final Process process;

    private FaultFs(Path mountpoint, Path control, Process process) {
        this.mountpoint = mountpoint;
        this.control = control;
        this.process = process;
    }

    /** Serves {@code root} at {@code mountpoint}, passing everything through until told otherwise. */
    static FaultFs start(Path root, Path mountpoint) throws Exception {
        PeerFsMount.Run probe = PeerFsMount.command("/usr/bin/python3", "-c", "import fusepy");
        assertTrue(probe.exit() == 0, "faultfs needs Debian's python3-fusepy (bin/install-deps installs it): "
                + probe.err());
        Files.createDirectories(root);
        Files.createDirectories(mountpoint);
        Path control = mountpoint.resolveSibling(mountpoint.getFileName() + ".faults");
        Files.writeString(control, "ok\n");
        Process p = new ProcessBuilder("/usr/bin/python3", SCRIPT.toString(), root.toString(), mountpoint.toString(),
                control.toString()).redirectErrorStream(true)
                .redirectOutput(mountpoint.resolveSibling(mountpoint.getFileName() + ".log").toFile()).start();
        FaultFs fs = new FaultFs(mountpoint, control, p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!fs.isMounted()) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                fs.close();
                throw new AssertionError("faultfs did not mount " + mountpoint + ": " + Files.readString(
                        mountpoint.resolveSibling(mountpoint.getFileName() + ".log")));
            }
            Thread.sleep(50);
        }
        return fs;
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
    public void close() throws IOException, InterruptedException {
        set("ok");
        if (isMounted()) {
            new ProcessBuilder("fusermount", "-u", "-z", mountpoint.toString()).start().waitFor();
        }
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
