package io.peerfs.meta.redis;

import io.lettuce.core.api.sync.RedisCommands;
import io.peerfs.PeerFsException;
import java.util.concurrent.TimeUnit;

/**
 * How many replicas a change waits for ({@code WAIT}) before it returns: {@code --meta-replicas}
 * N, or every replica the master has when it has fewer. So while the master has a replica,
 * an acknowledged change is on one and survives a failover to it; once a failover has left
 * the new master without replicas, changes go on with the master's word (Redis's own
 * {@code min-replicas-to-write} refuses them instead, for those who want that). The count of
 * the master's replicas is asked at most once a second, and again when a WAIT falls short.
 */
final class ReplicaWait {
    private static final long RECHECK_NS = TimeUnit.SECONDS.toNanos(1);
    private final int wanted;
    private final RedisCommands<byte[], byte[]> redis;
    private volatile int connected = -1;
    private volatile long checkedNs;

    ReplicaWait(int wanted, RedisCommands<byte[], byte[]> redis) {
        this.wanted = wanted;
        this.redis = redis;
    }

    /** Replicas the next change waits for; 0 when none (no WAIT is sent). */
    int target() {
        if (wanted == 0) {
            return 0;
        }
        if (connected < 0 || System.nanoTime() - checkedNs > RECHECK_NS) {
            recount();
        }
        return Math.min(wanted, connected);
    }

    /**
     * Accepts a change that {@code acked} replicas confirmed when {@code asked} were waited
     * for; short of that, accepts it if the master has no more replicas now, else fails it.
     */
    void require(String where, String op, String what, int asked, long acked) throws PeerFsException {
        if (acked >= asked) {
            return;
        }
        recount();
        if (acked < Math.min(wanted, connected)) {
            throw new PeerFsException("metadata store " + where + ": " + op + " " + what + " reached " + acked + " of "
                    + asked + " replicas in time (--meta-replicas): the master has it, a failover may lose it");
        }
    }

    private void recount() {
        String info = redis.info("replication");
        int n = 0;
        for (String line : info.split("\r?\n")) {
            if (line.startsWith("connected_slaves:")) {
                n = Integer.parseInt(line.substring("connected_slaves:".length()).trim());
            }
        }
        connected = n;
        checkedNs = System.nanoTime();
    }
}
