package io.peerfs.chunk;

import io.peerfs.PeerFsException;
import java.nio.file.Path;

/**
 * The cache disk refused or failed an operation: it is full, read-only or failing. Writers
 * get the matching errno (ENOSPC, EROFS, EIO); readers never see it, they read elsewhere.
 */
public class CacheDiskException extends PeerFsException {
    /** What is wrong with the disk. */
    public enum Kind {
        /** No space left on the device (outside the cache's own limits). */
        FULL,
        /** The file system was made read-only. */
        READ_ONLY,
        /** I/O errors: the disk is failing or gone. */
        FAILING
    }

    private final Kind kind;

    public CacheDiskException(Path dir, Kind kind, String detail) {
        super("cache disk " + dir + " is " + switch (kind) {
            case FULL -> "full";
            case READ_ONLY -> "read-only";
            case FAILING -> "failing";
        } + ": " + detail);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** The C library's texts for ENOSPC and EROFS in this process's locale, as the JDK reports them. */
    private static final class Reasons {
        static final String FULL = io.peerfs.Libc.reason(io.peerfs.Libc.ENOSPC, "No space left on device");
        static final String READ_ONLY = io.peerfs.Libc.reason(io.peerfs.Libc.EROFS, "Read-only file system");
    }

    /**
     * What kind of disk failure {@code e} reports. The JDK gives no errno, only the C library's
     * text for it ({@code strerror}, in the locale); it is compared with the same library's text
     * for ENOSPC and EROFS, never with English.
     */
    public static Kind classify(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (m.contains(Reasons.FULL)) {
                return Kind.FULL;
            }
            if (m.contains(Reasons.READ_ONLY)) {
                return Kind.READ_ONLY;
            }
        }
        return Kind.FAILING;
    }
}
