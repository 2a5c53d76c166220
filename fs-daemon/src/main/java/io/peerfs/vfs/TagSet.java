package io.peerfs.vfs;

import io.peerfs.meta.TagStore;
import io.peerfs.meta.PathTag;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The paths with one kind of tag, as the {@link io.peerfs.meta.MetaStore} keeps them (shared by the cluster
 * with Redis): pinned paths ({@code peerfs cache pin}), read-mostly datasets ({@code peerfs
 * tag --dataset}). Read again after a change here, every little while ({@link Vfs#reloadTags})
 * and when a member says a path was just tagged; each tag that went is handed to
 * {@code onRemoved} (its chunks released, its cached metadata dropped).
 */
final class TagSet {
    private static final Logger log = LoggerFactory.getLogger(TagSet.class);
    /** Least time between two reads a member's request makes: a member cannot make this node hammer the store. */
    private static final long ASKED_RELOAD_MS = 1000;

    /** What is done with a tag that went. */
    @FunctionalInterface
    interface Removed {
        void accept(String path) throws IOException;
    }

    private final TagStore meta;
    private final PathTag kind;
    private final Removed onRemoved;
    private volatile Set<String> tags = Set.of();
    private volatile long lastAskedReloadMs;

    TagSet(TagStore meta, PathTag kind, Removed onRemoved) {
        this.meta = meta;
        this.kind = kind;
        this.onRemoved = onRemoved;
    }

    /** The tagged path that covers {@code rel} (itself or a directory above it), or null. */
    String covering(String rel) {
        return PathTag.covering(tags, rel);
    }

    /**
     * {@link #covering}, reading the tags again first when none covers the path and the last
     * such read is a second old: for a member that says the path was just tagged.
     */
    String coveringNow(String rel) {
        String tag = covering(rel);
        long now = System.currentTimeMillis();
        if (tag == null && now - lastAskedReloadMs >= ASKED_RELOAD_MS) {
            lastAskedReloadMs = now;
            try {
                reload();
            } catch (IOException e) {
                log.debug("cannot read the {} tags: {}", kind, e.toString());
            }
            tag = covering(rel);
        }
        return tag;
    }

    /** True when {@code rel} itself is tagged. */
    boolean contains(String rel) {
        return tags.contains(rel);
    }

    /** Tags ({@code on}) or untags {@code rel} for the cluster that shares the MetaStore. */
    void set(String rel, boolean on) throws IOException {
        meta.tag(kind, rel, on);
        reload();
    }

    /** Reads the tagged paths again; those that went are handed to {@code onRemoved}. */
    synchronized void reload() throws IOException {
        Set<String> now = Set.copyOf(meta.tagged(kind));
        Set<String> gone = new HashSet<>(tags);
        gone.removeAll(now);
        tags = now;
        for (String path : gone) {
            onRemoved.accept(path);
            log.info("/{} is no longer tagged {}", path, kind);
        }
    }
}
