package io.peerfs.daemon;

import io.peerfs.PeerFsException;
import io.peerfs.daemon.fuse.FuseMount;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Prometheus metrics of one mount, served as text at {@code http://HOST:PORT/metrics}: the
 * counters of {@code peerfs status} (read from one status document per scrape) and the
 * latency of every FUSE operation.
 */
public final class Metrics implements FuseMount.OpObserver, AutoCloseable {
    /** Latency buckets of FUSE operations, 50 µs to 10 s. */
    private static final double[] OP_BUCKETS = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
            0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final StatusReport status;
    private final Histogram ops;
    private HTTPServer server;
    /** The status document of the scrape in progress, so its metrics come from one snapshot. */
    private volatile Snapshot last = new Snapshot(0, Map.of());

    private record Snapshot(long atNs, Map<String, Object> doc) {
    }

    Metrics(StatusReport status) {
        this.status = status;
        this.ops = Histogram.builder().name("peerfs_fuse_op_seconds").help("Time FUSE operations took, by operation")
                .labelNames("op", "result").classicUpperBounds(OP_BUCKETS).classicOnly().register(registry);
        counter("peerfs_cache_hits", "Chunk reads served by this node's cache", "cache", "hits");
        counter("peerfs_cache_misses", "Chunk reads this node's cache could not serve", "cache", "misses");
        counter("peerfs_cache_read_bytes", "Bytes read from this node's cache", "cache", "bytesServed");
        counter("peerfs_cache_direct_read_bytes", "Bytes read from chunk files with direct I/O (libfuse 3)", "cache",
                "bytesServedDirect");
        counter("peerfs_fuse_spliced_read_bytes", "Read reply bytes spliced into the kernel from reused buffers",
                "fuse", "bytesSpliced");
        counter("peerfs_cache_written_bytes", "Bytes stored into this node's cache", "cache", "bytesStored");
        counter("peerfs_cache_evictions", "Chunks evicted to stay under the cache size", "cache", "evictions");
        counter("peerfs_cache_corrupt_chunks", "Chunks found corrupt on disk and dropped", "cache", "corruptChunks");
        counter("peerfs_cache_adopted_chunks", "Chunks of uploaded result files kept as cache entries", "cache",
                "adoptedChunks");
        counter("peerfs_cache_backend_loads", "Chunks this node loaded from the backend", "cache", "backendLoads");
        counter("peerfs_cache_peer_loads", "Chunks this node loaded from peers", "cache", "peerLoads");
        counter("peerfs_cache_prefetches", "Chunks loaded ahead of sequential readers", "cache", "prefetches");
        gauge("peerfs_cache_used_bytes", "Bytes of chunk data in the cache", "cache", "usedBytes");
        gauge("peerfs_cache_pinned_bytes", "Bytes of pinned chunks (scratch data, never evicted)", "cache",
                "pinnedBytes");
        gauge("peerfs_cache_resident_bytes", "Bytes of chunks of pinned paths (peerfs cache pin), evicted last",
                "cache", "residentBytes");
        gauge("peerfs_cache_capacity_bytes", "Most chunk data the cache keeps", "cache", "capacityBytes");
        gauge("peerfs_cache_chunks", "Chunks in the cache", "cache", "chunks");
        counter("peerfs_cache_disk_errors", "I/O errors of the cache disk", "cache", "diskErrors");
        counter("peerfs_backend_read_bytes", "Bytes read from the backend", "backend", "bytesRead");
        counter("peerfs_backend_direct_read_bytes", "Bytes read from the backend past the page cache (direct I/O)",
                "backend", "bytesReadDirect");
        counter("peerfs_backend_reads", "Data reads sent to the backend", "backend", "dataReads");
        counter("peerfs_backend_meta_calls", "Metadata calls sent to the backend", "backend", "metaCalls");
        counter("peerfs_backend_written_bytes", "Bytes written to the backend", "backend", "bytesWritten");
        counter("peerfs_backend_uploads", "Result files uploaded to the backend", "backend", "uploads");
        counter("peerfs_backend_timeouts", "Backend calls given up after --backend-timeout", "backend", "timeouts");
        counter("peerfs_backend_unavailable", "Backend calls failed because the backend was unavailable", "backend",
                "unavailable");
        counter("peerfs_meta_cache_hits", "Backend metadata answered from the local cache", "meta", "hits");
        counter("peerfs_meta_cache_misses", "Backend metadata the local cache had to ask for", "meta", "misses");
        gauge("peerfs_writeback_staged_files", "Result files staged locally, not yet uploaded", "writeback",
                "staged");
        gauge("peerfs_writeback_queued_files", "Result files waiting in the upload queue", "writeback", "queued");
        counter("peerfs_writeback_failures", "Result uploads that failed and will be retried", "writeback",
                "failures");
        counter("peerfs_peer_sent_bytes", "Chunk bytes this node sent to peers", "peers", "bytesServed");
        counter("peerfs_peer_received_bytes", "Chunk bytes this node received from peers", "peers", "bytesFetched");
        counter("peerfs_peer_fallbacks", "Peer requests that failed over to the next source", "peers", "fallbacks");
        counter("peerfs_peer_auth_failures", "Peer connections refused for a wrong secret", "peers",
                "authFailures");
        counter("peerfs_peer_bad_frames", "Peer connections closed for malformed frames", "peers", "badFrames");
        counter("peerfs_peer_corrupt_transfers", "Chunks from peers whose checksums did not match", "peers",
                "corruptTransfers");
        gauge("peerfs_open_files", "Files open through the mount", "daemon", "openFiles");
        gauge("peerfs_mount_handovers", "Times this mount passed from one daemon to the next (--libfuse none)",
                "daemon", "handovers");
        gauge("peerfs_mount_recoveries", "Times a new daemon took this mount over from one that died", "daemon",
                "recoveries");
        gauge("peerfs_direct_memory_bytes", "Off-heap buffers of the daemon (bounded by -XX:MaxDirectMemorySize)",
                "daemon", "directMemoryBytes");
        gauge("peerfs_peer_members", "Members of the cluster this node knows, itself included", "peers",
                "membersTotal");
        gauge("peerfs_peer_members_live", "Members this node counts as live, itself included", "peers",
                "membersLive");
        GaugeWithCallback.builder().name("peerfs_cache_disk_healthy")
                .help("1 while the cache disk works normally; 0 when unstable, read-only or down")
                .callback(cb -> {
                    Object state = field("cache", "diskState");
                    if (state != null) {
                        cb.call("normal".equals(state.toString()) ? 1 : 0);
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("peerfs_process_resident_bytes").help("Resident memory of the daemon")
                .callback(cb -> cb.call(residentBytes())).register(registry);
    }

    /** Serves the metrics at {@code listen}; returns the bound address (port 0 picks one). */
    InetSocketAddress start(InetSocketAddress listen) throws PeerFsException {
        try {
            server = HTTPServer.builder().inetAddress(listen.getAddress()).port(listen.getPort()).registry(registry)
                    .buildAndStart();
        } catch (IOException e) {
            throw new PeerFsException("cannot serve metrics on " + listen.getHostString() + ":" + listen.getPort()
                    + ": " + e.getMessage(), e);
        }
        return new InetSocketAddress(listen.getAddress(), server.getPort());
    }

    /** {@code host:port} or {@code :port} (loopback) as an address to bind. */
    static InetSocketAddress parse(String spec) {
        int colon = spec.lastIndexOf(':');
        try {
            String host = colon <= 0 ? "127.0.0.1" : spec.substring(0, colon);
            int port = Integer.parseInt(spec.substring(colon + 1));
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (NumberFormatException | IOException e) {
            throw new IllegalArgumentException("--metrics wants host:port, :port or none, got '" + spec + "'");
        }
    }

    @Override
    public void observe(String op, long nanos, boolean failed) {
        ops.labelValues(op, failed ? "error" : "ok").observe(nanos / 1e9);
    }

    private void counter(String name, String help, String section, String field) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> report(section, field, cb::call))
                .register(registry);
    }

    private void gauge(String name, String help, String section, String field) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> report(section, field, cb::call))
                .register(registry);
    }

    /** Hands a status field to a metric's callback; a section this mount does not have reports nothing. */
    private void report(String section, String field, java.util.function.DoubleConsumer sink) {
        double v = value(section, field);
        if (!Double.isNaN(v)) {
            sink.accept(v);
        }
    }

    /** A field of the status document; NaN when this mount has no such section (no peers). */
    private double value(String section, String field) {
        return field(section, field) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** A field of the status document of this scrape; null where this mount has none. */
    private Object field(String section, String field) {
        Snapshot s = last;
        long now = System.nanoTime();
        if (now - s.atNs() > 100_000_000L) { // one document serves every metric of a scrape
            s = new Snapshot(now, status.document());
            last = s;
        }
        Object sec = s.doc().get(section);
        return sec instanceof Map<?, ?> m ? m.get(field) : null;
    }

    private static double residentBytes() {
        try {
            String[] statm = Files.readString(Path.of("/proc/self/statm")).trim().split(" ");
            return Double.parseDouble(statm[1]) * 4096;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop();
        }
    }
}
