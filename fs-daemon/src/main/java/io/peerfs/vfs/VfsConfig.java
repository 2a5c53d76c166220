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
 */
public record VfsConfig(int chunkSize, int readaheadChunks, ResultPaths resultPaths, boolean writeback,
                        boolean setOwners) {
    public VfsConfig {
        if (Integer.bitCount(chunkSize) != 1) {
            throw new IllegalArgumentException("chunk size must be a power of two: " + chunkSize);
        }
    }
}
