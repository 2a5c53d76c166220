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
 * @param residentLimit most bytes of resident chunks (of paths pinned with {@code peerfs cache
 *     pin}, evicted last); past it the oldest of them are ordinary cache entries again
 */
public record ChunkStoreConfig(Path dir, ByteSize capacity, double freeSpaceRatio, ByteSize residentLimit) {
    /** A store whose resident chunks may take half its capacity. */
    public ChunkStoreConfig(Path dir, ByteSize capacity, double freeSpaceRatio) {
        this(dir, capacity, freeSpaceRatio, ByteSize.ofBytes(capacity.bytes() / 2));
    }

    public ChunkStoreConfig {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(capacity, "capacity");
        Objects.requireNonNull(residentLimit, "residentLimit");
        if (residentLimit.bytes() < 0 || residentLimit.bytes() > capacity.bytes()) {
            throw new IllegalArgumentException("the limit of pinned paths' chunks (" + residentLimit
                    + ") must be from 0 to the cache size (" + capacity + ")");
        }
        if (capacity.bytes() <= 0) {
            throw new IllegalArgumentException("cache size must be positive, got " + capacity);
        }
        if (!(freeSpaceRatio >= 0 && freeSpaceRatio <= 0.9)) {
            throw new IllegalArgumentException("free space ratio must be between 0 and 0.9, got " + freeSpaceRatio);
        }
    }
}
