package io.peerfs.meta.rocksdb;

import io.peerfs.PeerFsException;
import io.peerfs.meta.Inode;
import io.peerfs.meta.Member;
import io.peerfs.meta.StagedFile;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.NamespaceRules;
import io.peerfs.meta.PathTag;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The embedded {@link MetaStore} engine ({@code --meta rocksdb:}): one node's scratch
 * namespace in RocksDB. Keys: {@code i<ino>} → inode, {@code d<parent>\0<name>} → ino,
 * {@code n} → the next inode number, {@code w<ino>} → backend path of a staged result file,
 * {@code t<path>} → a result tag, {@code m<nodeId>} → heartbeat time and address of a member. Changes are serialised and each is one write batch.
 */
public final class RocksDbMetaStore implements MetaStore {
    static {
        RocksDB.loadLibrary();
    }

    private static final byte[] NEXT_INO = {'n'};

    private final Path dir;
    private final Options options;
    private final RocksDB db;
    /** Writes reach the WAL in the page cache (they survive kill -9); {@link #sync} makes them durable. */
    private final WriteOptions sync = new WriteOptions();
    private long nextIno;

    private RocksDbMetaStore(Path dir, Options options, RocksDB db, long nextIno) {
        this.dir = dir;
        this.options = options;
        this.db = db;
        this.nextIno = nextIno;
    }

    public static RocksDbMetaStore open(Path dir) throws PeerFsException {
        Options options = new Options().setCreateIfMissing(true).setKeepLogFileNum(2)
                .setInfoLogLevel(org.rocksdb.InfoLogLevel.WARN_LEVEL);
        try {
            Files.createDirectories(dir);
            RocksDB db = RocksDB.open(options, dir.toString());
            byte[] n = db.get(NEXT_INO);
            return new RocksDbMetaStore(dir, options, db, n == null ? 1 : ByteBuffer.wrap(n).getLong());
        } catch (RocksDBException | IOException e) {
            options.close();
            throw new PeerFsException("cannot open metadata store " + dir + ": " + e.getMessage(), e);
        }
    }

    private static byte[] inoKey(long ino) {
        return ByteBuffer.allocate(9).put((byte) 'i').putLong(ino).array();
    }

    private static byte[] dentryKey(String path) {
        int slash = path.lastIndexOf('/');
        String parent = slash < 0 ? "" : path.substring(0, slash);
        return dentryKey(parent, path.substring(slash + 1));
    }

    private static byte[] dentryKey(String parent, String name) {
        return ("d" + parent + "\0" + name).getBytes(StandardCharsets.UTF_8);
    }

