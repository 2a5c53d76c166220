package io.peerfs.backend;

import static io.peerfs.backend.LibC.C;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;

/**
 * The backend directory as a handle, and every path beneath it resolved from that handle with
 * no symlink followed: {@code openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS)}, or a walk of {@code O_NOFOLLOW | O_DIRECTORY} opens where the kernel
 * lacks openat2 or a path is longer than one call takes. The kernel has walked every symlink of
 * the mount before PeerFS sees a path, so a symlink met here means the store changed underneath
 * (or a peer asks through one): the call fails with {@code ELOOP}, never follows it.
 *
 * <p>The root handle follows the directory mounted at the root path: at most once a second
 * (and at once after a failure that means the store went away) the path is compared with the
 * handle, and a store mounted there again is opened again.
 */
final class RootDir {
    static final boolean ARM = "aarch64".equals(System.getProperty("os.arch"));
    static final int O_RDONLY = 0;
    static final int O_WRONLY = 1;
    static final int O_RDWR = 2;
    static final int O_CREAT = 0100;
    static final int O_EXCL = 0200;
    static final int O_NONBLOCK = 04000;
    static final int O_CLOEXEC = 02000000;
    static final int O_PATH = 010000000;
    static final int O_DIRECTORY = ARM ? 040000 : 0200000;
    static final int O_NOFOLLOW = ARM ? 0100000 : 0400000;
    static final int O_DIRECT = ARM ? 0200000 : 040000;
    static final int AT_FDCWD = -100;
    static final int AT_SYMLINK_NOFOLLOW = 0x100;
    static final int AT_REMOVEDIR = 0x200;
    static final int AT_EMPTY_PATH = 0x1000;
    private static final int SYS_OPENAT2 = 437; // the same number on every architecture
    private static final long RESOLVE_NO_MAGICLINKS = 0x02;
    private static final long RESOLVE_NO_SYMLINKS = 0x04;
    private static final long RESOLVE_BENEATH = 0x08;
    /** Longest path handed to one openat2 call; longer ones are resolved in parts (PATH_MAX is 4096). */
    private static final int MAX_PART = 3072;
    private static final long RECHECK_NS = 1_000_000_000L;

    private final Path root;
    private volatile int fd;
    private volatile long fdDev;
    private volatile long fdIno;
    private volatile long checkedNs;
    private volatile boolean haveOpenat2 = true;

    private RootDir(Path root) {
        this.root = root;
    }

    /** Opens the backend directory {@code root} (an absolute, normalised path). */
    static RootDir open(Path root) throws IOException {
        return open(root, true);
    }

    /** {@link #open}; {@code openat2} false walks every path as on a kernel without it. */
    static RootDir open(Path root, boolean openat2) throws IOException {
        RootDir dir = new RootDir(root);
        dir.haveOpenat2 = openat2;
        dir.reopen();
        return dir;
    }

    Path path() {
        return root;
    }

    /** A directory handle and a name in it: what the {@code *at} calls take. Closing closes the handle. */
    record At(int dirFd, String name, boolean owned) implements AutoCloseable {
        @Override
        public void close() {
            if (owned) {
                C.close(dirFd);
            }
        }
    }

    /**
     * The directory holding {@code rel}'s last component, opened beneath the root, and that
     * component. {@code rel} is backend-relative and normalised, not empty.
     *
     * @param flags how to open the directory ({@link #O_PATH} for name operations,
     *     {@link #O_RDONLY} where it must be synced)
     */
    At parent(String rel, int flags) throws IOException {
        int slash = rel.lastIndexOf('/');
        if (slash < 0 && flags == O_PATH) {
            return new At(rootFd(), rel, false);
        }
        String dir = slash < 0 ? "" : rel.substring(0, slash);
        return new At(open(dir, flags | O_DIRECTORY), rel.substring(slash + 1), true);
    }

    /**
     * Opens {@code rel} beneath the root with {@code flags} (never {@code O_CREAT}), following
     * no symlink: a final symlink fails with ELOOP unless {@code O_PATH} is given, which opens
     * the link itself. {@code ""} is the root.
     */
    int open(String rel, int flags) throws IOException {
        int base = rootFd();
        flags |= O_CLOEXEC;
        if (rel.isEmpty()) {
            return check(C.openat(base, ".", flags, 0), rel);
        }
        if (haveOpenat2 && rel.length() <= MAX_PART) {
            // RESOLVE_NO_SYMLINKS refuses a final symlink too (ELOOP), except with O_PATH |
            // O_NOFOLLOW, which opens the link itself: wanted for names, never for directories
            int fd = openat2(base, rel, (flags & O_DIRECTORY) == 0 ? flags | O_NOFOLLOW : flags);
            if (fd >= 0) {
                return fd;
            }
            int errno = LibC.errno();
            if (errno != PosixException.ENOSYS && errno != PosixException.EPERM) { // EPERM: a seccomp filter
                throw failure(errno, rel);
            }
            haveOpenat2 = false;
        }
        return walk(base, rel, flags);
    }

