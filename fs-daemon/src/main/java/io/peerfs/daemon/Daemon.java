package io.peerfs.daemon;

import io.peerfs.PeerFsException;
import io.peerfs.backend.CountingBackend;
import io.peerfs.backend.GuardedBackend;
import io.peerfs.backend.LocalDirBackend;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.disk.CacheDisk;
import io.peerfs.daemon.fuse.FuseMount;
import io.peerfs.daemon.fuse.Handover;
import io.peerfs.daemon.fuse.KernelFuse;
import io.peerfs.daemon.fuse.PeerFuse;
import io.peerfs.daemon.fuse.PeerFuse3;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.fetch.ChunkMemory;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.redis.RedisMetaStore;
import io.peerfs.meta.rocksdb.RocksDbMetaStore;
import io.peerfs.peer.MetaRouting;
import io.peerfs.peer.PeerNode;
import io.peerfs.vfs.Vfs;
import io.peerfs.vfs.VfsConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One mounted PeerFS: the place where the modules are wired together, mounted, and
 * taken down in order (unmount, wait for the FUSE loop, then close the stores).
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);
    private static final long MOUNT_TIMEOUT_MS = 30_000;
    /** Options libfuse 2 needs and libfuse 3 refuses, because it always does what they ask. */
    private static final java.util.Set<String> LIBFUSE2_ONLY = java.util.Set.of("big_writes", "atomic_o_trunc",
            "nonempty");

    private final DaemonConfig config;
    private final CacheDisk store;
    private final BackendMetaCache meta;
    /** How long a MetaStore call may wait for Redis before the file operation fails with EIO. */
    private static final java.time.Duration META_TIMEOUT = java.time.Duration.ofSeconds(5);
    private final MetaStore metaStore;
    private final ChunkFetcher fetcher;
    private final Vfs vfs;
    /** This node's part in the cluster; null when it runs on its own. */
    private final PeerNode peers;
    private final FuseMount fuse;
    private final StatusReport status;
    /** Serves /metrics while mounted; null when --metrics none. */
    private Metrics metrics;
    /** Housekeeping of a shared scratch namespace ({@link Vfs#sweep}); null with a one-node MetaStore. */
    private java.util.concurrent.ScheduledExecutorService sweeper;
    private final CompletableFuture<Void> loopEnded = new CompletableFuture<>();
    private Thread loop;
    private boolean closed;
    /** The connection this daemon took over from the one before it; null when it mounts itself. */
    private Handover.State adopted;
    /** Set when this daemon hands its mount over: it then closes without unmounting. */
    private volatile boolean handingOver;
    private final java.util.concurrent.CountDownLatch handedOver = new java.util.concurrent.CountDownLatch(1);
    private List<String> supervisorCommand;
    /** The hand-over socket while mounted; null when none. */
    private AutoCloseable offer;
    /** The link to the supervisor of a recovered daemon (it exists already); null otherwise. */
    private io.peerfs.daemon.fuse.Supervisor.Link supervisor;
    /** How long a hand-over waits for queued result uploads; the rest are in the journal for the next daemon. */
    private static final long HANDOVER_UPLOAD_WAIT_SECONDS = 5;
    /** How often a daemon on a shared MetaStore runs {@link Vfs#sweep}. */
    private static final long SWEEP_SECONDS = 30;
    /** How often tags are read again from a shared MetaStore: the longest another node's tag goes unseen. */
    private static final long TAGS_SECONDS = 5;
    /** How long an unmount waits for queued result uploads; the rest resume at the next start. */
    private static final long UPLOAD_WAIT_SECONDS = 60;

    private Daemon(DaemonConfig config, CacheDisk store, BackendMetaCache meta, MetaStore metaStore,
                   ChunkFetcher fetcher, PeerNode peers, Vfs vfs, FuseMount fuse, StatusReport status) {
        this.status = status;
        this.peers = peers;
        this.config = config;
        this.store = store;
        this.meta = meta;
        this.metaStore = metaStore;
        this.fetcher = fetcher;
        this.vfs = vfs;
        this.fuse = fuse;
    }

    /** Opens the caches and builds the file system; mounts nothing yet. */
    public static Daemon open(DaemonConfig config) throws IOException {
        return open(config, java.util.Set.of());
    }

    /**
     * {@link #open(DaemonConfig)} for a daemon that takes over a dead one's connection: result
     * files at {@code reopened} (open for writing there) keep their staged data for it.
     */
    public static Daemon open(DaemonConfig config, java.util.Set<String> reopened) throws IOException {
        long t0 = System.nanoTime();
        // chunks, index, metadata, journal and log hold every user's bytes: the daemon's alone
        io.peerfs.backend.LibC.C.umask(077);
        // the FUSE bindings take as long to build as the stores to open: on a second core, meanwhile
        java.util.concurrent.CompletableFuture<FuseMount> bindings = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> switch (config.libfuse()) {
                    case 3 -> new PeerFuse3();
                    case 2 -> new PeerFuse();
                    default -> new KernelFuse();
                }, Daemon::startThread);
        LocalDirBackend backendDir = LocalDirBackend.open(config.backend());
        GuardedBackend guard = new GuardedBackend(backendDir, config.backend(),
                config.backendTimeout());
        CountingBackend backend = new CountingBackend(guard);
        CacheDisk store = CacheDisk.open(
                new ChunkStoreConfig(config.cacheDir(), config.cacheSize(), config.freeSpaceRatio(), config.pinLimit()),
                config.cacheRecheck());
        long tStore = System.nanoTime();
        BackendMetaCache meta = null;
        MetaStore metaStore = null;
        PeerNode peers = null;
        try {
            MetaRouting routing = new MetaRouting(backend, config.metaTtl());
            meta = BackendMetaCache.open(routing, config.cacheDir().resolve("meta"), config.metaTtl(),
                    System::currentTimeMillis);
            long tMeta = System.nanoTime();
            metaStore = openMetaStore(config);
            long tMetaStore = System.nanoTime();
            int chunkSize = (int) config.chunkSize().bytes();
            // libfuse 3 hands reads to the store in page-aligned buffers of up to 1 MiB, which it fills
            // from the chunk files past the page cache: reading those into the page cache first is waste
            // with libfuse 3, replies of chunks held in memory are spliced from there: memory with a memfd
            ChunkFetcher fetcher = new ChunkFetcher(store, backend, chunkSize, Math.min(4, config.readaheadChunks()),
                    config.libfuse() == 2, config.libfuse() == 3 ? PeerFuse3.chunkMemory() : ChunkMemory.OFF_HEAP);
            if (config.cluster() != null) {
                peers = PeerNode.start(config.cluster(), store, fetcher, metaStore, meta, routing, chunkSize);
            }
            StatusReport status = new StatusReport(config, backend, backendDir, guard, store, meta, fetcher, peers);
            VfsConfig vfsConfig = new VfsConfig(chunkSize, config.readaheadChunks(), config.resultPaths(),
                    config.writeback(), Uids.isRoot(), config.datasetTtl());
            Vfs vfs = new Vfs(vfsConfig, meta, backend, metaStore, fetcher, store, Daemon::nowNs, status);
            status.attach(vfs);
            if (peers != null) {
                vfs.useScratchHolders(peers.scratchPeers(), config.cluster().scratchReplicas());
                vfs.onDrain(peers::drain);
            }
            long tVfs = System.nanoTime();
            Vfs.Recovery recovered = vfs.recover(reopened);
            long tRecover = System.nanoTime();
            FuseMount fuse = fuseBindings(config, bindings).serve(vfs);
            status.attach(fuse);
            long tFuse = System.nanoTime();
            log.info("start: {} (opened in {} ms: cache {}, metadata cache {}, metadata store {}, the rest {},"
                    + " recovery {}, then waited {} for the FUSE bindings)", recovered, ms(tFuse - t0), ms(tStore - t0),
                    ms(tMeta - tStore), ms(tMetaStore - tMeta), ms(tVfs - tMetaStore), ms(tRecover - tVfs),
                    ms(tFuse - tRecover));
            return new Daemon(config, store, meta, metaStore, fetcher, peers, vfs, fuse, status);
        } catch (IOException | RuntimeException e) {
            if (peers != null) {
                peers.close();
            }
            if (metaStore != null) {
                metaStore.close();
            }
            if (meta != null) {
                meta.close();
            }
            store.close();
            throw e;
        }
    }

    /** The configured MetaStore; a shared one must have been created with this mount's chunk size and secret. */
    private static MetaStore openMetaStore(DaemonConfig config) throws IOException {
        if (!DaemonConfig.isRedis(config.meta())) {
            return RocksDbMetaStore.open(config.cacheDir().resolve("metastore"));
        }
        MetaStore m = RedisMetaStore.open(config.meta(), config.cluster().nodeId(), META_TIMEOUT,
                config.metaReplicas());
        try {
            m.agree("chunk size", Long.toString(config.chunkSize().bytes()), "--chunk-size " + config.chunkSize());
            m.agree("cluster secret", secretCheck(config.cluster().secret()), "--secret-file");
            return m;
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** A value that tells whether two secrets are equal without revealing either. */
    private static String secretCheck(byte[] secret) {
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(secret, "HmacSHA256"));
            return java.util.HexFormat.of().formatHex(mac.doFinal(
                    "peerfs cluster secret check".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    private static FuseMount fuseBindings(DaemonConfig config,
                                          java.util.concurrent.CompletableFuture<FuseMount> bindings)
            throws MountException {
        try {
            return bindings.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw new MountException("cannot bind to libfuse" + config.libfuse() + ": " + e.getCause() + " ("
                    + installHint(config.libfuse()) + ")", e.getCause());
        }
    }

    private static String installHint(int libfuse) {
        return libfuse == 3 ? "is libfuse3 installed? apt-get install fuse3"
                : "is libfuse2 installed? apt-get install libfuse2 fuse3";
    }

    private static void startThread(Runnable r) {
        Thread t = new Thread(r, "peerfs-fuse-bindings");
        t.setDaemon(true);
        t.start();
    }

    private static long ms(long ns) {
        return ns / 1_000_000;
    }

    private static long nowNs() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** The libfuse options this mount runs with ({@code -o} values). */
    List<String> fuseOptions() {
        String ttl = String.format(Locale.ROOT, "%.3f", config.metaTtl().toMillis() / 1000.0);
        List<String> opts = new ArrayList<>(List.of(
                "fsname=peerfs:" + config.backend().toString().replace(",", "\\,"),
                "subtype=peerfs",
                // keep the kernel page cache across opens while size and mtime are unchanged:
                // re-reads (a training job's next epoch) then never reach the daemon
                "auto_cache",
                "attr_timeout=" + ttl,
                "entry_timeout=" + ttl,
                "negative_timeout=" + ttl));
        if (config.libfuse() == 2) {
            // libfuse 3 does both always
            opts.add("big_writes");
            // open(O_TRUNC) arrives as one call, so a result file is replaced whole at close
            // instead of being cut to zero on the backend first
            opts.add("atomic_o_trunc");
            // inode numbers are the backend's and the MetaStore's: hard links share one (libfuse 3
            // takes this in INIT only, see PeerFuse3)
            opts.add("use_ino");
        }
        if (Uids.isRoot()) {
            opts.add("allow_other"); // pods and other users see the mount; permissions as on the backend
            opts.add("default_permissions");
        }
        if (config.autoUnmount()) {
            opts.add("auto_unmount");
        }
        for (String o : config.fuseOptions()) {
            if (config.libfuse() != 2 && LIBFUSE2_ONLY.contains(o)) {
                log.info("-o {}: libfuse 3 has no such option and behaves so always; left out", o);
            } else {
                opts.add(o);
            }
        }
        return opts;
    }

    /**
     * Serves the connection another daemon handed over ({@link Handover#take}) instead of
     * mounting: call before {@link #mount}. Only PeerFS's own FUSE loop can.
     */
    public void adopt(Handover.State state) throws MountException {
        adopt(state, null);
    }

    /**
     * Serves the connection of a daemon that died, from what its supervisor kept
     * ({@link io.peerfs.daemon.fuse.Supervisor#recover}); call before {@link #mount}.
     */
    public void recover(io.peerfs.daemon.fuse.Supervisor.Recovered r) throws MountException {
        adopt(r.state().withHistory(r.state().handovers(), r.state().recoveries() + 1, r.state().mountedAtMs()),
                r.link());
    }

    private void adopt(Handover.State state, io.peerfs.daemon.fuse.Supervisor.Link recoveredLink)
            throws MountException {
        if (!(fuse instanceof KernelFuse k)) {
            throw new MountException("only --libfuse none can take a mount over");
        }
        k.adopt(state, recoveredLink);
        adopted = state;
        supervisor = recoveredLink;
        status.handedOver(state.handovers(), state.recoveries(), state.mountedAtMs());
    }

    /**
     * How to start this mount's supervisor ({@code peerfs supervise}); set before {@link #mount}
     * for a mount that should outlive a crash of this daemon. Root and {@code --libfuse none} only.
     */
    public void superviseWith(List<String> command) {
        this.supervisorCommand = command;
    }

    /** Mounts and returns once the mount answers; the FUSE loop runs on its own thread. */
    public void mount() throws MountException {
        List<String> args = fuseOptions();
        log.info("mounting {} on {} (cache {} size {}, chunk {}, meta-ttl {}, readahead {} chunks, result paths {}"
                        + " with {} uploads, libfuse{} -o {})",
                config.backend(), config.mountpoint(), config.cacheDir(), config.cacheSize(), config.chunkSize(),
                config.metaTtl(), config.readaheadChunks(), config.resultPaths(),
                config.writeback() ? "background" : "close-waits-for", fuse.version(), String.join(",", args));
        if (adopted == null) {
            MountGuard.place(config.mountpoint()); // a mount taken over has its guard beneath already
        }
        loop = new Thread(() -> {
            try {
                fuse.mount(config.mountpoint(), args);
                loopEnded.complete(null);
            } catch (Throwable t) {
                loopEnded.completeExceptionally(t);
            }
        }, "peerfs-fuse-loop");
        loop.start();
        boolean up = MountPreflight.awaitMounted(config.mountpoint(), MOUNT_TIMEOUT_MS, () -> !loopEnded.isDone());
        if (!up) {
            MountException failed = new MountException("mount of " + config.mountpoint() + " failed: " + failure());
            MountGuard.remove(config.mountpoint()); // nothing stays mounted
            throw failed;
        }
        if (adopted == null) {
            fuse.answering(config.mountpoint());
        }
        log.info("{} {} on {}", adopted == null ? "mounted" : "took over the mount of", config.backend(),
                config.mountpoint());
        if (fuse instanceof KernelFuse k) {
            try {
                offer = Handover.listen(config.mountpoint(), () -> handOver(k), handedOver::countDown);
            } catch (IOException e) {
                log.warn("this mount cannot be handed to a new daemon: {}", e.toString());
            }
            supervise(k);
        }
        if (DaemonConfig.isRedis(config.meta())) {
            sweeper = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "peerfs-sweep");
                t.setDaemon(true);
                return t;
            });
            sweeper.scheduleWithFixedDelay(this::sweep, SWEEP_SECONDS, SWEEP_SECONDS, TimeUnit.SECONDS);
            sweeper.scheduleWithFixedDelay(this::reloadTags, TAGS_SECONDS, TAGS_SECONDS, TimeUnit.SECONDS);
        }
        if (!config.metrics().equals("none")) {
            Metrics m = new Metrics(status);
            try {
                InetSocketAddress at = m.start(Metrics.parse(config.metrics()));
                String url = "http://" + at.getHostString() + ":" + at.getPort() + "/metrics";
                status.metricsAt(url);
                fuse.observeOps(m);
                metrics = m;
                log.info("metrics at {}", url);
            } catch (PeerFsException e) {
                log.warn("no metrics: {}", e.getMessage()); // the mount itself works
            }
        }
    }

    /** Gives the connection to a supervisor that starts a new daemon if this one dies. */
    private void supervise(KernelFuse k) {
        io.peerfs.daemon.fuse.Supervisor.Link l = supervisor;
        try {
            if (l == null) {
                if (supervisorCommand == null) {
                    return;
                }
                l = io.peerfs.daemon.fuse.Supervisor.start(config.mountpoint(), supervisorCommand,
                        config.cacheDir().resolve("peerfs.log"));
            }
            k.supervise(l, status.handovers(), status.recoveries(), status.mountedMs());
            log.info("supervised: if this daemon dies, a new one takes {} over", config.mountpoint());
        } catch (IOException | RuntimeException e) {
            if (l != null) {
                l.close();
            }
            log.warn("no crash recovery for {}: {}", config.mountpoint(), e.toString());
        }
    }

    /** Result tags and pins other nodes set (or removed) in the shared MetaStore reach this one. */
    private void reloadTags() {
        try {
            vfs.reloadTags();
        } catch (IOException | RuntimeException e) {
            log.warn("cannot read the result tags and pinned paths again: {}", e.toString());
        }
    }

    private void sweep() {
        try {
            int freed = vfs.sweep();
            if (freed > 0) {
                log.info("freed {} scratch files removed here while open on another node, now closed everywhere",
                        freed);
            }
        } catch (IOException | RuntimeException e) {
            log.warn("scratch housekeeping: {}", e.toString());
        }
    }

    /** Why the FUSE loop ended before the mount answered, or that it never did. */
    private String failure() {
        if (!loopEnded.isCompletedExceptionally()) {
            return "no mount after " + MOUNT_TIMEOUT_MS + " ms (" + installHint(config.libfuse()) + ")";
        }
        try {
            loopEnded.join();
            return "";
        } catch (Exception e) {
            Throwable t = e.getCause() == null ? e : e.getCause();
            if (t instanceof MountException && config.libfuse() == 0) {
                return t.getMessage(); // PeerFS's own loop says why itself
            }
            if (t instanceof MountException) { // libfuse ran and refused: it printed why, not a missing library
                return t.getMessage() + "; libfuse printed why on the daemon's stderr (the terminal with"
                        + " --foreground, else " + config.cacheDir().resolve("peerfs.log") + ")";
            }
            while (t.getCause() != null) {
                t = t.getCause();
            }
            return t.getMessage() + " (" + installHint(config.libfuse()) + ")";
        }
    }

    /** Blocks until the file system is unmounted (by {@code peerfs umount}, fusermount or a signal) or handed over. */
    public void awaitUnmounted() throws InterruptedException {
        loop.join();
        if (handingOver && !handedOver.await(60, TimeUnit.SECONDS)) {
            log.warn("the new daemon did not confirm the hand-over of {} in 60 s", config.mountpoint());
        }
    }

    /**
     * Stops serving for the daemon that takes this mount over: no new requests, the ones in
     * progress answered, every open file closed (scratch layouts committed, result data staged
     * in the journal), uploads given {@link #HANDOVER_UPLOAD_WAIT_SECONDS} and the rest left
     * journaled, the stores closed. The mount and the guard beneath it stay.
     */
    private synchronized Handover.State handOver(KernelFuse k) throws InterruptedException {
        if (closed) {
            throw new IllegalStateException("the daemon is closing");
        }
        long t0 = System.nanoTime();
        handingOver = true;
        closed = true;
        stopHousekeeping();
        Handover.State state = k.handOver().withHistory(status.handovers() + 1, status.recoveries(),
                status.mountedMs());
        k.endSupervision(); // the next daemon starts its own
        if (peers != null) {
            peers.close();
        }
        fetcher.close();
        if (!vfs.close(HANDOVER_UPLOAD_WAIT_SECONDS)) {
            log.info("uploads still running at the hand-over resume in the next daemon (journaled)");
        }
        metaStore.close();
        meta.close();
        store.close();
        log.info("stopped for the hand-over of {} in {} ms", config.mountpoint(), ms(System.nanoTime() - t0));
        return state;
    }

    private void closeOffer() {
        if (offer != null) {
            try {
                offer.close();
            } catch (Exception e) {
                log.debug("hand-over socket: {}", e.toString());
            }
        }
    }

    private void stopHousekeeping() {
        if (sweeper != null) {
            sweeper.shutdownNow();
            try {
                sweeper.awaitTermination(10, TimeUnit.SECONDS); // a sweep in progress uses the stores
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (metrics != null) {
            metrics.close();
        }
    }

    /** Unmounts if still mounted, waits for the FUSE loop to drain, then closes the stores. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopHousekeeping();
        closeOffer();
        boolean drained = true;
        if (loop != null) {
            fuse.umount();
            if (fuse instanceof KernelFuse k) {
                k.endSupervision();
            }
            try {
                loopEnded.get(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                // a lazy unmount keeps serving open files; closing the stores under it would crash it
                drained = !loop.isAlive();
            }
            MountGuard.remove(config.mountpoint()); // unmounted on purpose: the directory beneath is back
        }
        if (peers != null) {
            peers.close();
        }
        fetcher.close();
        if (drained && !vfs.close(UPLOAD_WAIT_SECONDS)) {
            drained = false;
            log.warn("an upload of {} did not stop; leaving the cache to recover at next start", config.mountpoint());
        }
        if (drained) {
            metaStore.close();
            meta.close();
            store.close();
            log.info("unmounted {}; cache closed", config.mountpoint());
        } else if (loop != null && loop.isAlive()) {
            log.warn("FUSE loop of {} still busy after unmount; leaving the cache to recover at next start",
                    config.mountpoint());
        }
    }
}