    private static String parentOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash);
    }

    private static byte[] longBytes(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    private PeerFsException failure(String op, String what, RocksDBException e) {
        return new PeerFsException("metadata store " + dir + ": cannot " + op + " " + what + ": " + e.getMessage(), e);
    }

    private Optional<Long> inoOf(String path) throws PeerFsException {
        try {
            byte[] v = db.get(dentryKey(path));
            return v == null ? Optional.empty() : Optional.of(ByteBuffer.wrap(v).getLong());
        } catch (RocksDBException e) {
            throw failure("look up", path, e);
        }
    }

    @Override
    public Optional<Inode> lookup(String path) throws IOException {
        Optional<Long> ino = inoOf(path);
        return ino.isEmpty() ? Optional.empty() : get(ino.get());
    }

    @Override
    public Optional<Inode> get(long ino) throws IOException {
        try {
            byte[] v = db.get(inoKey(ino));
            return v == null ? Optional.empty() : Optional.of(Inode.decode(v));
        } catch (RocksDBException e) {
            throw failure("read inode", Long.toString(ino), e);
        }
    }

    @Override
    public List<String> list(String dirPath) throws IOException {
        byte[] prefix = ("d" + dirPath + "\0").getBytes(StandardCharsets.UTF_8);
        List<String> names = new ArrayList<>();
        try (RocksIterator it = db.newIterator()) {
            for (it.seek(prefix); it.isValid() && startsWith(it.key(), prefix); it.next()) {
                byte[] k = it.key();
                names.add(new String(k, prefix.length, k.length - prefix.length, StandardCharsets.UTF_8));
            }
        }
        return names;
    }

    private static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    /**
     * The scratch directory that holds {@code path}, where its parent is one (else the parent is
     * the backend's); NotDirectoryException where the parent is a file.
     */
    private Optional<Inode> parentDir(String path) throws IOException {
        String parent = parentOf(path);
        Optional<Inode> p = parent.isEmpty() ? Optional.empty() : lookup(parent);
        NamespaceRules.requireDirectory(parent, p.isPresent(), p.isPresent() && p.get().isDirectory());
        return p;
    }

    /** Writes a changed directory's record into {@code b}, where it is a scratch directory. */
    private static void put(WriteBatch b, Optional<Inode> dir) throws RocksDBException {
        if (dir.isPresent()) {
            b.put(inoKey(dir.get().ino()), dir.get().encode());
        }
    }

    @Override
    public synchronized Inode create(String path, Inode spec) throws IOException {
        boolean taken = inoOf(path).isPresent();
        NamespaceRules.Created c = NamespaceRules.create(path, spec, nextIno, taken, taken ? Optional.empty()
                : parentDir(path));
        Inode inode = c.inode();
        try (WriteBatch b = new WriteBatch()) {
            b.put(NEXT_INO, longBytes(inode.ino() + 1));
            b.put(inoKey(inode.ino()), inode.encode());
            b.put(dentryKey(path), longBytes(inode.ino()));
            put(b, c.dir());
            db.write(sync, b);
        } catch (RocksDBException e) {
            throw failure("create", path, e);
        }
        nextIno = inode.ino() + 1;
        return inode;
    }

    @Override
    public synchronized Inode stage(String target, Inode spec, StagedFile.Writer writer) throws IOException {
        long ino = nextIno;
        Inode inode = NamespaceRules.staged(spec, ino);
        try (WriteBatch b = new WriteBatch()) {
            b.put(NEXT_INO, longBytes(ino + 1));
            b.put(inoKey(ino), inode.encode());
            b.put(journalKey(ino), new StagedFile(target, false, writer).encode());
            db.write(sync, b);
        } catch (RocksDBException e) {
            throw failure("stage", target, e);
        }
        nextIno = ino + 1;
        return inode;
    }

    private static byte[] journalKey(long ino) {
        return ByteBuffer.allocate(9).put((byte) 'w').putLong(ino).array();
    }

    /** The key of a tag: its kind's prefix, then the path. */
    private static byte[] tagKey(PathTag kind, String path) {
        return (tagPrefix(kind) + path).getBytes(StandardCharsets.UTF_8);
    }

    private static char tagPrefix(PathTag kind) {
        return switch (kind) {
            case RESULT -> 't';
            case PIN -> 'p';
            case DATASET -> 'D';
        };
    }

    @Override
    public synchronized void restage(long ino, String target) throws IOException {
        try {
            byte[] v = db.get(journalKey(ino));
            if (v == null) {
                throw new NoSuchFileException("staged inode " + ino);
            }
            db.put(sync, journalKey(ino), StagedFile.decode(v).withPath(target).encode());
        } catch (RocksDBException e) {
            throw failure("restage", target, e);
        }
    }

    @Override
    public synchronized Inode unstage(long ino) throws IOException {
        Inode inode = get(ino).orElseThrow(() -> new NoSuchFileException("staged inode " + ino));
        Inode unlinked = inode.withNlink(0, inode.ctimeNs());
        try (WriteBatch b = new WriteBatch()) {
            b.delete(journalKey(ino));
            b.put(inoKey(ino), unlinked.encode());
            db.write(sync, b);
        } catch (RocksDBException e) {
            throw failure("unstage", Long.toString(ino), e);
        }
        return unlinked;
    }

    @Override
    public synchronized void readyToUpload(long ino) throws IOException {
        try {
            byte[] v = db.get(journalKey(ino));
            if (v == null) {
                throw new NoSuchFileException("staged inode " + ino);
            }
            db.put(sync, journalKey(ino), StagedFile.decode(v).asReady().encode());
        } catch (RocksDBException e) {
            throw failure("mark ready", Long.toString(ino), e);
        }
    }

    @Override
    public java.util.SortedMap<Long, StagedFile> staged() throws IOException {
        java.util.SortedMap<Long, StagedFile> out = new java.util.TreeMap<>();
        try (RocksIterator it = db.newIterator()) {
            for (it.seek(new byte[] {'w'}); it.isValid() && it.key()[0] == 'w'; it.next()) {
                out.put(ByteBuffer.wrap(it.key(), 1, 8).getLong(), StagedFile.decode(it.value()));
            }
        }
        return out;
    }

    @Override
    public synchronized void tag(PathTag kind, String path, boolean on) throws IOException {
        try {
            if (on) {
                db.put(sync, tagKey(kind, path), new byte[] {1});
            } else {
                db.delete(sync, tagKey(kind, path));
            }
        } catch (RocksDBException e) {
            throw failure("tag", path, e);
        }
    }

    @Override
    public java.util.Set<String> tagged(PathTag kind) throws IOException {
        java.util.Set<String> out = new java.util.TreeSet<>();
        byte prefix = (byte) tagPrefix(kind);
        try (RocksIterator it = db.newIterator()) {
            for (it.seek(new byte[] {prefix}); it.isValid() && it.key()[0] == prefix; it.next()) {
                out.add(new String(it.key(), 1, it.key().length - 1, StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    private static byte[] memberKey(String nodeId) {
        return ("m" + nodeId).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void heartbeat(Member member) throws IOException {
        byte[] addr = member.address().getBytes(StandardCharsets.UTF_8);
        try {
            db.put(sync, memberKey(member.nodeId()),
                    ByteBuffer.allocate(8 + addr.length).putLong(member.heartbeatMs()).put(addr).array());
        } catch (RocksDBException e) {
            throw failure("register member", member.nodeId(), e);
        }
    }

    @Override
    public List<Member> members() throws IOException {
        List<Member> out = new ArrayList<>();
        try (RocksIterator it = db.newIterator()) {
            for (it.seek(new byte[] {'m'}); it.isValid() && it.key()[0] == 'm'; it.next()) {
                ByteBuffer v = ByteBuffer.wrap(it.value());
                long hb = v.getLong();
                out.add(new Member(new String(it.key(), 1, it.key().length - 1, StandardCharsets.UTF_8),
                        new String(it.value(), 8, it.value().length - 8, StandardCharsets.UTF_8), hb));
            }
        }
        return out;
    }

    @Override
    public void leave(String nodeId) throws IOException {
        try {
            db.delete(sync, memberKey(nodeId));
        } catch (RocksDBException e) {
            throw failure("remove member", nodeId, e);
        }
    }

    @Override
    public synchronized Inode link(long ino, String path, long nowNs) throws IOException {
        Optional<Inode> inode = get(ino);
        boolean taken = inoOf(path).isPresent();
        NamespaceRules.Linked l = NamespaceRules.link(path, ino, inode, taken,
                inode.isPresent() && !taken ? parentDir(path) : Optional.empty(), nowNs);
        try (WriteBatch b = new WriteBatch()) {
            b.put(inoKey(ino), l.inode().encode());
            b.put(dentryKey(path), longBytes(ino));
            put(b, l.dir());
            db.write(sync, b);
        } catch (RocksDBException e) {
            throw failure("link", path, e);
        }
        return l.inode();
    }

    @Override
    public synchronized Inode unlink(String path, long nowNs) throws IOException {
        Optional<Inode> inode = lookup(path);
        boolean hasEntries = inode.isPresent() && inode.get().isDirectory() && !list(path).isEmpty();
        NamespaceRules.Unlinked u = NamespaceRules.unlink(path, inode, hasEntries,
                inode.isPresent() ? parentDir(path) : Optional.empty(), nowNs);
        try (WriteBatch b = new WriteBatch()) {
            b.delete(dentryKey(path));
            b.put(inoKey(u.inode().ino()), u.inode().encode());
            put(b, u.dir());
            db.write(sync, b);
        } catch (RocksDBException e) {
            throw failure("unlink", path, e);
        }
        return u.inode();
    }

    @Override
    public synchronized Optional<Inode> rename(String from, String to, long nowNs) throws IOException {
        Optional<Inode> src = lookup(from);
        Optional<Inode> target = lookup(to);
        if (NamespaceRules.renameIsNoop(from, to, src.map(Inode::ino), src.isPresent() && src.get().isDirectory(),
                target.map(Inode::ino))) {
            return Optional.empty();
        }
        Optional<Inode> toParent = parentDir(to);
        Optional<Inode> fromParent = parentDir(from);
        boolean targetHasEntries = target.isPresent() && target.get().isDirectory() && !list(to).isEmpty();
        NamespaceRules.Renamed r = NamespaceRules.rename(to, src.get(), target, targetHasEntries, fromParent,
                toParent, nowNs);
        try (WriteBatch b = new WriteBatch()) {
            b.delete(dentryKey(from));
            b.put(dentryKey(to), longBytes(src.get().ino()));
            b.put(inoKey(src.get().ino()), r.moved().encode());
            if (r.replaced().isPresent()) {
                b.put(inoKey(r.replaced().get().ino()), r.replaced().get().encode());
            }
            put(b, r.fromDir());
            put(b, r.toDir());
            if (src.get().isDirectory()) {
                moveDescendants(b, from, to);
            }
            db.write(sync, b);
        } catch (RocksDBException e) {
            throw failure("rename", from + " to " + to, e);
        }
        return r.replaced();
    }

    /** Re-keys every dentry below directory {@code from} to lie below {@code to}. */
    private void moveDescendants(WriteBatch b, String from, String to) throws RocksDBException {
        for (String sep : new String[] {"\0", "/"}) {
            byte[] prefix = ("d" + from + sep).getBytes(StandardCharsets.UTF_8);
            byte[] newPrefix = ("d" + to + sep).getBytes(StandardCharsets.UTF_8);
            try (RocksIterator it = db.newIterator()) {
                for (it.seek(prefix); it.isValid() && startsWith(it.key(), prefix); it.next()) {
                    byte[] k = it.key();
                    byte[] moved = Arrays.copyOf(newPrefix, newPrefix.length + k.length - prefix.length);
                    System.arraycopy(k, prefix.length, moved, newPrefix.length, k.length - prefix.length);
                    b.delete(k);
                    b.put(moved, it.value());
                }
            }
        }
    }

    @Override
    public synchronized Inode modify(long ino, java.util.function.UnaryOperator<Inode> change) throws IOException {
        Inode current = get(ino).orElseThrow(() -> new NoSuchFileException("inode " + ino));
        Inode changed = change.apply(current);
        if (changed.ino() != ino) {
            throw new IllegalArgumentException("modify must not change the inode number");
        }
        try {
            db.put(sync, inoKey(ino), changed.encode());
        } catch (RocksDBException e) {
            throw failure("update inode", Long.toString(ino), e);
        }
        return changed;
    }

    @Override
    public synchronized void delete(long ino) throws IOException {
        try {
            db.delete(sync, inoKey(ino));
        } catch (RocksDBException e) {
            throw failure("delete inode", Long.toString(ino), e);
        }
    }

    @Override
    public void sync() throws IOException {
        try {
            db.syncWal();
        } catch (RocksDBException e) {
            throw failure("sync", "the WAL", e);
        }
    }

    @Override
    public List<Inode> orphans() throws IOException {
        List<Inode> out = new ArrayList<>();
        forEachInode(inode -> {
            if (inode.nlink() == 0) {
                out.add(inode);
            }
        });
        return out;
    }

    @Override
    public java.util.Set<io.peerfs.chunk.ChunkKey> referencedChunks() throws IOException {
        java.util.Set<io.peerfs.chunk.ChunkKey> keys = new java.util.HashSet<>();
        forEachInode(inode -> keys.addAll(inode.presentChunks()));
        return keys;
    }

    private void forEachInode(java.util.function.Consumer<Inode> visitor) throws IOException {
        try (RocksIterator it = db.newIterator()) {
            for (it.seek(new byte[] {'i'}); it.isValid() && it.key()[0] == 'i'; it.next()) {
                visitor.accept(Inode.decode(it.value()));
            }
        }
    }

    @Override
    public void close() {
        db.close();
        sync.close();
        options.close();
    }
}
