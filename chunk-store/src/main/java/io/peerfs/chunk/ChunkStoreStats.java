package io.peerfs.chunk;

/**
 * Counters of a {@link ChunkStore} since it was opened (hits … corrupt) and its current
 * occupancy (chunks … capacity).
 */
public record ChunkStoreStats(
        long hits,
        long misses,
        long bytesRead,
        long bytesWritten,
        long evictions,
        long corrupt,
        long chunks,
        long usedBytes,
        long pinnedBytes,
        long capacityBytes) {
}
