package io.peerfs.daemon;

import io.peerfs.daemon.fuse.MountTable;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks made before mounting, each failing with a one-line {@link MountException} that
 * says what to do. Also repairs a stale PeerFS mount left by a killed daemon.
 */
public final class MountPreflight {
    private static final Logger log = LoggerFactory.getLogger(MountPreflight.class);
    private static final String NOT_CONNECTED = "Transport endpoint is not connected";

    private MountPreflight() {
    }

    public static void check(DaemonConfig config) throws MountException {
        checkFuseDevice();
        checkBackend(config.backend());
        if (config.mountpoint().startsWith(config.backend())) {
            throw new MountException("mountpoint " + config.mountpoint() + " is inside the backend directory "
                    + config.backend() + ": mount somewhere outside it");
        }
        checkMountpoint(config.mountpoint(), config.fuseOptions().contains("nonempty"), config.libfuse() == 0);
        checkCacheDir(config.cacheDir());
        if (config.cacheDir().startsWith(config.mountpoint()) || config.cacheDir().startsWith(config.backend())) {
            throw new MountException("cache dir " + config.cacheDir()
                    + " is inside the mountpoint or the backend; put it on a local disk elsewhere");
        }
    }

    private static void checkFuseDevice() throws MountException {
        Path dev = Path.of("/dev/fuse");
        if (!Files.exists(dev)) {
            throw new MountException("/dev/fuse does not exist: load the fuse module (modprobe fuse), or in a"
                    + " container pass --device /dev/fuse with CAP_SYS_ADMIN");
        }
        // fusermount opens the device as the calling user, so a user who cannot gets no mount
        if (!Uids.isRoot() && !(Files.isReadable(dev) && Files.isWritable(dev))) {
            throw new MountException("this user (uid " + Uids.effective() + ") cannot open /dev/fuse: mount as root,"
                    + " or have an administrator make it usable (Debian's default is mode 0666)");
        }
    }

    private static void checkBackend(Path backend) throws MountException {
        if (!Files.exists(backend)) {
            throw new MountException("backend directory " + backend + " does not exist: mount the central store"
                    + " there or give the right path");
        }
        if (!Files.isDirectory(backend)) {
            throw new MountException("backend " + backend + " is not a directory: give the directory to serve");
        }
        try (Stream<Path> s = Files.list(backend)) {
            s.findFirst();
        } catch (IOException e) {
            throw new MountException("backend directory " + backend + " is not readable (" + reason(e)
                    + "): check its permissions or the central store mount");
        }
    }

    private static void checkMountpoint(Path mnt, boolean nonEmptyAllowed, boolean ownLoop) throws MountException {
        Optional<MountTable.Mount> mounted = mountAt(mnt);
        if (mounted.isPresent() && MountGuard.isGuard(mounted.get())) {
            log.info("{}: the read-only guard a dead daemon left is there; mounting over it", mnt);
        } else if (mounted.isPresent()) {
            if (mounted.get().isPeerFs() && isStale(mnt)) {
                cleanStale(mnt);
            } else if (mounted.get().isPeerFs() && io.peerfs.daemon.fuse.Handover.offered(mnt)) {
                if (!ownLoop) {
                    throw new MountException(mnt + " is served by a PeerFS daemon that can hand it over: mount with"
                            + " --libfuse none to take it over, or unmount it first (peerfs umount " + mnt + ")");
                }
                log.info("{}: the daemon serving it will hand it over", mnt);
                return;
            } else {
                throw new MountException(mnt + " is already mounted (" + mounted.get().fsType() + " from "
                        + mounted.get().source() + "): unmount it first (peerfs umount " + mnt + ")");
            }
        }
        try {
            if (!Files.exists(mnt)) {
                Files.createDirectories(mnt);
            }
        } catch (IOException e) {
            throw new MountException("cannot create mountpoint " + mnt + " (" + reason(e) + ")");
        }
        if (!Files.isDirectory(mnt)) {
            throw new MountException("mountpoint " + mnt + " is not a directory");
        }
        boolean empty;
        try (Stream<Path> s = Files.list(mnt)) {
            empty = s.findFirst().isEmpty();
        } catch (IOException e) {
            throw new MountException("cannot read mountpoint " + mnt + " (" + reason(e) + ")");
        }
        if (!empty && !nonEmptyAllowed) {
            throw new MountException("mountpoint " + mnt + " is not empty: mount on an empty directory"
                    + " (or pass -o nonempty to hide its contents)");
        }
    }

    private static Optional<MountTable.Mount> mountAt(Path mnt) throws MountException {
        try {
            return MountTable.find(mnt);
        } catch (IOException e) {
            throw new MountException("cannot read the mount table (" + reason(e) + ")");
        }
    }

    /** A FUSE mount whose daemon is gone answers every call with ENOTCONN. */
    static boolean isStale(Path mnt) {
        try {
            Files.readAttributes(mnt, BasicFileAttributes.class);
            return false;
        } catch (FileSystemException e) {
            return NOT_CONNECTED.equals(e.getReason());
        } catch (IOException e) {
            return false;
        }
    }

    private static void cleanStale(Path mnt) throws MountException {
        log.warn("{} is a stale PeerFS mount (its daemon is gone); unmounting it", mnt);
        Fusermount.unmount(mnt, true);
        if (mountAt(mnt).filter(m -> !MountGuard.isGuard(m)).isPresent()) {
            throw new MountException("could not clear the stale mount at " + mnt + ": run fusermount -u -z " + mnt);
        }
    }

    /**
     * The cache dir holds the cached bytes of every user's files: it is made 0700, and one that
     * group or others may enter is refused (never silently tightened: the operator learns that
     * it was open). Its log is made owner-only too.
     */
    private static void checkCacheDir(Path dir) throws MountException {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                        "rwx------")));
            }
            int mode = (Integer) Files.getAttribute(dir, "unix:mode");
            if ((mode & 077) != 0) {
                throw new MountException("cache dir " + dir + " is open to group or others (mode "
                        + String.format("%04o", mode & 07777) + ") and would expose every user's cached bytes:"
                        + " run chmod 700 " + dir);
            }
            Path probe = Files.createTempFile(dir, ".probe", "");
            Files.delete(probe);
            Path log = dir.resolve("peerfs.log");
            if (Files.exists(log, LinkOption.NOFOLLOW_LINKS)) {
                Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-------"));
            } else {
                Files.createFile(log, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                        "rw-------")));
            }
        } catch (MountException e) {
            throw e;
        } catch (IOException e) {
            throw new MountException("cache dir " + dir + " is not writable (" + reason(e)
                    + "): give a writable --cache-dir on a local disk");
        }
    }

    static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage();
    }

    /** Waits up to {@code timeoutMs} for a PeerFS mount to appear at {@code mnt}. */
    public static boolean awaitMounted(Path mnt, long timeoutMs, java.util.function.BooleanSupplier stillTrying)
            throws MountException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (System.nanoTime() < deadline && stillTrying.getAsBoolean()) {
            Optional<MountTable.Mount> m = mountAt(mnt);
            if (m.isPresent() && m.get().isPeerFs()) {
                return true;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }
}
