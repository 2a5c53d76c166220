package io.peerfs.meta;

/**
 * What a tag on a backend path says of it and everything below it; a {@link MetaStore} keeps
 * the tagged paths, shared by every node that shares the store.
 */
public enum PathTag {
    /** A result path: changes below it go to the backend ({@code user.peerfs.result}). */
    RESULT,
    /** Pinned in caches: its chunks are evicted last ({@code peerfs cache pin}). */
    PIN,
    /**
     * A read-mostly dataset: its backend attributes and listings are trusted for
     * {@code --dataset-ttl}, not {@code --meta-ttl} ({@code peerfs tag --dataset}).
     */
    DATASET;

    /** The path of {@code tags} that covers {@code path} (itself or the nearest directory above it), or null. */
    public static String covering(java.util.Set<String> tags, String path) {
        if (tags.isEmpty()) {
            return null;
        }
        String p = path;
        while (!tags.contains(p)) {
            if (p.isEmpty()) {
                return null;
            }
            int slash = p.lastIndexOf('/');
            p = slash < 0 ? "" : p.substring(0, slash);
        }
        return p;
    }
}
