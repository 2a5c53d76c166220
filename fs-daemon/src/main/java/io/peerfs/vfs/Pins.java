package io.peerfs.vfs;

import io.peerfs.chunk.ChunkStore;
import io.peerfs.fetch.PinnedPaths;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.PathTag;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The paths pinned in caches ({@code peerfs cache pin}), as the {@link MetaStore} keeps them
 * (shared by the cluster with Redis): chunks of files at or below one are kept resident by
 * the chunk store. Read again after a change here, every little while ({@link Vfs#reloadTags})
 * and when a member says a path was just pinned; a pin that went releases its chunks here.
 */
final class Pins implements PinnedPaths {
    private static final Logger log = LoggerFactory.getLogger(Pins.class);
    /** Least time between two reads a member's KEEP makes: a member cannot make this node hammer the store. */
    private static final long ASKED_RELOAD_MS = 1000;

    private final MetaStore meta;
    private final ChunkStore store;
    private volatile Set<String> pins = Set.of();
    private volatile long lastAskedReloadMs;

    Pins(MetaStore meta, ChunkStore store) {
        this.meta = meta;
        this.store = store;
    }

    @Override
    public String pinOf(String path) {
        Set<String> now = pins;
        if (now.isEmpty()) {
            return null;
        }
        String p = path;
        while (!now.contains(p)) {
            if (p.isEmpty()) {
                return null;
            }
            int slash = p.lastIndexOf('/');
            p = slash < 0 ? "" : p.substring(0, slash);
        }
        return p;
    }

    @Override
    public String pinOfNow(String path) {
        String pin = pinOf(path);
        long now = System.currentTimeMillis();
        if (pin == null && now - lastAskedReloadMs >= ASKED_RELOAD_MS) {
            lastAskedReloadMs = now;
            try {
                reload();
            } catch (IOException e) {
                log.debug("cannot read the pinned paths: {}", e.toString());
            }
            pin = pinOf(path);
        }
        return pin;
    }

    /** True when {@code rel} itself is pinned. */
    boolean pinned(String rel) {
        return pins.contains(rel);
    }

    /** Pins ({@code on}) or unpins {@code rel} for the cluster that shares the MetaStore. */
    void pin(String rel, boolean on) throws IOException {
        meta.tag(PathTag.PIN, rel, on);
        reload();
    }

    /** Reads the pinned paths again; the chunks of those that went are ordinary cache entries again. */
    synchronized void reload() throws IOException {
        Set<String> now = Set.copyOf(meta.tagged(PathTag.PIN));
        Set<String> gone = new HashSet<>(pins);
        gone.removeAll(now);
        pins = now;
        for (String pin : gone) {
            store.releaseResident(pin);
            log.info("unpinned /{}: its cached chunks are ordinary cache entries again", pin);
        }
    }
}
