package io.peerfs.fetch;

import io.peerfs.Stopping;
import io.peerfs.backend.Backend;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.chunk.ChunkStore;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves chunk reads: from the local {@link ChunkStore}, else by loading the whole chunk
 * from the backend once (concurrent readers of the same chunk wait for that one load),
 * storing it, and serving it from the store. When the store cannot take the chunk (full
 * of pinned data, disk failing), the read goes to the backend directly: slower, never
 * wrong. With a {@link PeerSource}, a miss first asks the chunk's owner among the peers;
 * only the owner (or the node after failed ones) loads a chunk from the backend, so the
 * backend sees each chunk about once per cluster. A chunk loaded into memory is readable at
 * once; its file is written to the store behind the readers, by a writer thread.
 */
public final class ChunkFetcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ChunkFetcher.class);
    /** Memory for chunks fetched from peers when they are not kept in the store. */
    private static final long PEER_WINDOW_BYTES = 32L << 20;
    /**
     * Memory for chunks just loaded into the store: enough for a few sequential readers,
     * each with its current chunk and the ones read ahead.
     */
    private static final long LOADED_WINDOW_BYTES = 64L << 20;
    /**
     * Chunks loaded and waiting for the writer, at most: a loader that finds the queue full
     * writes its chunk itself, so loads never run further ahead of the cache disk than this.
     */
    private static final int WRITE_QUEUE = 4;

    /**
     * Counters since start, and {@code storesPending}: chunks loaded, readable from memory,
     * whose files the writer has not written yet.
     */
    public record Stats(long backendLoads, long singleFlightWaits, long directReads, long prefetches, long peerLoads,
                        int storesPending) {
    }

    private final ChunkStore store;
    private final Backend backend;
    private final ThreadPoolExecutor readahead;
    private final ConcurrentHashMap<ChunkKey, CompletableFuture<Boolean>> inflight = new ConcurrentHashMap<>();
    /**
     * Backend loads of chunks this node owns, for its own readers and for peers alike. Apart
     * from {@link #inflight}, so a peer's request never waits on this node asking a peer.
     */
    private final ConcurrentHashMap<ChunkKey, CompletableFuture<Boolean>> ownerInflight = new ConcurrentHashMap<>();
    /** Writes chunks just loaded into the store while readers read them from {@link #loaded}. */
    private final ThreadPoolExecutor writer;
    /**
     * Chunks in {@link #loaded} whose files are being written, each completing with whether the
     * store kept it; while here a chunk stays readable in memory.
     */
    private final ConcurrentHashMap<ChunkKey, CompletableFuture<Boolean>> storing = new ConcurrentHashMap<>();
    private volatile PeerSource peers;
    private volatile PinnedPaths pins = PinnedPaths.NONE;
    /** Chunks fetched from peers, when the store does not keep copies of them; null when it does. */
    private volatile ChunkWindow peerWindow;
    /** Chunks read while the store takes none (its disk is full, read-only or failing). */
    private final ChunkWindow diskless;
    /**
     * Chunks just loaded into the store, served from memory: their readers are usually right
     * behind the load, and the store writes their files past the page cache.
     */
    private final ChunkWindow loaded;
    private final int chunkSize;
    private final ChunkMemory memory;
    /** Whether a sequential reader's next stored chunks are read into the page cache ahead of it. */
    private final boolean storedReadahead;
    private final LongAdder peerLoads = new LongAdder();
    private final LongAdder backendLoads = new LongAdder();
    private final LongAdder singleFlightWaits = new LongAdder();
    private final LongAdder directReads = new LongAdder();
    private final LongAdder prefetches = new LongAdder();
    private volatile long lastStoreWarningMs;

    /**
     * A fetcher whose readers read stored chunks through the page cache: their next chunks
     * are read into it ahead of them.
     *
     * @param readaheadThreads threads loading chunks ahead of sequential readers (0 disables readahead)
     */
    public ChunkFetcher(ChunkStore store, Backend backend, int chunkSize, int readaheadThreads) {
        this(store, backend, chunkSize, readaheadThreads, true);
    }

    /**
     * @param readaheadThreads threads loading chunks ahead of sequential readers (0 disables readahead)
     * @param storedReadahead whether the stored chunks a sequential reader will reach are read
     *     into the page cache ahead of it: right for readers of small requests into buffers
     *     of their own (libfuse 2), wasted where the store reads the chunk files past the page
     *     cache into the kernel's aligned buffers (libfuse 3), which would read them twice
     */
    public ChunkFetcher(ChunkStore store, Backend backend, int chunkSize, int readaheadThreads,
                        boolean storedReadahead) {
        this(store, backend, chunkSize, readaheadThreads, storedReadahead, ChunkMemory.OFF_HEAP);
    }

    /**
     * @param readaheadThreads threads loading chunks ahead of sequential readers (0 disables readahead)
     * @param storedReadahead see {@link #ChunkFetcher(ChunkStore, Backend, int, int, boolean)}
     * @param memory where chunks held in memory are: with a file descriptor, they can be
     *     {@linkplain #hold held} for a reply instead of copied
     */
    public ChunkFetcher(ChunkStore store, Backend backend, int chunkSize, int readaheadThreads,
                        boolean storedReadahead, ChunkMemory memory) {
        this.store = store;
        this.memory = memory;
        this.storedReadahead = storedReadahead;
        this.backend = backend;
        this.chunkSize = chunkSize;
        this.diskless = new ChunkWindow(chunkSize, (int) Math.max(2, PEER_WINDOW_BYTES / chunkSize), false, memory);
        this.loaded = new ChunkWindow(chunkSize, (int) Math.max(2, LOADED_WINDOW_BYTES / chunkSize), true, memory);
        AtomicInteger n = new AtomicInteger();
        this.readahead = new ThreadPoolExecutor(Math.max(1, readaheadThreads), Math.max(1, readaheadThreads),
                30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(4 * Math.max(1, readaheadThreads)), r -> {
                    Thread t = new Thread(r, "peerfs-readahead-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.DiscardPolicy());
        readahead.allowCoreThreadTimeOut(true);
        this.writer = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(WRITE_QUEUE), r -> {
            Thread t = new Thread(r, "peerfs-chunk-writer");
            t.setDaemon(true);
            return t;
        }, (write, pool) -> write.run()); // queue full or shut down: the loader writes its chunk itself
        writer.allowCoreThreadTimeOut(true);
    }

    /**
     * Copies bytes of the chunk, from {@code offsetInChunk} up to {@code dst.remaining()}
     * or the chunk's end, into {@code dst}.
     *
     * @return bytes copied
     */
    public int read(ChunkRef ref, long offsetInChunk, ByteBuffer dst) throws IOException {
        for (int attempt = 0; attempt < 3; attempt++) {
            int n = loaded.read(ref.key(), offsetInChunk, dst);
            if (n < 0) {
                n = store.read(ref.key(), offsetInChunk, dst);
            }
            ChunkWindow window = peerWindow;
            if (n < 0 && window != null) {
                n = window.read(ref.key(), offsetInChunk, dst);
            }
            if (n < 0) {
                n = diskless.read(ref.key(), offsetInChunk, dst);
            }
            if (n >= 0) {
                return n;
            }
            if (!store.acceptsChunks()) {
                return readWithoutStore(ref, offsetInChunk, dst);
            }
            if (!load(ref) && !loaded.contains(ref.key())) {
                break; // the store could not keep it, nor memory
            }
            // loop and serve it from memory or the store (either may drop it at once, hence the bound)
        }
        return readDirect(ref, offsetInChunk, dst);
    }

    /**
     * Holds up to {@code length} bytes of the chunk from {@code offsetInChunk} where they are
     * in memory, for a reply handed to the kernel by file descriptor rather than copied: a
     * chunk not yet anywhere on this node is fetched first (into memory, as for {@link #read}).
     * Counted as read.
     *
     * @return the hold, to close once the bytes were sent; null when they are not in memory
     *     with a file descriptor (stored on the cache disk, or in plain memory): then {@link #read}
     */
    public HeldBytes hold(ChunkRef ref, long offsetInChunk, int length) throws IOException {
        HeldBytes held = holdInMemory(ref, offsetInChunk, length);
        if (held == null && store.acceptsChunks() && !store.contains(ref.key())) {
            load(ref); // waits for a load on its way, like a read
            held = holdInMemory(ref, offsetInChunk, length);
        }
        return held;
    }

    private HeldBytes holdInMemory(ChunkRef ref, long offsetInChunk, int length) {
        HeldBytes held = loaded.hold(ref.key(), offsetInChunk, length);
        ChunkWindow window = peerWindow;
        if (held == null && window != null) {
            held = window.hold(ref.key(), offsetInChunk, length);
        }
        return held != null ? held : diskless.hold(ref.key(), offsetInChunk, length);
    }

    /**
     * A read while the store takes no chunks (its disk is full, read-only or failing): the
     * chunk is fetched once into memory, from its owner or the backend, and the next reads
     * of it are served from there.
     */
    private int readWithoutStore(ChunkRef ref, long offsetInChunk, ByteBuffer dst) throws IOException {
        boolean held = singleFlight(inflight, ref, () -> diskless.contains(ref.key())
                || diskless.fill(ref.key(), ref.length(), buf -> fetchIntoMemory(ref, buf)));
        int n = held ? diskless.read(ref.key(), offsetInChunk, dst) : -1;
        return n >= 0 ? n : readDirect(ref, offsetInChunk, dst);
    }

    private boolean fetchIntoMemory(ChunkRef ref, ByteBuffer buf) throws IOException {
        PeerSource p = peers;
        if (p != null && !p.ownedHere(ref.key()) && p.fetch(ref, buf)) {
            peerLoads.increment();
            return true;
        }
        buf.clear().limit(ref.length());
        backendLoads.increment();
        int n = backend.readVersion(ref.backendPath(), ref.fileOffset(), buf, ref.version().size(),
                ref.version().mtimeNs());
        if (n != ref.length()) {
            throw new BackendChangedException(ref.backendPath(), ref.fileOffset(), ref.length(), n);
        }
        return true;
    }

    /**
     * Loads the chunk into the store in the background unless it is there or on its way; one
     * that is there is read from the cache disk ahead of the reader.
     */
    public void prefetch(ChunkRef ref) {
        if (store.contains(ref.key())) {
            if (storedReadahead) {
                readahead.execute(() -> store.willRead(ref.key())); // from the cache disk, in large reads
            }
            return;
        }
        ChunkWindow window = peerWindow;
        if (!store.acceptsChunks() || inflight.containsKey(ref.key()) || storing.containsKey(ref.key())
                || diskless.contains(ref.key()) || (window != null && window.contains(ref.key()))) {
            return;
        }
        readahead.execute(() -> {
            try {
                if (!readableHere(ref.key())) {
                    prefetches.increment();
                    load(ref);
                }
            } catch (IOException e) {
                log.debug("readahead of {} chunk at {} failed: {}", ref.backendPath(), ref.fileOffset(), e.toString());
            }
        });
    }

    /**
     * Puts peers between the store and the backend; call before the first read.
     *
     * @param keepCopies whether chunks fetched from peers are also kept in this node's store
     *     (readers here come back to them); without, only the last few stay, in memory
     */
    public void usePeers(PeerSource source, boolean keepCopies) {
        this.peerWindow = keepCopies ? null
                : new ChunkWindow(chunkSize, (int) Math.max(2, PEER_WINDOW_BYTES / chunkSize), false, memory);
        this.peers = source;
    }

    /** Where the pinned paths come from: chunks of their files are kept resident when stored, warmed or served. */
    public void pinsFrom(PinnedPaths source) {
        this.pins = source;
    }

    /**
     * Makes sure the chunk is in the store without asking peers: from the backend once
     * however many callers ask. What the owner of a chunk does, for itself and for peers.
     *
     * @return false when the store could not keep it
     */
    public boolean loadLocally(ChunkRef ref) throws IOException {
        loadOwned(ref);
        boolean stored = awaitStored(ref.key());
        if (stored) {
            keepIfPinned(ref, pins.pinOf(pathOf(ref)));
        }
        return stored;
    }

    /**
     * A member's KEEP ({@code peerfs cache pin --cluster}): loads the chunk here if it is not
     * (this node owns it) and keeps it resident for the pin that covers its path, reading the
     * pins again when this node does not know that pin yet.
     *
     * @return false when no pin covers the path or the store could not keep the chunk
     */
    public boolean keepForPeer(ChunkRef ref) throws IOException {
        String pin = pins.pinOfNow(pathOf(ref));
        if (pin == null) {
            return false;
        }
        loadOwned(ref);
        return awaitStored(ref.key()) && store.keepResident(ref.key(), pin);
    }

    /**
     * {@code peerfs cache pin --cluster} of one chunk: kept resident by its owner (asked), or
     * here when this node owns it (or has no peers).
     *
     * @return false when the chunk's store did not keep it resident
     */
    public boolean pinAtOwner(ChunkRef ref) throws IOException {
        PeerSource p = peers;
        if (p == null || p.ownedHere(ref.key())) {
            return keepForPeer(ref);
        }
        return p.keep(ref);
    }

    /** The path a chunk's key derives from: what pins are matched against. */
    private static String pathOf(ChunkRef ref) {
        return ref.version() == null ? ref.backendPath() : ref.version().path();
    }

    /** Keeps a stored chunk resident when {@code pin} is not null; a failure only costs that. */
    private void keepIfPinned(ChunkRef ref, String pin) {
        if (pin == null) {
            return;
        }
        try {
            store.keepResident(ref.key(), pin);
        } catch (IOException e) {
            warnStore(e);
        }
    }

    /** {@link #loadLocally} without waiting for the store: true once the chunk can be read here. */
    private boolean loadOwned(ChunkRef ref) throws IOException {
        return singleFlight(ownerInflight, ref, () -> readableHere(ref.key()) || loadFromBackend(ref));
    }

    /**
     * Makes sure the chunk can be read here (in the store, or in memory while its file is
     * written), loading it once however many callers ask; false if it could be neither.
     */
    private boolean load(ChunkRef ref) throws IOException {
        PeerSource p = peers;
        if (p == null || p.ownedHere(ref.key())) {
            return loadOwned(ref);
        }
        return singleFlight(inflight, ref, () -> readableHere(ref.key()) || loadFromPeers(p, ref) || loadOwned(ref));
    }

    /** In the store, or in memory until the writer has stored it. */
    private boolean readableHere(ChunkKey key) {
        return store.contains(key) || storing.containsKey(key);
    }

    /** Waits for the chunk's file if the writer has it; true when the store has the chunk. */
    private boolean awaitStored(ChunkKey key) throws IOException {
        CompletableFuture<Boolean> write = storing.get(key);
        return write != null ? await(write) : store.contains(key);
    }

    /**
     * Waits until every chunk loaded so far is in the store or failed to get there (the
     * writer runs behind the readers).
     */
    public void awaitStores() throws IOException {
        for (CompletableFuture<Boolean> write : storing.values()) {
            await(write);
        }
    }

    /** A load that may fail. */
    @FunctionalInterface
    private interface Load {
        boolean run() throws IOException;
    }

    private boolean singleFlight(ConcurrentHashMap<ChunkKey, CompletableFuture<Boolean>> table, ChunkRef ref, Load load)
            throws IOException {
        CompletableFuture<Boolean> mine = new CompletableFuture<>();
        CompletableFuture<Boolean> leader = table.putIfAbsent(ref.key(), mine);
        if (leader != null) {
            singleFlightWaits.increment();
            return await(leader);
        }
        try {
            boolean stored = load.run();
            mine.complete(stored);
            return stored;
        } catch (IOException | RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            table.remove(ref.key(), mine);
        }
    }

    /**
     * Warmup of one chunk: into this node's store (from its owner or the backend, whatever
     * {@code --keep-peer-chunks} says), or with {@code atOwner} into its owner's store: the
     * owner is asked to load it (LOAD) and sends nothing back, so a cluster warmup costs this
     * node's link nothing; when it does not answer, this node reads it through the owner or
     * the next one and keeps a copy, as for any read.
     *
     * @return false when the store that should keep it could not
     */
    public boolean warm(ChunkRef ref, boolean atOwner) throws IOException {
        PeerSource p = peers;
        if (atOwner && p != null && !p.ownedHere(ref.key()) && p.load(ref)) {
            return true;
        }
        if (store.contains(ref.key())) {
            keepIfPinned(ref, pins.pinOf(pathOf(ref)));
            return true;
        }
        if (atOwner || p == null || p.ownedHere(ref.key())) {
            load(ref);
        } else {
            singleFlight(inflight, ref, () -> readableHere(ref.key()) || fetchIntoStore(p, ref) || loadOwned(ref));
        }
        boolean stored = awaitStored(ref.key());
        if (stored) {
            keepIfPinned(ref, pins.pinOf(pathOf(ref)));
        }
        return stored;
    }

    /** True when a read of the chunk will come from the store: it is there and not held in memory. */
    public boolean readsFromStore(ChunkRef ref) {
        ChunkWindow window = peerWindow;
        return !loaded.contains(ref.key()) && !diskless.contains(ref.key())
                && (window == null || !window.contains(ref.key())) && store.contains(ref.key());
    }

    /**
     * Drops the chunk from this node's cache, unless pinned (scratch and staged data are the
     * only copy); true when it was cached here.
     */
    public boolean evict(ChunkRef ref) throws IOException {
        if (!store.contains(ref.key()) || store.isPinned(ref.key())) {
            return false;
        }
        store.remove(ref.key());
        return true;
    }

    /** Asks the chunk's owner to drop it too; false without peers or when this node owns it. */
    public boolean evictAtOwner(ChunkRef ref) throws IOException {
        PeerSource p = peers;
        return p != null && p.evict(ref);
    }

    /** True when the chunk is in this node's store. */
    public boolean cached(ChunkRef ref) {
        return store.contains(ref.key());
    }

    /** The chunk from a peer, stored here too (this node's readers come back to it) unless copies are not kept. */
    private boolean loadFromPeers(PeerSource p, ChunkRef ref) throws IOException {
        ChunkWindow window = peerWindow;
        if (window != null) {
            boolean fetched = window.fill(ref.key(), ref.length(), dst -> p.fetch(ref, dst));
            if (fetched) {
                peerLoads.increment();
            }
            return fetched;
        }
        return fetchIntoStore(p, ref);
    }

    /** The chunk from a peer into memory, then into this node's store; false when no peer had it. */
    private boolean fetchIntoStore(PeerSource p, ChunkRef ref) throws IOException {
        ChunkWindow.Kept kept = loaded.fillAndKeep(ref.key(), ref.length(), buf -> {
            if (!p.fetch(ref, buf)) {
                return false;
            }
            peerLoads.increment();
            return true;
        });
        if (kept == null) {
            return false;
        }
        storeBehind(ref, kept);
        return true;
    }

    /** The chunk from the backend into memory, then into the store; true once readable from memory. */
    private boolean loadFromBackend(ChunkRef ref) throws IOException {
        ChunkWindow.Kept kept = loaded.fillAndKeep(ref.key(), ref.length(), buf -> {
            backendLoads.increment();
            int n = backend.readVersion(ref.backendPath(), ref.fileOffset(), buf, ref.version().size(),
                    ref.version().mtimeNs());
            if (n != ref.length()) {
                throw new BackendChangedException(ref.backendPath(), ref.fileOffset(), ref.length(), n);
            }
            return true;
        });
        storeBehind(ref, kept);
        return true;
    }

    /**
     * Has the writer store a chunk just loaded and kept in memory, which readers read from
     * meanwhile; the chunk is let go in memory once its file is written (or failed to be). A
     * chunk of a pinned path is kept resident.
     */
    private void storeBehind(ChunkRef ref, ChunkWindow.Kept kept) {
        ChunkKey key = ref.key();
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        storing.put(key, done);
        writer.execute(() -> {
            boolean stored = false;
            try {
                stored = keep(key, kept.bytes());
                if (stored) {
                    keepIfPinned(ref, pins.pinOf(pathOf(ref)));
                }
            } finally {
                kept.close();
                storing.remove(key, done);
                done.complete(stored);
            }
        });
    }

    /** Stores a chunk's bytes (position to limit); false when the store could not keep it. */
    private boolean keep(ChunkKey key, ByteBuffer chunk) {
        try {
            store.putFetched(key, chunk);
            return true;
        } catch (IOException e) {
            warnStore(e);
            return false; // readers read from memory or the backend; slower, never wrong
        } catch (RuntimeException e) {
            log.error("storing chunk {} failed unexpectedly; it is read from the backend again", key, e);
            return false;
        }
    }

    private void warnStore(IOException e) {
        long now = System.currentTimeMillis();
        if (now - lastStoreWarningMs > 10_000) { // at most one line per 10 s, not one per chunk
            lastStoreWarningMs = now;
            log.warn("chunk cache is not keeping new chunks, reading from the backend instead: {}", e.getMessage());
        }
    }

    private static boolean await(CompletableFuture<Boolean> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for a chunk");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause());
        }
    }

    private int readDirect(ChunkRef ref, long offsetInChunk, ByteBuffer dst) throws IOException {
        directReads.increment();
        log.debug("direct backend read of {} chunk {} at {} (+{})", ref.backendPath(), ref.key(), ref.fileOffset(),
                offsetInChunk);
        long want = Math.max(0, Math.min(dst.remaining(), ref.length() - offsetInChunk));
        ByteBuffer view = dst.slice(dst.position(), (int) want);
        int n = backend.read(ref.backendPath(), ref.fileOffset() + offsetInChunk, view);
        dst.position(dst.position() + n);
        return n;
    }

    public Stats stats() {
        return new Stats(backendLoads.sum(), singleFlightWaits.sum(), directReads.sum(), prefetches.sum(),
                peerLoads.sum(), storing.size());
    }

    @Override
    public void close() {
        readahead.shutdownNow();
        writer.shutdown(); // the chunks loaded so far are written before the store closes
        if (!Stopping.awaitStopped(writer, 10)) {
            log.warn("chunk writer still running after 10 s; the chunks it has not written are read again later");
        }
    }
}
