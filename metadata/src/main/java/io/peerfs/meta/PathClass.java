package io.peerfs.meta;

/** What PeerFS does with a path (DESIGN.md, "What a user sees"). */
public enum PathClass {
    /** On the backend and not under a result path: cached read-through, changes refused (EROFS). */
    SOURCE,
    /** Created through the mount outside result paths: lives only in node caches, never on the backend. */
    SCRATCH,
    /** At or below a result path: read through the cache, changes written back to the backend. */
    RESULT
}
