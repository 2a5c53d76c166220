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
import java.util.function.Supplier;

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
 *
 * <p>A connection a step failed on (lost, timed out) is closed and a new one made for the next
 * step: these connections do not reconnect by themselves, since a reconnecting client sends
 * again what was in flight, and a MULTI sent again without its WATCH or its EXEC would apply
 * writes decided on stale reads or leave the connection inside a transaction for good (each
 * later command then times out). A new connection also asks the sentinels for the master.
 */
final class RedisTransactions {
    /** Connections for transactions: a step waits for one only when this many are in flight. */
    static final int CONNECTIONS = 4;
    static final int MAX_ATTEMPTS = 10_000;

    private final String where;
    private final Duration timeout;
    private final Supplier<StatefulRedisConnection<byte[], byte[]>> connect;
    private final List<Tx> all;
    private final BlockingQueue<Tx> idle;
    /** Replicas a transaction's writes wait for before it returns (WAIT, sent with EXEC). */
    private final ReplicaWait replicas;

    /**
     * Opens {@link #CONNECTIONS} connections through {@code connect} (one that does not
     * reconnect by itself), and more as failed ones are replaced.
     *
     * @throws io.lettuce.core.RedisException when Redis cannot be reached (none is left open)
     */
    RedisTransactions(String where, Duration timeout, Supplier<StatefulRedisConnection<byte[], byte[]>> connect,
                      ReplicaWait replicas) {
        this.where = where;
        this.timeout = timeout;
        this.connect = connect;
        this.replicas = replicas;
        List<Tx> made = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < CONNECTIONS; i++) {
                Tx tx = new Tx();
                made.add(tx);
                tx.open();
            }
        } catch (RuntimeException e) {
            made.forEach(Tx::drop);
            throw e;
        }
        this.all = List.copyOf(made);
        this.idle = new ArrayBlockingQueue<>(CONNECTIONS, false, made);
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
        private StatefulRedisConnection<byte[], byte[]> connection;
        private RedisAsyncCommands<byte[], byte[]> queue;

        /** Makes sure there is a connection: the one before, unless it was dropped. */
        private void open() {
            if (connection == null) {
                StatefulRedisConnection<byte[], byte[]> c = connect.get();
                c.setAutoFlushCommands(false);
                connection = c;
                queue = c.async();
            }
        }

        /** Closes the connection (what is queued on it is cancelled, never sent again); the next step opens one. */
        private void drop() {
            if (connection != null) {
                connection.close();
                connection = null;
                queue = null;
            }
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
            tx.open();
            return attempts(tx, op, what, decide);
        } catch (RuntimeException e) {
            tx.drop(); // lost or timed out: whatever it was in the middle of stays with it
            throw e;
        } finally {
            idle.add(tx);
        }
    }

    private <T> T attempts(Tx tx, String op, String what, Decide<T> decide) throws IOException {
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
            int asked = replicas.target();
            Answer<TransactionResult> exec = tx.answer(tx.queue.exec());
            // in the same round trip: returns once the replicas have the writes (or had them already)
            Answer<Long> waited = asked > 0
                    ? tx.answer(tx.queue.waitForReplication(asked, timeout.toMillis() / 2)) : null;
            TransactionResult r = exec.get();
            if (!r.wasDiscarded()) {
                for (Object o : r) {
                    if (o instanceof Exception e) {
                        throw new PeerFsException("metadata store " + where + ": " + op + " " + what
                                + " failed inside its transaction: " + e.getMessage(), e);
                    }
                }
                if (waited != null) {
                    replicas.require(where, op, what, asked, waited.get());
                }
                return plan.result();
            }
            if (waited != null) {
                waited.get(); // nothing was written; its answer only must not be left behind
            }
            // another node changed a watched key: decide again on fresh reads
        }
        throw new PeerFsException("metadata store " + where + ": " + op + " " + what + " kept conflicting with"
                + " other nodes' changes; gave up after " + MAX_ATTEMPTS + " attempts");
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
        all.forEach(Tx::drop);
    }
}
