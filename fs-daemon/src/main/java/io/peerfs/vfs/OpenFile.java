package io.peerfs.vfs;

import io.peerfs.chunk.ChunkKey;
import io.peerfs.fetch.ChunkRef;
import io.peerfs.meta.FileAttr;

/**
 * A backend file opened for reading, pinned to the version (size, mtime) seen at open:
 * its chunk keys derive from that version, so a later change on the backend can never
 * mix old and new bytes within one open.
 */
final class OpenFile {
    /** The path at open: chunk keys derive from it, so a rename keeps the cached chunks. */
    final String path;
    /** Where the bytes are on the backend now: follows renames made through this mount. */
    volatile String backendPath;
    final FileAttr attr;
    private final int chunkSize;
    /** Where the previous read ended, to recognise sequential readers. */
    volatile long lastEnd = -1;
    /** Highest chunk index readahead was requested for. */
    volatile long readaheadUpTo = -1;
    private final ChunkRef.Version version;
    /** The chunk asked for last, with its key. */
    private volatile ChunkRef lastRef;

    OpenFile(String path, FileAttr attr, int chunkSize) {
        this.path = path;
        this.backendPath = path;
        this.attr = attr;
        this.chunkSize = chunkSize;
        this.version = new ChunkRef.Version(path, attr.size(), attr.mtimeNs());
    }

    long chunkCount() {
        return (attr.size() + chunkSize - 1) / chunkSize;
    }

    ChunkRef chunk(long index) {
        ChunkRef last = lastRef;
        String at = backendPath;
        if (last != null && last.fileOffset() == index * chunkSize && last.backendPath() == at) {
            return last; // a sequential reader asks for one chunk some 32 times in a row: hash its key once
        }
        ChunkRef ref = ChunkRef.of(version, at, index, chunkSize);
        lastRef = ref;
        return ref;
    }
}
