package io.peerfs.chunk.disk;

import io.peerfs.PeerFsException;
import io.peerfs.chunk.CacheFullException;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.ChunkStoreStats;
import io.peerfs.chunk.DirectBufferPool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ChunkStore} on a local disk: one file per chunk under {@code <dir>/chunks},
 * index in RocksDB under {@code <dir>/index}, per-block CRC32C checked on every read,
 * LRU eviction of unpinned chunks to stay under the configured size and free-space ratio.
 * Opening reconciles the index with the files on disk.
 */
public final class DiskChunkStore implements ChunkStore {
    private static final Logger log = LoggerFactory.getLogger(DiskChunkStore.class);
    private static final int MAX_OPEN_CHUNKS = 512;

    private final ChunkStoreConfig config;
    private final ChunkFiles files;
    private final ChunkIndex index;
    private final FileStore fileStore;
    private final LongSupplier clockMs;
    private final ChunkLru lru = new ChunkLru();
    private final ConcurrentHashMap<ChunkKey, OpenChunk> open = new ConcurrentHashMap<>();
    private final DirectBufferPool blockBuffers = new DirectBufferPool(ChunkMeta.BLOCK_SIZE, 64);
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final AtomicLong tempCounter = new AtomicLong();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder corrupt = new LongAdder();
    private final LongAdder adopted = new LongAdder();
    private volatile boolean closed;
    private final DirectIo direct;

    private DiskChunkStore(ChunkStoreConfig config, ChunkFiles files, ChunkIndex index, FileStore fileStore,
                           LongSupplier clockMs) {
        this.config = config;
        this.files = files;
        this.index = index;
        this.fileStore = fileStore;
        this.direct = new DirectIo(config.dir(), fileStore);
        this.clockMs = clockMs;
    }

    /** Opens (creating if needed) the store in {@code config.dir()} and reconciles it with the disk. */
    public static DiskChunkStore open(ChunkStoreConfig config) throws IOException {
        return open(config, System::currentTimeMillis);
    }

    static DiskChunkStore open(ChunkStoreConfig config, LongSupplier clockMs) throws IOException {
        Path chunkDir = config.dir().resolve("chunks");
        Path indexDir = config.dir().resolve("index");
        Files.createDirectories(chunkDir);
        Files.createDirectories(indexDir);
        ChunkIndex index = ChunkIndex.open(indexDir);
        DiskChunkStore store = new DiskChunkStore(config, new ChunkFiles(chunkDir), index,
                Files.getFileStore(chunkDir), clockMs);
        try {
            store.reconcile();
        } catch (IOException | RuntimeException e) {
            index.close();
            throw e;
        }
        return store;
    }

    /** Brings index and files into agreement: both sides must exist with the same length. */
    private void reconcile() throws IOException {
        Map<ChunkKey, ChunkMeta> indexed = new HashMap<>();
        index.forEach((key, meta) -> indexed.put(key, meta));
        Map<ChunkKey, ChunkMeta> kept = new HashMap<>();
        int[] orphans = {0};
        int moved = files.scan(key -> {
            ChunkMeta meta = indexed.get(key);
            Path p = files.pathOf(key);
            try {
                if (meta != null && Files.size(p) == meta.length()) {
                    kept.put(key, meta);
                } else {
                    orphans[0]++;
                    Files.deleteIfExists(p);
                }
            } catch (IOException e) {
                log.warn("cannot check chunk file {}: {}", p, e.toString());
            }
        });
        if (moved > 0) {
            log.info("chunk store {}: moved {} chunk files from the earlier two-level layout", config.dir(), moved);
        }
        files.prepare();
        int dropped = 0;
        for (ChunkKey key : indexed.keySet()) {
            if (!kept.containsKey(key)) {
                index.delete(key);
                dropped++;
            }
        }
        kept.entrySet().stream()
                .sorted((a, b) -> Long.compare(a.getValue().lastAccessMs(), b.getValue().lastAccessMs()))
                .forEach(e -> lru.add(e.getKey(), new ChunkLru.Entry(e.getValue().length(), e.getValue().pinned(),
                        e.getValue().lastAccessMs(), e.getValue().group())));
        if (orphans[0] > 0 || dropped > 0) {
            log.info("chunk store {}: removed {} chunk files without index entry and {} index entries without file",
                    config.dir(), orphans[0], dropped);
        }
        synchronized (lru) {
            regroup(ordinary(lru.trimResident(config.residentLimit().bytes()))); // the limit may be lower than before
            makeRoom(null, 0);
        }
        log.info("chunk store {}: {} chunks, {} bytes ({} pinned, {} resident), capacity {}", config.dir(), lru.count(),
                lru.usedBytes(), lru.pinnedBytes(), lru.residentBytes(), config.capacity());
    }

