package io.peerfs.fetch;

import io.peerfs.chunk.ChunkKey;

/**
 * One chunk of a backend file: its key and where its bytes are on the backend.
 *
 * @param fileOffset offset of the chunk's first byte in the file
 * @param length bytes in this chunk (the last chunk of a file may be short)
 * @param version the file version the key was derived from; a peer recomputes the key from it
 *     before it serves or stores anything, so no request can file bytes under another key
 */
public record ChunkRef(ChunkKey key, String backendPath, long fileOffset, int length, Version version) {
    /** The (path, size, mtime) a backend chunk key hashes, with the chunk's index. */
    public record Version(String path, long size, long mtimeNs) {
    }

    /** The ref of chunk {@code index} of a backend file version, read at {@code backendPath}. */
    public static ChunkRef of(Version v, String backendPath, long index, int chunkSize) {
        long off = index * chunkSize;
        return new ChunkRef(ChunkKey.forBackendFile(v.path(), v.size(), v.mtimeNs(), index), backendPath, off,
                (int) Math.min(chunkSize, v.size() - off), v);
    }

    /** True when a peer can be asked for it: the key derives from the path it is read at. */
    public boolean shareable() {
        return version != null && version.path().equals(backendPath);
    }
}
