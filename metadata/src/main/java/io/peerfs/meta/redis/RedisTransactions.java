package io.peerfs.meta.redis;

import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.peerfs.PeerFsException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Optimistic transactions on connections of their own (WATCH and MULTI are per connection,
 * so each runs one at a time; {@link #CONNECTIONS} of them let that many threads' changes be
 * in flight at once): a step WATCHes what it reads, decides, and MULTI/EXECs its writes; when
 * another client changed a watched key meanwhile, EXEC does nothing and the step runs again on
 * fresh reads.
 *
 * <p>The connection does not send each command as it is issued: commands queue until an
 * {@link Answer} is asked for, so the watches and the reads a step needs go out as one batch,
 * and MULTI, the writes and EXEC as another. A round trip is most of what a metadata call
 * costs (~0.1 ms on loopback, more across racks).
 *
 * <p>Redis failures surface as Lettuce's runtime {@code RedisException}s, for the caller to
 * name; a transaction that keeps conflicting, or whose queued write the server refused, is a
 * {@link PeerFsException}.
 */
final class RedisTransactions {
    /** Connections for transactions: a step waits for one only when this many are in flight. */
    static final int CONNECTIONS = 4;
    static final int MAX_ATTEMPTS = 10_000;

    private final String where;
    private final Duration timeout;
    private final List<StatefulRedisConnection<byte[], byte[]>> connections;
    private final BlockingQueue<Tx> idle;

    /** Takes over {@code connections}: they no longer send commands as they are issued. */
    RedisTransactions(String where, Duration timeout, List<StatefulRedisConnection<byte[], byte[]>> connections) {
        this.where = where;
        this.timeout = timeout;
        this.connections = List.copyOf(connections);
        this.idle = new ArrayBlockingQueue<>(connections.size());
        for (StatefulRedisConnection<byte[], byte[]> c : this.connections) {
            c.setAutoFlushCommands(false);
            idle.add(new Tx(c));
        }
    }

    /** What a step decided after its watched reads: a result and the writes that make it so. */
    record Plan<T>(T result, Consumer<RedisAsyncCommands<byte[], byte[]>> writes) {
        static <T> Plan<T> nothing(T result) {
            return new Plan<>(result, null);
        }
    }

    @FunctionalInterface
    interface Decide<T> {
        /** Watches and reads through {@code tx}, checks, and returns the writes; may throw to refuse. */
        Plan<T> run(Tx tx) throws IOException;
    }

    /** The answer to a queued command: asking for it sends everything queued so far, one round trip. */
    @FunctionalInterface
    interface Answer<T> {
        T get();
    }

    /** The commands a step may queue before it decides. */
    final class Tx {
        private final StatefulRedisConnection<byte[], byte[]> connection;
        private final RedisAsyncCommands<byte[], byte[]> queue;

        private Tx(StatefulRedisConnection<byte[], byte[]> connection) {
            this.connection = connection;
            this.queue = connection.async();
        }

        void watch(byte[]... keys) {
            queue.watch(keys);
        }

        Answer<byte[]> get(byte[] key) {
            return answer(queue.get(key));
        }

        Answer<byte[]> hget(byte[] key, String field) {
            return answer(queue.hget(key, field.getBytes(StandardCharsets.UTF_8)));
        }

        Answer<Long> hlen(byte[] key) {
            return answer(queue.hlen(key));
        }

        Answer<Map<byte[], byte[]>> hgetall(byte[] key) {
            return answer(queue.hgetall(key));
        }

        Answer<Long> incr(byte[] key) {
            return answer(queue.incr(key));
        }

        private <T> Answer<T> answer(RedisFuture<T> reply) {
            return () -> {
                send();
                return LettuceFutures.awaitOrCancel(reply, timeout.toNanos(), TimeUnit.NANOSECONDS);
            };
        }

        /** Sends what is queued without waiting for the replies. */
        private void send() {
            connection.flushCommands();
        }
    }

    /** Runs {@code decide} (named {@code op what} in messages) until no watched key changed under it. */
    <T> T run(String op, String what, Decide<T> decide) throws IOException {
        Tx tx;
        try {
            tx = idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting to " + op + " " + what);
        }
        try {
            for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
                Plan<T> plan;
                try {
                    plan = decide.run(tx);
                } catch (IOException | RuntimeException e) {
                    unwatch(tx);
                    throw e;
                }
                if (plan.writes() == null) {
                    unwatch(tx);
                    return plan.result();
                }
                tx.queue.multi();
                try {
                    plan.writes().accept(tx.queue);
                } catch (RuntimeException e) {
                    tx.queue.discard();
                    tx.send();
                    throw e;
                }
                TransactionResult r = tx.answer(tx.queue.exec()).get();
                if (!r.wasDiscarded()) {
                    for (Object o : r) {
                        if (o instanceof Exception e) {
                            throw new PeerFsException("metadata store " + where + ": " + op + " " + what
                                    + " failed inside its transaction: " + e.getMessage(), e);
                        }
                    }
                    return plan.result();
                }
                // another node changed a watched key: decide again on fresh reads
            }
            throw new PeerFsException("metadata store " + where + ": " + op + " " + what + " kept conflicting with"
                    + " other nodes' changes; gave up after " + MAX_ATTEMPTS + " attempts");
        } finally {
            idle.add(tx);
        }
    }

    /**
     * Ends the watches of a step that writes nothing. Not waited for: the connection keeps
     * order, so the next step's watches come after it (on a lost connection they are gone anyway).
     */
    private static void unwatch(Tx tx) {
        tx.queue.unwatch();
        tx.send();
    }

    void close() {
        connections.forEach(StatefulRedisConnection::close);
    }
}
