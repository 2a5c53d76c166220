package io.peerfs.peer;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Counters of the peer network, in total and per peer address. */
public final class PeerStats {
    private static final Logger log = LoggerFactory.getLogger(PeerStats.class);

    /** Per peer: what this node fetched from it, and how often asking it failed. */
    public static final class Peer {
        public final LongAdder bytesFetched = new LongAdder();
        public final LongAdder chunksFetched = new LongAdder();
        public final LongAdder failures = new LongAdder();
    }

    /** Per node this one served chunks to (by the node id it authenticated with). */
    public static final class Client {
        public final LongAdder bytesServed = new LongAdder();
        public final LongAdder chunksServed = new LongAdder();
    }

    public final LongAdder bytesServed = new LongAdder();
    public final LongAdder chunksServed = new LongAdder();
    public final LongAdder bytesFetched = new LongAdder();
    /** Reads that a peer could not serve and went to the next candidate or the backend. */
    public final LongAdder fallbacks = new LongAdder();
    public final LongAdder authFailures = new LongAdder();
    /** Metadata questions this node answered for peers, and asked of peers. */
    public final LongAdder metaServed = new LongAdder();
    public final LongAdder metaFetched = new LongAdder();
    public final LongAdder badFrames = new LongAdder();
    /** Chunks from a peer whose bytes did not match their checksums (never used). */
    public final LongAdder corruptTransfers = new LongAdder();
    /** Scratch chunks copied to a replica, and chunks that got fewer replicas than asked for. */
    public final LongAdder replicated = new LongAdder();
    public final LongAdder underReplicated = new LongAdder();
    /** Scratch chunks this node copied from their writer to keep as a replica. */
    public final LongAdder replicasKept = new LongAdder();
    private final Map<String, Peer> peers = new ConcurrentHashMap<>();
    private final Map<String, Client> clients = new ConcurrentHashMap<>();
    private volatile long lastRefusalLogMs;

    public Peer peer(String address) {
        return peers.computeIfAbsent(address, a -> new Peer());
    }

    public Map<String, Peer> peers() {
        return new TreeMap<>(peers);
    }

    public Map<String, Client> clients() {
        return new TreeMap<>(clients);
    }

    /** A chunk received from the peer at {@code address}. */
    public void fetched(String address, int bytes) {
        bytesFetched.add(bytes);
        Peer p = peer(address);
        p.bytesFetched.add(bytes);
        p.chunksFetched.increment();
    }

    /** A chunk sent to the node {@code nodeId}. */
    public void served(String nodeId, int bytes) {
        bytesServed.add(bytes);
        chunksServed.increment();
        Client c = clients.computeIfAbsent(nodeId, n -> new Client());
        c.bytesServed.add(bytes);
        c.chunksServed.increment();
    }

    /** Logs a refused connection, at most once a second (a scanner must not flood the log). */
    public void warnRefused(String peer, String why) {
        long now = System.currentTimeMillis();
        if (now - lastRefusalLogMs >= 1000) {
            lastRefusalLogMs = now;
            log.warn("peer connection from {} refused and closed: {}", peer, why);
        }
    }
}
