package io.peerfs.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Unmounts FUSE file systems with {@code fusermount} (the tool libfuse itself uses). */
public final class Fusermount {
    private Fusermount() {
    }

    /**
     * Unmounts {@code mnt}; {@code lazy} detaches it even while files are open.
     *
     * @throws MountException with fusermount's own message when it fails (for example "busy")
     */
    public static void unmount(Path mnt, boolean lazy) throws MountException {
        List<String> cmd = new ArrayList<>(List.of("fusermount", "-u"));
        if (lazy) {
            cmd.add("-z");
        }
        cmd.add(mnt.toString());
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new MountException("fusermount -u " + mnt + " did not finish in 30 s");
            }
            if (p.exitValue() != 0) {
                throw new MountException("cannot unmount " + mnt + ": " + (out.isEmpty() ? "fusermount failed" : out));
            }
        } catch (IOException e) {
            throw new MountException("cannot run fusermount (install the fuse3 package): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MountException("interrupted unmounting " + mnt, e);
        }
    }
}
