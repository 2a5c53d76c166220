package io.peerfs.chunk.disk;

import io.peerfs.PeerFsException;
import io.peerfs.chunk.CacheDiskException;
import io.peerfs.chunk.CacheFullException;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.ChunkStoreStats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache disk as the rest of PeerFS sees it: a {@link DiskChunkStore} watched for
 * failures, after JuiceFS's disk state machine.
 *
 * <ul>
 * <li>{@code normal}: everything goes to the disk.</li>
 * <li>{@code unstable}: an I/O error was seen; a probe runs at once. Operations still go
 *     to the disk; {@value #ERRORS_TO_DOWN} more errors before the probe answers take it down.</li>
 * <li>{@code read-only}: the disk is full or was made read-only. Cached chunks are served;
 *     new chunks are not stored (readers read from peers or the backend into memory), scratch
 *     writers get ENOSPC or EROFS.</li>
 * <li>{@code down}: the disk fails. Nothing is read from or written to it: readers go to
 *     peers and the backend, scratch writers get EIO, removals wait for the disk's return.</li>
 * </ul>
 * A probe (read the probe file, write and rename a new one, write the index) runs every
 * {@code recheck} while the disk is not normal; when it passes the disk is normal again. A
 * chunk index that stopped taking writes (RocksDB does after a failed write) is reopened,
 * which reconciles it with the chunk files.
 */
public final class CacheDisk implements ChunkStore {
    private static final Logger log = LoggerFactory.getLogger(CacheDisk.class);
    /** I/O errors while unstable that take the disk down without waiting for the probe. */
    static final int ERRORS_TO_DOWN = 8;
    private static final int PROBE_BYTES = 4096;

    /** The disk's health. */
    public enum State {
        NORMAL("normal"), UNSTABLE("unstable"), READ_ONLY("read-only"), DOWN("down");

        private final String label;

        State(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private final ChunkStoreConfig config;
    private final Duration recheck;
    private final Path probeFile;
    private final byte[] probeBytes = new byte[PROBE_BYTES];
    /** Taken shared by every operation, exclusively to swap in a reopened store. */
    private final ReentrantReadWriteLock swap = new ReentrantReadWriteLock();
    private final ScheduledExecutorService prober;
    private final AtomicBoolean probeScheduled = new AtomicBoolean();
    private final AtomicInteger errorsSinceProbe = new AtomicInteger();
    private final LongAdder errors = new LongAdder();
    /** Chunks to remove once the disk is back (removals while it is down). */
    private final Set<ChunkKey> pendingRemovals = ConcurrentHashMap.newKeySet();
    private volatile DiskChunkStore store;
    private volatile State state = State.NORMAL;
    /** What writers get while the disk is read-only or down. */
    private volatile CacheDiskException refusal;
    private volatile boolean closed;

    private CacheDisk(ChunkStoreConfig config, Duration recheck, DiskChunkStore store) {
        this.config = config;
        this.recheck = recheck;
        this.store = store;
        this.probeFile = config.dir().resolve("probe");
        Arrays.fill(probeBytes, (byte) 0x5a);
        this.prober = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "peerfs-disk-probe");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Opens the store in {@code config.dir()}; a disk that fails at this point fails the open.
     *
     * @param recheck how often a disk that is not normal is probed
     */
    public static CacheDisk open(ChunkStoreConfig config, Duration recheck) throws IOException {
        if (recheck.isNegative() || recheck.isZero()) {
            throw new IllegalArgumentException("the cache disk recheck interval must be positive, got " + recheck);
        }
        return new CacheDisk(config, recheck, DiskChunkStore.open(config));
    }

    public State state() {
        return state;
    }

    @Override
    public int read(ChunkKey key, long offsetInChunk, ByteBuffer dst) throws IOException {
        ensureOpen();
        if (state == State.DOWN) {
            return -1;
        }
        swap.readLock().lock();
        try {
            return store.read(key, offsetInChunk, dst);
        } catch (IOException e) {
            failed(e);
            return -1; // the reader goes to a peer or the backend
        } finally {
            swap.readLock().unlock();
        }
    }

    @Override
    public boolean contains(ChunkKey key) {
        return state != State.DOWN && store.contains(key);
    }

    @Override
    public boolean isPinned(ChunkKey key) throws IOException {
        return state != State.DOWN && store.isPinned(key);
    }

    @Override
    public void willRead(ChunkKey key) {
        if (state == State.NORMAL && swap.readLock().tryLock()) {
            try {
                store.willRead(key);
            } finally {
                swap.readLock().unlock();
            }
        }
    }

    @Override
    public boolean acceptsChunks() {
        State s = state;
        return s == State.NORMAL || s == State.UNSTABLE;
    }

    @Override
    public void put(ChunkKey key, ByteBuffer data, boolean pinned) throws IOException {
        write(s -> s.put(key, data, pinned));
    }

    @Override
    public void putScratch(ChunkKey key, ByteBuffer data, long ino) throws IOException {
        write(s -> s.putScratch(key, data, ino));
    }

    @Override
    public void putFetched(ChunkKey key, ByteBuffer data) throws IOException {
        write(s -> s.putFetched(key, data));
    }

    @Override
    public long scratchOwner(ChunkKey key) throws IOException {
        return state == State.DOWN ? 0 : store.scratchOwner(key);
    }

    /** A chunk stored in the store as it is now. */
    @FunctionalInterface
    private interface Write {
        void to(DiskChunkStore store) throws IOException;
    }

    private void write(Write w) throws IOException {
        ensureOpen();
        refuseWritesUnlessAccepting();
        swap.readLock().lock();
        try {
            w.to(store);
        } catch (CacheFullException e) {
            throw e; // the cache's own limit, not a disk fault
        } catch (IOException e) {
            throw failed(e);
        } finally {
            swap.readLock().unlock();
        }
    }

    @Override
    public void sync(ChunkKey key) throws IOException {
        ensureOpen();
        refuseWritesUnlessAccepting();
        swap.readLock().lock();
        try {
            store.sync(key);
        } catch (IOException e) {
            throw failed(e);
        } finally {
            swap.readLock().unlock();
        }
    }

    @Override
    public Optional<Exported> export(ChunkKey key) throws IOException {
        ensureOpen();
        if (state == State.DOWN) {
            return Optional.empty();
        }
        swap.readLock().lock();
        try {
            return store.export(key);
        } catch (IOException e) {
            failed(e);
            return Optional.empty();
        } finally {
            swap.readLock().unlock();
        }
    }

    @Override
    public Set<ChunkKey> pinnedKeys() {
        return store.pinnedKeys();
    }

    @Override
    public void remove(ChunkKey key) throws IOException {
        ensureOpen();
        if (state == State.DOWN) {
            pendingRemovals.add(key);
            return;
        }
        swap.readLock().lock();
        try {
            store.remove(key);
        } catch (IOException e) {
            failed(e);
            pendingRemovals.add(key);
        } finally {
            swap.readLock().unlock();
        }
    }

    /** Only while the disk takes writes; a store that cannot keeps nothing, and the caller removes. */
    @Override
    public boolean adopt(ChunkKey from, ChunkKey to, int length) throws IOException {
        ensureOpen();
        if (!acceptsChunks()) {
            return false;
        }
        swap.readLock().lock();
        try {
            return store.adopt(from, to, length);
        } catch (IOException e) {
            throw failed(e);
        } finally {
            swap.readLock().unlock();
        }
    }

    /** Only while the disk takes writes (it writes the index). */
    @Override
    public boolean keepResident(ChunkKey key, String pin) throws IOException {
        ensureOpen();
        if (!acceptsChunks()) {
            return false;
        }
        swap.readLock().lock();
        try {
            return store.keepResident(key, pin);
        } catch (IOException e) {
            throw failed(e);
        } finally {
            swap.readLock().unlock();
        }
    }

    /** A release while the disk is down is lost: those chunks stay resident until the limit turns them. */
    @Override
    public void releaseResident(String pin) throws IOException {
        ensureOpen();
        if (state == State.DOWN) {
            log.warn("cache disk down: chunks of unpinned /{} stay resident", pin);
            return;
        }
        swap.readLock().lock();
        try {
            store.releaseResident(pin);
        } catch (IOException e) {
            throw failed(e);
        } finally {
            swap.readLock().unlock();
        }
    }

    @Override
    public ChunkStoreStats stats() {
        return store.stats().withDisk(state.label(), errors.sum());
    }

    private void refuseWritesUnlessAccepting() throws CacheDiskException {
        CacheDiskException r = refusal;
        if (!acceptsChunks() && r != null) {
            throw new CacheDiskException(config.dir(), r.kind(), "not storing new chunks until it recovers ("
                    + r.getMessage() + ")");
        }
    }

    /** Records a failure of the disk and moves the state machine; gives what writers should see. */
    private CacheDiskException failed(IOException e) {
        if (e instanceof CacheDiskException cde) {
            return cde;
        }
        errors.increment();
        CacheDiskException.Kind kind = CacheDiskException.classify(e);
        CacheDiskException ex = new CacheDiskException(config.dir(), kind, e.getMessage());
        synchronized (this) {
            if (closed || state == State.DOWN) {
                return ex;
            }
            if (kind != CacheDiskException.Kind.FAILING) {
                enter(State.READ_ONLY, ex);
                scheduleProbe(recheck);
            } else if (state == State.UNSTABLE && errorsSinceProbe.incrementAndGet() >= ERRORS_TO_DOWN) {
                enter(State.DOWN, ex);
            } else if (state != State.UNSTABLE) {
                errorsSinceProbe.set(0);
                enter(State.UNSTABLE, ex);
                scheduleProbe(Duration.ZERO);
            }
        }
        return ex;
    }

    private void enter(State next, CacheDiskException why) {
        State before = state;
        refusal = why;
        state = next;
        if (before == next) {
            return;
        }
        switch (next) {
            case NORMAL -> log.info("cache disk {} is healthy again; caching resumes", config.dir());
            case UNSTABLE -> log.warn("cache disk {} reported an I/O error ({}); checking it", config.dir(),
                    why.getMessage());
            case READ_ONLY -> log.warn("{}: cached chunks are still served, new ones are read into memory instead,"
                    + " scratch writes fail; next check in {}", why.getMessage(), recheck);
            case DOWN -> log.error("{}: nothing is read from or written to it, reads go to peers and the backend,"
                    + " scratch writes fail with EIO; next check in {}", why.getMessage(), recheck);
            default -> throw new IllegalStateException(next.toString());
        }
    }

    private void scheduleProbe(Duration delay) {
        if (!closed && probeScheduled.compareAndSet(false, true)) {
            try {
                prober.schedule(this::probe, delay.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                probeScheduled.set(false); // closing
            }
        }
    }

    /** Checks the disk end to end and sets the state from what it finds. */
    private void probe() {
        probeScheduled.set(false);
        if (closed) {
            return;
        }
        CacheDiskException problem = check();
        synchronized (this) {
            if (closed) {
                return;
            }
            errorsSinceProbe.set(0);
            if (problem == null) {
                enter(State.NORMAL, null);
            } else {
                enter(problem.kind() == CacheDiskException.Kind.FAILING ? State.DOWN : State.READ_ONLY, problem);
                scheduleProbe(recheck);
                return;
            }
        }
        applyPendingRemovals();
    }

    /** Null when the disk reads, writes and indexes; else what is wrong. */
    private CacheDiskException check() {
        try {
            readProbe();
            try (DirectoryStream<Path> chunks = Files.newDirectoryStream(config.dir().resolve("chunks"))) {
                chunks.iterator().hasNext();
            }
        } catch (IOException | java.nio.file.DirectoryIteratorException e) {
            return new CacheDiskException(config.dir(), CacheDiskException.Kind.FAILING, "reading fails: " + e);
        }
        try {
            writeProbe();
        } catch (IOException e) {
            return new CacheDiskException(config.dir(), CacheDiskException.classify(e), "writing fails: " + e);
        }
        try {
            store.checkIndex();
        } catch (IOException first) {
            try {
                reopen(); // RocksDB takes no writes after a failed one until it is opened again
                store.checkIndex();
            } catch (IOException e) {
                return new CacheDiskException(config.dir(), CacheDiskException.classify(e),
                        "the chunk index fails: " + e.getMessage());
            }
        }
        return null;
    }

    private void readProbe() throws IOException {
        try {
            byte[] found = Files.readAllBytes(probeFile);
            if (!Arrays.equals(found, probeBytes)) {
                throw new IOException(probeFile + " reads back different bytes than were written");
            }
        } catch (NoSuchFileException e) {
            // not written yet (first probe) or lost: writing it is the next check
        }
    }

    private void writeProbe() throws IOException {
        Path tmp = config.dir().resolve("probe.tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(probeBytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(false);
        }
        Files.move(tmp, probeFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private void reopen() throws IOException {
        swap.writeLock().lock();
        try {
            store.close();
            store = DiskChunkStore.open(config);
            log.info("cache disk {}: chunk store reopened", config.dir());
        } finally {
            swap.writeLock().unlock();
        }
    }

    private void applyPendingRemovals() {
        for (ChunkKey key : pendingRemovals) {
            swap.readLock().lock();
            try {
                store.remove(key);
                pendingRemovals.remove(key);
            } catch (IOException e) {
                failed(e);
                return; // the disk failed again: the next recovery retries
            } finally {
                swap.readLock().unlock();
            }
        }
    }

    private void ensureOpen() throws PeerFsException {
        if (closed) {
            throw new PeerFsException("chunk store " + config.dir() + " is closed");
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        prober.shutdownNow();
        swap.writeLock().lock();
        try {
            store.close();
        } finally {
            swap.writeLock().unlock();
        }
    }
}
