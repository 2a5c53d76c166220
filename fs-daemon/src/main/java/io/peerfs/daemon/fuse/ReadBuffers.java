package io.peerfs.daemon.fuse;

import com.kenai.jffi.MemoryIO;
import io.peerfs.fetch.ChunkMemory;
import io.peerfs.fetch.HeldBytes;
import io.peerfs.vfs.ReadResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.byref.PointerByReference;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The buffers behind libfuse 3's {@code read_buf} replies. libfuse sends the reply after the
 * callback returned and then frees every memory buffer it was handed with {@code free()}, so a
 * memory reply is a fresh C allocation each time; for a 1 MiB page-aligned buffer (what direct
 * I/O from the cache disk needs) glibc maps new zeroed pages each time.
 *
 * <p>When the kernel and libfuse can splice replies ({@link #splicing}), every reply of two pages
 * or more is written instead into this FUSE thread's <em>slot</em>: a memfd mapped once, handed to
 * libfuse as a file descriptor buffer ({@code FUSE_BUF_IS_FD}), which libfuse splices through a
 * pipe into {@code /dev/fuse} and does not free. The slot is page-aligned (the chunk store fills it
 * with direct I/O), its pages are reused, and the kernel copies them once into the reader's page
 * cache, as it copies a memory reply. A thread's slot is rewritten only by its next read, which
 * libfuse hands it after this reply went out. Slots of FUSE threads that ended are reclaimed when
 * another thread needs one.
 *
 * <p>Bytes already in memory (a chunk just fetched, in a window of {@link #chunkMemory}) are not
 * copied into the slot: the reply is handed to libfuse as those bytes of the window's memfd, and
 * the chunk buffer is held until this thread's next callback ({@link #hand(Pointer, HeldBytes)}).
 *
 * <p>Otherwise (libfuse 3 without splice, or a pipe as large as a reply not allowed for this
 * user: 1 MiB is the default limit for users without {@code CAP_SYS_RESOURCE}) replies are memory
 * buffers: page-aligned for bytes from the cache disk, plain {@code malloc} for bytes from memory,
 * which glibc reuses. Tried keeping the aligned ones in glibc's arenas ({@code mallopt}): CPU per
 * warm 2 GiB read 2.4 → 1.4 s, but RSS +150 MiB (aligned allocations fragment every arena).
 */
final class ReadBuffers implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReadBuffers.class);

    /** The C library functions used here; public, as jnr-ffi requires. */
    public interface LibC {
        int posix_memalign(PointerByReference memptr, @size_t long alignment, @size_t long size);

        Pointer calloc(@size_t long count, @size_t long size);

        void free(Pointer p);

        Pointer malloc(@size_t long size);

        @SaveError
        int memfd_create(String name, int flags);

        @SaveError
        int ftruncate(int fd, @off_t long length);

        @SaveError
        Pointer mmap(Pointer addr, @size_t long length, int prot, int flags, int fd, @off_t long offset);

        int munmap(Pointer addr, @size_t long length);

        int close(int fd);

        int gettid();

        @SaveError
        int pipe(@Out int[] fds);

        @SaveError
        int fcntl(int fd, int cmd, int arg);

        String strerror(int errnum);
    }

    private static final int PAGE = 4096;
    /** libfuse 3's largest request (256 pages); a slot grows if a larger one comes. */
    static final int LARGEST_READ = 1 << 20;
    /** libfuse copies replies shorter than two pages instead of splicing them. */
    private static final int SPLICE_MIN = 2 * PAGE;
    private static final int MFD_CLOEXEC = 1;
    private static final int PROT_READ_WRITE = 3;
    private static final int MAP_SHARED = 1;
    private static final int F_SETPIPE_SZ = 1031;
    private static final int FUSE_BUF_IS_FD = 1 << 1;
    private static final int FUSE_BUF_FD_SEEK = 1 << 2;
    /**
     * {@code struct fuse_bufvec} with one {@code struct fuse_buf} is 64 bytes in libfuse 3.14
     * (count, idx, off; size, flags, mem, fd, pos); allocated larger and zeroed, so a later
     * libfuse that appends a field to {@code fuse_buf} reads zero there.
     */
    private static final int BUFVEC_ALLOC = 128;

    private static final Runtime RUNTIME = Runtime.getSystemRuntime();
    private static final LibC LIBC = LibraryLoader.create(LibC.class).failImmediately().load("c");
    private final LibC libc = LIBC;
    private volatile boolean splicing;
    private final ThreadLocal<Slot> mine = new ThreadLocal<>();
    /** Every slot, by the thread id of the FUSE thread that writes it; guarded by itself. */
    private final Map<Integer, Slot> slots = new HashMap<>();
    private final LongAdder bytesSpliced = new LongAdder();
    private final LongAdder bytesHeld = new LongAdder();
    private final AtomicBoolean slotFailureLogged = new AtomicBoolean();

    /** A FUSE thread's memfd, mapped; only that thread touches it while it lives. */
    private static final class Slot {
        final int tid;
        final int fd;
        Pointer mem;
        long capacity;
        /** The bytes of this thread's last reply from a chunk buffer, until its next callback. */
        volatile HeldBytes held;

        Slot(int tid, int fd) {
            this.tid = tid;
            this.fd = fd;
        }
    }

    /**
     * One reply: {@link #bytes} when it is filled here (not held bytes), then {@link #hand} to
     * libfuse, then {@link #close}.
     */
    final class Reply implements AutoCloseable {
        private final long size;
        private Pointer mem;
        private Slot slot; // null: a C allocation, freed unless handed
        private boolean handed;

        private Reply(long size) {
            this.size = size;
        }

        /**
         * The buffer to fill, {@code size} bytes: this thread's slot when splicing, otherwise a C
         * allocation, page-aligned if {@code fromDisk} says the bytes come from the cache disk.
         */
        ByteBuffer bytes(ReadResult.FromDisk fromDisk) throws IOException {
            if (mem == null) {
                take(fromDisk);
            }
            return MemoryIO.getInstance().newDirectByteBuffer(mem.address(), (int) size);
        }

        private void take(ReadResult.FromDisk fromDisk) throws IOException {
            if (splicing && size >= SPLICE_MIN) {
                try {
                    slot = slot(size);
                    mem = slot.mem;
                    return;
                } catch (IOException e) {
                    // out of file descriptors or memory for a slot: this reply is copied, as without splice
                    if (!slotFailureLogged.getAndSet(true)) {
                        log.warn("a read reply is copied instead of spliced (logged once): {}", e.getMessage());
                    }
                }
            }
            mem = fromDisk.ask() ? allocateAligned(size) : allocate(size);
        }

        /**
         * Makes {@code *bufp} a {@code struct fuse_bufvec} holding the first {@code length} bytes;
         * libfuse owns the vector (and a memory buffer) from here on.
         */
        void hand(Pointer bufp, int length) throws IOException {
            if (mem == null) {
                take(() -> false); // nothing was read into it (none of PeerFS's reads end so)
            }
            Pointer vec = libc.calloc(1, BUFVEC_ALLOC);
            if (vec == null) {
                throw new IOException("no memory for a read reply");
            }
            vec.putLong(0, 1); // count; idx and off stay 0
            vec.putLong(24, length); // buf[0].size
            if (slot == null) {
                vec.putPointer(40, mem); // buf[0].mem; flags stay 0: memory
                vec.putInt(48, -1); // buf[0].fd
            } else {
                vec.putInt(32, FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK); // buf[0].flags
                vec.putInt(48, slot.fd); // buf[0].fd; pos (56) stays 0
                bytesSpliced.add(length);
            }
            bufp.putPointer(0, vec);
            handed = true;
        }

        @Override
        public void close() {
            if (mem != null && slot == null && !handed) {
                libc.free(mem);
            }
        }
    }

    /**
     * Memory for the chunk windows (chunks just fetched, in memory) whose bytes replies can be
     * spliced from without a copy: one memfd per window, mapped once for the daemon's life
     * (its pages are taken as they are written). No regions, and plain buffers in the windows,
     * when there is no memfd.
     */
    static ChunkMemory chunkMemory() {
        return (count, size) -> {
            long bytes = (long) count * size;
            int fd = LIBC.memfd_create("peerfs-chunks", MFD_CLOEXEC);
            if (fd < 0) {
                log.info("chunks in memory are copied into read replies: no memfd ({})", lastError());
                return new ChunkMemory.Region[0];
            }
            Pointer mem = LIBC.ftruncate(fd, bytes) == 0 ? LIBC.mmap(null, bytes, PROT_READ_WRITE, MAP_SHARED, fd, 0)
                    : null;
            if (mem == null || mem.address() == -1L) {
                log.info("chunks in memory are copied into read replies: no {}-byte memfd ({})", bytes, lastError());
                LIBC.close(fd);
                return new ChunkMemory.Region[0];
            }
            ChunkMemory.Region[] regions = new ChunkMemory.Region[count];
            for (int i = 0; i < count; i++) {
                long at = (long) i * size;
                regions[i] = new ChunkMemory.Region(
                        MemoryIO.getInstance().newDirectByteBuffer(mem.address() + at, size), fd, at);
            }
            return regions;
        };
    }

    /**
     * Replies from here on go through memfd slots if a pipe that holds a reply of
     * {@code largestReply} bytes is allowed here (libfuse sizes its pipe for the reply, its
     * header and three pages); the caller tells libfuse to splice
     * ({@code FUSE_CAP_SPLICE_WRITE}) only if this returns true.
     */
    boolean spliceReplies(int largestReply) {
        int pipe = largestReply + 3 * PAGE + 16;
        int[] fds = new int[2];
        if (libc.pipe(fds) != 0) {
            log.info("read replies are copied: no pipe ({})", lastError());
            return false;
        }
        try {
            if (libc.fcntl(fds[0], F_SETPIPE_SZ, pipe) < pipe) {
                log.info("read replies are copied: a {}-byte pipe is not allowed here ({}); to splice them from"
                        + " reused buffers: sysctl fs.pipe-max-size=2097152 (the deb package sets it), or"
                        + " CAP_SYS_RESOURCE", pipe, lastError());
                return false;
            }
        } finally {
            libc.close(fds[0]);
            libc.close(fds[1]);
        }
        splicing = true;
        return true;
    }

    boolean splicing() {
        return splicing;
    }

    long bytesSpliced() {
        return bytesSpliced.sum();
    }

    /** Bytes of {@link #bytesSpliced} sent straight from chunk buffers ({@link #hand(Pointer, HeldBytes)}). */
    long bytesHeld() {
        return bytesHeld.sum();
    }

    /**
     * Makes {@code *bufp} a {@code struct fuse_bufvec} of the held bytes, which libfuse splices
     * from their file descriptor after the callback returned; the hold is this thread's until
     * its next callback ({@link #callbackStarts}), by when the reply went out. Only while
     * {@linkplain #splicing splicing}: the bytes are never copied by the daemon.
     */
    void hand(Pointer bufp, HeldBytes held) throws IOException {
        Slot s;
        try {
            s = slot(0);
        } catch (IOException e) {
            held.close();
            throw e;
        }
        Pointer vec = libc.calloc(1, BUFVEC_ALLOC);
        if (vec == null) {
            held.close();
            throw new IOException("no memory for a read reply");
        }
        vec.putLong(0, 1); // count; idx and off stay 0
        vec.putLong(24, held.length()); // buf[0].size
        vec.putInt(32, FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK); // buf[0].flags
        vec.putInt(48, held.fd()); // buf[0].fd
        vec.putLong(56, held.position()); // buf[0].pos
        bufp.putPointer(0, vec);
        s.held = held;
        bytesSpliced.add(held.length());
        bytesHeld.add(held.length());
    }

    /**
     * Told by every callback as it starts: this thread's previous reply went out, so the chunk
     * bytes it was spliced from are let go.
     */
    void callbackStarts() {
        Slot s = mine.get();
        if (s != null && s.held != null) {
            s.held.close();
            s.held = null;
        }
    }

    int slots() {
        synchronized (slots) {
            return slots.size();
        }
    }

    /** A reply of {@code size} bytes; its buffer is taken when it is first asked for. */
    Reply reply(long size) {
        return new Reply(size);
    }

    private Slot slot(long size) throws IOException {
        Slot s = mine.get();
        if (s == null) {
            s = attach();
            mine.set(s);
        }
        if (s.capacity < size) {
            grow(s, size);
        }
        return s;
    }

    /** This thread's slot: a new one, or the one left by an ended thread whose id it was given. */
    private Slot attach() throws IOException {
        int tid = libc.gettid();
        synchronized (slots) {
            reclaimEnded();
            Slot s = slots.get(tid);
            if (s == null) {
                int fd = libc.memfd_create("peerfs-read-reply", MFD_CLOEXEC);
                if (fd < 0) {
                    throw new IOException("memfd_create for a read reply: " + lastError());
                }
                s = new Slot(tid, fd);
                slots.put(tid, s);
            }
            return s;
        }
    }

    /** Releases the slots of FUSE threads that ended (libfuse ends idle ones beyond its limit). */
    private void reclaimEnded() {
        for (Iterator<Slot> it = slots.values().iterator(); it.hasNext(); ) {
            Slot s = it.next();
            if (!Files.exists(Path.of("/proc/self/task", Integer.toString(s.tid)))) {
                it.remove();
                release(s);
                if (s.held != null) {
                    s.held.close(); // its last reply went out before the thread ended
                }
            }
        }
    }

    private void grow(Slot s, long size) throws IOException {
        long capacity = Math.max(LARGEST_READ, (size + PAGE - 1) / PAGE * PAGE);
        if (libc.ftruncate(s.fd, capacity) != 0) {
            throw new IOException("cannot size a " + capacity + "-byte read reply: " + lastError());
        }
        Pointer mem = libc.mmap(null, capacity, PROT_READ_WRITE, MAP_SHARED, s.fd, 0);
        if (mem == null || mem.address() == -1L) {
            throw new IOException("cannot map a " + capacity + "-byte read reply: " + lastError());
        }
        if (s.mem != null) {
            libc.munmap(s.mem, s.capacity);
        }
        s.mem = mem;
        s.capacity = capacity;
    }

    private void release(Slot s) {
        if (s.mem != null) {
            libc.munmap(s.mem, s.capacity);
        }
        libc.close(s.fd);
    }

    /** Releases every slot; only once no FUSE thread serves this mount any more. */
    @Override
    public void close() {
        synchronized (slots) {
            slots.values().forEach(this::release);
            slots.values().stream().filter(s -> s.held != null).forEach(s -> s.held.close());
            slots.clear();
        }
    }

    /** A buffer of {@code size} bytes; the caller frees it or hands it to libfuse. */
    private Pointer allocate(long size) throws IOException {
        Pointer p = libc.malloc(Math.max(size, 1));
        if (p == null) {
            throw new IOException("no memory for a " + size + "-byte read buffer");
        }
        return p;
    }

    /** A page-aligned buffer of {@code size} bytes; the caller frees it or hands it to libfuse. */
    private Pointer allocateAligned(long size) throws IOException {
        PointerByReference p = new PointerByReference();
        int rc = libc.posix_memalign(p, PAGE, Math.max(size, 1));
        if (rc != 0 || p.getValue() == null) {
            throw new IOException("no memory for a " + size + "-byte read buffer (posix_memalign: " + rc + ")");
        }
        return p.getValue();
    }

    private static String lastError() {
        return LIBC.strerror(LastError.getLastError(RUNTIME));
    }
}
