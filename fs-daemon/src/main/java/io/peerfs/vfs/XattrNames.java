package io.peerfs.vfs;

/**
 * The virtual {@code user.peerfs.*} xattrs through which the CLI talks to the daemon
 * ({@link ControlXattrs} answers them); {@code user.peerfs.result} is
 * {@link io.peerfs.meta.ResultPaths#TAG_XATTR}.
 */
public final class XattrNames {
    private XattrNames() {
    }

    /** Virtual xattr on the mount root whose value is the daemon's status as JSON. */
    public static final String STATUS_XATTR = "user.peerfs.status";
    /** Virtual xattr on any path whose value says, as JSON, whether it is source, scratch or result and why. */
    public static final String INFO_XATTR = "user.peerfs.info";
    /** Virtual xattr that, set on a scratch file or directory, writes it to the backend as result data. */
    public static final String PERSIST_XATTR = "user.peerfs.persist";
    /** Set on the mount's root: removes pinned chunks no layout uses; reading it gives the last count. */
    public static final String GC_XATTR = "user.peerfs.gc";
    /**
     * Set on a file ("" or "cluster"): drops its cached chunks here, with "cluster" at their
     * owners too ({@code peerfs cache evict}); read back anywhere: bytes dropped here so far.
     */
    public static final String EVICT_XATTR = "user.peerfs.evict";
    /** Set on the mount's root to "1" or "0": starts or ends draining this node ({@code peerfs drain}). */
    public static final String DRAIN_XATTR = "user.peerfs.drain";
    /**
     * Virtual xattr that, set to {@code "OFFSET LENGTH"} on a backend file, loads the chunks of
     * those bytes into this node's cache ({@code "OFFSET LENGTH owner"}: into each chunk's
     * owner's); returns when they are there.
     */
    public static final String WARMUP_XATTR = "user.peerfs.warmup";
    /**
     * Set on a path to "1" (root only): pins it in the cluster's caches, so chunks of files at
     * or below it are evicted last ({@code peerfs cache pin}); "0" unpins it. Read on any path:
     * the pinned path that covers it. Set on a file to "load OFFSET LENGTH": keeps those bytes'
     * chunks resident at their owners, loading them there if needed ({@code --cluster}).
     */
    public static final String PIN_XATTR = "user.peerfs.pin";
    /**
     * Set on a backend directory to "1" (root only): a read-mostly dataset, whose backend
     * metadata is trusted for {@code --dataset-ttl} ({@code peerfs tag --dataset}); "0" ends
     * it. Read on any path: the dataset that covers it.
     */
    public static final String DATASET_XATTR = "user.peerfs.dataset";
    /** Virtual xattr: {@code {"bytes":N,"cachedBytes":M}}, how much of a file this node's cache holds. */
    public static final String CACHED_XATTR = "user.peerfs.cached";
}
