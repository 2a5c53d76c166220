package io.peerfs.chunk;

/**
 * Counters of a {@link ChunkStore} since it was opened (hits … corrupt), its current
 * occupancy (chunks … capacity) and the health of its disk.
 *
 * @param bytesReadDirect the part of {@code bytesRead} read from the disk past the page cache
 *     (direct I/O into the kernel's aligned read buffers)
 * @param adopted chunks kept under a new key instead of written again ({@link ChunkStore#adopt}:
 *     uploaded result files become cache entries)
 * @param residentBytes bytes of chunks kept for paths pinned with {@code peerfs cache pin}
 * @param residentLimitBytes most bytes those may take
 * @param diskState {@code normal}, {@code unstable}, {@code read-only} or {@code down}
 * @param diskErrors I/O errors of the cache disk since start
 */
public record ChunkStoreStats(
        long hits,
        long misses,
        long bytesRead,
        long bytesReadDirect,
        long bytesWritten,
        long evictions,
        long corrupt,
        long adopted,
        long chunks,
        long usedBytes,
        long pinnedBytes,
        long residentBytes,
        long residentLimitBytes,
        long capacityBytes,
        String diskState,
        long diskErrors) {

    /** The same counters with the disk's health as its watcher sees it. */
    public ChunkStoreStats withDisk(String state, long errors) {
        return new ChunkStoreStats(hits, misses, bytesRead, bytesReadDirect, bytesWritten, evictions, corrupt, adopted,
                chunks, usedBytes, pinnedBytes, residentBytes, residentLimitBytes, capacityBytes, state, errors);
    }
}
