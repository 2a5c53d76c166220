package io.peerfs.daemon.fuse;

import java.io.IOException;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.byref.PointerByReference;
import jnr.ffi.types.size_t;

/**
 * The buffers of libfuse 3's {@code read_buf}, from the C library's allocator, because libfuse
 * sends the reply and then frees the buffer and its {@code struct fuse_bufvec} with
 * {@code free()}. Page-aligned for bytes from the cache disk, so the chunk store can fill them
 * with direct I/O (libfuse's own read buffers are only 16-byte aligned); plain otherwise.
 *
 * <p>An aligned 1 MiB buffer is a fresh mapping each time (glibc maps aligned allocations of
 * this size anew, where plain ones come back from its arenas), which costs zeroed pages; hence
 * plain buffers for bytes that come from memory. Tried keeping the aligned ones in the arenas
 * ({@code mallopt} thresholds, or priming the dynamic threshold): the daemon's CPU for a warm
 * 2 GiB read fell from 2.4 to 1.4 s, but its RSS rose by ~150 MiB (aligned allocations
 * fragment every arena), so not kept.
 */
final class ReadBuffers {
    /** The C library functions used here; public, as jnr-ffi requires. */
    public interface LibC {
        int posix_memalign(PointerByReference memptr, @size_t long alignment, @size_t long size);

        Pointer calloc(@size_t long count, @size_t long size);

        void free(Pointer p);

        Pointer malloc(@size_t long size);
    }

    private static final int PAGE = 4096;
    /**
     * {@code struct fuse_bufvec} with one {@code struct fuse_buf} is 64 bytes in libfuse 3.14
     * (count, idx, off; size, flags, mem, fd, pos); allocated larger and zeroed, so a later
     * libfuse that appends a field to {@code fuse_buf} reads zero there.
     */
    private static final int BUFVEC_ALLOC = 128;

    private final LibC libc = LibraryLoader.create(LibC.class).failImmediately().load("c");

    /** A buffer of {@code size} bytes; the caller frees it or {@link #hand}s it to libfuse. */
    Pointer allocate(long size) throws IOException {
        Pointer p = libc.malloc(Math.max(size, 1));
        if (p == null) {
            throw new IOException("no memory for a " + size + "-byte read buffer");
        }
        return p;
    }

    /** A page-aligned buffer of {@code size} bytes; the caller frees it or {@link #hand}s it to libfuse. */
    Pointer allocateAligned(long size) throws IOException {
        PointerByReference p = new PointerByReference();
        int rc = libc.posix_memalign(p, PAGE, Math.max(size, 1));
        if (rc != 0 || p.getValue() == null) {
            throw new IOException("no memory for a " + size + "-byte read buffer (posix_memalign: " + rc + ")");
        }
        return p.getValue();
    }

    void free(Pointer mem) {
        libc.free(mem);
    }

    /**
     * Makes {@code *bufp} a {@code struct fuse_bufvec} holding the first {@code length} bytes of
     * {@code mem}; libfuse owns both from here on.
     */
    void hand(Pointer bufp, Pointer mem, int length) throws IOException {
        Pointer vec = libc.calloc(1, BUFVEC_ALLOC);
        if (vec == null) {
            throw new IOException("no memory for a read reply");
        }
        vec.putLong(0, 1); // count; idx and off stay 0
        vec.putLong(24, length); // buf[0].size; flags stay 0: memory, not a file descriptor
        vec.putPointer(40, mem); // buf[0].mem
        vec.putInt(48, -1); // buf[0].fd
        bufp.putPointer(0, vec);
    }
}
