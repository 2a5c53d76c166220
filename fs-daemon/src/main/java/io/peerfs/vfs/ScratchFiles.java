package io.peerfs.vfs;

import io.peerfs.PeerFsException;
import io.peerfs.backend.PosixException;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.chunk.DirectBufferPool;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.SparseList;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Data of scratch files: they live only in this node's chunk store, pinned (they are the
 * only copy). Writes go into off-heap chunk buffers, are sealed into the store as chunks
 * fill, and the layout is committed to the {@link MetaStore} on flush, fsync and last
 * close (close-to-open consistency). Chunks a commit replaces are freed after it. With a
 * shared MetaStore the layout names the node holding each chunk; a reader on another node
 * fetches it from that node and keeps an unpinned copy, and frees go back to the holder.
 */
final class ScratchFiles {
    private static final Logger log = LoggerFactory.getLogger(ScratchFiles.class);
    /** Off-heap bytes all writers together may hold unsealed. */
    private static final long DIRTY_BUDGET_BYTES = 128L << 20;
    /** Largest file size, ext4's with 4 KiB blocks (16 TiB less a block): past it EFBIG, as there. */
    static final long MAX_FILE_SIZE = (1L << 44) - 4096;

    private final MetaStore meta;
    private final ChunkStore store;
    private final int chunkSize;
    private final LongSupplier clockNs;
    private final DirectBufferPool buffers;
    private final Map<Long, OpenScratch> open = new HashMap<>();
    /** Last closes here the MetaStore could not record (it was unreachable): recorded by {@link #recordCloses}. */
    private final Set<Long> unrecordedCloses = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Files whose last handle here went, each after its commit. Guarded by {@code open}. */
    private long closes;
    /**
     * Last closes recorded in the MetaStore, counted after the record is gone: an open that
     * recorded itself before it entered the table sees here whether a close may have taken its
     * record away since (see {@link #openAt}).
     */
    private final java.util.concurrent.atomic.AtomicLong closesRecorded = new java.util.concurrent.atomic.AtomicLong();
    /** The holders of other nodes' chunks; null for a node on its own. */
    private volatile io.peerfs.fetch.ScratchPeers holders;
    /** Nodes that keep each chunk sealed here, this one included. */
    private volatile int replicas = 1;
    /** Dirty chunks held by all files; random writers get many, but the total stays bounded. */
    private final AtomicInteger dirtyTotal = new AtomicInteger();
    private final int maxDirtyTotal;
    private final int maxDirtyPerFile;

    ScratchFiles(MetaStore meta, ChunkStore store, int chunkSize, LongSupplier clockNs) {
        this.meta = meta;
        this.store = store;
        this.chunkSize = chunkSize;
        this.clockNs = clockNs;
        this.maxDirtyTotal = (int) Math.max(4, DIRTY_BUDGET_BYTES / chunkSize);
        this.maxDirtyPerFile = Math.max(2, maxDirtyTotal / 2);
        this.buffers = new DirectBufferPool(chunkSize, 8);
    }

    /**
     * Reads and frees chunks that other nodes hold through {@code peers}, and has each chunk
     * sealed here copied to {@code replicas - 1} of them.
     */
    void useHolders(io.peerfs.fetch.ScratchPeers peers, int replicas) {
        this.holders = peers;
        this.replicas = replicas;
    }

    private String self() {
        io.peerfs.fetch.ScratchPeers h = holders;
        return h == null ? null : h.nodeId();
    }

    /**
     * Takes a handle on the file; all handles of one inode share its state. {@code record} may
     * have been read while another handle had the file open and be older than that handle's
     * commit at its last close: a file not open here starts from the stored record read again.
     */
    OpenScratch open(Inode record) throws IOException {
        return open(record, -1, -1); // when the caller read record is not known
    }

    /**
     * Opens the scratch file at {@code path}, if there is one: its record is read and the open
     * recorded in one call ({@link MetaStore#lookupToOpen}), before the file is in the table.
     * A last close of it here that took the record away meanwhile is seen in
     * {@link #closesRecorded}, and the open is recorded again.
     *
     * @throws FileSystemException EISDIR for a directory
     */
    Optional<OpenScratch> openAt(String path) throws IOException {
        long before = closes();
        long recorded = closesRecorded.get();
        Optional<Inode> stored = meta.lookupToOpen(path);
        if (stored.isEmpty()) {
            return Optional.empty();
        }
        if (stored.get().isDirectory()) {
            meta.closed(stored.get().ino());
            throw PosixException.of(PosixException.EISDIR, path, null);
        }
        return Optional.of(open(stored.get(), before, recorded));
    }

