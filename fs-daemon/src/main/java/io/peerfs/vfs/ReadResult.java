package io.peerfs.vfs;

import io.peerfs.fetch.HeldBytes;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The bytes of one read ({@link Vfs#read(long, long, int, boolean, Into)}), as go-fuse's
 * ReadResult: held in memory where they already are, for the reply to take without a copy, or
 * read into the buffer the caller gave.
 */
public sealed interface ReadResult permits ReadResult.Held, ReadResult.Filled {
    /** Bytes in memory with a file descriptor, held until closed. */
    record Held(HeldBytes bytes) implements ReadResult {
    }

    /** {@code length} bytes read into the caller's buffer; 0 at end of file. */
    record Filled(int length) implements ReadResult {
    }

    /** Whether a read's bytes come from this node's cache disk; asked only when a buffer is needed. */
    @FunctionalInterface
    interface FromDisk {
        boolean ask() throws IOException;
    }

    /**
     * The caller's buffer for a read that is not held: page-aligned where the bytes come from
     * the cache disk (which reads them with direct I/O), its remaining bytes the most to read.
     */
    @FunctionalInterface
    interface Into {
        ByteBuffer buffer(FromDisk fromDisk) throws IOException;
    }
}
