package io.peerfs.daemon.fuse;

import io.peerfs.daemon.MountException;
import io.peerfs.vfs.Vfs;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** A libfuse binding that serves a {@link Vfs} on a mountpoint: libfuse 2 ({@link PeerFuse}) or 3 ({@link PeerFuse3}). */
public interface FuseMount {
    /** Told how long each operation took (for metrics). */
    @FunctionalInterface
    interface OpObserver {
        void observe(String op, long nanos, boolean failed);
    }

    /** The libfuse major version this binding speaks (2 or 3). */
    int version();

    /** The file system to serve; call once, before mounting. */
    FuseMount serve(Vfs vfs);

    /** What the binding reports of itself in {@code peerfs status} (its "fuse" section). */
    default Map<String, Object> stats() {
        return Map.of();
    }

    /** Reports every operation's duration to {@code o} from now on. */
    void observeOps(OpObserver o);

    /**
     * Mounts and runs the FUSE loop on the calling thread until the file system is unmounted.
     *
     * @param options libfuse options as {@code -o} values, the ones this version knows
     */
    void mount(Path mountpoint, List<String> options) throws MountException;

    /** Called once the mount has answered its first request, for settings the kernel takes only then. */
    default void answering(Path mountpoint) {
    }

    /** Unmounts (lazily: open files keep working) if mounted; the loop in {@link #mount} then returns. */
    void umount();

    /** Unmounts {@code mnt} lazily through fusermount; a failure is logged. */
    static void detach(Path mnt) {
        try {
            io.peerfs.daemon.Fusermount.unmount(mnt, true);
        } catch (MountException e) {
            org.slf4j.LoggerFactory.getLogger(FuseMount.class).warn("{}", e.getMessage());
        }
    }
}
