package io.peerfs.peer;

import io.peerfs.backend.Backend;
import io.peerfs.backend.ForwardingBackend;
import io.peerfs.meta.FileAttr;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * The backend as the metadata cache sees it: attributes, listings, link targets and xattrs
 * of a path come through the owner of its directory (rendezvous over the live members), so
 * the backend is asked about a directory about once per TTL for the whole cluster. Without
 * peers, or when the owner fails or this node owns the directory, the backend is asked
 * directly. Data and changes always go to the backend.
 *
 * <p>An open's revalidation ({@link #statDirect}) is the owner's answer too, checked on the
 * store within the TTL, so N nodes opening a file cost the store one check per TTL, not N.
 * What keeps close-to-open for changes made through PeerFS: the node that made one tells the
 * directory's owner to forget what it cached ({@link MetaCodec#FORGET}) before the change
 * returns, and asks the store itself about the path for a while. A change made on the store
 * by others is seen within one TTL.
 */
public final class MetaRouting extends ForwardingBackend {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MetaRouting.class);
    /** Asks the owner of a path's directory; see {@link PeerNetwork#meta}. */
    public interface Router {
        /** The answer from the directory's owner, or {@code null} when this node must ask the backend itself. */
        Object ask(byte kind, String path) throws IOException;
    }

    /** Set while this node answers a peer: it must never pass the question on (no cycles). */
    private static final ThreadLocal<Boolean> SERVING_PEER = ThreadLocal.withInitial(() -> false);
    private volatile Router router;
    /** Paths this node changed, until when it asks the backend itself about them (the owner's answer may be older). */
    private final java.util.concurrent.ConcurrentHashMap<String, Long> changedUntil =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final long localAfterChangeMs;

    /** @param ttl the metadata TTL: how old an owner's answer may be */
    public MetaRouting(Backend delegate, java.time.Duration ttl) {
        super(delegate);
        this.localAfterChangeMs = Math.max(2000, 2 * ttl.toMillis());
    }

    @Override
    public void changedHere(String path) {
        Router r = router;
        if (r != null && !SERVING_PEER.get()) {
            try {
                r.ask(MetaCodec.FORGET, path); // null: this node owns it, or no owner answered
            } catch (IOException e) {
                log.debug("could not tell the owner of {} that it changed: {}", path, e.toString());
            }
        }
        long until = System.currentTimeMillis() + localAfterChangeMs;
        changedUntil.put(path, until);
        if (changedUntil.size() > 10_000) {
            long now = System.currentTimeMillis();
            changedUntil.values().removeIf(t -> t < now);
        }
        super.changedHere(path);
    }

    /** True when this node changed the path or a directory above it recently. */
    private boolean changedRecently(String path) {
        if (changedUntil.isEmpty()) {
            return false;
        }
        long now = System.currentTimeMillis();
        for (String p = path; ; p = p.substring(0, p.lastIndexOf('/'))) {
            Long until = changedUntil.get(p);
            if (until != null && until > now) {
                return true;
            }
            if (p.lastIndexOf('/') < 0) {
                return false;
            }
        }
    }

    public void route(Router r) {
        this.router = r;
    }

    /** Runs {@code work} (an answer to a peer) with every backend question asked locally. */
    public static <T> T servingPeer(java.util.concurrent.Callable<T> work) throws Exception {
        SERVING_PEER.set(true);
        try {
            return work.call();
        } finally {
            SERVING_PEER.set(false);
        }
    }

    private Object routed(byte kind, String path) throws IOException {
        Router r = router;
        return r == null || SERVING_PEER.get() || changedRecently(path) ? null : r.ask(kind, path);
    }

    @Override
    public FileAttr stat(String path) throws IOException {
        Object o = routed(MetaCodec.STAT, path);
        return o != null ? (FileAttr) o : super.stat(path);
    }

    @Override
    public FileAttr statDirect(String path) throws IOException {
        Object o = routed(MetaCodec.STAT_FRESH, path);
        return o != null ? (FileAttr) o : super.statDirect(path);
    }

    @Override
    @SuppressWarnings("unchecked")
    public List<String> list(String path) throws IOException {
        Object o = routed(MetaCodec.LIST, path);
        return o != null ? (List<String>) o : super.list(path);
    }

    @Override
    public String readlink(String path) throws IOException {
        Object o = routed(MetaCodec.READLINK, path);
        return o != null ? (String) o : super.readlink(path);
    }

    @Override
    @SuppressWarnings("unchecked")
    public Map<String, byte[]> xattrs(String path) throws IOException {
        Object o = routed(MetaCodec.XATTRS, path);
        return o != null ? (Map<String, byte[]>) o : super.xattrs(path);
    }
}
