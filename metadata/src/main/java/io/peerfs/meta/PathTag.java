package io.peerfs.meta;

/**
 * What a tag on a backend path says of it and everything below it; a {@link MetaStore} keeps
 * the tagged paths, shared by every node that shares the store.
 */
public enum PathTag {
    /** A result path: changes below it go to the backend ({@code user.peerfs.result}). */
    RESULT,
    /** Pinned in caches: its chunks are evicted last ({@code peerfs cache pin}). */
    PIN
}
