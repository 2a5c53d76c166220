package io.peerfs.chunk;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Configuration of a disk chunk store.
 *
 * @param dir cache directory; chunks live in {@code dir/chunks}, the index in {@code dir/index}
 * @param capacity most bytes of chunk data to keep
 * @param freeSpaceRatio fraction of the cache file system to keep free (0 to 0.9): chunks
 *     are evicted while less is free
 */
public record ChunkStoreConfig(Path dir, ByteSize capacity, double freeSpaceRatio) {
    public ChunkStoreConfig {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(capacity, "capacity");
        if (capacity.bytes() <= 0) {
            throw new IllegalArgumentException("cache size must be positive, got " + capacity);
        }
        if (!(freeSpaceRatio >= 0 && freeSpaceRatio <= 0.9)) {
            throw new IllegalArgumentException("free space ratio must be between 0 and 0.9, got " + freeSpaceRatio);
        }
    }
}
