package io.peerfs.meta;

import io.peerfs.PeerFsException;
import io.peerfs.backend.Backend;
import io.peerfs.backend.BackendUnavailableException;
import io.peerfs.backend.FsStats;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteOptions;

/**
 * Per-node cache of backend metadata (attributes, listings, symlink targets, xattrs) in
 * RocksDB, each entry valid for the TTL. Absent paths are cached too: a training job's
 * imports probe many names that do not exist, and each probe would otherwise reach the
 * central store. A TTL of zero disables caching.
 */
public final class BackendMetaCache implements AutoCloseable {
    static {
        RocksDB.loadLibrary();
    }

    /** Counters: lookups answered from the cache, and lookups that went to the backend. */
    public record Stats(long hits, long misses, long staleAnswers) {
    }

    private interface Load<T> {
        T load() throws IOException;
    }

    private interface Codec<T> {
        void write(T value, DataOutputStream out) throws IOException;

        T read(DataInputStream in) throws IOException;
    }

    private static final Codec<FileAttr> ATTR = new Codec<>() {
        public void write(FileAttr v, DataOutputStream out) throws IOException {
            v.writeTo(out);
        }

        public FileAttr read(DataInputStream in) throws IOException {
            return FileAttr.readFrom(in);
        }
    };
    private static final Codec<List<String>> NAMES = new Codec<>() {
        public void write(List<String> v, DataOutputStream out) throws IOException {
            out.writeInt(v.size());
            for (String s : v) {
                out.writeUTF(s);
            }
        }

        public List<String> read(DataInputStream in) throws IOException {
            int n = in.readInt();
            List<String> names = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                names.add(in.readUTF());
            }
            return names;
        }
    };
    private static final Codec<String> TEXT = new Codec<>() {
        public void write(String v, DataOutputStream out) throws IOException {
            out.writeUTF(v);
        }

        public String read(DataInputStream in) throws IOException {
            return in.readUTF();
        }
    };
    private static final Codec<Map<String, byte[]>> XATTRS = new Codec<>() {
        public void write(Map<String, byte[]> v, DataOutputStream out) throws IOException {
            out.writeInt(v.size());
            for (Map.Entry<String, byte[]> e : v.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeInt(e.getValue().length);
                out.write(e.getValue());
            }
        }

        public Map<String, byte[]> read(DataInputStream in) throws IOException {
            int n = in.readInt();
            Map<String, byte[]> m = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                String k = in.readUTF();
                byte[] b = new byte[in.readInt()];
                in.readFully(b);
                m.put(k, b);
            }
            return m;
        }
    };

    private static final Codec<FsStats> FS_STATS = new Codec<>() {
        public void write(FsStats v, DataOutputStream out) throws IOException {
            for (long x : new long[] {v.blockSize(), v.totalBlocks(), v.freeBlocks(), v.availableBlocks(), v.files(),
                    v.freeFiles(), v.nameMax()}) {
                out.writeLong(x);
            }
        }

        public FsStats read(DataInputStream in) throws IOException {
            return new FsStats(in.readLong(), in.readLong(), in.readLong(), in.readLong(), in.readLong(),
                    in.readLong(), in.readLong());
        }
    };

    private final Backend backend;
    private final Path dir;
    private final long ttlMs;
    /** Which paths are in a read-mostly dataset, whose entries live {@link #datasetTtlMs}. */
    private volatile java.util.function.Predicate<String> inDataset = path -> false;
    private volatile long datasetTtlMs;
    private final LongSupplier clockMs;
    private final Options options;
    private final RocksDB db;
    private final WriteOptions writeOptions = new WriteOptions().setDisableWAL(true);
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    /** Expired entries answered because the backend was unavailable. */
    private final LongAdder staleAnswers = new LongAdder();

    private BackendMetaCache(Backend backend, Path dir, Duration ttl, LongSupplier clockMs, Options options, RocksDB db) {
        this.backend = backend;
        this.dir = dir;
        this.ttlMs = ttl.toMillis();
        this.clockMs = clockMs;
        this.options = options;
        this.db = db;
    }

    /** Opens the cache database in {@code dir} (created if needed). */
    public static BackendMetaCache open(Backend backend, Path dir, Duration ttl, LongSupplier clockMs)
            throws PeerFsException {
        Options options = new Options().setCreateIfMissing(true).setKeepLogFileNum(2)
                .setInfoLogLevel(org.rocksdb.InfoLogLevel.WARN_LEVEL);
        try {
            java.nio.file.Files.createDirectories(dir);
            return new BackendMetaCache(backend, dir, ttl, clockMs, options, RocksDB.open(options, dir.toString()));
        } catch (RocksDBException | IOException e) {
            options.close();
            throw new PeerFsException("cannot open metadata cache " + dir + ": " + e.getMessage(), e);
        }
    }

    public Duration ttl() {
        return Duration.ofMillis(ttlMs);
    }

    /**
     * Trusts what is cached of paths {@code inDataset} accepts for {@code ttl} instead of the
     * TTL (read-mostly datasets, {@code peerfs tag --dataset}): their attributes, listings,
     * absent names and links, and an open's revalidation, are answered from the cache that long.
     */
    public void datasets(java.util.function.Predicate<String> inDataset, Duration ttl) {
        this.inDataset = inDataset;
        this.datasetTtlMs = ttl.toMillis();
    }

    /** How long an entry for {@code path} stays fresh. */
    private long ttlOf(char kind, String path) {
        return kind != 'F' && datasetTtlMs > ttlMs && inDataset.test(path) ? datasetTtlMs : ttlMs;
    }

    /**
     * Cached attributes; throws {@link NoSuchFileException} for a path known to be absent.
     * A name the cached listing of its directory lacks, or any name below a directory the
     * backend does not have (a scratch directory, say), is answered without asking the
     * backend: creating files there cost a backend lookup each, a third of the time.
     */
    public FileAttr stat(String path) throws IOException {
        return cached('A', path, ATTR, () -> {
            int slash = path.lastIndexOf('/');
            String parent = slash < 0 ? "" : path.substring(0, slash);
            if (!path.isEmpty() && absentBelow(parent, path.substring(slash + 1))) {
                throw new NoSuchFileException(path);
            }
            return backend.stat(path);
        });
    }

    /** True when the cache knows {@code name} is not in {@code dir}: from its listing, or as the directory is absent. */
    private boolean absentBelow(String dir, String name) throws IOException {
        Fresh<List<String>> listing = fresh('L', dir, NAMES);
        if (listing != null) {
            return listing.value == null || !listing.value.contains(name);
        }
        if (dir.isEmpty()) {
            return false; // the root is there
        }
        try {
            stat(dir); // from the cache, or asked once per TTL for all the names below
            return false;
        } catch (NoSuchFileException e) {
            return true;
        }
    }

    /** A cache entry within its TTL: {@code value} null for a path known to be absent. */
    private record Fresh<T>(T value) {
    }

    private <T> Fresh<T> fresh(char kind, String path, Codec<T> codec) throws IOException {
        if (ttlMs <= 0 && datasetTtlMs <= 0) {
            return null;
        }
        byte[] v = get(key(kind, path));
        if (v == null) {
            return null;
        }
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(v));
        if (in.readLong() <= clockMs.getAsLong()) {
            return null;
        }
        return new Fresh<>(in.readBoolean() ? codec.read(in) : null);
    }

    /**
     * Attributes straight from the backend (used on open), refreshing the cache; in a dataset,
     * the cached ones while fresh (it does not change while jobs read it).
     */
    public FileAttr statFresh(String path) throws IOException {
        if (datasetTtlMs > ttlMs && inDataset.test(path)) {
            return stat(path);
        }
        return store('A', path, ATTR, () -> backend.statDirect(path));
    }

    public List<String> list(String path) throws IOException {
        return cached('L', path, NAMES, () -> backend.list(path));
    }

    public String readlink(String path) throws IOException {
        return cached('S', path, TEXT, () -> backend.readlink(path));
    }

    public Map<String, byte[]> xattrs(String path) throws IOException {
        return cached('X', path, XATTRS, () -> backend.xattrs(path));
    }

    /** Capacity and usage of the backend (df), cached like everything else. */
    public FsStats statfs() throws IOException {
        return cached('F', "", FS_STATS, backend::statfs);
    }

    public Stats stats() {
        return new Stats(hits.sum(), misses.sum(), staleAnswers.sum());
    }

    private <T> T cached(char kind, String path, Codec<T> codec, Load<T> load) throws IOException {
        Fresh<T> f = fresh(kind, path, codec);
        if (f != null) {
            hits.increment();
            if (f.value != null) {
                return f.value;
            }
            throw new NoSuchFileException(path.isEmpty() ? "/" : path);
        }
        return store(kind, path, codec, load);
    }

    private <T> T store(char kind, String path, Codec<T> codec, Load<T> load) throws IOException {
        misses.increment();
        T value;
        try {
            value = load.load();
        } catch (NoSuchFileException e) {
            put(kind, path, null, codec);
            throw e;
        } catch (BackendUnavailableException e) {
            return stale(kind, path, codec, e);
        }
        put(kind, path, value, codec);
        return value;
    }

    /**
     * What the cache last knew, however old, while the backend cannot be asked: cached files
     * stay readable through a backend outage. Without an entry the caller gets the failure.
     */
    private <T> T stale(char kind, String path, Codec<T> codec, BackendUnavailableException e) throws IOException {
        byte[] v = get(key(kind, path));
        if (v == null) {
            throw e;
        }
        staleAnswers.increment();
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(v));
        in.readLong();
        if (in.readBoolean()) {
            return codec.read(in);
        }
        throw new NoSuchFileException(path.isEmpty() ? "/" : path);
    }

    private <T> void put(char kind, String path, T value, Codec<T> codec) throws PeerFsException {
        long ttl = ttlOf(kind, path);
        if (ttl <= 0) {
            return;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(clockMs.getAsLong() + ttl);
            out.writeBoolean(value != null);
            if (value != null) {
                codec.write(value, out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory stream
        }
        try {
            db.put(writeOptions, key(kind, path), bytes.toByteArray());
        } catch (RocksDBException e) {
            throw new PeerFsException("metadata cache " + dir + ": cannot store " + path + ": " + e.getMessage(), e);
        }
    }

    private byte[] get(byte[] key) throws PeerFsException {
        try {
            return db.get(key);
        } catch (RocksDBException e) {
            throw new PeerFsException("metadata cache " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Forgets everything cached about a path, and its parents' attributes and listings (after
     * PeerFS itself changed it on the backend, which may have created the parents).
     */
    public void invalidate(String path) throws PeerFsException {
        backend.changedHere(path);
        try {
            for (char kind : new char[] {'A', 'L', 'S', 'X'}) {
                db.delete(writeOptions, key(kind, path));
            }
            for (int slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
                db.delete(writeOptions, key('A', path.substring(0, slash)));
                db.delete(writeOptions, key('L', path.substring(0, slash)));
            }
            db.delete(writeOptions, key('L', "")); // the root's listing
        } catch (RocksDBException e) {
            throw new PeerFsException("metadata cache " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Forgets what is cached of a path, and its directory's attributes and listing: another
     * node changed it on the backend (a peer's FORGET). Unlike {@link #invalidate} this node
     * did not change it, and entries further up stay.
     */
    public void forget(String path) throws PeerFsException {
        try {
            for (char kind : new char[] {'A', 'L', 'S', 'X'}) {
                db.delete(writeOptions, key(kind, path));
            }
            if (!path.isEmpty()) {
                int slash = path.lastIndexOf('/');
                String parent = slash < 0 ? "" : path.substring(0, slash);
                db.delete(writeOptions, key('A', parent));
                db.delete(writeOptions, key('L', parent));
            }
        } catch (RocksDBException e) {
            throw new PeerFsException("metadata cache " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Forgets a path and everything cached below it (after PeerFS renamed or removed a directory). */
    public void invalidateTree(String path) throws PeerFsException {
        invalidate(path);
        try {
            for (char kind : new char[] {'A', 'L', 'S', 'X'}) {
                if (path.isEmpty()) { // the root: every path of the kind
                    db.deleteRange(writeOptions, key(kind, ""), key((char) (kind + 1), ""));
                } else {
                    db.deleteRange(writeOptions, key(kind, path + "/"), key(kind, path + "0")); // '0' follows '/'
                }
            }
        } catch (RocksDBException e) {
            throw new PeerFsException("metadata cache " + dir + ": " + e.getMessage(), e);
        }
    }

    private static byte[] key(char kind, String path) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        byte[] k = new byte[p.length + 1];
        k[0] = (byte) kind;
        System.arraycopy(p, 0, k, 1, p.length);
        return k;
    }

    @Override
    public void close() {
        db.close();
        writeOptions.close();
        options.close();
    }
}
