package io.peerfs;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Waiting for a pool that was told to stop. At shutdown a task still running may use a store
 * the daemon closes next (a closed RocksDB crashes the JVM instead of throwing), so "stopped"
 * has to mean its threads are done, not only interrupted.
 */
public final class Stopping {
    private Stopping() {
    }

    /**
     * Waits up to {@code seconds} for {@code pool} (already shut down) to finish its tasks.
     *
     * @return false when a task still runs, or this thread was interrupted while waiting
     */
    public static boolean awaitStopped(ExecutorService pool, long seconds) {
        try {
            return pool.awaitTermination(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
