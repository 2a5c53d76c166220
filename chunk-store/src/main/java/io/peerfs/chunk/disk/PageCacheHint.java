package io.peerfs.chunk.disk;

import io.peerfs.Libc;
import java.nio.file.Path;

/**
 * Asks the kernel to read a whole chunk file into the page cache ahead of its reader
 * ({@code posix_fadvise(POSIX_FADV_WILLNEED)}). FUSE hands the daemon 128 KiB reads; without the
 * hint each chunk file's own readahead starts small again at every chunk boundary, and a
 * sequential reader waits on the disk for many small reads per chunk instead of one large one.
 * A hint that cannot be given changes nothing but speed.
 */
final class PageCacheHint {
    private PageCacheHint() {
    }

    /** Starts reading {@code file} into the page cache; returns at once if the file is gone. */
    static void willNeed(Path file) {
        Libc.Calls libc = Libc.calls();
        if (libc == null) {
            return;
        }
        int fd = libc.open(file.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0) {
            return; // evicted meanwhile
        }
        try {
            libc.posix_fadvise(fd, 0, 0, Libc.POSIX_FADV_WILLNEED);
        } finally {
            libc.close(fd);
        }
    }
}