    /** Takes the first handle on a file just created: its record is the stored one, no re-read. */
    OpenScratch openCreated(Inode created) throws IOException {
        return open(created, closes(), -1);
    }

    /**
     * @param closesWhenRead {@link #closes} when {@code record} was read; -1: not known
     * @param recordedBefore {@link #closesRecorded} before the open was recorded with the read;
     *     -1: it is not recorded yet
     */
    private OpenScratch open(Inode record, long closesWhenRead, long recordedBefore) throws IOException {
        Inode r = record;
        long seen = closesWhenRead;
        while (true) {
            OpenScratch f;
            boolean first = false;
            synchronized (open) {
                f = open.get(r.ino());
                if (f == null && seen == closes) {
                    f = new OpenScratch(r);
                    open.put(r.ino(), f);
                    first = true;
                }
                if (f != null) {
                    f.handles++;
                }
                seen = closes;
            }
            if (f != null) {
                if (first && (recordedBefore < 0 || closesRecorded.get() != recordedBefore)) {
                    announceOpen(f);
                }
                return f;
            }
            r = meta.get(record.ino()).orElse(record);
        }
    }

    /**
     * Records in the MetaStore that this node has the file open, so that a node removing its
     * last name leaves its data to this node's last close. After this node has the file in
     * its table: a last close racing with it records the close first and then sees it open.
     */
    private void announceOpen(OpenScratch f) throws IOException {
        try {
            meta.opened(f.ino);
        } catch (IOException | RuntimeException e) {
            release(f);
            throw e;
        }
    }

    /**
     * Records the last close here; an open that came in meanwhile is recorded again. Returns
     * the record as read with the close; empty when it is gone, and when the close could not
     * be recorded (the sweep records it later, and then frees a removed file).
     */
    private Optional<Inode> announceClose(long ino) {
        try {
            Optional<Inode> after = meta.closed(ino);
            closesRecorded.incrementAndGet(); // before the look at the table: see openAt
            if (isOpen(ino)) {
                meta.opened(ino);
            }
            return after;
        } catch (IOException | RuntimeException e) {
            // until recorded, a removal on another node leaves the file's data in place
            unrecordedCloses.add(ino);
            log.warn("could not record the close of scratch inode {} in the metadata store (retried later): {}",
                    ino, e.toString());
            return Optional.empty();
        }
    }

    /** Records the last closes the MetaStore missed; those still missing stay for the next call. */
    void recordCloses() {
        for (Long ino : List.copyOf(unrecordedCloses)) {
            if (isOpen(ino)) {
                unrecordedCloses.remove(ino); // open again: its next last close records it
                continue;
            }
            try {
                meta.closed(ino);
                closesRecorded.incrementAndGet();
                unrecordedCloses.remove(ino);
                if (isOpen(ino)) { // opened since the look above: its record may be the one just taken
                    meta.opened(ino);
                }
            } catch (IOException | RuntimeException e) {
                return; // still unreachable
            }
        }
    }

    /** The record at {@code path}, with this node's unsaved size and layout if it is open here. */
    Optional<Inode> lookup(String path) throws IOException {
        long before = closes();
        Optional<Inode> stored = meta.lookup(path);
        return stored.isEmpty() ? stored : Optional.of(current(stored.get(), before));
    }

    /** The record of {@code ino}, with this node's unsaved size and layout if it is open here. */
    Optional<Inode> get(long ino) throws IOException {
        long before = closes();
        Optional<Inode> stored = meta.get(ino);
        return stored.isEmpty() ? stored : Optional.of(current(stored.get(), before));
    }

    private long closes() {
        synchronized (open) {
            return closes;
        }
    }

    /** The working record of an inode open on this node, or the given one read again. */
    Inode current(Inode stored) throws IOException {
        return current(stored, -1);
    }

