package io.peerfs.cli;

import io.peerfs.chunk.ByteSize;
import io.peerfs.daemon.Daemon;
import io.peerfs.daemon.DaemonConfig;
import io.peerfs.daemon.MountException;
import io.peerfs.daemon.MountPreflight;
import io.peerfs.daemon.fuse.Supervisor;
import io.peerfs.meta.ResultPaths;
import io.peerfs.meta.redis.RedisMetaStore;
import io.peerfs.peer.PeerConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code peerfs mount BACKEND_DIR MOUNTPOINT}: serves the backend directory at the mountpoint. */
@Command(name = "mount", mixinStandardHelpOptions = true,
        description = "Mount BACKEND_DIR (the central store) at MOUNTPOINT through a local chunk cache."
                + " Returns once the mount answers; the daemon keeps running in the background"
                + " (logging to CACHE_DIR/peerfs.log) unless --foreground is given.")
public final class MountCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "BACKEND_DIR",
            description = "Directory of the central store to serve (or 'backend' in the config file).")
    Path backend;

    @Parameters(index = "1", arity = "0..1", paramLabel = "MOUNTPOINT",
            description = "Empty directory to mount on, created if missing (or 'mountpoint' in the config file).")
    Path mountpoint;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Read options from FILE (key = value lines, keys are option names without '--');"
                    + " flags given here override it. Default: /etc/peerfs/peerfs.conf if it exists.")
    Path config;

    @Option(names = "--cache-dir", paramLabel = "DIR",
            description = "Local cache directory (chunks, index, metadata, log). Default: /var/cache/peerfs/<mountpoint>"
                    + " as root, ~/.cache/peerfs/<mountpoint> otherwise.")
    Path cacheDir;

    @Option(names = "--cache-size", paramLabel = "SIZE", defaultValue = "10GiB", converter = Converters.Size.class,
            description = "Most chunk data to keep (default ${DEFAULT-VALUE}).")
    ByteSize cacheSize;

    @Option(names = "--cache-pin-limit", paramLabel = "SIZE", converter = Converters.Size.class,
            description = "Most chunk data kept for paths pinned with 'peerfs cache pin' (evicted last); past it the"
                    + " least recently read of them are ordinary cache again (default: half of --cache-size).")
    ByteSize pinLimit;

    @Option(names = "--free-space-ratio", paramLabel = "RATIO", defaultValue = "0.1",
            description = "Fraction of the cache disk to keep free, 0 to 0.9 (default ${DEFAULT-VALUE}).")
    double freeSpaceRatio;

    @Option(names = "--chunk-size", paramLabel = "SIZE", defaultValue = "4MiB", converter = Converters.Size.class,
            description = "Chunk size, a power of two from 64KiB to 64MiB (default ${DEFAULT-VALUE}).")
    ByteSize chunkSize;

    @Option(names = "--meta-ttl", paramLabel = "DURATION", defaultValue = "1s", converter = Converters.Time.class,
            description = "How long backend attributes and listings are cached (default ${DEFAULT-VALUE}).")
    Duration metaTtl;

    @Option(names = "--dataset-ttl", paramLabel = "DURATION", defaultValue = "1h", converter = Converters.Time.class,
            description = "How long attributes and listings of read-mostly datasets ('peerfs tag --dataset DIR') are"
                    + " trusted, opens included: an epoch over a cached dataset asks the store nothing"
                    + " (default ${DEFAULT-VALUE}).")
    Duration datasetTtl;

    @Option(names = "--cache-recheck", paramLabel = "DURATION", defaultValue = "30s",
            converter = Converters.Time.class,
            description = "How often a cache disk found failing, full or read-only is checked again; meanwhile"
                    + " reads go to peers and the backend (default ${DEFAULT-VALUE}).")
    Duration cacheRecheck;

    @Option(names = "--backend-timeout", paramLabel = "DURATION", defaultValue = "30s",
            converter = Converters.Time.class,
            description = "Longest wait for one backend read or metadata call; then the operation fails with EIO"
                    + " instead of hanging (default ${DEFAULT-VALUE}).")
    Duration backendTimeout;

    @Option(names = "--readahead", paramLabel = "CHUNKS", defaultValue = "2",
            description = "Chunks loaded ahead of a sequential reader (default ${DEFAULT-VALUE}).")
    int readahead;

    @Option(names = "--auto-unmount", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Unmount automatically if the daemon dies (default on).")
    boolean autoUnmount;

    @Option(names = "--result-paths", paramLabel = "GLOB[,GLOB...]", split = ",",
            description = "Backend paths written back: files created or changed there go to the backend"
                    + " (e.g. 'out/**,*.ckpt'). Directories can also be tagged with 'peerfs tag --result DIR'.")
    List<String> resultPaths = new ArrayList<>();

    @Option(names = "--writeback",
            description = "Upload result files in the background after close returns (fsync still waits);"
                    + " 'peerfs status' shows the queue. Default: close waits for the upload.")
    boolean writeback;

    @Option(names = "--listen", paramLabel = "HOST:PORT",
            description = "Serve this node's chunks to peers here (port 0: any free port, announced through the"
                    + " metadata store).")
    String listen;

    @Option(names = "--peers", paramLabel = "HOST:PORT[,...]", split = ",",
            description = "Static cluster members (may include this node). Every node must use the same backend,"
                    + " --chunk-size and secret.")
    List<String> peers = new ArrayList<>();

    @Option(names = "--node-id", paramLabel = "NAME", description = "This node's name in member lists (default:"
            + " the --listen address, else the host name).")
    String nodeId;

    @Option(names = "--secret-file", paramLabel = "FILE",
            description = "File holding the cluster secret (at least 16 bytes) every peer connection must prove.")
    Path secretFile;

    @Option(names = "--peer-timeout", paramLabel = "DURATION", defaultValue = "5s", converter = Converters.Time.class,
            description = "How long a peer may take to send a chunk before the next source is asked"
                    + " (default ${DEFAULT-VALUE}).")
    Duration peerTimeout;

    @Option(names = "--meta", paramLabel = "URL", defaultValue = "${env:PEERFS_META:-rocksdb:}",
            description = "Where the scratch namespace, tags and members live: rocksdb: (embedded, this node only;"
                    + " the default), redis://[:password@]host:port/db (rediss:// for TLS) or, through Redis"
                    + " Sentinel, redis-sentinel://[:password@]host:port,host:port/db#master; shared by every"
                    + " node of the cluster. Also taken from the environment variable PEERFS_META, which keeps"
                    + " a Redis password off the command line (where every user's ps sees it).")
    String meta;

    @Option(names = "--meta-replicas", paramLabel = "N", defaultValue = "0",
            description = "A scratch namespace change returns only once N Redis replicas have it, or every"
                    + " replica the master has if fewer (WAIT), so a Sentinel failover keeps every change a program"
                    + " was told is done (default ${DEFAULT-VALUE}: the master's word; see the README on durability).")
    int metaReplicas;

    @Option(names = "--metrics", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:0",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics (:PORT is loopback; the default"
                    + " ${DEFAULT-VALUE} picks a free port, shown by 'peerfs status'); none turns them off.")
    String metrics;

    @Option(names = "--keep-peer-chunks", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Keep a copy of chunks fetched from peers in this node's cache (default on: readers"
                    + " here come back to them). --no-keep-peer-chunks keeps only the last few in memory.")
    boolean keepPeerChunks;

    @Option(names = "--scratch-replicas", paramLabel = "N", defaultValue = "1",
            description = "Nodes that keep each scratch chunk this node writes: 1 (default) keeps it only here;"
                    + " N copies it to N-1 other live nodes chosen by rendezvous hashing before close returns,"
                    + " so losing one node loses no scratch data. Needs --meta redis://….")
    int scratchReplicas;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "This node's certificate for TLS between peers.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "Its private key (PKCS#8).")
    Path tlsKey;

    @Option(names = "--tls-ca", paramLabel = "PEM", description = "The CA that signed every member's certificate.")
    Path tlsCa;

    @Option(names = {"-f", "--foreground"}, description = "Run the daemon in this process; Ctrl-C unmounts.")
    boolean foreground;

    @Option(names = "--libfuse", paramLabel = "2|3|none", defaultValue = "3", converter = Converters.Libfuse.class,
            description = "The libfuse the mount runs on: 3 (default) passes reads and writes of up to 1 MiB to"
                    + " the daemon; 2 up to 128 KiB (through jnr-fuse); none: PeerFS speaks the kernel's FUSE"
                    + " protocol itself (root only), and a later 'peerfs mount' on the same mountpoint takes the"
                    + " running mount over without unmounting it.")
    int libfuse;

    @Option(names = "--supervise", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "With --libfuse none as root: a small supervisor keeps the mount's connection and starts a"
                    + " new daemon if this one dies, which goes on with no error for programs; the daemon keeps"
                    + " writes not yet synced (at most 64 MiB) in shared memory for it (default on).")
    boolean supervise;

    @Option(names = "-o", paramLabel = "OPT[,OPT...]", split = ",",
            description = "Extra libfuse mount options, e.g. -o ro.")
    List<String> fuseOptions = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        DaemonConfig config = config();
        if (System.getenv(Supervisor.RECOVER_ENV) == null) {
            MountPreflight.check(config); // not after a crash: the mount waits for this daemon, a stat of it would too
        }
        if (foreground) {
            return runDaemon(config, effectiveConfiguration(), supervisorCommand(config), () -> notifySystemd(config));
        }
        Path log = config.cacheDir().resolve("peerfs.log");
        Detached detached = Detached.requested() ? Detached.takeOver(log) : null;
        if (detached == null) {
            return Background.start(spec, config);
        }
        try {
            return runDaemon(config, effectiveConfiguration(), supervisorCommand(config), () -> {
                notifySystemd(config);
                detached.finish("mounted " + config.backend() + " on " + config.mountpoint() + " (daemon pid "
                        + ProcessHandle.current().pid() + ", log " + log + ")");
            });
        } catch (IllegalArgumentException | IOException e) {
            detached.finish("peerfs: " + e.getMessage());
            throw e;
        } finally {
            detached.finish("peerfs: the mount daemon stopped before the mount answered; see " + log);
        }
    }

    DaemonConfig config() {
        if (backend == null || mountpoint == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "Missing required parameters:"
                    + " BACKEND_DIR and MOUNTPOINT (as arguments, or backend and mountpoint in the config file)");
        }
        Path cache = cacheDir != null ? cacheDir : defaultCacheDir(mountpoint.toAbsolutePath().normalize());
        return new DaemonConfig(backend, mountpoint, cache, cacheSize, freeSpaceRatio, chunkSize, metaTtl, readahead,
                autoUnmount, fuseOptions, new ResultPaths(resultPaths), writeback, cluster(), meta, metaReplicas, metrics,
                cacheRecheck, backendTimeout, libfuse, pinLimit, datasetTtl);
    }

    /** The peer settings, or null when neither --listen nor --peers is given. */
    private PeerConfig cluster() {
        if (listen == null && peers.isEmpty()) {
            if (scratchReplicas != 1) {
                throw new IllegalArgumentException("--scratch-replicas needs a cluster: --listen, --secret-file and"
                        + " --meta redis://…");
            }
            if (secretFile != null || tlsCert != null || tlsKey != null || tlsCa != null) {
                throw new IllegalArgumentException("--secret-file and --tls-* need --listen or --peers");
            }
            return null;
        }
        if (secretFile == null) {
            throw new IllegalArgumentException("--listen and --peers need --secret-file: peers prove they know"
                    + " the cluster secret before they may read anything");
        }
        byte[] secret;
        try {
            secret = java.nio.file.Files.readAllBytes(secretFile);
            int mode = (Integer) java.nio.file.Files.getAttribute(secretFile, "unix:mode");
            if ((mode & 077) != 0) {
                throw new IllegalArgumentException("--secret-file " + secretFile + " is open to group or others (mode "
                        + String.format("%04o", mode & 07777) + "): whoever reads it joins the cluster and reads"
                        + " every cached byte; chmod 600 " + secretFile);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read --secret-file " + secretFile + ": " + e.getMessage());
        }
        String id = nodeId != null ? nodeId : listen != null && !listen.endsWith(":0") ? listen : hostName();
        return new PeerConfig(listen, peers, id, trimNewline(secret), peerTimeout, tls(), keepPeerChunks,
                scratchReplicas);
    }

    private PeerConfig.Tls tls() {
        int given = (tlsCert != null ? 1 : 0) + (tlsKey != null ? 1 : 0) + (tlsCa != null ? 1 : 0);
        if (given == 0) {
            return null;
        }
        if (given != 3) {
            throw new IllegalArgumentException("TLS between peers needs all of --tls-cert, --tls-key and --tls-ca");
        }
        return new PeerConfig.Tls(tlsCert, tlsKey, tlsCa);
    }

    private static byte[] trimNewline(byte[] b) {
        int n = b.length;
        while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r')) {
            n--;
        }
        return java.util.Arrays.copyOf(b, n);
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "node-" + ProcessHandle.current().pid();
        }
    }

    static Path defaultCacheDir(Path mnt) {
        String name = mnt.toString().equals("/") ? "root" : mnt.toString().substring(1).replace('/', '-');
        boolean root = io.peerfs.daemon.Uids.isRoot();
        Path base = root ? Path.of("/var/cache/peerfs") : Path.of(System.getProperty("user.home"), ".cache", "peerfs");
        return base.resolve(name);
    }

    /**
     * Every option's value as this mount uses it, whether from a flag, the config file or the
     * built-in default; a password in a Redis URL is masked.
     */
    String effectiveConfiguration() {
        StringBuilder b = new StringBuilder();
        b.append("backend=").append(backend).append(" mountpoint=").append(mountpoint);
        for (picocli.CommandLine.Model.OptionSpec o : spec.options()) {
            if (o.usageHelp() || o.versionHelp() || o.longestName().equals("--foreground")) {
                continue;
            }
            Object v = o.getValue();
            String s = v instanceof List<?> l ? String.join(",", l.stream().map(String::valueOf).toList())
                    : String.valueOf(v);
            b.append(' ').append(o.longestName().replaceFirst("^-+", "")).append('=')
                    .append(RedisMetaStore.withoutPassword(s));
        }
        if (spec.commandLine().getDefaultValueProvider() instanceof ConfigFile f) {
            b.append(" (config file ").append(f.path()).append(", overridden by flags)");
        }
        return b.toString();
    }

    /** Under systemd ({@code Type=notify}): the mount answers, the unit is started. */
    private static void notifySystemd(DaemonConfig config) {
        if (System.getenv("NOTIFY_SOCKET") == null) {
            return;
        }
        try {
            Process p = new ProcessBuilder("systemd-notify", "--ready", "--pid=" + ProcessHandle.current().pid(),
                    "--status=mounted " + config.backend() + " on " + config.mountpoint()).inheritIO().start();
            p.waitFor();
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(MountCommand.class).warn("cannot tell systemd the mount is ready: {}",
                    e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * How to start the supervisor that keeps a {@code --libfuse none} mount through a crash of
     * its daemon: this JVM's options with a small heap, {@code peerfs supervise}, and this daemon's
     * own command to start again (in the foreground). Null where there is none: not root, libfuse.
     */
    private List<String> supervisorCommand(DaemonConfig config) {
        if (config.libfuse() != 0 || !io.peerfs.daemon.Uids.isRoot() || !supervise) {
            return null;
        }
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        List<String> jvm = new ArrayList<>();
        for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-D" + Detached.PROPERTY)) {
                jvm.add(a);
            }
        }
        List<String> daemon = new ArrayList<>(List.of(javaBin));
        daemon.addAll(jvm);
        daemon.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        List<String> args = spec.commandLine().getParseResult().originalArgs();
        daemon.addAll(args);
        if (!args.contains("--foreground") && !args.contains("-f")) {
            daemon.add("--foreground");
        }
        List<String> cmd = new ArrayList<>(List.of("setsid", javaBin));
        for (String a : jvm) { // a small JVM: it only holds two descriptors and waits
            if (!a.startsWith("-Xmx") && !a.startsWith("-Xms") && !a.startsWith("-XX:MaxDirectMemorySize")
                    && !a.startsWith("-XX:+UseG1GC")) {
                cmd.add(a);
            }
        }
        cmd.addAll(List.of("-Xms8m", "-Xmx32m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "supervise", config.mountpoint().toAbsolutePath().normalize().toString(), "--log",
                config.cacheDir().resolve("peerfs.log").toString(), "--"));
        cmd.addAll(daemon);
        return cmd;
    }

    /** Runs the daemon in this process until unmounted; {@code ready} runs once the mount answers. */
    private static int runDaemon(DaemonConfig config, String effective, List<String> supervisor, Runnable ready)
            throws IOException, InterruptedException {
        String recoverFrom = System.getenv(Supervisor.RECOVER_ENV);
        // a daemon started by the supervisor of one that died takes its connection from there
        Supervisor.Recovered recovered = recoverFrom == null ? null : Supervisor.recover(Path.of(recoverFrom));
        // a PeerFS daemon serving this mountpoint hands its mount over (it has closed its cache when this returns)
        io.peerfs.daemon.fuse.Handover.State taken = recovered == null && config.libfuse() == 0
                && io.peerfs.daemon.fuse.Handover.offered(config.mountpoint())
                ? io.peerfs.daemon.fuse.Handover.take(config.mountpoint()) : null;
        Daemon daemon;
        try {
            daemon = Daemon.open(config, recovered == null ? java.util.Set.of() : recovered.state().writtenPaths());
            if (recovered != null) {
                daemon.recover(recovered);
            } else if (taken != null) {
                daemon.adopt(taken);
            }
            if (supervisor != null) {
                daemon.superviseWith(supervisor);
            }
        } catch (IOException e) {
            if (String.valueOf(e.getMessage()).contains("lock")) {
                throw new MountException("cache dir " + config.cacheDir() + " is in use by another PeerFS daemon:"
                        + " give each mount its own --cache-dir", e);
            }
            throw e;
        }
        org.slf4j.LoggerFactory.getLogger(MountCommand.class).info("effective configuration: {}", effective);
        Runtime.getRuntime().addShutdownHook(new Thread(daemon::close, "peerfs-shutdown"));
        try {
            daemon.mount();
            ready.run();
            daemon.awaitUnmounted();
        } finally {
            daemon.close();
        }
        return 0;
    }
}
