package io.peerfs.vfs;

import io.peerfs.meta.ResultPaths;

/**
 * How the file system behaves.
 *
 * @param chunkSize bytes per chunk, a power of two
 * @param readaheadChunks chunks loaded ahead of a sequential reader of source files
 * @param resultPaths globs of the paths written back to the backend
 * @param writeback upload result files in the background after close instead of before it returns
 * @param setOwners give what is created on the backend the caller's owner (the daemon runs as root)
 * @param datasetTtl how long backend metadata of read-mostly datasets ({@code peerfs tag --dataset}) is trusted
 */
public record VfsConfig(int chunkSize, int readaheadChunks, ResultPaths resultPaths, boolean writeback,
                        boolean setOwners, java.time.Duration datasetTtl) {
    /** Datasets trusted for {@link #DEFAULT_DATASET_TTL}. */
    public VfsConfig(int chunkSize, int readaheadChunks, ResultPaths resultPaths, boolean writeback, boolean setOwners) {
        this(chunkSize, readaheadChunks, resultPaths, writeback, setOwners, DEFAULT_DATASET_TTL);
    }

    /** {@code --dataset-ttl}'s default. */
    public static final java.time.Duration DEFAULT_DATASET_TTL = java.time.Duration.ofHours(1);

    public VfsConfig {
        if (Integer.bitCount(chunkSize) != 1) {
            throw new IllegalArgumentException("chunk size must be a power of two: " + chunkSize);
        }
    }
}