    /**
     * The working record of an inode open on this node, else {@code stored}, which was read
     * when {@link #closes} was {@code closesBefore}. A file whose last handle went since may
     * have committed after that read (a getattr would hand the kernel a size from before the
     * writes it acknowledged): the record is read again then.
     */
    private Inode current(Inode stored, long closesBefore) throws IOException {
        OpenScratch f;
        long now;
        synchronized (open) {
            f = open.get(stored.ino());
            now = closes;
        }
        if (f == null) {
            return now == closesBefore ? stored : meta.get(stored.ino()).orElse(stored);
        }
        f.lock.readLock().lock();
        try {
            Inode w = f.working;
            long mtime = f.changed ? w.mtimeNs() : stored.mtimeNs(); // a utimens after the last commit wins
            Inode merged = stored.withData(w.size(), w.chunks(), w.holders(), w.generation(), mtime);
            return merged.withTimes(stored.atimeNs(), mtime, f.changed ? mtime : stored.ctimeNs());
        } finally {
            f.lock.readLock().unlock();
        }
    }

    /** After utimens: an open file's next commit must keep the mtime that was set, not its last write's. */
    void timesSet(Inode updated) {
        OpenScratch f;
        synchronized (open) {
            f = open.get(updated.ino());
        }
        if (f != null) {
            f.lock.writeLock().lock();
            try {
                Inode w = f.working;
                f.working = w.withData(w.size(), w.chunks(), w.generation(), updated.mtimeNs());
            } finally {
                f.lock.writeLock().unlock();
            }
        }
    }

    boolean isOpen(long ino) {
        synchronized (open) {
            return open.containsKey(ino);
        }
    }

    int read(OpenScratch f, long offset, ByteBuffer dst) throws IOException {
        f.lock.readLock().lock();
        try {
            long size = f.working.size();
            if (offset >= size) {
                return 0;
            }
            long end = Math.min(size, offset + dst.remaining());
            long pos = offset;
            while (pos < end) {
                long idx = pos / chunkSize;
                int inChunk = (int) (pos % chunkSize);
                int piece = (int) Math.min(end - pos, chunkSize - inChunk);
                int got = readChunk(f, idx, inChunk, dst.slice(dst.position(), piece));
                zero(dst, dst.position() + got, piece - got); // holes and bytes past a short chunk read as zeros
                dst.position(dst.position() + piece);
                pos += piece;
            }
            return (int) (end - offset);
        } finally {
            f.lock.readLock().unlock();
        }
    }

    /** Copies what chunk {@code idx} holds from {@code inChunk} into {@code view}; returns bytes copied. */
    private int readChunk(OpenScratch f, long idx, int inChunk, ByteBuffer view) throws IOException {
        OpenScratch.DirtyChunk d = f.dirty.get(idx);
        if (d != null) {
            int n = Math.max(0, Math.min(view.remaining(), d.length - inChunk));
            view.put(0, d.buf, inChunk, n);
            return n;
        }
        ChunkKey key = keyAt(f.working, idx);
        if (key == null) {
            return 0;
        }
        int n = store.read(key, inChunk, view);
        if (n < 0) {
            n = readFromHolder(f, idx, key, inChunk, view);
        }
        return n;
    }

