package io.peerfs.daemon;

import io.peerfs.chunk.ByteSize;
import io.peerfs.meta.ResultPaths;
import io.peerfs.meta.redis.RedisMetaStore;
import io.peerfs.peer.PeerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Everything a mount is started with, validated.
 *
 * @param readaheadChunks chunks loaded ahead of a sequential reader (0 disables readahead)
 * @param autoUnmount let libfuse unmount if the daemon dies (no stale mount after kill -9)
 * @param fuseOptions extra libfuse options ({@code -o} values) passed through as given
 * @param resultPaths globs of backend paths written back ({@code --result-paths})
 * @param writeback upload result files after close returns, in the background
 * @param cluster how to join the peer network; null for a node on its own
 * @param meta the MetaStore: {@code rocksdb:} (embedded, under the cache dir) or
 *     {@code redis://[:password@]host:port/db} / {@code rediss://…} / {@code redis-sentinel://…}
 *     (shared by the cluster)
 * @param metaReplicas Redis replicas that must have a change before it returns (0: none)
 * @param metrics where Prometheus metrics are served: {@code host:port}, {@code :port}
 *     (loopback; port 0 picks a free one) or {@code none}
 * @param pinLimit most bytes of chunks kept resident for pinned paths ({@code peerfs cache
 *     pin}); null: half of {@code cacheSize}
 * @param datasetTtl how long backend metadata of read-mostly datasets ({@code peerfs tag
 *     --dataset}) is trusted
 * @param cacheRecheck how often a cache disk found failing, full or read-only is checked again
 * @param backendTimeout longest wait for one backend read or metadata call before the
 *     operation fails with EIO (a hung backend must not hang the mount)
 * @param libfuse the libfuse major version the mount runs on: 3 (requests up to 1 MiB) or 2; 0 for none
 *                (PeerFS's own FUSE loop, whose mount can be handed to a new daemon)
 *     (128 KiB, through jnr-fuse)
 */
public record DaemonConfig(Path backend, Path mountpoint, Path cacheDir, ByteSize cacheSize, double freeSpaceRatio,
                           ByteSize chunkSize, Duration metaTtl, int readaheadChunks, boolean autoUnmount,
                           List<String> fuseOptions, ResultPaths resultPaths, boolean writeback,
                           PeerConfig cluster, String meta, int metaReplicas, String metrics, Duration cacheRecheck,
                           Duration backendTimeout, int libfuse, ByteSize pinLimit, Duration datasetTtl) {
    public static final ByteSize MIN_CHUNK = ByteSize.parse("64KiB");
    public static final ByteSize MAX_CHUNK = ByteSize.parse("64MiB");

    public DaemonConfig {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(mountpoint, "mountpoint");
        Objects.requireNonNull(cacheDir, "cacheDir");
        long chunk = chunkSize.bytes();
        if (Long.bitCount(chunk) != 1 || chunk < MIN_CHUNK.bytes() || chunk > MAX_CHUNK.bytes()) {
            throw new IllegalArgumentException("--chunk-size must be a power of two from " + MIN_CHUNK + " to "
                    + MAX_CHUNK + ", got " + chunkSize);
        }
        if (cacheSize.bytes() < chunk) {
            throw new IllegalArgumentException("--cache-size " + cacheSize + " is smaller than one chunk ("
                    + chunkSize + ")");
        }
        if (!(freeSpaceRatio >= 0 && freeSpaceRatio <= 0.9)) {
            throw new IllegalArgumentException("--free-space-ratio must be from 0 to 0.9, got " + freeSpaceRatio);
        }
        if (pinLimit == null) {
            pinLimit = ByteSize.ofBytes(cacheSize.bytes() / 2);
        } else if (pinLimit.bytes() > cacheSize.bytes()) {
            throw new IllegalArgumentException("--cache-pin-limit " + pinLimit + " is larger than --cache-size "
                    + cacheSize);
        }
        if (metaTtl.isNegative()) {
            throw new IllegalArgumentException("--meta-ttl must not be negative, got " + metaTtl);
        }
        Objects.requireNonNull(datasetTtl, "datasetTtl");
        if (datasetTtl.isNegative()) { // shorter than --meta-ttl: datasets live --meta-ttl like other paths
            throw new IllegalArgumentException("--dataset-ttl must not be negative, got " + datasetTtl);
        }
        if (readaheadChunks < 0 || readaheadChunks > 64) {
            throw new IllegalArgumentException("--readahead must be from 0 to 64 chunks, got " + readaheadChunks);
        }
        backend = backend.toAbsolutePath().normalize();
        mountpoint = mountpoint.toAbsolutePath().normalize();
        cacheDir = cacheDir.toAbsolutePath().normalize();
        fuseOptions = List.copyOf(fuseOptions);
        Objects.requireNonNull(resultPaths, "resultPaths");
        if (cacheRecheck.isNegative() || cacheRecheck.isZero()) {
            throw new IllegalArgumentException("--cache-recheck must be positive, got " + cacheRecheck);
        }
        if (backendTimeout.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("--backend-timeout must be at least 100ms, got " + backendTimeout);
        }
        if (libfuse != 0 && libfuse != 2 && libfuse != 3) {
            throw new IllegalArgumentException("--libfuse must be 2, 3 or none, got " + libfuse);
        }
        if (!meta.equals("rocksdb:") && !isRedis(meta)) {
            throw new IllegalArgumentException("--meta must be rocksdb:, redis://[:password@]host:port/db"
                    + " (rediss:// for TLS) or redis-sentinel://[:password@]host:port,host:port/db#master, got '"
                    + RedisMetaStore.withoutPassword(meta) + "'");
        }
        if (metaReplicas < 0 || metaReplicas > 16) {
            throw new IllegalArgumentException("--meta-replicas must be from 0 to 16, got " + metaReplicas);
        }
        if (metaReplicas > 0 && !isRedis(meta)) {
            throw new IllegalArgumentException("--meta-replicas " + metaReplicas + " waits for Redis replicas: it"
                    + " needs --meta redis://… or redis-sentinel://…");
        }
        if (isRedis(meta) && (cluster == null || cluster.listen() == null)) {
            throw new IllegalArgumentException("--meta " + RedisMetaStore.withoutPassword(meta) + " shares scratch"
                    + " files with other nodes, which read them from this one: it needs --listen and --secret-file");
        }
        if (!metrics.equals("none")) {
            Metrics.parse(metrics);
        }
        if (cluster != null && cluster.scratchReplicas() > 1 && !isRedis(meta)) {
            throw new IllegalArgumentException("--scratch-replicas " + cluster.scratchReplicas() + " copies scratch"
                    + " chunks to other nodes, which only find them through a shared namespace: it needs"
                    + " --meta redis://…");
        }
    }

    /** True for a MetaStore URL that names a Redis server. */
    public static boolean isRedis(String meta) {
        return meta.startsWith("redis://") || meta.startsWith("rediss://") || meta.startsWith("redis-sentinel://");
    }
}
