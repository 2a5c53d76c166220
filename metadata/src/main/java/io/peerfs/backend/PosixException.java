package io.peerfs.backend;

import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Map;

/**
 * A failed system call on the backend, with its errno: the errno mapper reads the number, never
 * the text. The reason is a fixed English text (not the locale's strerror), so logs read the
 * same on every node.
 */
public final class PosixException extends FileSystemException {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;
    public static final int EEXIST = 17;
    public static final int EXDEV = 18;
    public static final int ENODEV = 19;
    public static final int ENOTDIR = 20;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int EFBIG = 27;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;
    public static final int EMLINK = 31;
    public static final int ERANGE = 34;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOSYS = 38;
    public static final int ENOTEMPTY = 39;
    public static final int ELOOP = 40;
    public static final int ENODATA = 61;
    public static final int EOPNOTSUPP = 95;
    public static final int ETIMEDOUT = 110;
    public static final int EHOSTDOWN = 112;
    public static final int EHOSTUNREACH = 113;
    public static final int ESTALE = 116;
    public static final int EDQUOT = 122;
    public static final int ENOTCONN = 107;

    private static final Map<Integer, String> TEXT = Map.ofEntries(
            Map.entry(EPERM, "Operation not permitted"), Map.entry(ENOENT, "No such file or directory"),
            Map.entry(EINTR, "Interrupted system call"), Map.entry(EIO, "Input/output error"),
            Map.entry(ENXIO, "No such device or address"), Map.entry(EBADF, "Bad file descriptor"),
            Map.entry(EAGAIN, "Resource temporarily unavailable"), Map.entry(EACCES, "Permission denied"),
            Map.entry(EEXIST, "File exists"), Map.entry(EXDEV, "Invalid cross-device link"),
            Map.entry(ENODEV, "No such device"), Map.entry(ENOTDIR, "Not a directory"),
            Map.entry(EISDIR, "Is a directory"), Map.entry(EINVAL, "Invalid argument"),
            Map.entry(EFBIG, "File too large"), Map.entry(ENOSPC, "No space left on device"),
            Map.entry(EROFS, "Read-only file system"), Map.entry(EMLINK, "Too many links"),
            Map.entry(ERANGE, "Numerical result out of range"), Map.entry(ENAMETOOLONG, "File name too long"),
            Map.entry(ENOSYS, "Function not implemented"), Map.entry(ENOTEMPTY, "Directory not empty"),
            Map.entry(ELOOP, "Too many levels of symbolic links"), Map.entry(ENODATA, "No data available"),
            Map.entry(EOPNOTSUPP, "Operation not supported"), Map.entry(ETIMEDOUT, "Connection timed out"),
            Map.entry(EHOSTDOWN, "Host is down"), Map.entry(EHOSTUNREACH, "No route to host"),
            Map.entry(ESTALE, "Stale file handle"), Map.entry(EDQUOT, "Disk quota exceeded"),
            Map.entry(ENOTCONN, "Transport endpoint is not connected"));

    private final int errno;

    private PosixException(int errno, String path, String other) {
        super(path, other, text(errno));
        this.errno = errno;
    }

    /**
     * True for the errno values of a store that went away rather than a file's own failure: a
     * dead network or FUSE client, an unmount underneath, a host that does not answer.
     */
    public static boolean meansUnavailable(int errno) {
        return switch (errno) {
            case EIO, ENOTCONN, ESTALE, ENODEV, EHOSTDOWN, EHOSTUNREACH, ETIMEDOUT -> true;
            default -> false;
        };
    }

    /** The positive errno value (Linux numbering). */
    public int errno() {
        return errno;
    }

    /** The fixed English text of an errno value. */
    public static String text(int errno) {
        return TEXT.getOrDefault(errno, "errno " + errno);
    }

    /**
     * The exception for {@code errno} from a call on {@code path}: the JDK's own type where one
     * exists (callers catch {@link NoSuchFileException} and the like), else a PosixException.
     */
    public static FileSystemException of(int errno, String path, String other) {
        String reason = text(errno);
        return switch (errno) {
            case ENOENT -> new NoSuchFileException(path, other, reason);
            case EEXIST -> new FileAlreadyExistsException(path, other, reason);
            case ENOTDIR -> new NotDirectoryException(path);
            case ENOTEMPTY -> new DirectoryNotEmptyException(path);
            case EACCES -> new AccessDeniedException(path, other, reason);
            default -> new PosixException(errno, path, other);
        };
    }

    /** {@link #of} with the errno of the last call on this thread. */
    static FileSystemException last(String path) {
        return of(LibC.errno(), path, null);
    }
}