    /**
     * A chunk this node does not have: from the first node the layout names that can serve
     * it, kept here unpinned (other readers here come back to it; the holders keep the pinned
     * copies).
     */
    private int readFromHolder(OpenScratch f, long idx, ChunkKey key, int inChunk, ByteBuffer view)
            throws IOException {
        io.peerfs.fetch.ScratchPeers peers = holders;
        List<String> others = new ArrayList<>(f.working.holders(idx));
        others.remove(self());
        if (peers == null || others.isEmpty()) {
            throw new ScratchDataLostException(f.ino, idx, key);
        }
        ByteBuffer buf = buffers.acquire();
        try {
            int length = -1;
            List<String> failures = new ArrayList<>();
            for (String holder : others) {
                buf.clear();
                try {
                    length = peers.fetch(holder, key, buf);
                    break;
                } catch (PeerFsException e) {
                    failures.add(e.getMessage());
                }
            }
            if (length < 0) {
                throw new PeerFsException(String.join("; ", failures));
            }
            buf.flip();
            try {
                store.put(key, buf.duplicate(), false);
            } catch (IOException e) {
                log.debug("not keeping a copy of scratch chunk {}: {}", key, e.toString());
            }
            int n = Math.max(0, Math.min(view.remaining(), length - inChunk));
            view.put(view.position(), buf, inChunk, n);
            return n;
        } finally {
            buffers.release(buf);
        }
    }

    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 * 1024);

    private static void zero(ByteBuffer b, int from, int count) {
        for (int done = 0; done < count; ) {
            int n = Math.min(ZEROS.capacity(), count - done);
            b.put(from + done, ZEROS, 0, n);
            done += n;
        }
    }

    private static ChunkKey keyAt(Inode inode, long idx) {
        return idx < inode.chunks().size() ? inode.chunks().get((int) idx) : null;
    }

    int write(OpenScratch f, long offset, ByteBuffer src) throws IOException {
        if (offset >= MAX_FILE_SIZE) {
            throw PosixException.of(PosixException.EFBIG, "(open scratch file " + f.ino + ")", null);
        }
        if (src.remaining() > MAX_FILE_SIZE - offset) {
            src = src.duplicate().limit(src.position() + (int) (MAX_FILE_SIZE - offset)); // a short write, as ext4's
        }
        f.lock.writeLock().lock();
        try {
            int total = src.remaining();
            long pos = offset;
            while (src.hasRemaining()) {
                long idx = pos / chunkSize;
                int inChunk = (int) (pos % chunkSize);
                int len = Math.min(src.remaining(), chunkSize - inChunk);
                OpenScratch.DirtyChunk d = dirtyChunk(f, idx);
                if (inChunk > d.length) {
                    zero(d.buf, d.length, inChunk - d.length); // a gap reads as zeros
                }
                d.buf.put(inChunk, src, src.position(), len);
                src.position(src.position() + len);
                d.length = Math.max(d.length, inChunk + len);
                pos += len;
            }
            Inode w = f.working;
            f.working = w.withData(Math.max(w.size(), offset + total), w.chunks(), w.generation(), clockNs.getAsLong());
            f.changed = true;
            sealExcess(f, (offset + total - 1) / chunkSize);
            return total;
        } finally {
            f.lock.writeLock().unlock();
        }
    }

    /** Chunks held off-heap for writers now, over all open files. */
    int dirtyChunks() {
        return dirtyTotal.get();
    }

    /** A chunk-sized off-heap buffer from the write buffers' pool; give it back with {@link #giveBack}. */
    ByteBuffer borrowBuffer() {
        return buffers.acquire();
    }

    void giveBack(ByteBuffer b) {
        buffers.release(b);
    }

    /** The chunk's write buffer, loaded with its stored bytes the first time. Caller holds the write lock. */
    private OpenScratch.DirtyChunk dirtyChunk(OpenScratch f, long idx) throws IOException {
        OpenScratch.DirtyChunk d = f.dirty.get(idx);
        if (d != null) {
            return d;
        }
        // pooled buffers hold old bytes: only [0, length) is valid, and a write past length zeroes the gap
        ByteBuffer buf = buffers.acquire();
        int length = 0;
        ChunkKey key = keyAt(f.working, idx);
        if (key != null) {
            try {
                length = store.read(key, 0, buf.duplicate());
                if (length < 0) {
                    length = readFromHolder(f, idx, key, 0, buf.duplicate());
                }
            } catch (IOException | RuntimeException e) {
                buffers.release(buf);
                throw e;
            }
        }
        d = new OpenScratch.DirtyChunk(buf, length);
        f.dirty.put(idx, d);
        dirtyTotal.incrementAndGet();
        return d;
    }

    /**
     * Seals this file's dirty chunks (never {@code current}) until it and all writers are within
     * budget; when many files each hold one chunk, other files' chunks are sealed, and as a last
     * resort this file's current one: off-heap memory for written data never passes the budget
     * by more than one chunk per writing thread, however many files are open.
     */
    private void sealExcess(OpenScratch f, long current) throws IOException {
        while (f.dirty.size() > maxDirtyPerFile || f.dirty.size() > 1 && dirtyTotal.get() > maxDirtyTotal) {
            long victim = f.dirty.firstKey() == current ? f.dirty.lastKey() : f.dirty.firstKey();
            seal(f, victim);
        }
        if (dirtyTotal.get() > maxDirtyTotal) {
            sealOthers(f);
        }
        if (dirtyTotal.get() > maxDirtyTotal && f.dirty.containsKey(current)) {
            seal(f, current); // read back from the store when written again
        }
    }

    /**
     * Seals the dirty chunks of other open files that are not being written right now (their
     * lock is free), until all writers are within budget. A failure (the cache is full) is
     * theirs to meet at their next write or close, not this writer's.
     */
    private void sealOthers(OpenScratch writer) {
        List<OpenScratch> files;
        synchronized (open) {
            files = new ArrayList<>(open.values());
        }
        for (OpenScratch other : files) {
            if (dirtyTotal.get() <= maxDirtyTotal) {
                return;
            }
            if (other == writer || other.dirty.isEmpty() || !other.lock.writeLock().tryLock()) {
                continue;
            }
            try {
                for (Long idx : new ArrayList<>(other.dirty.keySet())) {
                    seal(other, idx);
                }
            } catch (IOException | RuntimeException e) {
                log.debug("could not seal the written chunks of scratch inode {} to make room: {}", other.ino,
                        e.toString());
            } finally {
                other.lock.writeLock().unlock();
            }
        }
    }

    /**
     * Stores a dirty chunk as a new pinned chunk under a fresh key and points the working
     * layout at it. A committed chunk it replaces stays until the layout is committed (the
     * MetaStore still names it); one sealed since the last commit is freed at once, as no
     * layout anywhere names it: a chunk written at random again and again costs one chunk,
     * not one per seal.
     */
    private void seal(OpenScratch f, long idx) throws IOException {
        OpenScratch.DirtyChunk d = f.dirty.get(idx);
        Inode w = f.working;
        ChunkKey replaced = keyAt(w, idx);
        long gen = w.generation() + 1;
        ChunkKey key = null;
        if (d.length > 0) {
            key = ChunkKey.forScratchFile(f.ino, gen, idx, self());
            store.putScratch(key, d.buf.duplicate().position(0).limit(d.length), f.ino); // CacheFullException: ENOSPC
            f.holderOf.put(key, self() == null ? List.of() : List.of(self()));
            f.sealedSinceCommit.add(key);
            f.unsynced.add(key);
            io.peerfs.fetch.ScratchPeers peers = holders;
            if (peers != null && replicas > 1) {
                f.replicating.put(key, peers.replicate(f.ino, key, replicas - 1)); // the commit waits for it
            }
        }
        // sparse: a chunk sealed far out in the file costs one entry, not one per chunk before it
        SparseList<ChunkKey> layout = SparseList.of(w.chunks()).with((int) idx, key);
        SparseList<String> holderList = SparseList.<String>of(w.holders()).with((int) idx, key == null ? null : self());
        f.working = w.withData(w.size(), layout, holderList, gen, w.mtimeNs());
        dropDirty(f, idx);
        if (replaced != null && f.sealedSinceCommit.remove(replaced)) {
            dropUncommitted(f, replaced);
        }
    }

    /** Frees a chunk sealed since the last commit that the working layout no longer names. Caller holds the write lock. */
    private void dropUncommitted(OpenScratch f, ChunkKey key) throws IOException {
        f.unsynced.remove(key);
        f.holderOf.remove(key);
        java.util.concurrent.CompletableFuture<List<String>> copies = f.replicating.remove(key);
        store.remove(key);
        if (copies != null) { // its copies, once made, are freed on the nodes that made them
            copies.whenComplete((nodes, failure) -> freeOnHolders(nodes, f.ino, key));
        }
    }

    private void dropDirty(OpenScratch f, long idx) {
        OpenScratch.DirtyChunk d = f.dirty.remove(idx);
        if (d != null) {
            dirtyTotal.decrementAndGet();
            buffers.release(d.buf);
        }
    }

    /** Changes the file's size; the part past a smaller size is gone, a larger size adds a hole. */
    void truncate(OpenScratch f, long size) throws IOException {
        if (size > MAX_FILE_SIZE) {
            throw PosixException.of(PosixException.EFBIG, "(open scratch file " + f.ino + ")", null);
        }
        f.lock.writeLock().lock();
        try {
            long keepChunks = (size + chunkSize - 1) / chunkSize;
            for (Long idx : new ArrayList<>(f.dirty.tailMap(keepChunks).keySet())) {
                dropDirty(f, idx);
            }
            Inode w = f.working;
            f.working = w.withData(size, SparseList.of(w.chunks()).truncated((int) keepChunks), w.generation(),
                    clockNs.getAsLong());
            int tail = (int) (size % chunkSize);
            if (tail != 0 && size < w.size()) {
                OpenScratch.DirtyChunk d = dirtyChunk(f, size / chunkSize);
                d.length = Math.min(d.length, tail); // the bytes past it are zeroed when a write extends the chunk
            }
            f.changed = true;
        } finally {
            f.lock.writeLock().unlock();
        }
    }

    /**
     * Seals every dirty chunk and commits size and layout to the MetaStore; then frees
     * replaced chunks. {@code durable} (fsync) also forces the data and the record to disk.
     */
    void commit(OpenScratch f, boolean durable) throws IOException {
        List<ChunkKey> garbage = new ArrayList<>();
        f.lock.writeLock().lock();
        try {
            if (!f.changed && f.dirty.isEmpty() && (!durable || f.unsynced.isEmpty())) {
                return;
            }
            for (Long idx : new ArrayList<>(f.dirty.keySet())) {
                seal(f, idx);
            }
            awaitReplicas(f);
            Inode w = f.working;
            if (durable) {
                for (ChunkKey k : f.unsynced) {
                    if (w.chunks().contains(k)) {
                        store.sync(k);
                    }
                }
                f.unsynced.clear();
            }
            Inode committed = meta.modify(f.ino, f.stored, s -> s.withData(w.size(), w.chunks(), w.holders(),
                    w.generation(), w.mtimeNs()));
            f.stored = committed;
            if (durable) {
                meta.sync();
            }
            Set<ChunkKey> live = new HashSet<>(committed.presentChunks());
            f.committedKeys.addAll(f.sealedSinceCommit);
            for (ChunkKey k : f.committedKeys) {
                if (!live.contains(k)) {
                    garbage.add(k);
                }
            }
            f.committedKeys.clear();
            f.committedKeys.addAll(live);
            f.sealedSinceCommit.clear();
            f.changed = false;
        } finally {
            f.lock.writeLock().unlock();
        }
        for (ChunkKey k : garbage) {
            store.remove(k);
            freeOnHolders(f.holderOf.remove(k), f.ino, k);
        }
    }

    /**
     * Waits until the copies of the chunks sealed since the last commit are made, and names
     * the nodes that keep them in the working layout. Caller holds the write lock.
     */
    private void awaitReplicas(OpenScratch f) throws IOException {
        if (f.replicating.isEmpty()) {
            return;
        }
        Map<ChunkKey, String> entries = new HashMap<>();
        for (Map.Entry<ChunkKey, java.util.concurrent.CompletableFuture<List<String>>> e : f.replicating.entrySet()) {
            List<String> nodes = new ArrayList<>(List.of(self()));
            try {
                nodes.addAll(e.getValue().get());
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted waiting for copies of scratch chunks");
            } catch (java.util.concurrent.ExecutionException ee) {
                log.warn("no copies of scratch chunk {}: {}", e.getKey(), ee.getCause().toString());
            }
            f.holderOf.put(e.getKey(), nodes);
            entries.put(e.getKey(), Inode.holderEntry(nodes));
        }
        f.replicating.clear();
        Inode w = f.working;
        SparseList<ChunkKey> layout = SparseList.of(w.chunks());
        List<ChunkKey> keys = layout.presentValues();
        int[] indexes = layout.presentIndexes();
        SparseList<String> holderList = SparseList.of(w.holders());
        for (int j = 0; j < keys.size(); j++) {
            String entry = entries.get(keys.get(j));
            if (entry != null) {
                holderList = holderList.with(indexes[j], entry);
            }
        }
        f.working = w.withData(w.size(), w.chunks(), holderList, w.generation(), w.mtimeNs());
    }

    /** Gives a handle back; the last one on this node commits and, for an unlinked file, frees its data. */
    void release(OpenScratch f) throws IOException {
        synchronized (open) {
            if (--f.handles > 0) {
                return;
            }
        }
        List<ChunkKey> uncommitted = new ArrayList<>();
        boolean closed = false;
        Optional<Inode> afterClose = Optional.empty();
        try {
            commit(f, false);
        } finally {
            synchronized (open) {
                if (f.handles == 0) {
                    closed = true;
                    open.remove(f.ino);
                    closes++;
                    f.lock.writeLock().lock();
                    try {
                        for (Long idx : new ArrayList<>(f.dirty.keySet())) {
                            dropDirty(f, idx);
                        }
                        // a failed commit (ENOSPC, reported to close) leaves sealed chunks no layout refers to
                        uncommitted.addAll(f.sealedSinceCommit);
                        f.sealedSinceCommit.clear();
                    } finally {
                        f.lock.writeLock().unlock();
                    }
                }
            }
            for (ChunkKey k : uncommitted) {
                store.remove(k);
            }
            if (closed) {
                afterClose = announceClose(f.ino); // also when the commit failed
            }
        }
        if (!isOpen(f.ino)) {
            Optional<Inode> stored = closed ? afterClose : meta.get(f.ino);
            if (stored.isPresent() && unused(stored.get())) {
                deleteQuietly(stored.get());
            }
        }
    }

    /**
     * Removes pinned chunks that no layout refers to (left by a crash, or by a free a holder
     * never received). Safe while files are open: chunks of open files count as used. The
     * order matters: a chunk sealed but not yet committed belongs to an open file, and one
     * committed since is in the layouts read last.
     *
     * @return chunks removed
     */
    int freeUnreferencedChunks() throws IOException {
        Set<ChunkKey> unreferenced = store.pinnedKeys();
        synchronized (open) {
            for (OpenScratch f : open.values()) {
                f.lock.readLock().lock();
                try {
                    f.working.presentChunks().forEach(unreferenced::remove);
                    unreferenced.removeAll(f.sealedSinceCommit);
                    unreferenced.removeAll(f.committedKeys);
                } finally {
                    f.lock.readLock().unlock();
                }
            }
        }
        unreferenced.removeAll(meta.referencedChunks());
        for (ChunkKey k : unreferenced) {
            store.remove(k);
        }
        return unreferenced.size();
    }

    /**
     * Removes an inode with no names left, and its chunks, unless it is still open here or on
     * another node (whose last close removes it then).
     *
     * @return true when it was removed
     */
    boolean deleteIfUnused(Inode inode) throws IOException {
        return retireIfUnused(inode, null, null);
    }

    /**
     * {@link #deleteIfUnused} of a result file's staged data just uploaded as {@code uploaded}
     * at {@code backendPath}: each whole chunk kept here becomes the cache entry a read of
     * that backend file asks for ({@link ChunkKey#forBackendFile}), so reading it back costs
     * no backend read. A chunk of another length (sparse), and all of them when the sizes
     * differ or the upload is not known ({@code null}), are removed.
     */
    boolean retireIfUnused(Inode inode, String backendPath, io.peerfs.meta.FileAttr uploaded) throws IOException {
        if (unused(inode)) {
            delete(inode, backendPath, uploaded);
            return true;
        }
        return false;
    }

    /** No names left, and open neither here nor on another node. */
    private boolean unused(Inode inode) throws IOException {
        return inode.nlink() == 0 && !isOpen(inode.ino()) && !meta.openElsewhere(inode.ino());
    }

    private void deleteQuietly(Inode inode) {
        try {
            delete(inode, null, null);
        } catch (IOException e) {
            log.warn("could not free the data of deleted scratch inode {}: {}", inode.ino(), e.getMessage());
        }
    }

    private void delete(Inode inode, String backendPath, io.peerfs.meta.FileAttr uploaded) throws IOException {
        meta.delete(inode.ino()); // first: a holder frees a chunk only once no inode uses it
        boolean asUploaded = uploaded != null && uploaded.size() == inode.size();
        List<ChunkKey> keys = inode.presentChunks();
        int[] indexes = SparseList.of(inode.chunks()).presentIndexes();
        for (int j = 0; j < keys.size(); j++) {
            ChunkKey k = keys.get(j);
            int i = indexes[j];
            long length = asUploaded ? Math.min(chunkSize, inode.size() - (long) i * chunkSize) : 0;
            if (length <= 0 || !store.adopt(k, ChunkKey.forBackendFile(backendPath, uploaded.size(),
                    uploaded.mtimeNs(), i), (int) length)) {
                store.remove(k);
            }
            freeOnHolders(inode.holders(i), inode.ino(), k);
        }
    }

    /** Asks the other nodes holding a chunk no longer used to drop it. */
    private void freeOnHolders(List<String> nodes, long ino, ChunkKey key) {
        io.peerfs.fetch.ScratchPeers peers = holders;
        if (peers == null || nodes == null) {
            return;
        }
        for (String holder : nodes) {
            if (!holder.equals(peers.nodeId())) {
                peers.free(holder, ino, key);
            }
        }
    }

    /** A scratch chunk that should be in this node's store is not (deleted or corrupt on disk). */
    static final class ScratchDataLostException extends PeerFsException {
        ScratchDataLostException(long ino, long idx, ChunkKey key) {
            super("scratch inode " + ino + " chunk " + idx + " (" + key + ") is missing from the cache;"
                    + " scratch data has no other copy");
        }
    }
}
