package io.peerfs.daemon.fuse;

import io.peerfs.backend.BackendUnavailableException;
import io.peerfs.backend.PosixException;
import io.peerfs.chunk.CacheDiskException;
import io.peerfs.chunk.CacheFullException;
import io.peerfs.vfs.BadHandleException;
import io.peerfs.vfs.NoSuchXattrException;
import io.peerfs.vfs.ReadOnlyPathException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.ErrorCodes;

/**
 * The one place where failures become errno values for the kernel: from the exception's
 * type, or the errno a {@link PosixException} carries (every errno PeerFS itself raises is
 * one), never from message text.
 */
public final class Errno {
    private static final Logger log = LoggerFactory.getLogger(Errno.class);
    private static final Set<String> loggedUnexpected = ConcurrentHashMap.newKeySet();

    private Errno() {
    }

    /** At most {@link #WARNINGS_PER_WINDOW} failure lines per 10 s: a reader retrying a bad file must not fill the disk. */
    static final int WARNINGS_PER_WINDOW = 20;
    private static final java.util.concurrent.atomic.AtomicLong windowStartMs = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicInteger inWindow = new java.util.concurrent.atomic.AtomicInteger();
    private static final java.util.concurrent.atomic.AtomicInteger suppressed =
            new java.util.concurrent.atomic.AtomicInteger();

    private static void warn(String format, Object... args) {
        long now = System.currentTimeMillis();
        long start = windowStartMs.get();
        if (now - start >= 10_000 && windowStartMs.compareAndSet(start, now)) {
            int dropped = suppressed.getAndSet(0);
            inWindow.set(0);
            if (dropped > 0) {
                log.warn("{} more failed operations were not logged in the last 10 s", dropped);
            }
        }
        if (inWindow.incrementAndGet() <= WARNINGS_PER_WINDOW) {
            log.warn(format, args);
        } else {
            suppressed.incrementAndGet();
        }
    }

    /** The positive errno for a failure of {@code op} on {@code path}; unexpected ones are logged. */
    public static int of(String op, String path, Throwable t) {
        if (t instanceof NoSuchFileException) {
            return ErrorCodes.ENOENT();
        } else if (t instanceof NotDirectoryException) {
            return ErrorCodes.ENOTDIR();
        } else if (t instanceof AccessDeniedException) {
            return ErrorCodes.EACCES();
        } else if (t instanceof DirectoryNotEmptyException) {
            return ErrorCodes.ENOTEMPTY();
        } else if (t instanceof FileAlreadyExistsException) {
            return ErrorCodes.EEXIST();
        } else if (t instanceof NotLinkException) {
            return ErrorCodes.EINVAL();
        } else if (t instanceof ReadOnlyPathException) {
            return ErrorCodes.EROFS();
        } else if (t instanceof NoSuchXattrException) {
            return ErrorCodes.ENODATA();
        } else if (t instanceof BadHandleException) {
            return ErrorCodes.EBADF();
        } else if (t instanceof CacheFullException) {
            warn("{} {}: {}", op, path, t.getMessage());
            return ErrorCodes.ENOSPC();
        } else if (t instanceof CacheDiskException cde) {
            return switch (cde.kind()) {
                case FULL -> ErrorCodes.ENOSPC();
                case READ_ONLY -> ErrorCodes.EROFS();
                case FAILING -> ErrorCodes.EIO();
            };
        } else if (t instanceof BackendUnavailableException) {
            return ErrorCodes.EIO(); // GuardedBackend logs the outage, once per 10 s rather than once per call
        } else if (t instanceof io.peerfs.backend.FileChangedException) {
            warn("{} {}: {}", op, path, t.getMessage());
            return ErrorCodes.EIO();
        } else if (t instanceof PosixException pe) {
            return pe.errno(); // the backend's own errno (Linux numbering, as the kernel's)
        } else if (t instanceof java.io.IOException) {
            // never inferred from a message: the JDK's reasons are strerror texts in the locale
            warn("{} {} failed: {}", op, path, t.toString());
            return ErrorCodes.EIO();
        }
        // a bug: log its stack once per kind so a storm of the same failure does not flood the log
        if (loggedUnexpected.add(op + ":" + t.getClass().getName())) {
            log.error("unexpected failure in {} {}", op, path, t);
        } else {
            log.error("unexpected failure in {} {}: {}", op, path, t.toString());
        }
        return ErrorCodes.EIO();
    }
}
