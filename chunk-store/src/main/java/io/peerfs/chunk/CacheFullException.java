package io.peerfs.chunk;

import io.peerfs.PeerFsException;

/** A chunk did not fit in the cache without evicting pinned data; maps to ENOSPC. */
public class CacheFullException extends PeerFsException {
    public CacheFullException(ChunkKey key, String limit) {
        super("cache full storing chunk " + key + ": " + limit);
    }
}
