package io.peerfs;

import jnr.ffi.LibraryLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The few libc calls Java has no API for (file descriptor plumbing, page cache advice, a
 * statfs that stats nothing else),
 * bound through jnr-ffi on first use: binding costs start-up time a mount should not pay
 * unless it needs them.
 */
public final class Libc {
    private static final Logger log = LoggerFactory.getLogger(Libc.class);
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_CREAT = 0x40;
    public static final int O_APPEND = 0x400;
    public static final int O_CLOEXEC = 0x80000;
    public static final int F_DUPFD_CLOEXEC = 1030;
    public static final int POSIX_FADV_WILLNEED = 3;

    /** The calls; public, as jnr-ffi requires. Each returns -1 (or an error number for posix_fadvise) on failure. */
    public interface Calls {
        int open(String path, int flags, int mode);

        int close(int fd);

        int dup2(int from, int to);

        int fcntl(int fd, int cmd, int arg);

        int write(int fd, byte[] data, long length);

        int posix_fadvise(int fd, long offset, long length, int advice);

        /** {@code buf}: room for a {@code struct statfs} (120 bytes on x86-64 and arm64). */
        int statfs(String path, byte[] buf);

        /** The C library's text for an errno, in this process's locale. */
        String strerror(int errnum);
    }

    private Libc() {
    }

    private static final class Holder {
        static final Calls CALLS = load();

        private static Calls load() {
            try {
                return LibraryLoader.create(Calls.class).load("c");
            } catch (RuntimeException | LinkageError e) {
                log.info("libc could not be bound through jnr-ffi: {}", e.toString());
                return null;
            }
        }
    }

    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;

    /**
     * The text the C library gives for {@code errno} here: what the JDK puts into an
     * IOException's message for it (it asks {@code strerror} too), so a failure's errno is
     * told apart in any locale; the English text where libc cannot be bound.
     */
    public static String reason(int errno, String english) {
        Calls c = calls();
        String r = c == null ? null : c.strerror(errno);
        return r == null || r.isEmpty() ? english : r;
    }

    /** The bound calls, or null where libc cannot be bound. */
    public static Calls calls() {
        return Holder.CALLS;
    }
}
