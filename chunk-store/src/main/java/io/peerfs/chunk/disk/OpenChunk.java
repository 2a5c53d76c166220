package io.peerfs.chunk.disk;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An open chunk file with its index record, shared by concurrent readers. Reference
 * counted: the store's table of open chunks holds one reference and each reader one more,
 * so dropping it from the table never closes the file under a reader.
 */
final class OpenChunk {
    final FileChannel channel;
    /**
     * The same file opened with {@code O_DIRECT}, for reads past the page cache; null where
     * the file system takes no direct I/O or the chunk is read through the page cache. Opened
     * with {@link #channel}: opened later by name, it could be a newer file of the same chunk.
     */
    final FileChannel direct;
    final ChunkMeta meta;
    private final AtomicInteger refs = new AtomicInteger(1);

    OpenChunk(FileChannel channel, FileChannel direct, ChunkMeta meta) {
        this.channel = channel;
        this.direct = direct;
        this.meta = meta;
    }

    /** Takes a reference; false when the file is already closed. */
    boolean acquire() {
        while (true) {
            int r = refs.get();
            if (r == 0) {
                return false;
            }
            if (refs.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    /** Gives a reference back; the last one closes the file. */
    void release() {
        if (refs.decrementAndGet() == 0) {
            closeQuietly(channel);
            closeQuietly(direct);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch == null) {
            return;
        }
        try {
            ch.close();
        } catch (IOException ignored) {
            // read-only channel: nothing to lose
        }
    }
}
