package io.peerfs.fetch;

import java.nio.ByteBuffer;

/**
 * Where the buffers of a chunk window live. Off the Java heap by default; a daemon that
 * splices read replies gives memory that also has a file descriptor (a memfd), so a reply can
 * be handed to the kernel from the buffer the chunk was fetched into instead of a copy.
 */
@FunctionalInterface
public interface ChunkMemory {
    /** A page-aligned buffer of one chunk, and where the same bytes are in {@code fd} (-1: nowhere). */
    record Region(ByteBuffer buf, int fd, long fdOffset) {
    }

    /**
     * {@code count} regions of {@code size} bytes each, made once for a window that lives as
     * long as the daemon; fewer (or none) when the memory cannot be had, and the window then
     * takes plain off-heap buffers.
     */
    Region[] regions(int count, int size);

    /** Plain off-heap buffers, made by the window as it needs them. */
    ChunkMemory OFF_HEAP = (count, size) -> new Region[0];
}
