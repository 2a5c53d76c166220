package io.peerfs.fetch;

/**
 * The backend paths pinned in caches ({@code peerfs cache pin}): chunks of files at or below
 * one are kept resident (evicted last) by the nodes that store them.
 */
public interface PinnedPaths {
    /** None pinned. */
    PinnedPaths NONE = path -> null;

    /** The pinned path that covers backend path {@code path} (itself or a directory above it), or null. */
    String pinOf(String path);

    /**
     * {@link #pinOf}, reading the pins again first when none covers the path and the last read
     * is not recent: for a request that says the path was just pinned on another node.
     */
    default String pinOfNow(String path) {
        return pinOf(path);
    }
}