    @Override
    public int read(ChunkKey key, long offsetInChunk, ByteBuffer dst) throws IOException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            OpenChunk oc = acquireChunk(key);
            if (oc == null) {
                misses.increment();
                return -1;
            }
            try {
                int n = readVerified(key, oc, offsetInChunk, dst);
                hits.increment();
                bytesRead.add(n);
                synchronized (lru) {
                    lru.touch(key, clockMs.getAsLong());
                }
                return n;
            } catch (CorruptChunkException e) {
                corrupt.increment();
                log.warn("dropping corrupt chunk {}: {}", key, e.getMessage());
                drop(key);
                misses.increment();
                return -1;
            } finally {
                oc.release();
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public java.util.Optional<Exported> export(ChunkKey key) throws IOException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            synchronized (lru) {
                if (!lru.contains(key)) {
                    return java.util.Optional.empty();
                }
            }
            ChunkMeta meta = index.get(key);
            if (meta == null) {
                return java.util.Optional.empty();
            }
            java.nio.file.attribute.BasicFileAttributes attrs;
            try {
                attrs = files.attributesOf(key);
            } catch (NoSuchFileException e) {
                return java.util.Optional.empty(); // evicted meanwhile
            }
            if (!attrs.isRegularFile()) {
                dropIrregular(key);
                return java.util.Optional.empty();
            }
            if (attrs.size() != meta.length()) {
                dropWrongLength(key, attrs.size(), meta.length());
                return java.util.Optional.empty();
            }
            synchronized (lru) {
                lru.touch(key, clockMs.getAsLong());
            }
            hits.increment();
            bytesRead.add(meta.length());
            int length = meta.length();
            int[] crcs = meta.blockCrcs().clone();
            return java.util.Optional.of(new Exported(() -> openExported(key, length), length, crcs,
                    meta.sha256() == null ? null : meta.sha256().clone(), digest -> keepSha256(key, length, crcs, digest)));
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Records an exported chunk's SHA-256 (computed from its file by the one it was exported
     * to), if the index still describes the same bytes; a failure only costs the next export
     * a digest of its own.
     */
    private void keepSha256(ChunkKey key, int length, int[] crcs, byte[] digest) {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            synchronized (lru) { // as put writes the entry: a chunk stored anew meanwhile keeps its own
                ChunkMeta meta = index.get(key);
                if (meta != null && meta.sha256() == null && meta.sameBytesAs(length, crcs)) {
                    index.put(key, meta.withSha256(digest));
                }
            }
        } catch (IOException | RuntimeException e) {
            log.debug("could not keep the digest of chunk {}: {}", key, e.toString());
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Opens an exported chunk's file as it is about to be sent (see {@link Exported}). */
    private FileChannel openExported(ChunkKey key, int length) throws IOException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            FileChannel ch = files.openForRead(key);
            if (ch == null) {
                dropIrregular(key);
                throw new IOException("chunk file of " + key + " is not a regular file");
            }
            if (ch.size() != length) {
                long size = ch.size();
                ch.close();
                dropWrongLength(key, size, length);
                throw new IOException("chunk file of " + key + " has " + size + " bytes, not " + length);
            }
            return ch;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private void dropWrongLength(ChunkKey key, long size, int length) throws IOException {
        corrupt.increment();
        log.warn("chunk file of {} has {} bytes, the index says {}; dropping the chunk", key, size, length);
        drop(key);
    }

    /** The chunk's open file with a reference taken for the caller, or null when the chunk is absent. */
    private OpenChunk acquireChunk(ChunkKey key) throws IOException {
        OpenChunk oc = open.get(key);
        if (oc != null && oc.acquire()) {
            return oc;
        }
        synchronized (lru) {
            if (!lru.contains(key)) {
                return null;
            }
        }
        ChunkMeta meta = index.get(key);
        if (meta == null) {
            return null;
        }
        FileChannel ch;
        try {
            ch = files.openForRead(key);
        } catch (NoSuchFileException e) {
            if (contains(key)) { // not a concurrent eviction: the file vanished underneath us
                corrupt.increment();
                log.warn("chunk file of {} is missing; dropping the chunk", key);
                drop(key);
            }
            return null;
        }
        if (ch == null) {
            dropIrregular(key);
            return null;
        }
        oc = new OpenChunk(ch, direct.openForRead(files.pathOf(key), meta), meta); // the table's reference
        oc.acquire(); // the caller's reference
        OpenChunk previous = open.put(key, oc);
        if (previous != null) {
            previous.release();
        }
        if (!contains(key)) { // evicted meanwhile: do not keep its deleted file open
            forget(key);
        }
        trimOpenChunks();
        return oc;
    }

    private void trimOpenChunks() {
        Iterator<Map.Entry<ChunkKey, OpenChunk>> it = open.entrySet().iterator();
        while (open.size() > MAX_OPEN_CHUNKS && it.hasNext()) {
            Map.Entry<ChunkKey, OpenChunk> e = it.next();
            if (open.remove(e.getKey(), e.getValue())) {
                e.getValue().release();
            }
        }
    }

    /**
     * Reads {@code [offset, offset+n)} of the chunk into {@code dst}, verifying every block
     * touched. Whole blocks are read straight into {@code dst}, a run of them in one read, and
     * checked there: past the page cache when the chunk has a direct channel and {@code dst}
     * is aligned for it (libfuse 3's read buffers are), so the bytes go from the disk into the
     * kernel's reply without a copy through the page cache. A partly wanted block goes through
     * a pooled buffer and the page cache.
     */
    private int readVerified(ChunkKey key, OpenChunk oc, long offset, ByteBuffer dst) throws IOException {
        ChunkMeta meta = oc.meta;
        if (offset >= meta.length()) {
            return 0;
        }
        int start = (int) offset;
        int n = (int) Math.min(dst.remaining(), meta.length() - offset);
        int end = start + n;
        int base = dst.position();
        int pos = start;
        while (pos < end) {
            int block = pos / ChunkMeta.BLOCK_SIZE;
            int blockStart = block * ChunkMeta.BLOCK_SIZE;
            int blockLen = meta.blockLength(block);
            int want = Math.min(end, blockStart + blockLen) - pos;
            if (pos == blockStart && want == blockLen) {
                int runEnd = pos + blockLen; // the whole blocks from here on
                while (runEnd < end && meta.blockLength(runEnd / ChunkMeta.BLOCK_SIZE) <= end - runEnd) {
                    runEnd += meta.blockLength(runEnd / ChunkMeta.BLOCK_SIZE);
                }
                ByteBuffer run = dst.slice(base + (pos - start), runEnd - pos);
                direct.readRun(key, oc, run, pos);
                for (int at = pos; at < runEnd; at += ChunkMeta.BLOCK_SIZE) {
                    int b = at / ChunkMeta.BLOCK_SIZE;
                    verify(key, meta, b, run.slice(at - pos, meta.blockLength(b)));
                }
                pos = runEnd;
            } else {
                ByteBuffer tmp = blockBuffers.acquire();
                try {
                    tmp.limit(blockLen);
                    DirectIo.readFully(key, oc.channel, tmp, blockStart);
                    verify(key, meta, block, tmp.flip());
                    dst.put(base + (pos - start), tmp, pos - blockStart, want);
                } finally {
                    blockBuffers.release(tmp);
                }
                pos += want;
            }
        }
        dst.position(base + n);
        return n;
    }

    private static void verify(ChunkKey key, ChunkMeta meta, int block, ByteBuffer bytes) throws CorruptChunkException {
        if (ChunkMeta.crc(bytes.duplicate()) != meta.blockCrcs()[block]) {
            throw new CorruptChunkException(key, "CRC32C mismatch in block " + block);
        }
    }

    @Override
    public boolean contains(ChunkKey key) {
        synchronized (lru) {
            return lru.contains(key);
        }
    }

    @Override
    public boolean isPinned(ChunkKey key) throws IOException {
        return pinnedMeta(key) != null;
    }

    /** The index entry of a pinned chunk in the store, or null. */
    private ChunkMeta pinnedMeta(ChunkKey key) throws IOException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            ChunkMeta meta = contains(key) ? index.get(key) : null;
            return meta != null && meta.pinned() ? meta : null;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public void willRead(ChunkKey key) {
        if (contains(key)) {
            PageCacheHint.willNeed(files.pathOf(key));
        }
    }

    @Override
    public void put(ChunkKey key, ByteBuffer data, boolean pinned) throws IOException {
        put(key, data, pinned, false, 0);
    }

    @Override
    public void putScratch(ChunkKey key, ByteBuffer data, long ino) throws IOException {
        put(key, data, true, false, ino);
    }

    @Override
    public void putFetched(ChunkKey key, ByteBuffer data) throws IOException {
        put(key, data, false, true, 0);
    }

    @Override
    public long scratchOwner(ChunkKey key) throws IOException {
        ChunkMeta meta = pinnedMeta(key);
        return meta == null ? 0 : meta.owner();
    }

    private void put(ChunkKey key, ByteBuffer data, boolean pinned, boolean direct, long owner) throws IOException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            ChunkMeta meta = ChunkMeta.describe(data, pinned, clockMs.getAsLong(), owner);
            synchronized (lru) {
                makeRoom(key, meta.length());
                lru.reserve(meta.length());
            }
            Path tmp = files.tempFor(key, tempCounter.incrementAndGet());
            boolean done = false;
            try {
                try {
                    this.direct.writeFile(tmp, data.duplicate(), direct);
                } catch (NoSuchFileException e) { // its folder was removed under the store
                    files.prepare();
                    this.direct.writeFile(tmp, data.duplicate(), direct);
                }
                Files.move(tmp, files.pathOf(key), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                forget(key); // a replaced chunk's open channel would read the old file
                synchronized (lru) { // under the lock, as keepSha256 reads and writes the entry
                    index.put(key, meta);
                    lru.unreserve(meta.length());
                    lru.add(key, new ChunkLru.Entry(meta.length(), pinned, meta.lastAccessMs()));
                }
                bytesWritten.add(meta.length());
                done = true;
            } finally {
                if (!done) {
                    synchronized (lru) {
                        lru.unreserve(meta.length());
                    }
                    Files.deleteIfExists(tmp);
                }
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public void sync(ChunkKey key) throws IOException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            Path file = files.pathOf(key);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.force(false);
            }
            try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                dir.force(true); // the rename that made the file is durable only with its directory
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Evicts least recently used unpinned chunks (never {@code key} itself) until
     * {@code bytes} more fit under the capacity and the free-space ratio. Caller holds the
     * {@code lru} lock. With {@code bytes == 0} (at open) it trims what it can and never fails.
     */
    private void makeRoom(ChunkKey key, long bytes) throws IOException {
        long capacity = config.capacity().bytes();
        while (true) {
            boolean overCapacity = lru.committedBytes() + bytes > capacity;
            boolean lowSpace = bytes > 0
                    && fileStore.getUsableSpace() - bytes < config.freeSpaceRatio() * fileStore.getTotalSpace();
            if (!overCapacity && !lowSpace) {
                return;
            }
            ChunkKey victim = lru.oldestUnpinned(key);
            if (victim == null) {
                if (bytes == 0) {
                    return; // reopened over the limit with only pinned data: keep all of it
                }
                throw new CacheFullException(key, overCapacity
                        ? "--cache-size " + config.capacity() + " reached with " + lru.pinnedBytes()
                            + " bytes pinned (scratch or not yet uploaded result data)"
                        : "--free-space-ratio " + config.freeSpaceRatio() + " reached on the cache disk of "
                            + config.dir() + " (" + fileStore.getUsableSpace() + " bytes free)");
            }
            evict(victim);
        }
    }

    private void evict(ChunkKey key) throws IOException {
        ChunkLru.Entry e = lru.remove(key);
        if (e == null) {
            return;
        }
        forget(key);
        Files.deleteIfExists(files.pathOf(key));
        index.delete(key);
        evictions.increment();
    }

    /** Removes a chunk found corrupt or missing. */
    private void dropIrregular(ChunkKey key) throws IOException {
        corrupt.increment();
        log.warn("chunk file of {} is not a regular file; dropping the chunk", key);
        drop(key);
    }

    private void drop(ChunkKey key) throws IOException {
        synchronized (lru) {
            lru.remove(key);
        }
        forget(key);
        Files.deleteIfExists(files.pathOf(key));
        index.delete(key);
    }

    private void forget(ChunkKey key) {
        OpenChunk oc = open.remove(key);
        if (oc != null) {
            oc.release();
        }
    }

    /**
     * A rename of the chunk file. The index names {@code to} before the file moves and forgets
     * {@code from} after, so a crash between leaves an entry without a file (dropped at open),
     * never a file under a key whose entry describes other bytes.
     */
    @Override
    public boolean adopt(ChunkKey from, ChunkKey to, int length) throws IOException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            ChunkMeta meta = index.get(from);
            if (meta == null || meta.length() != length || from.equals(to)) {
                return false;
            }
            long now = clockMs.getAsLong();
            forget(from);
            forget(to);
            synchronized (lru) {
                lru.remove(to);
            }
            index.put(to, new ChunkMeta(meta.length(), meta.crc(), meta.blockCrcs(), false, now, 0));
            try {
                Files.move(files.pathOf(from), files.pathOf(to), StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException | RuntimeException e) {
                index.delete(to);
                throw e;
            }
            index.delete(from);
            synchronized (lru) {
                lru.remove(from);
                lru.add(to, new ChunkLru.Entry(meta.length(), false, now));
            }
            adopted.increment();
            return true;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public boolean keepResident(ChunkKey key, String pin) throws IOException {
        long group = ChunkMeta.group(pin);
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            synchronized (lru) {
                Map<ChunkKey, Long> regrouped = new HashMap<>();
                boolean kept = lru.makeResident(key, group, config.residentLimit().bytes(), regrouped);
                regroup(regrouped);
                return kept;
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public void releaseResident(String pin) throws IOException {
        long group = ChunkMeta.group(pin);
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            synchronized (lru) {
                regroup(ordinary(lru.release(group)));
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private static Map<ChunkKey, Long> ordinary(List<ChunkKey> keys) {
        Map<ChunkKey, Long> out = new HashMap<>();
        keys.forEach(k -> out.put(k, 0L));
        return out;
    }

    /**
     * Writes each chunk's new group into its index entry, so a restart finds the same chunks
     * resident. Caller holds the {@code lru} lock.
     */
    private void regroup(Map<ChunkKey, Long> groups) throws PeerFsException {
        Map<ChunkKey, ChunkMeta> updates = new HashMap<>();
        for (Map.Entry<ChunkKey, Long> g : groups.entrySet()) {
            ChunkMeta meta = index.get(g.getKey());
            if (meta != null && meta.group() != g.getValue()) {
                updates.put(g.getKey(), meta.withGroup(g.getValue()));
            }
        }
        if (!updates.isEmpty()) {
            index.putAll(updates);
        }
    }

    @Override
    public void remove(ChunkKey key) throws IOException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            drop(key);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public java.util.Set<ChunkKey> pinnedKeys() {
        synchronized (lru) {
            return lru.pinnedKeys();
        }
    }

    /** Throws when the index no longer takes writes (RocksDB stops writing after a failed write). */
    void checkIndex() throws IOException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            index.checkWritable();
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Where the chunk's file is, for zero-copy transfer; the file may vanish at any time. */
    public Path chunkFile(ChunkKey key) {
        return files.pathOf(key);
    }

    @Override
    public ChunkStoreStats stats() {
        synchronized (lru) {
            return new ChunkStoreStats(hits.sum(), misses.sum(), bytesRead.sum(), direct.bytesRead(),
                    bytesWritten.sum(), evictions.sum(), corrupt.sum(), adopted.sum(), lru.count(), lru.usedBytes(),
                    lru.pinnedBytes(), lru.residentBytes(), config.residentLimit().bytes(), config.capacity().bytes(),
                    "normal", 0);
        }
    }

    private void ensureOpen() throws PeerFsException {
        if (closed) {
            throw new PeerFsException("chunk store " + config.dir() + " is closed");
        }
    }

    /** Persists access times and closes the index; waits for operations in flight. */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            persistAccessTimes();
            open.values().forEach(OpenChunk::release);
            open.clear();
            index.close();
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    private void persistAccessTimes() {
        List<Map.Entry<ChunkKey, ChunkLru.Entry>> dirty;
        synchronized (lru) {
            dirty = lru.takeDirtyAccess();
        }
        Map<ChunkKey, ChunkMeta> updates = new HashMap<>();
        try {
            for (Map.Entry<ChunkKey, ChunkLru.Entry> e : dirty) {
                ChunkMeta meta = index.get(e.getKey());
                if (meta != null) {
                    updates.put(e.getKey(), meta.withLastAccess(e.getValue().lastAccessMs));
                }
            }
            index.putAll(updates);
        } catch (PeerFsException e) {
            log.warn("could not persist chunk access times: {}", e.getMessage());
        }
    }
}
