package io.peerfs.chunk;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A lock-free pool of equally sized off-heap buffers. Shared, not thread-local: FUSE
 * worker threads come and go, so per-thread buffers would be reallocated per request.
 * At most {@code maxPooled} idle buffers are kept; more may be lent out at once.
 */
public final class DirectBufferPool {
    private final int bufferSize;
    private final int maxPooled;
    private final ConcurrentLinkedQueue<ByteBuffer> idle = new ConcurrentLinkedQueue<>();
    private final AtomicInteger idleCount = new AtomicInteger();

    public DirectBufferPool(int bufferSize, int maxPooled) {
        this.bufferSize = bufferSize;
        this.maxPooled = maxPooled;
    }

    public int bufferSize() {
        return bufferSize;
    }

    /** A cleared buffer of {@link #bufferSize()} bytes; give it back with {@link #release}. */
    public ByteBuffer acquire() {
        ByteBuffer b = idle.poll();
        if (b == null) {
            return ByteBuffer.allocateDirect(bufferSize);
        }
        idleCount.decrementAndGet();
        return b.clear();
    }

    public void release(ByteBuffer b) {
        if (b.capacity() != bufferSize || idleCount.incrementAndGet() > maxPooled) {
            idleCount.decrementAndGet();
            return; // dropped: the GC frees the off-heap memory
        }
        idle.offer(b);
    }
}
