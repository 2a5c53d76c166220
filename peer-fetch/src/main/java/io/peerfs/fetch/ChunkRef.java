package io.peerfs.fetch;

import io.peerfs.chunk.ChunkKey;

/**
 * One chunk of a backend file: its key and where its bytes are on the backend.
 *
 * @param fileOffset offset of the chunk's first byte in the file
 * @param length bytes in this chunk (the last chunk of a file may be short)
 */
public record ChunkRef(ChunkKey key, String backendPath, long fileOffset, int length) {
}
