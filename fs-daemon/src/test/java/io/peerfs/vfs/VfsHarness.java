package io.peerfs.vfs;

import io.peerfs.backend.Backend;
import io.peerfs.backend.CountingBackend;
import io.peerfs.backend.LocalDirBackend;
import io.peerfs.chunk.ByteSize;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.disk.DiskChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.ResultPaths;
import io.peerfs.meta.rocksdb.RocksDbMetaStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;

/**
 * The one way the {@link Vfs} tests build a Vfs: over real parts (a backend directory, a disk
 * chunk store, the backend metadata cache and an embedded RocksDB MetaStore), with the
 * wrappers a test puts around the backend or the MetaStore to count or break calls.
 */
final class VfsHarness implements AutoCloseable {
    static final int CHUNK = 64 * 1024;
    /** The backend's calls as counted beneath every wrapper. */
    final CountingBackend counted;
    final Backend backend;
    final DiskChunkStore store;
    final BackendMetaCache meta;
    /** The real MetaStore (the Vfs gets it through the test's wrapper). */
    final MetaStore metaStore;
    final ChunkFetcher fetcher;
    final Vfs vfs;

    private VfsHarness(Options o, Path backendDir, Path cacheDir) throws Exception {
        counted = new CountingBackend(LocalDirBackend.open(backendDir));
        backend = o.backendWrap.apply(counted);
        store = DiskChunkStore.open(new ChunkStoreConfig(cacheDir.resolve("c"), ByteSize.ofBytes(o.cacheBytes), 0));
        meta = BackendMetaCache.open(backend, cacheDir.resolve("m"), o.metaTtl, o.clockMs);
        metaStore = RocksDbMetaStore.open(cacheDir.resolve("s"));
        fetcher = new ChunkFetcher(store, backend, CHUNK, 1);
        vfs = new Vfs(new VfsConfig(CHUNK, 2, new ResultPaths(o.globs), o.writeback, false), meta, backend,
                o.metaWrap.apply(metaStore), fetcher, store, o.clockNs,
                () -> "{\"ok\":1}".getBytes(StandardCharsets.UTF_8));
        if (o.recover) {
            vfs.recover();
        }
    }

    static Options options() {
        return new Options();
    }

    /** How a test wants its Vfs; the defaults are a 64 MiB cache, no result paths, a 1 s TTL. */
    static final class Options {
        private long cacheBytes = 64L << 20;
        private List<String> globs = List.of();
        private boolean writeback;
        private Duration metaTtl = Duration.ofSeconds(1);
        private LongSupplier clockMs = System::currentTimeMillis;
        private LongSupplier clockNs = System::nanoTime;
        private UnaryOperator<Backend> backendWrap = b -> b;
        private UnaryOperator<MetaStore> metaWrap = m -> m;
        private boolean recover;

        Options cacheBytes(long bytes) {
            cacheBytes = bytes;
            return this;
        }

        Options resultPaths(String... g) {
            globs = List.of(g);
            return this;
        }

        Options writeback(boolean on) {
            writeback = on;
            return this;
        }

        Options metaTtl(Duration ttl) {
            metaTtl = ttl;
            return this;
        }

        /** The metadata cache's clock (ms) and the scratch timestamps' clock (ns since the epoch). */
        Options clocks(LongSupplier ms, LongSupplier ns) {
            clockMs = ms;
            clockNs = ns;
            return this;
        }

        Options backend(UnaryOperator<Backend> wrap) {
            backendWrap = wrap;
            return this;
        }

        Options metaStore(UnaryOperator<MetaStore> wrap) {
            metaWrap = wrap;
            return this;
        }

        /** Runs {@link Vfs#recover} before handing it out, as the daemon does at start. */
        Options recover() {
            recover = true;
            return this;
        }

        VfsHarness open(Path backendDir, Path cacheDir) throws Exception {
            return new VfsHarness(this, backendDir, cacheDir);
        }
    }

    /** Stops everything without waiting for queued uploads: what kill -9 leaves behind. */
    @Override
    public void close() {
        vfs.close(0);
        fetcher.close();
        metaStore.close();
        meta.close();
        store.close();
    }
}
