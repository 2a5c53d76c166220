package io.peerfs.backend;

import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The fields of {@code struct statx} (the same layout on every architecture) PeerFS reads. */
final class Statx {
    /** STATX_BASIC_STATS. */
    static final int MASK = 0x7ff;

    private Statx() {
    }

    static ByteBuffer buffer() {
        return ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
    }

    static int mode(ByteBuffer b) {
        return Short.toUnsignedInt(b.getShort(28));
    }

    static boolean isSymlink(ByteBuffer b) {
        return FileType.ofMode(mode(b)) == FileType.SYMLINK;
    }

    static boolean isRegular(ByteBuffer b) {
        return FileType.ofMode(mode(b)) == FileType.FILE;
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

    /** glibc's {@code makedev}: the {@code dev_t} of a device's major and minor numbers. */
    static long makedev(int major, int minor) {
        long ma = Integer.toUnsignedLong(major);
        long mi = Integer.toUnsignedLong(minor);
        return ((ma & 0xfffff000L) << 32) | ((ma & 0xfffL) << 8) | ((mi & 0xffffff00L) << 12) | (mi & 0xffL);
    }

    static FileAttr attr(ByteBuffer b) {
        int mode = mode(b);
        FileType type = FileType.ofMode(mode);
        long size = type.isDevice() ? makedev(b.getInt(128), b.getInt(132)) : size(b);
        return new FileAttr(type, mode & 07777, size, nanos(b, 112), nanos(b, 96), nanos(b, 64),
                b.getInt(16), b.getInt(20), b.getInt(24), ino(b));
    }
}
