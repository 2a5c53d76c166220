package io.peerfs.backend;

/** What statfs(2) reports of a file system, in blocks of {@code blockSize} bytes. */
public record FsStats(long blockSize, long totalBlocks, long freeBlocks, long availableBlocks,
                      long files, long freeFiles, long nameMax) {
}
