package io.peerfs.chunk.disk;

import java.nio.file.Path;
import jnr.ffi.LibraryLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the kernel to read a whole chunk file into the page cache ahead of its reader
 * ({@code posix_fadvise(POSIX_FADV_WILLNEED)}). FUSE hands the daemon 128 KiB reads; without the
 * hint each chunk file's own readahead starts small again at every chunk boundary, and a
 * sequential reader waits on the disk for many small reads per chunk instead of one large one.
 * A hint that cannot be given changes nothing but speed.
 */
final class PageCacheHint {
    private static final Logger log = LoggerFactory.getLogger(PageCacheHint.class);
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000; // Linux
    private static final int POSIX_FADV_WILLNEED = 3;

    /** The libc calls used; public, as jnr-ffi requires. */
    public interface LibC {
        int open(String path, int flags);

        int posix_fadvise(int fd, long offset, long length, int advice);

        int close(int fd);
    }

    private PageCacheHint() {
    }

    /** Loaded on first use: binding libc costs start-up time that a mount should not pay. */
    private static final class Holder {
        static final LibC LIBC = load();

        private static LibC load() {
            try {
                return LibraryLoader.create(LibC.class).load("c");
            } catch (RuntimeException | LinkageError e) {
                log.info("page cache hints are off: libc could not be bound ({})", e.toString());
                return null;
            }
        }
    }

    /** Starts reading {@code file} into the page cache; returns at once if the file is gone. */
    static void willNeed(Path file) {
        LibC libc = Holder.LIBC;
        if (libc == null) {
            return;
        }
        int fd = libc.open(file.toString(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return; // evicted meanwhile
        }
        try {
            libc.posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
        } finally {
            libc.close(fd);
        }
    }
}
