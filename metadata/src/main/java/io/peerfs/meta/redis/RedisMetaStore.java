package io.peerfs.meta.redis;

import static io.peerfs.meta.redis.RedisSchema.CLOSED;
import static io.peerfs.meta.redis.RedisSchema.LOOKUP;
import static io.peerfs.meta.redis.RedisSchema.LOOKUP_TO_OPEN;
import static io.peerfs.meta.redis.RedisSchema.OPENED;
import static io.peerfs.meta.redis.RedisSchema.OPEN_ELSEWHERE;
import static io.peerfs.meta.redis.RedisSchema.OPEN_TTL_SECONDS;
import static io.peerfs.meta.redis.RedisSchema.PREFIX;
import static io.peerfs.meta.redis.RedisSchema.SWAP;
import static io.peerfs.meta.redis.RedisSchema.dentry;
import static io.peerfs.meta.redis.RedisSchema.dentryIno;
import static io.peerfs.meta.redis.RedisSchema.dentryIsDir;
import static io.peerfs.meta.redis.RedisSchema.dirKey;
import static io.peerfs.meta.redis.RedisSchema.inoKey;
import static io.peerfs.meta.redis.RedisSchema.key;
import static io.peerfs.meta.redis.RedisSchema.nameOf;
import static io.peerfs.meta.redis.RedisSchema.openKey;
import static io.peerfs.meta.redis.RedisSchema.orphansKey;
import static io.peerfs.meta.redis.RedisSchema.parentOf;
import static io.peerfs.meta.redis.RedisSchema.utf8;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.util.concurrent.TimeUnit;
import io.peerfs.PeerFsException;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.meta.Inode;
import io.peerfs.meta.Member;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.NamespaceRules;
import io.peerfs.meta.PathTag;
import io.peerfs.meta.StagedFile;
import io.peerfs.meta.redis.RedisTransactions.Answer;
import io.peerfs.meta.redis.RedisTransactions.Decide;
import io.peerfs.meta.redis.RedisTransactions.Plan;
import io.peerfs.meta.redis.RedisTransactions.Tx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The shared {@link MetaStore} engine ({@code --meta redis://host:port/db}): the scratch
 * namespace of a whole cluster in one Redis database, so a file created on one node is
 * listed and opened on every other. Its keys and scripts: {@link RedisSchema}.
 * Changes that touch more than one key (create, link, unlink, rename) run as optimistic
 * transactions ({@link RedisTransactions}): WATCH what they read, MULTI/EXEC their writes, and
 * start over when another node changed a watched key meanwhile; most take two round trips. A
 * lookup, a change of one inode record (compare-and-set) and the open-file records are one
 * server-side script each ({@link LuaScript}) for the same reason: a round trip is most of
 * what a metadata call costs.
 * A lost connection fails calls at once (or after the command timeout), and the client
 * reconnects by itself, at most a second apart.
 *
 * <p>Through Redis Sentinel ({@code redis-sentinel://host:port,host:port/db#master}) every
 * (re)connection asks the sentinels for the master: after a failover the connections find
 * the new master by themselves, and calls made while there is none fail (EIO), as on a
 * lost connection. With {@code replicas} > 0 a change returns only once that many replicas
 * have it, or all the master has if fewer ({@link ReplicaWait}), so a failover to one of them
 * keeps every acknowledged change; a change they do not confirm in time fails, although the
 * master has it.
 */
public final class RedisMetaStore implements MetaStore {
    private final String where;
    private final String nodeId;
    private final RedisClient client;
    /** For reads and single-key writes; thread-safe. */
    private final RedisCommands<byte[], byte[]> redis;
    /** Changes that touch more than one key, on connections of their own. */
    private final RedisTransactions transactions;
    private final StatefulRedisConnection<byte[], byte[]> readConnection;
    private final RedisClient txClient;
    private final ClientResources resources;
    private final RedisCalls db;
    /** The other roles, each in a class of its own over the same connections. */
    private final RedisJournal journal;
    private final RedisTags tags;
    private final RedisMembers members;

    private RedisMetaStore(String where, String nodeId, RedisClient client, RedisClient txClient,
                           ClientResources resources,
                           StatefulRedisConnection<byte[], byte[]> readConnection, RedisTransactions transactions,
                           ReplicaWait replicas, Duration timeout) {
        this.where = where;
        this.nodeId = nodeId;
        this.client = client;
        this.txClient = txClient;
        this.resources = resources;
        this.readConnection = readConnection;
        this.redis = readConnection.sync();
        this.transactions = transactions;
        this.db = new RedisCalls(where, nodeId, redis, transactions, replicas, timeout);
        this.journal = new RedisJournal(db);
        this.tags = new RedisTags(db);
        this.members = new RedisMembers(db);
    }

    /** {@code url} with a password it holds replaced by {@code ***}, for logs and messages. */
    public static String withoutPassword(String url) {
        // up to the last '@': a password may hold '@', ':' or '/' itself
        return url.replaceAll("//\\S*@", "//***@");
    }

    /** Connects with no replicas to wait for; see {@link #open(String, String, Duration, int)}. */
    public static RedisMetaStore open(String url, String nodeId, Duration timeout) throws PeerFsException {
        return open(url, nodeId, timeout, 0);
    }

    /**
     * Connects to {@code redis://[:password@]host:port/db}, {@code rediss://…} (TLS) or
     * {@code redis-sentinel://[:password@]host:port[,host:port…]/db#master}.
     *
     * @param nodeId this node's id: its writeback journal and orphans are kept apart from other nodes'
     * @param timeout how long one call may wait for Redis before it fails
     * @param replicas how many replicas must have a change before it returns (0 for none; fewer
     *     when the master has fewer)
     */
    public static RedisMetaStore open(String url, String nodeId, Duration timeout, int replicas)
            throws PeerFsException {
        if (url.startsWith("redis-sentinel://") && (url.indexOf('#') < 0 || url.endsWith("#"))) {
            throw new PeerFsException("--meta " + withoutPassword(url) + " names no master: end it with #NAME,"
                    + " the name the sentinels monitor");
        }
        RedisURI uri;
        try {
            uri = RedisURI.create(url);
        } catch (IllegalArgumentException | RedisException e) {
            // not the parser's own message: it quotes pieces of the URL, of its password too
            throw new PeerFsException("--meta " + withoutPassword(url) + " is not a Redis URL"
                    + " (redis://[:password@]host:port/db or redis-sentinel://[:password@]host:port,host:port/db#master;"
                    + " percent-encode a '/' in the password)");
        }
        boolean sentinel = !uri.getSentinels().isEmpty();
        uri.setTimeout(timeout);
        String where = sentinel
                ? "redis-sentinel://" + String.join(",", uri.getSentinels().stream()
                        .map(s -> s.getHost() + ":" + s.getPort()).toList()) + "/" + uri.getDatabase() + "#"
                        + uri.getSentinelMasterId()
                : (uri.isSsl() ? "rediss://" : "redis://") + uri.getHost() + ":" + uri.getPort() + "/"
                        + uri.getDatabase();
        // a failover takes seconds: reconnect attempts stay a second apart at most, not Lettuce's 30 s
        ClientResources resources = DefaultClientResources.builder()
                .reconnectDelay(Delay.exponential(Duration.ofMillis(20), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
                .ioThreadPoolSize(2).computationThreadPoolSize(2).build();
        RedisClient client = RedisClient.create(resources, uri);
        client.setOptions(clientOptions(timeout, true));
        // transactions' connections are replaced, not reconnected (see RedisTransactions)
        RedisClient txClient = RedisClient.create(resources, uri);
        txClient.setOptions(clientOptions(timeout, false));
        StatefulRedisConnection<byte[], byte[]> reads = null;
        try {
            reads = client.connect(ByteArrayCodec.INSTANCE);
            ReplicaWait wait = new ReplicaWait(replicas, reads.sync());
            return new RedisMetaStore(where, nodeId, client, txClient, resources, reads, new RedisTransactions(where,
                    timeout, () -> txClient.connect(ByteArrayCodec.INSTANCE), wait), wait, timeout);
        } catch (RedisException e) {
            if (reads != null) {
                reads.close();
            }
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            txClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            resources.shutdown(0, 1, TimeUnit.SECONDS);
            throw new PeerFsException("cannot connect to the metadata store " + where + ": " + RedisCalls.rootMessage(e), e);
        }
    }

    private static ClientOptions clientOptions(Duration timeout, boolean reconnect) {
        return ClientOptions.builder()
                .autoReconnect(reconnect)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .socketOptions(SocketOptions.builder().connectTimeout(timeout).keepAlive(true).build())
                .build();
    }

    private <T> T call(String op, String what, RedisCalls.Call<T> c) throws IOException {
        return db.call(op, what, c);
    }

    private <T> T change(String op, String what, RedisCalls.Call<T> c) throws IOException {
        return db.change(op, what, c);
    }

    private <T> T transaction(String op, String what, Decide<T> decide) throws IOException {
        return db.transaction(op, what, decide);
    }

    @Override
    public void agree(String setting, String value, String describe) throws IOException {
        members.agree(setting, value, describe);
    }

    @Override
    public void heartbeat(Member member) throws IOException {
        members.heartbeat(member);
    }

    @Override
    public List<Member> members() throws IOException {
        return members.members();
    }

    @Override
    public void leave(String node) throws IOException {
        members.leave(node);
    }

    @Override
    public void tag(PathTag kind, String path, boolean on) throws IOException {
        tags.tag(kind, path, on);
    }

    @Override
    public Set<String> tagged(PathTag kind) throws IOException {
        return tags.tagged(kind);
    }

    @Override
    public Inode stage(String target, Inode spec, StagedFile.Writer writer) throws IOException {
        return journal.stage(target, spec, writer);
    }

    @Override
    public void restage(long ino, String target) throws IOException {
        journal.restage(ino, target);
    }

    @Override
    public void readyToUpload(long ino) throws IOException {
        journal.readyToUpload(ino);
    }

    @Override
    public Inode unstage(long ino) throws IOException {
        return journal.unstage(ino);
    }

    @Override
    public SortedMap<Long, StagedFile> staged() throws IOException {
        return journal.staged();
    }

    /** The directory entry at {@code path} ({@code null} for none; the root has none). */
    private static Answer<byte[]> entryOf(Tx c, String path) {
        return path.isEmpty() ? () -> null : c.hget(dirKey(parentOf(path)), nameOf(path));
    }

    static Optional<Inode> decoded(byte[] record) throws IOException {
        return record == null ? Optional.empty() : Optional.of(Inode.decode(record));
    }

    @Override
    public Optional<Inode> lookup(String path) throws IOException {
        if (path.isEmpty()) {
            return Optional.empty();
        }
        return call("look up", path, () -> decoded(LOOKUP.run(redis, ScriptOutputType.VALUE,
                new byte[][] {dirKey(parentOf(path))}, utf8(nameOf(path)), key("i:"))));
    }

    @Override
    public Optional<Inode> lookupToOpen(String path) throws IOException {
        if (path.isEmpty()) {
            return Optional.empty();
        }
        return call("look up", path, () -> decoded(LOOKUP_TO_OPEN.run(redis, ScriptOutputType.VALUE,
                new byte[][] {dirKey(parentOf(path)), openKey(nodeId), key("n")}, utf8(nameOf(path)), key("i:"),
                utf8(Long.toString(OPEN_TTL_SECONDS)), utf8(nodeId))));
    }

    @Override
    public Optional<Inode> get(long ino) throws IOException {
        return call("read inode", Long.toString(ino), () -> decoded(redis.get(inoKey(ino))));
    }

    @Override
    public List<String> list(String dir) throws IOException {
        return call("list", dir, () -> {
            List<String> names = new ArrayList<>();
            for (byte[] k : redis.hkeys(dirKey(dir))) {
                names.add(new String(k, StandardCharsets.UTF_8));
            }
            names.sort(null);
            return names;
        });
    }

    /** The check that a new name's scratch parent, if it has one, is a directory. */
    private record ParentCheck(String parent, Answer<byte[]> entry) {
        void require() throws NotDirectoryException {
            byte[] p = entry.get();
            NamespaceRules.requireDirectory(parent, p != null, p != null && dentryIsDir(p));
        }

        /**
         * Watches and queues the read of the parent's record, where the parent is a scratch
         * directory (its times and link count change with its entries); call after {@link #require}.
         */
        ParentRecord record(Tx c) {
            byte[] p = entry.get();
            if (p == null) {
                return new ParentRecord(-1, () -> null);
            }
            long ino = dentryIno(p);
            c.watch(inoKey(ino));
            return new ParentRecord(ino, c.get(inoKey(ino)));
        }
    }

    /** A scratch directory's record read in a transaction ({@code ino} -1: the parent is the backend's). */
    private record ParentRecord(long ino, Answer<byte[]> record) {
        /** The directory as read; empty where it is the backend's. */
        Optional<Inode> dir() throws IOException {
            return decoded(record.get());
        }
    }

    /** Queues the write of a changed parent directory's record, if there is one. */
    private static void put(io.lettuce.core.api.async.RedisAsyncCommands<byte[], byte[]> w, Optional<Inode> dir) {
        dir.ifPresent(d -> w.set(inoKey(d.ino()), d.encode()));
    }

    /** Watches the name's directory and its parent's, and queues the read of the parent's entry. */
    private static ParentCheck watchNameAndParent(Tx c, String path) {
        String parent = parentOf(path);
        if (parent.isEmpty()) {
            c.watch(dirKey(""));
        } else {
            c.watch(dirKey(parent), dirKey(parentOf(parent)));
        }
        return new ParentCheck(parent, entryOf(c, parent));
    }

    @Override
    public Inode create(String path, Inode spec) throws IOException {
        return transaction("create", path, c -> {
            ParentCheck parent = watchNameAndParent(c, path);
            Answer<byte[]> existing = entryOf(c, path);
            Answer<Long> next = c.incr(key("next")); // a number taken by an attempt that fails is skipped
            parent.require();
            boolean taken = existing.get() != null;
            NamespaceRules.Created created = NamespaceRules.create(path, spec, next.get(), taken,
                    taken ? Optional.empty() : parent.record(c).dir());
            Inode inode = created.inode();
            return new Plan<>(inode, w -> {
                w.set(inoKey(inode.ino()), inode.encode());
                w.hset(dirKey(parentOf(path)), utf8(nameOf(path)), dentry(inode.ino(), inode.isDirectory()));
                put(w, created.dir());
            });
        });
    }

    @Override
    public Inode link(long ino, String path, long nowNs) throws IOException {
        return transaction("link", path, c -> {
            c.watch(inoKey(ino));
            ParentCheck parent = watchNameAndParent(c, path);
            Answer<byte[]> record = c.get(inoKey(ino));
            Answer<byte[]> existing = entryOf(c, path);
            parent.require();
            Optional<Inode> inode = decoded(record.get());
            boolean taken = existing.get() != null;
            NamespaceRules.Linked linked = NamespaceRules.link(path, ino, inode, taken,
                    inode.isPresent() && !inode.get().isDirectory() && !taken ? parent.record(c).dir()
                            : Optional.empty(), nowNs);
            return new Plan<>(linked.inode(), w -> {
                w.set(inoKey(ino), linked.inode().encode());
                w.hset(dirKey(parentOf(path)), utf8(nameOf(path)), dentry(ino, false));
                put(w, linked.dir());
            });
        });
    }

    @Override
    public Inode unlink(String path, long nowNs) throws IOException {
        return transaction("unlink", path, c -> {
            ParentCheck parent = watchNameAndParent(c, path);
            c.watch(dirKey(path));
            byte[] d = entryOf(c, path).get();
            if (d == null) {
                throw new NoSuchFileException(path);
            }
            long ino = dentryIno(d);
            c.watch(inoKey(ino));
            Answer<byte[]> record = c.get(inoKey(ino));
            Answer<Long> entries = dentryIsDir(d) ? c.hlen(dirKey(path)) : () -> 0L;
            ParentRecord parentRecord = parent.record(c);
            NamespaceRules.Unlinked u = NamespaceRules.unlink(path, decoded(record.get()), entries.get() > 0,
                    parentRecord.dir(), nowNs);
            Inode unlinked = u.inode();
            return new Plan<>(unlinked, w -> {
                w.hdel(dirKey(parentOf(path)), utf8(nameOf(path)));
                w.set(inoKey(ino), unlinked.encode());
                put(w, u.dir());
                if (unlinked.nlink() == 0) {
                    w.sadd(orphansKey(nodeId), utf8(Long.toString(ino)));
                }
            });
        });
    }

    @Override
    public Optional<Inode> rename(String from, String to, long nowNs) throws IOException {
        return transaction("rename", from + " to " + to, c -> {
            ParentCheck fromParent = watchNameAndParent(c, from);
            ParentCheck parent = watchNameAndParent(c, to);
            Answer<byte[]> source = entryOf(c, from);
            Answer<byte[]> target = entryOf(c, to);
            parent.require();
            byte[] srcEntry = source.get();
            byte[] targetEntry = target.get();
            boolean srcDir = srcEntry != null && dentryIsDir(srcEntry);
            if (NamespaceRules.renameIsNoop(from, to, Optional.ofNullable(srcEntry).map(RedisSchema::dentryIno),
                    srcDir, Optional.ofNullable(targetEntry).map(RedisSchema::dentryIno))) {
                return Plan.nothing(Optional.<Inode>empty());
            }
            long srcIno = dentryIno(srcEntry);
            c.watch(inoKey(srcIno));
            Answer<byte[]> srcRecord = c.get(inoKey(srcIno));
            ParentRecord fromDir = fromParent.record(c);
            ParentRecord toDir = parent.record(c);
            Answer<byte[]> targetRecord = () -> null;
            Answer<Long> targetEntries = () -> 0L;
            if (targetEntry != null) {
                c.watch(inoKey(dentryIno(targetEntry)), dirKey(to));
                targetRecord = c.get(inoKey(dentryIno(targetEntry)));
                targetEntries = c.hlen(dirKey(to));
            }
            Inode src = decoded(srcRecord.get()).orElseThrow(() -> new NoSuchFileException(from));
            Optional<Inode> targetInode = targetEntry == null ? Optional.empty()
                    : Optional.of(decoded(targetRecord.get()).orElseThrow(() -> new NoSuchFileException(to)));
            NamespaceRules.Renamed r = NamespaceRules.rename(to, src, targetInode, targetEntries.get() > 0,
                    fromDir.dir(), toDir.dir(), nowNs);
            List<String> movedDirs = srcDir ? directoriesBelow(c, from) : List.of();
            return new Plan<>(r.replaced(), w -> {
                put(w, r.fromDir());
                put(w, r.toDir());
                w.hdel(dirKey(parentOf(from)), utf8(nameOf(from)));
                w.hset(dirKey(parentOf(to)), utf8(nameOf(to)), srcEntry);
                w.set(inoKey(srcIno), r.moved().encode());
                r.replaced().ifPresent(t -> {
                    w.set(inoKey(t.ino()), t.encode());
                    if (t.nlink() == 0) {
                        w.sadd(orphansKey(nodeId), utf8(Long.toString(t.ino())));
                    }
                });
                for (String d : movedDirs) {
                    w.rename(dirKey(d), dirKey(to + d.substring(from.length())));
                }
            });
        });
    }

    /**
     * The directory {@code dir} and every scratch directory below it that has entries (those
     * are the hashes a rename moves), each watched before it is read; one round trip per level.
     */
    private static List<String> directoriesBelow(Tx c, String dir) {
        List<String> out = new ArrayList<>();
        List<String> level = List.of(dir);
        while (!level.isEmpty()) {
            Map<String, Answer<Map<byte[], byte[]>>> reads = new java.util.LinkedHashMap<>();
            for (String d : level) {
                c.watch(dirKey(d));
                reads.put(d, c.hgetall(dirKey(d)));
            }
            List<String> next = new ArrayList<>();
            for (Map.Entry<String, Answer<Map<byte[], byte[]>>> r : reads.entrySet()) {
                Map<byte[], byte[]> entries = r.getValue().get();
                if (entries.isEmpty()) {
                    continue;
                }
                out.add(r.getKey());
                for (Map.Entry<byte[], byte[]> e : entries.entrySet()) {
                    if (dentryIsDir(e.getValue())) {
                        next.add(r.getKey() + "/" + new String(e.getKey(), StandardCharsets.UTF_8));
                    }
                }
            }
            level = next;
        }
        return out;
    }

    @Override
    public Inode modify(long ino, UnaryOperator<Inode> change) throws IOException {
        byte[] stored = call("read", "inode " + ino, () -> redis.get(inoKey(ino)));
        return swap(ino, stored, change);
    }

    @Override
    public Inode modify(long ino, Inode seen, UnaryOperator<Inode> change) throws IOException {
        if (seen.ino() != ino) {
            throw new IllegalArgumentException("the record seen is of inode " + seen.ino() + ", not " + ino);
        }
        return swap(ino, seen.encode(), change);
    }

    /**
     * Compare-and-set from {@code expected}, the record's bytes as last known ({@code null}: none),
     * until no other change comes between. The next attempt compares with the bytes Redis
     * answered, never with a re-encoding of them, so a record this build encodes differently
     * (another version's) still converges.
     */
    private Inode swap(long ino, byte[] expected, UnaryOperator<Inode> change) throws IOException {
        byte[] was = expected;
        for (int attempt = 0; attempt < RedisTransactions.MAX_ATTEMPTS; attempt++) {
            if (was == null) {
                throw new NoSuchFileException("inode " + ino);
            }
            Inode changed = change.apply(Inode.decode(was));
            if (changed.ino() != ino) {
                throw new IllegalArgumentException("modify must not change the inode number");
            }
            byte[] from = was;
            byte[] now = change("update", "inode " + ino, () -> SWAP.run(redis, ScriptOutputType.VALUE,
                    new byte[][] {inoKey(ino)}, from, changed.encode()));
            if (now != null && now.length == 0) {
                return changed;
            }
            was = now;
        }
        throw new PeerFsException("metadata store " + where + ": update inode " + ino + " kept conflicting with"
                + " other nodes' changes; gave up after " + RedisTransactions.MAX_ATTEMPTS + " attempts");
    }

    @Override
    public void delete(long ino) throws IOException {
        transaction("delete inode", Long.toString(ino), c -> new Plan<>(null, w -> {
            w.del(inoKey(ino));
            w.srem(orphansKey(nodeId), utf8(Long.toString(ino)));
        }));
    }

    /** Durability is the Redis server's (its {@code appendfsync} setting); nothing to force from here. */
    @Override
    public void sync() throws IOException {
        call("reach", "the server", () -> redis.ping());
    }

    @Override
    public Set<ChunkKey> referencedChunks() throws IOException {
        Set<ChunkKey> keys = new HashSet<>();
        forEachInode(inode -> keys.addAll(inode.presentChunks()));
        return keys;
    }

    private void forEachInode(Consumer<Inode> visitor) throws IOException {
        call("scan", "inodes", () -> {
            ScanArgs args = ScanArgs.Builder.matches(PREFIX + "i:*").limit(500);
            KeyScanCursor<byte[]> cursor = redis.scan(args);
            while (true) {
                for (byte[] k : cursor.getKeys()) {
                    byte[] v = redis.get(k);
                    if (v != null) {
                        visitor.accept(Inode.decode(v));
                    }
                }
                if (cursor.isFinished()) {
                    return null;
                }
                cursor = redis.scan(ScanCursor.of(cursor.getCursor()), args);
            }
        });
    }

    @Override
    public void opened(long ino) throws IOException {
        call("record the open of", "inode " + ino, () -> OPENED.run(redis, ScriptOutputType.INTEGER,
                new byte[][] {openKey(nodeId), key("n")}, utf8(Long.toString(ino)),
                utf8(Long.toString(OPEN_TTL_SECONDS)), utf8(nodeId)));
    }

    @Override
    public Optional<Inode> closed(long ino) throws IOException {
        return call("record the close of", "inode " + ino, () -> decoded(CLOSED.run(redis, ScriptOutputType.VALUE,
                new byte[][] {openKey(nodeId), inoKey(ino)}, utf8(Long.toString(ino)))));
    }

    @Override
    public boolean openElsewhere(long ino) throws IOException {
        Long open = call("read", "who has inode " + ino + " open", () -> OPEN_ELSEWHERE.<Long>run(redis,
                ScriptOutputType.INTEGER, new byte[][] {key("n")}, utf8(nodeId),
                key("u:"), utf8(Long.toString(ino))));
        return open != null && open == 1;
    }

    @Override
    public void noneOpen() throws IOException {
        call("forget the open files of", nodeId, () -> redis.del(openKey(nodeId)));
    }

    @Override
    public List<Inode> orphans() throws IOException {
        return call("read", "orphans", () -> {
            List<Inode> out = new ArrayList<>();
            for (byte[] m : redis.smembers(orphansKey(nodeId))) {
                long ino = Long.parseLong(new String(m, StandardCharsets.UTF_8));
                Optional<Inode> inode = get(ino);
                if (inode.isPresent() && inode.get().nlink() == 0) {
                    out.add(inode.get());
                } else if (inode.isEmpty()) {
                    redis.srem(orphansKey(nodeId), m);
                }
            }
            return out;
        });
    }

    @Override
    public String toString() {
        return where;
    }

    @Override
    public void close() {
        try {
            transactions.close();
            readConnection.close();
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            txClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            resources.shutdown(0, 2, TimeUnit.SECONDS);
        }
    }
}
