package io.peerfs.backend;

import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The fields of {@code struct statx} (the same layout on every architecture) PeerFS reads. */
final class Statx {
    /** STATX_BASIC_STATS. */
    static final int MASK = 0x7ff;
    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;

    private Statx() {
    }

    static ByteBuffer buffer() {
        return ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
    }

    static int mode(ByteBuffer b) {
        return Short.toUnsignedInt(b.getShort(28));
    }

    static boolean isSymlink(ByteBuffer b) {
        return (mode(b) & S_IFMT) == S_IFLNK;
    }

    static boolean isRegular(ByteBuffer b) {
        return (mode(b) & S_IFMT) == S_IFREG;
    }

    static long ino(ByteBuffer b) {
        return b.getLong(32);
    }

    static long size(ByteBuffer b) {
        return b.getLong(40);
    }

    static long dev(ByteBuffer b) {
        return (Integer.toUnsignedLong(b.getInt(136)) << 32) | Integer.toUnsignedLong(b.getInt(140));
    }

    private static long nanos(ByteBuffer b, int at) {
        return b.getLong(at) * 1_000_000_000L + Integer.toUnsignedLong(b.getInt(at + 8));
    }

    static FileAttr attr(ByteBuffer b) {
        int mode = mode(b);
        FileType type = switch (mode & S_IFMT) {
            case S_IFDIR -> FileType.DIRECTORY;
            case S_IFREG -> FileType.FILE;
            case S_IFLNK -> FileType.SYMLINK;
            default -> FileType.OTHER;
        };
        return new FileAttr(type, mode & 07777, size(b), nanos(b, 112), nanos(b, 96), nanos(b, 64),
                b.getInt(16), b.getInt(20), b.getInt(24), ino(b));
    }
}
