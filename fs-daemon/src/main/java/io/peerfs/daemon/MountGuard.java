package io.peerfs.daemon;

import io.peerfs.daemon.fuse.MountTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An empty read-only tmpfs mounted under the FUSE mount (as root): when the daemon dies and
 * the kernel drops its mount ({@code auto_unmount}), the mountpoint shows the guard, so a job
 * that keeps writing gets {@code EROFS} instead of putting its "results" on the node's own
 * disk. The daemon removes it when it unmounts cleanly; {@code peerfs umount} and the next
 * {@code peerfs mount} take over one a dead daemon left.
 */
public final class MountGuard {
    private static final Logger log = LoggerFactory.getLogger(MountGuard.class);
    /** The guard's source in the mount table, by which it is told from other tmpfs mounts. */
    static final String SOURCE = "peerfs-guard";

    private MountGuard() {
    }

    /** True when {@code m} is a guard. */
    public static boolean isGuard(MountTable.Mount m) {
        return m.fsType().equals("tmpfs") && m.source().equals(SOURCE);
    }

    /** True when the newest mount at {@code mnt} is a guard: no daemon serves it. */
    public static boolean guardedOnly(Path mnt) throws IOException {
        return MountTable.find(mnt).map(MountGuard::isGuard).orElse(false);
    }

    /**
     * Mounts the guard at {@code mnt} unless one is the newest mount there; false when it
     * cannot (not root, or mount(8) refused), which leaves the mount without one.
     */
    static boolean place(Path mnt) {
        if (!Uids.isRoot()) {
            log.info("no read-only guard under {}: only root can mount one; if the daemon dies, the mountpoint is"
                    + " the directory beneath again", mnt);
            return false;
        }
        try {
            if (guardedOnly(mnt)) {
                return true; // left by a daemon that died: the new mount goes over it
            }
            String out = run(List.of("mount", "-t", "tmpfs", "-o", "ro,mode=0555,size=4k,nr_inodes=8", SOURCE,
                    mnt.toString()));
            if (out != null) {
                log.warn("no read-only guard under {} (mount said: {}); if the daemon dies, the mountpoint is the"
                        + " directory beneath again", mnt, out);
                return false;
            }
            return true;
        } catch (IOException e) {
            log.warn("no read-only guard under {}: {}", mnt, e.toString());
            return false;
        }
    }

    /** Unmounts the guard at {@code mnt} when it is the newest mount there; a failure is logged. */
    public static void remove(Path mnt) {
        try {
            if (guardedOnly(mnt)) {
                String out = run(List.of("umount", mnt.toString()));
                if (out != null && guardedOnly(mnt)) {
                    log.warn("cannot remove the read-only guard under {}: {}", mnt, out);
                }
            }
        } catch (IOException e) {
            log.warn("cannot remove the read-only guard under {}: {}", mnt, e.toString());
        }
    }

    /** Runs a command; null when it succeeded, else what it printed. */
    private static String run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return String.join(" ", cmd) + " did not finish in 10 s";
            }
            return p.exitValue() == 0 ? null : (out.isEmpty() ? String.join(" ", cmd) + " failed" : out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + cmd.get(0), e);
        }
    }
}
