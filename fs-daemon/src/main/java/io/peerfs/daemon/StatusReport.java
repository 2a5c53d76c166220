package io.peerfs.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.peerfs.backend.CountingBackend;
import io.peerfs.backend.GuardedBackend;
import io.peerfs.backend.LocalDirBackend;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.chunk.ChunkStoreStats;
import io.peerfs.daemon.fuse.FuseMount;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.peer.PeerNode;
import io.peerfs.vfs.Vfs;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The daemon's counters as one JSON document, served through the mount root's
 * {@code user.peerfs.status} xattr and printed by {@code peerfs status}.
 */
final class StatusReport implements Supplier<byte[]> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final DaemonConfig config;
    private final CountingBackend backend;
    private final LocalDirBackend backendDir;
    private final GuardedBackend guard;
    private final ChunkStore store;
    private final BackendMetaCache meta;
    private final ChunkFetcher fetcher;
    private final PeerNode peers;
    private final long startedMs = System.currentTimeMillis();
    /** When the mount was made, by this daemon or the first of those that handed it on. */
    private volatile long mountedMs = startedMs;
    /** How often the mount passed from one daemon to the next. */
    private volatile int handovers;
    /** How often a new daemon took the mount over from one that died. */
    private volatile int recoveries;
    private volatile Vfs vfs;
    private volatile FuseMount fuse;
    private volatile String metricsUrl;

    StatusReport(DaemonConfig config, CountingBackend backend, LocalDirBackend backendDir, GuardedBackend guard,
                 ChunkStore store, BackendMetaCache meta, ChunkFetcher fetcher, PeerNode peers) {
        this.peers = peers;
        this.backendDir = backendDir;
        this.guard = guard;
        this.config = config;
        this.backend = backend;
        this.store = store;
        this.meta = meta;
        this.fetcher = fetcher;
    }

    void attach(Vfs v) {
        this.vfs = v;
    }

    void attach(FuseMount f) {
        this.fuse = f;
    }

    /** This daemon serves a mount made at {@code mountedMs}, handed over and recovered so often. */
    void handedOver(int count, int recovered, long mountedAtMs) {
        this.handovers = count;
        this.recoveries = recovered;
        this.mountedMs = mountedAtMs;
    }

    int recoveries() {
        return recoveries;
    }

    int handovers() {
        return handovers;
    }

    long mountedMs() {
        return mountedMs;
    }

    /** Where this mount's Prometheus metrics are served. */
    void metricsAt(String url) {
        this.metricsUrl = url;
    }

    Map<String, Object> document() {
        Map<String, Object> daemon = new LinkedHashMap<>();
        daemon.put("pid", ProcessHandle.current().pid());
        daemon.put("version", Version.get());
        daemon.put("mountpoint", config.mountpoint().toString());
        daemon.put("backendDir", config.backend().toString());
        daemon.put("cacheDir", config.cacheDir().toString());
        daemon.put("chunkSize", config.chunkSize().bytes());
        daemon.put("libfuse", config.libfuse());
        daemon.put("sharedMeta", DaemonConfig.isRedis(config.meta())); // tags and pins reach every node
        daemon.put("uptimeSeconds", (System.currentTimeMillis() - startedMs) / 1000);
        daemon.put("startedAt", java.time.Instant.ofEpochMilli(startedMs).toString());
        daemon.put("mountedAt", java.time.Instant.ofEpochMilli(mountedMs).toString());
        daemon.put("handovers", handovers);
        daemon.put("recoveries", recoveries);
        daemon.put("openFiles", vfs == null ? 0 : vfs.openFiles());
        for (java.lang.management.BufferPoolMXBean pool
                : java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                daemon.put("directMemoryBytes", pool.getMemoryUsed()); // off-heap buffers (-XX:MaxDirectMemorySize)
            }
        }
        daemon.put("metrics", metricsUrl);

        CountingBackend.Counts b = backend.counts();
        Map<String, Object> back = new LinkedHashMap<>();
        back.put("bytesRead", b.bytesRead());
        back.put("bytesReadDirect", backendDir.bytesReadDirect());
        back.put("dataReads", b.dataReads());
        back.put("metaCalls", b.metaCalls());
        back.put("listCalls", b.listCalls());
        back.put("changes", b.changes());
        back.put("uploads", b.uploads());
        back.put("bytesWritten", b.bytesWritten());
        GuardedBackend.Stats g = guard.stats();
        back.put("timeouts", g.timeouts());
        back.put("unavailable", g.failures());
        back.put("busyThreads", g.busyThreads());

        ChunkStoreStats s = store.stats();
        ChunkFetcher.Stats f = fetcher.stats();
        Map<String, Object> cache = new LinkedHashMap<>();
        cache.put("hits", s.hits());
        cache.put("misses", s.misses());
        cache.put("bytesServed", s.bytesRead());
        cache.put("bytesServedDirect", s.bytesReadDirect());
        cache.put("bytesStored", s.bytesWritten());
        cache.put("evictions", s.evictions());
        cache.put("corruptChunks", s.corrupt());
        cache.put("adoptedChunks", s.adopted());
        cache.put("chunks", s.chunks());
        cache.put("usedBytes", s.usedBytes());
        cache.put("diskState", s.diskState());
        cache.put("diskErrors", s.diskErrors());
        cache.put("pinnedBytes", s.pinnedBytes());
        cache.put("residentBytes", s.residentBytes());
        cache.put("residentLimitBytes", s.residentLimitBytes());
        cache.put("capacityBytes", s.capacityBytes());
        cache.put("backendLoads", f.backendLoads());
        cache.put("singleFlightWaits", f.singleFlightWaits());
        cache.put("directReads", f.directReads());
        cache.put("prefetches", f.prefetches());
        cache.put("peerLoads", f.peerLoads());
        cache.put("storesPending", f.storesPending());

        BackendMetaCache.Stats m = meta.stats();
        Map<String, Object> metaMap = new LinkedHashMap<>();
        metaMap.put("hits", m.hits());
        metaMap.put("staleAnswers", m.staleAnswers());
        metaMap.put("misses", m.misses());

        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("daemon", daemon);
        doc.put("backend", back);
        doc.put("cache", cache);
        doc.put("fuse", fuse == null ? Map.of() : fuse.stats());
        doc.put("meta", metaMap);
        doc.put("writeback", vfs == null ? Map.of() : vfs.writebackStats());
        if (peers != null) {
            doc.put("peers", peers.status());
        }
        return doc;
    }

    @Override
    public byte[] get() {
        try {
            return JSON.writeValueAsBytes(document());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("status is plain numbers and strings", e);
        }
    }
}