    private int openat2(int base, String rel, int flags) {
        ByteBuffer how = ByteBuffer.allocateDirect(24).order(ByteOrder.nativeOrder());
        how.putLong(0, flags & 0xffffffffL).putLong(8, 0)
                .putLong(16, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        return (int) C.syscall(SYS_OPENAT2, base, rel, how, 24);
    }

    /** One directory at a time, each opened {@code O_NOFOLLOW}: no component may be a symlink. */
    private int walk(int base, String rel, int flags) throws IOException {
        String[] parts = rel.split("/");
        int dir = base;
        try {
            for (int i = 0; i < parts.length - 1; i++) {
                String part = parts[i];
                if (part.isEmpty() || part.equals(".")) {
                    continue;
                }
                if (part.equals("..")) {
                    throw new AccessDeniedException(rel, null, "'..' in a backend path");
                }
                int next = openNoFollow(dir, part, O_PATH | O_DIRECTORY | O_CLOEXEC, rel);
                closeOwned(dir, base);
                dir = next;
            }
            String last = parts[parts.length - 1];
            if (last.equals("..")) {
                throw new AccessDeniedException(rel, null, "'..' in a backend path");
            }
            return openNoFollow(dir, last, flags, rel);
        } finally {
            closeOwned(dir, base);
        }
    }

    /** openat with O_NOFOLLOW; a symlink where a directory is wanted fails with ELOOP, as openat2 does. */
    private int openNoFollow(int dir, String name, int flags, String rel) throws IOException {
        int fd = C.openat(dir, name, flags | O_NOFOLLOW, 0);
        if (fd < 0) {
            int errno = LibC.errno();
            boolean symlink = (flags & O_DIRECTORY) != 0 && errno == PosixException.ENOTDIR && isSymlink(dir, name);
            throw failure(symlink ? PosixException.ELOOP : errno, rel);
        }
        return fd;
    }

    /**
     * {@code fd}, opened from {@code rel}, if it is a regular file; else it is closed and the
     * call fails (EINVAL for a FIFO or device put in a file's place, which is never read).
     */
    int requireRegular(int fd, String rel) throws IOException {
        ByteBuffer stx = Statx.buffer();
        if (C.statx(fd, "", AT_EMPTY_PATH, Statx.MASK, stx) != 0) {
            int errno = LibC.errno();
            C.close(fd);
            throw failure(errno, rel);
        }
        if (!Statx.isRegular(stx)) {
            C.close(fd);
            throw PosixException.of(PosixException.EINVAL, rel, "not a regular file");
        }
        return fd;
    }

    private static void closeOwned(int fd, int base) {
        if (fd != base) {
            C.close(fd);
        }
    }

    private static boolean isSymlink(int dir, String name) {
        ByteBuffer stx = Statx.buffer();
        return C.statx(dir, name, AT_SYMLINK_NOFOLLOW, Statx.MASK, stx) == 0 && Statx.isSymlink(stx);
    }

    private int check(int fd, String rel) throws IOException {
        if (fd < 0) {
            throw failure(LibC.errno(), rel);
        }
        return fd;
    }

    /**
     * The exception for a failed call on {@code rel}: an escape (EXDEV from RESOLVE_BENEATH) is
     * a refusal; a store that went away has the root path compared with the handle at once.
     */
    IOException failure(int errno, String rel) {
        if (errno == PosixException.EXDEV) {
            return new AccessDeniedException(rel, null, "outside the backend directory " + root);
        }
        if (PosixException.meansUnavailable(errno)) {
            checkedNs = 0; // compare the root path with the handle at the next call
        }
        return PosixException.of(errno, rel, null);
    }

    /** The root handle, opened again if another directory is mounted at the root path now. */
    int rootFd() throws IOException {
        long now = System.nanoTime();
        if (now - checkedNs > RECHECK_NS) {
            synchronized (this) {
                if (now - checkedNs > RECHECK_NS) {
                    ByteBuffer stx = Statx.buffer();
                    if (C.statx(AT_FDCWD, root.toString(), 0, Statx.MASK, stx) == 0
                            && (Statx.dev(stx) != fdDev || Statx.ino(stx) != fdIno)) {
                        reopen();
                    }
                    checkedNs = now;
                }
            }
        }
        return fd;
    }

    private synchronized void reopen() throws IOException {
        int opened = C.openat(AT_FDCWD, root.toString(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (opened < 0) {
            throw PosixException.of(LibC.errno(), root.toString(), null);
        }
        ByteBuffer stx = Statx.buffer();
        if (C.statx(opened, "", AT_EMPTY_PATH, Statx.MASK, stx) != 0) {
            int errno = LibC.errno();
            C.close(opened);
            throw PosixException.of(errno, root.toString(), null);
        }
        fdDev = Statx.dev(stx);
        fdIno = Statx.ino(stx);
        fd = opened;
        checkedNs = System.nanoTime();
        // the handle it replaces stays open: a call on another thread may still be using it (one
        // descriptor per remount of the store)
    }
}
