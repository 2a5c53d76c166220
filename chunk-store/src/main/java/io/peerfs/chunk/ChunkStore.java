package io.peerfs.chunk;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A node's local store of chunks, keyed by {@link ChunkKey}. Implementations verify a
 * checksum on every read from disk: a chunk whose bytes do not match is dropped and
 * reported as absent, never returned.
 *
 * <p>Thread-safe. Unpinned chunks may be evicted at any time to stay under capacity;
 * pinned chunks (the only copy of scratch or not-yet-uploaded result data) are never
 * evicted.
 */
public interface ChunkStore extends AutoCloseable {

    /**
     * Copies bytes of a cached chunk into {@code dst}, from {@code offsetInChunk} up to
     * {@code dst.remaining()} or the end of the chunk, whichever is first.
     *
     * @return bytes copied (0 when {@code offsetInChunk} is at or past the chunk end),
     *     or -1 when the chunk is not in the store (never stored, evicted, or found
     *     corrupt and dropped)
     * @throws IOException when the cache disk fails in a way that is not corruption
     */
    int read(ChunkKey key, long offsetInChunk, ByteBuffer dst) throws IOException;

    /**
     * False while the store takes no new chunks (its disk is full, read-only or failing):
     * readers then keep what they fetch in memory instead of storing it.
     */
    default boolean acceptsChunks() {
        return true;
    }

    /** True when the chunk is in the store (without reading or verifying it). */
    boolean contains(ChunkKey key);

    /** True when the chunk is in the store pinned: a scratch file's or a staged result file's copy. */
    boolean isPinned(ChunkKey key) throws IOException;

    /**
     * A reader will soon read the whole chunk: start loading it from the cache disk. Returns
     * without waiting; a chunk that is not in the store is ignored.
     */
    default void willRead(ChunkKey key) {
    }

    /**
     * Stores the remaining bytes of {@code data} as the chunk {@code key}, replacing any
     * previous content; {@code data}'s position is left unchanged. Evicts unpinned
     * chunks as needed to stay under capacity.
     *
     * @throws CacheFullException when the chunk cannot fit without evicting pinned data
     * @throws IOException when the cache disk fails
     */
    void put(ChunkKey key, ByteBuffer data, boolean pinned) throws IOException;

    /**
     * {@link #put} pinned, as a chunk of scratch inode {@code ino} (its writer's copy or a
     * replica): a peer asking to free it must name that inode ({@link #scratchOwner}).
     */
    void putScratch(ChunkKey key, ByteBuffer data, long ino) throws IOException;

    /** The scratch inode a pinned chunk was stored for; 0 when none was recorded or it is not here. */
    long scratchOwner(ChunkKey key) throws IOException;

    /**
     * {@link #put} of an unpinned chunk just fetched, whose readers the caller serves from
     * memory: the store may write it past the page cache (direct I/O), which spares the CPU
     * the copy and keeps the page cache for data that is read again.
     */
    default void putFetched(ChunkKey key, ByteBuffer data) throws IOException {
        put(key, data, false);
    }

    /**
     * Makes a stored chunk durable (fsync), for data that is the only copy. {@link #put}
     * alone survives a crash of the process, not of the machine.
     */
    void sync(ChunkKey key) throws IOException;

    /** Bytes covered by one checksum of {@link Exported#blockCrcs()}. */
    int CHECKSUM_BLOCK = 64 * 1024;

    /**
     * A stored chunk to be sent as is (to a peer, zero-copy): the receiver verifies the bytes
     * against the per-block CRC32Cs, so corruption on this disk is caught there. Its file is
     * opened only by {@link ChunkFile#open()}, when its bytes are about to be sent, so an
     * answer waiting to go out holds no descriptor.
     *
     * @param blockCrcs CRC32C of each {@link #CHECKSUM_BLOCK} bytes, the last block possibly shorter
     * @param sha256 the chunk's SHA-256 when the store knows it (taken when it was first
     *     needed), else null
     * @param keepSha256 takes the SHA-256 once computed from the file, for the next export
     */
    record Exported(ChunkFile file, int length, int[] blockCrcs, byte[] sha256,
                    java.util.function.Consumer<byte[]> keepSha256) {
        /** A chunk whose store keeps no digest. */
        public Exported(ChunkFile file, int length, int[] blockCrcs) {
            this(file, length, blockCrcs, null, digest -> { });
        }
    }

    /** A stored chunk's file, not yet open. */
    @FunctionalInterface
    interface ChunkFile {
        /**
         * Opens the file, checked to be the regular file of the exported length; each call
         * gives a new channel, which the caller closes.
         *
         * @throws java.nio.file.NoSuchFileException when the chunk was evicted meanwhile
         */
        java.nio.channels.FileChannel open() throws IOException;
    }

    /** A stored chunk to send; empty when it is not in the store. Counts as an access. */
    java.util.Optional<Exported> export(ChunkKey key) throws IOException;

    /** The keys of all pinned chunks (to find those no file refers to any more after a crash). */
    java.util.Set<ChunkKey> pinnedKeys();

    /**
     * Keeps the stored chunk {@code from} as the unpinned chunk {@code to}, and {@code from} is
     * gone: a result file's staged chunk becomes the cache entry of the backend file it was
     * uploaded as, without a copy. Only a chunk of exactly {@code length} bytes is kept so (a
     * shorter one is a sparse scratch chunk, not the file's bytes); otherwise, and in a store
     * that cannot, nothing changes and the answer is false.
     */
    default boolean adopt(ChunkKey from, ChunkKey to, int length) throws IOException {
        return false;
    }

    /**
     * Keeps a stored unpinned chunk resident for {@code pin} (the backend path pinned with
     * {@code peerfs cache pin} that covers its file): it is evicted only when no ordinary chunk
     * is left, and resident chunks take at most the store's limit (past it their oldest are
     * ordinary again). Cheap when it already is.
     *
     * @return false when the chunk is not in the store, is pinned, or the store keeps none resident
     */
    default boolean keepResident(ChunkKey key, String pin) throws IOException {
        return false;
    }

    /** The chunks kept resident for {@code pin} become ordinary cache entries (the path was unpinned). */
    default void releaseResident(String pin) throws IOException {
    }

    /** Removes a chunk if present (pinned or not). */
    void remove(ChunkKey key) throws IOException;

    /** A snapshot of this store's counters. */
    ChunkStoreStats stats();

    @Override
    void close();
}
