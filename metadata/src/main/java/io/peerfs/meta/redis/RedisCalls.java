package io.peerfs.meta.redis;

import io.lettuce.core.RedisException;
import io.lettuce.core.api.sync.RedisCommands;
import io.peerfs.PeerFsException;
import io.peerfs.meta.redis.RedisTransactions.Decide;
import java.io.IOException;
import java.time.Duration;

/**
 * One Redis database as this node's MetaStore roles use it: the shared connection for reads
 * and single-key writes, the transactions, the replicas a change waits for, and calls that
 * name their failures ("metadata store WHERE: cannot OP WHAT: reason").
 */
final class RedisCalls {
    final String where;
    final String nodeId;
    /** For reads and single-key writes; thread-safe. */
    final RedisCommands<byte[], byte[]> redis;
    private final RedisTransactions transactions;
    private final ReplicaWait replicas;
    private final Duration timeout;

    RedisCalls(String where, String nodeId, RedisCommands<byte[], byte[]> redis, RedisTransactions transactions,
               ReplicaWait replicas, Duration timeout) {
        this.where = where;
        this.nodeId = nodeId;
        this.redis = redis;
        this.transactions = transactions;
        this.replicas = replicas;
        this.timeout = timeout;
    }

    /** Work against Redis that may fail with its runtime exceptions. */
    @FunctionalInterface
    interface Call<T> {
        T run() throws IOException;
    }

    <T> T call(String op, String what, Call<T> c) throws IOException {
        try {
            return c.run();
        } catch (RedisException e) {
            throw failure(op, what, e);
        }
    }

    /** Work that writes: returns once the asked replicas have what it wrote (WAIT). */
    <T> T change(String op, String what, Call<T> c) throws IOException {
        return call(op, what, () -> {
            T result = c.run();
            int asked = replicas.target();
            if (asked > 0) {
                replicas.require(where, op, what, asked, redis.waitForReplication(asked, timeout.toMillis() / 2));
            }
            return result;
        });
    }

    /** Runs an optimistic transaction (see {@link RedisTransactions}), naming Redis failures. */
    <T> T transaction(String op, String what, Decide<T> decide) throws IOException {
        return call(op, what, () -> transactions.run(op, what, decide));
    }

    PeerFsException failure(String op, String what, RuntimeException e) {
        return new PeerFsException("metadata store " + where + ": cannot " + op + " " + what + ": " + rootMessage(e), e);
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
    }
}
