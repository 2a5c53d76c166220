package io.peerfs.fetch;

/**
 * Bytes of a chunk in a window buffer that has a file descriptor, held there: the buffer is
 * not refilled until {@link #close}. A reply can so be handed to the kernel as
 * {@code length} bytes of {@code fd} at {@code position}.
 */
public final class HeldBytes implements AutoCloseable {
    private final ChunkWindow window;
    private final Object slot;
    private final int fd;
    private final long position;
    private final int length;
    private boolean closed;

    HeldBytes(ChunkWindow window, Object slot, int fd, long position, int length) {
        this.window = window;
        this.slot = slot;
        this.fd = fd;
        this.position = position;
        this.length = length;
    }

    public int fd() {
        return fd;
    }

    public long position() {
        return position;
    }

    public int length() {
        return length;
    }

    /** Lets the window refill the buffer; once the bytes are no longer read from it. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            window.release(slot);
        }
    }
}
