package io.peerfs.peer;

import io.peerfs.Stopping;
import io.peerfs.meta.Member;
import io.peerfs.meta.MemberRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who is in the cluster: the static {@code --peers}, this node, and the members registered in
 * the {@link io.peerfs.meta.MetaStore} whose heartbeat is fresh (with a shared MetaStore, nodes find each
 * other without a static list). A peer that failed is skipped for a while, so reads do not
 * wait on it again and again; it comes back on its own. The while starts short and doubles
 * while the peer keeps failing: a daemon restarting in a rolling update (its mount is ready
 * in about a second) is asked again a second later, a dead one every {@link #DOWN_MS}.
 *
 * <p>A node being drained ({@code peerfs drain}) owns nothing: it ranks itself last for
 * every key, and answers members' chunk requests "draining", upon which they rank it last
 * too ({@link #order}) for {@link #DRAINING_MS}, renewed by each such answer, so readers
 * move to the next owner at the cost of one answer, not a timeout.
 */
public final class Membership implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Membership.class);
    /** How long a peer that failed is left out of the candidates, at most. */
    static final long DOWN_MS = 10_000;
    /** How long after its first failure (or the first after a quiet {@link #FORGIVE_MS}). */
    static final long FIRST_DOWN_MS = 1_000;
    /** A failure this long after the one before starts the wait at {@link #FIRST_DOWN_MS} again. */
    static final long FORGIVE_MS = 60_000;
    /**
     * How long a member that said it is draining stays ranked last; then it is asked again
     * (one more "draining" answer renews it), so a drain ended by {@code --undo} reaches the
     * others within this.
     */
    public static final long DRAINING_MS = 5_000;

    /** A peer that failed: left out until {@code untilMs}; {@code periodMs} was the wait. */
    private record Down(long untilMs, long periodMs) {
    }

    private final String self;
    private final String nodeId;
    private final List<String> staticPeers;
    private final MemberRegistry meta;
    private final Duration heartbeat;
    private final LongSupplier clockMs;
    private final Map<String, Down> down = new ConcurrentHashMap<>();
    /** Members that said they are draining, until when they are ranked last. */
    private final Map<String, Long> draining = new ConcurrentHashMap<>();
    private volatile boolean selfDraining;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "peerfs-heartbeat");
        t.setDaemon(true);
        return t;
    });
    private volatile Set<String> registered = Set.of();
    /** Node id → peer address of every registered member, live or not. */
    private volatile Map<String, String> addresses = Map.of();

    /**
     * @param self this node's peer address ({@code host:port}), or null for a node that only fetches
     */
    public Membership(String self, String nodeId, List<String> staticPeers, MemberRegistry meta, Duration heartbeat,
                      LongSupplier clockMs) {
        this.self = self;
        this.nodeId = nodeId;
        this.staticPeers = List.copyOf(staticPeers);
        this.meta = meta;
        this.heartbeat = heartbeat;
        this.clockMs = clockMs;
    }

    /** Registers this node and keeps its heartbeat fresh; reads the registered members periodically. */
    public void start() {
        beat();
        timer.scheduleWithFixedDelay(this::beat, heartbeat.toMillis(), heartbeat.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void beat() {
        try {
            if (self != null) {
                meta.heartbeat(new Member(nodeId, self, clockMs.getAsLong()));
            }
            long fresh = clockMs.getAsLong() - 3 * heartbeat.toMillis();
            Set<String> live = new TreeSet<>();
            Map<String, String> ids = new java.util.HashMap<>();
            for (Member m : meta.members()) {
                ids.put(m.nodeId(), m.address());
                if (m.heartbeatMs() >= fresh) {
                    live.add(m.address());
                }
            }
            registered = live;
            addresses = ids;
        } catch (IOException | RuntimeException e) {
            log.warn("cluster membership: cannot reach the metadata store: {}", e.toString());
        }
    }

    public String self() {
        return self;
    }

    public String nodeId() {
        return nodeId;
    }

    /** The peer address of the node {@code id}, as it last registered; null if it never did. */
    public String addressOf(String id) throws IOException {
        if (id.equals(nodeId)) {
            return self;
        }
        String a = addresses.get(id);
        if (a == null) { // registered since the last heartbeat round
            for (Member m : meta.members()) {
                if (m.nodeId().equals(id)) {
                    return m.address();
                }
            }
        }
        return a;
    }

    /** The node id registered with the peer address {@code address}; null when none did. */
    public String nodeIdAt(String address) {
        if (address.equals(self)) {
            return nodeId;
        }
        for (Map.Entry<String, String> e : addresses.entrySet()) {
            if (e.getValue().equals(address)) {
                return e.getKey();
            }
        }
        return null;
    }

    /** Every known member, live or not. */
    public Set<String> all() {
        Set<String> all = new TreeSet<>(staticPeers);
        all.addAll(registered);
        if (self != null) {
            all.add(self);
        }
        return all;
    }

    /** Members to ask now: all known ones but those that failed recently. */
    public Set<String> live() {
        long now = clockMs.getAsLong();
        Set<String> live = all();
        live.removeIf(m -> !m.equals(self) && !isLive(m, now));
        return live;
    }

    /**
     * The members to ask for {@code key}, best first: rendezvous order over the live ones,
     * those draining (this node too, when it is) moved to the end.
     */
    public List<String> order(String key) {
        return lastIfDraining(Rendezvous.order(key, live()));
    }

    /** {@link #order(String)} for a chunk. */
    public List<String> order(io.peerfs.chunk.ChunkKey key) {
        return lastIfDraining(Rendezvous.order(key, live()));
    }

    private List<String> lastIfDraining(List<String> ranked) {
        if (draining.isEmpty() && !selfDraining) {
            return ranked;
        }
        long now = clockMs.getAsLong();
        List<String> kept = new java.util.ArrayList<>(ranked.size());
        List<String> last = new java.util.ArrayList<>();
        for (String m : ranked) {
            Long until = draining.get(m);
            boolean drains = m.equals(self) ? selfDraining : until != null && until > now;
            (drains ? last : kept).add(m);
        }
        kept.addAll(last);
        return kept;
    }

    /** This node stops owning chunks and directories ({@code peerfs drain}); {@code false} ends it. */
    public void drainSelf(boolean on) {
        if (on != selfDraining) {
            log.warn(on ? "draining: this node owns nothing now; members asking it are told to ask the next owner"
                    : "draining ended: this node owns its share again");
        }
        selfDraining = on;
    }

    public boolean draining() {
        return selfDraining;
    }

    /** {@code member} said it is draining: ranked last for {@link #DRAINING_MS}. */
    public void markDraining(String member) {
        Long before = draining.put(member, clockMs.getAsLong() + DRAINING_MS);
        if (before == null || before <= clockMs.getAsLong()) {
            log.info("peer {} is draining: asked last", member);
        }
    }

    public boolean isLive(String member) {
        return isLive(member, clockMs.getAsLong());
    }

    private boolean isLive(String member, long now) {
        Down d = down.get(member);
        return d == null || d.untilMs() <= now;
    }

    /**
     * Leaves a member out of the candidates for a while after it failed: {@link #FIRST_DOWN_MS},
     * doubled for each failure that follows the wait before it within {@link #FORGIVE_MS}, up to
     * {@link #DOWN_MS}. Failures while it is left out (requests already under way) change nothing.
     */
    public void markDown(String member, String why) {
        long now = clockMs.getAsLong();
        Down[] marked = new Down[1];
        down.compute(member, (m, d) -> {
            if (d != null && d.untilMs() > now) {
                return d;
            }
            long period = d == null || now - d.untilMs() > FORGIVE_MS ? FIRST_DOWN_MS
                    : Math.min(DOWN_MS, d.periodMs() * 2);
            marked[0] = new Down(now + period, period);
            return marked[0];
        });
        if (marked[0] != null) {
            log.warn("peer {} is skipped for {} ms: {}", member, marked[0].periodMs(), why);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        Stopping.awaitStopped(timer, 5); // a beat still running writes to the MetaStore, closed after this
        if (self != null) {
            try {
                meta.leave(nodeId);
            } catch (IOException | RuntimeException e) {
                log.debug("could not leave the member list: {}", e.toString());
            }
        }
    }
}
