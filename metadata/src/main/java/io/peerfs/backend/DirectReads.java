package io.peerfs.backend;

import static io.peerfs.backend.LibC.C;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads of backend files past the node's page cache ({@code O_DIRECT}), for the whole blocks
 * of a chunk read into an aligned buffer. PeerFS keeps every chunk it reads in its own store,
 * so a copy in the page cache is never read again, while filling it costs the CPU a copy of
 * every byte and crowds out pages that are read again: on an ext4 backend over a loop device,
 * 2 GiB read in 4 MiB requests took 2-4× the machine's CPU buffered that it took direct.
 * Direct reads flush the range's dirty pages first (ext4, XFS, NFS), so what was written
 * through the page cache is read back.
 *
 * <p>A file system that refuses direct I/O (EINVAL: tmpfs before Linux 6.6, many FUSE file
 * systems) is read through the page cache from then on, as are buffers and offsets that are
 * not aligned to its block size. Files are opened beneath the root handle ({@link RootDir}).
 */
final class DirectReads {
    private static final Logger log = LoggerFactory.getLogger(DirectReads.class);
    /** Block sizes past this are not aligned to: the page cache serves such file systems. */
    private static final long MAX_BLOCK = 1 << 20;
    private static final int F_SETFL = 4;

    private final RootDir root;
    private final LongAdder bytes = new LongAdder();
    /** The alignment direct reads need (the root's file system block size); 0 until asked, -1 for none. */
    private volatile int block;

    DirectReads(RootDir root) {
        this(root, 0);
    }

    /** With the block size given instead of asked of the file system (0: ask it). */
    DirectReads(RootDir root, int block) {
        this.root = root;
        this.block = block;
    }

    /**
     * Reads the whole blocks of {@code dst}'s remaining bytes from {@code rel} at {@code offset}
     * past the page cache, advancing {@code dst}'s position.
     *
     * @return bytes read: fewer than the whole blocks asked only where the file ends; 0 where
     *     nothing was read this way (unaligned, less than a block, refused), and the caller reads
     *     through the page cache
     */
    /** A check of the descriptor a read used, before it is closed (the file's version, say). */
    @FunctionalInterface
    interface FdCheck {
        void check(int fd) throws IOException;
    }

    int read(String rel, long offset, ByteBuffer dst) throws IOException {
        return read(rel, offset, dst, null);
    }

    /** {@link #read(String, long, ByteBuffer)}, then {@code same} (if any) checks the descriptor read. */
    int read(String rel, long offset, ByteBuffer dst, FdCheck same) throws IOException {
        int b = blockSize();
        if (b <= 0 || !dst.isDirect() || offset % b != 0 || dst.alignmentOffset(dst.position(), b) != 0) {
            return 0;
        }
        int whole = dst.remaining() / b * b;
        if (whole == 0) {
            return 0;
        }
        ByteBuffer into = dst.slice(dst.position(), whole);
        // opened and checked as a regular file first (the file's own failures, a FIFO in its place
        // too, are the caller's to see); only then O_DIRECT, whose EINVAL is the file system's
        int fd = root.requireRegular(root.open(rel, RootDir.O_RDONLY | RootDir.O_NONBLOCK), rel);
        if (C.fcntl(fd, F_SETFL, RootDir.O_NONBLOCK | RootDir.O_DIRECT) != 0) {
            int errno = LibC.errno();
            C.close(fd);
            if (errno != PosixException.EINVAL) {
                throw root.failure(errno, rel);
            }
            refused("EINVAL for O_DIRECT");
            return 0;
        }
        try {
            while (into.hasRemaining()) {
                long n = C.pread(fd, into, into.remaining(), offset + into.position());
                if (n < 0) {
                    int errno = LibC.errno();
                    if (errno == PosixException.EINTR) {
                        continue;
                    }
                    if (into.position() == 0 && errno == PosixException.EINVAL) {
                        refused("EINVAL at the first read");
                        return 0; // the page cache reads it, from the start
                    }
                    throw root.failure(errno, rel);
                }
                into.position(into.position() + (int) n);
                if (n == 0 || into.position() % b != 0) {
                    break; // the file's end (a direct read ends short only there)
                }
            }
            if (same != null) {
                same.check(fd);
            }
        } finally {
            C.close(fd);
        }
        int n = into.position();
        dst.position(dst.position() + n);
        bytes.add(n);
        return n;
    }

    /** Bytes read past the page cache since start. */
    long bytesRead() {
        return bytes.sum();
    }

    private void refused(String why) {
        if (block != -1) {
            block = -1;
            log.info("the backend {} does not take direct I/O ({}); chunks are read through the page cache",
                    root.path(), why);
        }
    }

    private int blockSize() {
        int b = block;
        if (b == 0) {
            try {
                long size = Files.getFileStore(root.path()).getBlockSize();
                b = size > 0 && size <= MAX_BLOCK && Long.bitCount(size) == 1 ? (int) size : -1;
            } catch (IOException | UnsupportedOperationException e) {
                b = -1;
            }
            block = b;
        }
        return b;
    }
}
