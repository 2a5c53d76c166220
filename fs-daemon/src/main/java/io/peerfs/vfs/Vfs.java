package io.peerfs.vfs;

import io.peerfs.backend.FsStats;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file system as PeerFS serves it, with no FUSE types: paths as the kernel gives them
 * ({@code /} or {@code /a/b}), failures as typed exceptions that the FUSE adapter maps to
 * errno in one place. Testable without a kernel.
 *
 * <p>A path is <em>scratch</em> when the {@link MetaStore} has it (created through the
 * mount; lives only in node caches), else <em>source</em> (the backend's, read-only).
 * Scratch names merge into backend directories; changes to source data are refused.
 */
public final class Vfs {
    private static final Logger log = LoggerFactory.getLogger(Vfs.class);
    /** Virtual xattr on the mount root whose value is the daemon's status as JSON. */
    public static final String STATUS_XATTR = "user.peerfs.status";
    public static final int O_ACCMODE = 3;
    public static final int O_RDONLY = 0;
    public static final int O_TRUNC = 01000;
    /** A time argument of {@link #utimens} that leaves the time as it is. */
    public static final long OMIT = Long.MIN_VALUE;
    private static final int XATTR_CREATE = 1;
    private static final int XATTR_REPLACE = 2;
    /** Names and values of one entry's xattrs together, at most (as XATTR_LIST_MAX on Linux). */
    private static final int XATTR_SPACE = 64 * 1024;

    /** What a file handle refers to. */
    private sealed interface Handle permits SourceHandle, ScratchHandle {
    }

    private record SourceHandle(OpenFile file) implements Handle {
    }

    private record ScratchHandle(OpenScratch file) implements Handle {
    }

    private final BackendMetaCache backend;
    private final MetaStore scratch;
    private final SourceFiles sources;
    private final ScratchFiles scratchFiles;
    private final LongSupplier clockNs;
    private final Supplier<byte[]> status;
    private final ConcurrentHashMap<Long, Handle> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);
    private volatile long lastRefusalLogMs;

    /**
     * @param readaheadChunks chunks loaded ahead of a sequential reader of source files
     * @param clockNs wall clock in nanoseconds since the epoch, for scratch timestamps
     * @param status the status document served as {@link #STATUS_XATTR}
     */
    public Vfs(BackendMetaCache backend, MetaStore scratch, ChunkFetcher fetcher, ChunkStore store, int chunkSize,
               int readaheadChunks, LongSupplier clockNs, Supplier<byte[]> status) {
        this.backend = backend;
        this.scratch = scratch;
        this.sources = new SourceFiles(fetcher, chunkSize, readaheadChunks);
        this.scratchFiles = new ScratchFiles(scratch, store, chunkSize, clockNs);
        this.clockNs = clockNs;
        this.status = status;
    }

    /**
     * Frees what a daemon that died left behind: scratch inodes that lost their last name
     * while open, and pinned chunks sealed for writes never committed. Call at start,
     * before mounting, when nothing is open.
     *
     * @return how many inodes and chunks were freed
     */
    public int collectOrphans() throws IOException {
        List<Inode> orphans = scratch.orphans();
        for (Inode o : orphans) {
            scratchFiles.deleteIfUnused(o);
        }
        return orphans.size() + scratchFiles.freeUnreferencedChunks();
    }

    /** Backend-relative form of a kernel path: {@code /} → {@code ""}, {@code /a/b} → {@code a/b}. */
    static String rel(String path) {
        return path.length() <= 1 ? "" : path.substring(1);
    }

    private static String parent(String rel) {
        int slash = rel.lastIndexOf('/');
        return slash < 0 ? "" : rel.substring(0, slash);
    }

    /** The scratch inode at a path, with this node's unsaved size and layout if it is open here. */
    private Optional<Inode> scratchAt(String rel) throws IOException {
        if (rel.isEmpty()) {
            return Optional.empty();
        }
        Optional<Inode> i = scratch.lookup(rel);
        return i.isEmpty() ? i : Optional.of(scratchFiles.current(i.get()));
    }

    private Optional<FileAttr> sourceAt(String rel) throws IOException {
        try {
            return Optional.of(backend.stat(rel));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    private FileAttr attrOf(String rel) throws IOException {
        Optional<Inode> s = scratchAt(rel);
        if (s.isPresent()) {
            return s.get().attr();
        }
        return backend.stat(rel);
    }

    /** Checks that a new name may be made at {@code rel}: its parent is a directory and the name is free. */
    private void requireFreeName(String rel) throws IOException {
        FileAttr parent = attrOf(parent(rel));
        if (!parent.isDirectory()) {
            throw new NotDirectoryException(parent(rel));
        }
        if (scratchAt(rel).isPresent() || sourceAt(rel).isPresent()) {
            throw new FileAlreadyExistsException(rel);
        }
    }

    /** The scratch inode a change applies to; source data is refused, a missing name is ENOENT. */
    private Inode writable(String op, String path) throws IOException {
        String rel = rel(path);
        Optional<Inode> s = scratchAt(rel);
        if (s.isPresent()) {
            return s.get();
        }
        backend.stat(rel); // NoSuchFileException when neither has it
        throw refuse(op, path);
    }

    public FileAttr getattr(String path) throws IOException {
        return attrOf(rel(path));
    }

    /** Backend names and scratch names of a directory, merged. */
    public List<String> readdir(String path) throws IOException {
        String rel = rel(path);
        Optional<Inode> s = scratchAt(rel);
        Set<String> names = new LinkedHashSet<>();
        if (s.isPresent()) {
            if (!s.get().isDirectory()) {
                throw new NotDirectoryException(path);
            }
        } else {
            names.addAll(backend.list(rel));
        }
        names.addAll(scratch.list(rel));
        return new ArrayList<>(names);
    }

    public String readlink(String path) throws IOException {
        Optional<Inode> s = scratchAt(rel(path));
        if (s.isPresent()) {
            if (s.get().type() != FileType.SYMLINK) {
                throw new FileSystemException(path, null, "Invalid argument");
            }
            return s.get().target();
        }
        return backend.readlink(rel(path));
    }

    /**
     * Opens a file. Source files open read-only and are revalidated with the backend, so a
     * file changed there is never served with old bytes.
     *
     * @return the handle for {@link #read}, {@link #write} and {@link #release}
     */
    public long open(String path, int flags) throws IOException {
        String rel = rel(path);
        Optional<Inode> s = scratchAt(rel);
        if (s.isPresent()) {
            if (s.get().isDirectory()) {
                throw new FileSystemException(path, null, "Is a directory");
            }
            OpenScratch f = scratchFiles.open(s.get());
            if ((flags & O_TRUNC) != 0 && (flags & O_ACCMODE) != O_RDONLY) {
                scratchFiles.truncate(f, 0);
            }
            return register(new ScratchHandle(f));
        }
        FileAttr attr = backend.statFresh(rel);
        if ((flags & O_ACCMODE) != O_RDONLY) {
            throw refuse("open for writing", path);
        }
        if (attr.isDirectory()) {
            throw new FileSystemException(path, null, "Is a directory");
        }
        return register(new SourceHandle(new OpenFile(rel, attr, sources.chunkSize())));
    }

    /** Creates and opens a new scratch file. */
    public long create(String path, int mode, Caller caller) throws IOException {
        String rel = rel(path);
        requireFreeName(rel);
        Inode inode = scratch.create(rel, Inode.fresh(0, FileType.FILE, mode, caller.uid(), caller.gid(), null,
                clockNs.getAsLong()));
        return register(new ScratchHandle(scratchFiles.open(inode)));
    }

    private long register(Handle h) {
        long fh = nextHandle.getAndIncrement();
        handles.put(fh, h);
        return fh;
    }

    /**
     * Reads into {@code dst} from {@code offset}, up to {@code dst.remaining()} bytes or the
     * end of the file.
     *
     * @return bytes read; 0 at end of file
     */
    public int read(long fh, long offset, ByteBuffer dst) throws IOException {
        Handle h = handle(fh);
        if (h instanceof ScratchHandle s) {
            return scratchFiles.read(s.file(), offset, dst);
        }
        return sources.read(((SourceHandle) h).file(), offset, dst);
    }

    /** Writes all of {@code src} at {@code offset} of an open scratch file. */
    public int write(long fh, long offset, ByteBuffer src) throws IOException {
        if (handle(fh) instanceof ScratchHandle s) {
            return scratchFiles.write(s.file(), offset, src);
        }
        throw new BadHandleException(fh); // source files never open for writing
    }

    /** close(2) of one descriptor: commits what was written (close-to-open consistency). */
    public void flush(long fh) throws IOException {
        if (handle(fh) instanceof ScratchHandle s) {
            scratchFiles.commit(s.file(), false);
        }
    }

    /** fsync(2): commits and forces data and metadata to disk. */
    public void fsync(long fh) throws IOException {
        if (handle(fh) instanceof ScratchHandle s) {
            scratchFiles.commit(s.file(), true);
        }
    }

    public void release(long fh) throws IOException {
        Handle h = handles.remove(fh);
        if (h instanceof ScratchHandle s) {
            scratchFiles.release(s.file());
        }
    }

    /** Open handles, for leak checks and status. */
    public int openFiles() {
        return handles.size();
    }

    public void truncate(String path, long size) throws IOException {
        Inode inode = writable("truncate", path);
        if (inode.isDirectory()) {
            throw new FileSystemException(path, null, "Is a directory");
        }
        OpenScratch f = scratchFiles.open(inode);
        try {
            scratchFiles.truncate(f, size);
        } finally {
            scratchFiles.release(f);
        }
    }

    public void ftruncate(long fh, long size) throws IOException {
        if (handle(fh) instanceof ScratchHandle s) {
            scratchFiles.truncate(s.file(), size);
            return;
        }
        throw refuse("truncate", "(open source file)");
    }

    public void mkdir(String path, int mode, Caller caller) throws IOException {
        String rel = rel(path);
        requireFreeName(rel);
        scratch.create(rel, Inode.fresh(0, FileType.DIRECTORY, mode, caller.uid(), caller.gid(), null, clockNs.getAsLong()));
    }

    public void symlink(String target, String path, Caller caller) throws IOException {
        String rel = rel(path);
        requireFreeName(rel);
        scratch.create(rel, Inode.fresh(0, FileType.SYMLINK, 0777, caller.uid(), caller.gid(), target, clockNs.getAsLong()));
    }

    public void link(String from, String to) throws IOException {
        Inode inode = writable("link", from);
        String rel = rel(to);
        requireFreeName(rel);
        scratch.link(inode.ino(), rel, clockNs.getAsLong());
    }

    public void unlink(String path) throws IOException {
        Inode inode = writable("unlink", path);
        if (inode.isDirectory()) {
            throw new FileSystemException(path, null, "Is a directory");
        }
        scratchFiles.deleteIfUnused(scratch.unlink(rel(path), clockNs.getAsLong()));
    }

    public void rmdir(String path) throws IOException {
        Inode inode = writable("rmdir", path);
        if (!inode.isDirectory()) {
            throw new NotDirectoryException(path);
        }
        scratch.unlink(rel(path), clockNs.getAsLong());
        scratch.delete(inode.ino());
    }

    public void rename(String from, String to) throws IOException {
        writable("rename", from);
        String toRel = rel(to);
        if (scratchAt(toRel).isEmpty() && sourceAt(toRel).isPresent()) {
            throw refuse("rename over", to);
        }
        FileAttr parent = attrOf(parent(toRel));
        if (!parent.isDirectory()) {
            throw new NotDirectoryException(parent(toRel));
        }
        Optional<Inode> replaced = scratch.rename(rel(from), toRel, clockNs.getAsLong());
        if (replaced.isPresent()) {
            if (replaced.get().isDirectory()) {
                scratch.delete(replaced.get().ino());
            } else {
                scratchFiles.deleteIfUnused(replaced.get());
            }
        }
    }

    public void chmod(String path, int mode) throws IOException {
        Inode inode = writable("chmod", path);
        scratch.modify(inode.ino(), i -> i.withMode(mode, clockNs.getAsLong()));
    }

    /** Changes owner and group; {@code -1} (as an unsigned 32-bit value too) leaves one as it is. */
    public void chown(String path, long uid, long gid) throws IOException {
        Inode inode = writable("chown", path);
        scratch.modify(inode.ino(), i -> i.withOwner(unchanged(uid) ? i.uid() : (int) uid,
                unchanged(gid) ? i.gid() : (int) gid, clockNs.getAsLong()));
    }

    private static boolean unchanged(long id) {
        return id == -1 || id == 0xFFFFFFFFL;
    }

    /** Sets access and modification times (ns since the epoch); {@link #OMIT} leaves one as it is. */
    public void utimens(String path, long atimeNs, long mtimeNs) throws IOException {
        Inode inode = writable("utimens", path);
        scratchFiles.timesSet(scratch.modify(inode.ino(), i -> i.withTimes(atimeNs == OMIT ? i.atimeNs() : atimeNs,
                mtimeNs == OMIT ? i.mtimeNs() : mtimeNs, clockNs.getAsLong())));
    }

    public FsStats statfs() throws IOException {
        return backend.statfs();
    }

    public byte[] getxattr(String path, String name) throws IOException {
        if (path.equals("/") && name.equals(STATUS_XATTR)) {
            return status.get();
        }
        byte[] v = xattrsOf(path).get(name);
        if (v == null) {
            throw new NoSuchXattrException(path, name);
        }
        return v;
    }

    public List<String> listxattr(String path) throws IOException {
        return new ArrayList<>(xattrsOf(path).keySet());
    }

    private Map<String, byte[]> xattrsOf(String path) throws IOException {
        Optional<Inode> s = scratchAt(rel(path));
        return s.isPresent() ? s.get().xattrs() : backend.xattrs(rel(path));
    }

    /** Sets a {@code user.} xattr of a scratch entry; {@code flags} as setxattr(2) (create, replace). */
    public void setxattr(String path, String name, byte[] value, int flags) throws IOException {
        Inode inode = writable("setxattr", path);
        requireUserNamespace(path, name);
        boolean present = inode.xattrs().containsKey(name);
        if ((flags & XATTR_CREATE) != 0 && present) {
            throw new FileAlreadyExistsException(path, null, "xattr " + name + " exists");
        }
        if ((flags & XATTR_REPLACE) != 0 && !present) {
            throw new NoSuchXattrException(path, name);
        }
        Map<String, byte[]> after = new LinkedHashMap<>(inode.xattrs());
        after.put(name, value);
        if (after.entrySet().stream().mapToInt(e -> e.getKey().length() + 1 + e.getValue().length).sum() > XATTR_SPACE) {
            throw new FileSystemException(path, null, "No space left on device"); // as ext4 when its xattr space is full
        }
        scratch.modify(inode.ino(), i -> {
            Map<String, byte[]> x = new LinkedHashMap<>(i.xattrs());
            x.put(name, value);
            return i.withXattrs(x, clockNs.getAsLong());
        });
    }

    public void removexattr(String path, String name) throws IOException {
        Inode inode = writable("removexattr", path);
        if (!inode.xattrs().containsKey(name)) {
            throw new NoSuchXattrException(path, name);
        }
        scratch.modify(inode.ino(), i -> {
            Map<String, byte[]> x = new LinkedHashMap<>(i.xattrs());
            x.remove(name);
            return i.withXattrs(x, clockNs.getAsLong());
        });
    }

    private static void requireUserNamespace(String path, String name) throws FileSystemException {
        if (!name.startsWith("user.")) {
            throw new FileSystemException(path, null, "Operation not supported");
        }
    }

    /**
     * Checks that the path exists. Write access is refused for source files; source
     * directories are writable, because new names in them become scratch entries.
     */
    public void access(String path, int mask) throws IOException {
        FileAttr a = attrOf(rel(path));
        if ((mask & 2) != 0 && !a.isDirectory() && scratchAt(rel(path)).isEmpty()) {
            throw refuse("write access to", path);
        }
    }

    /** The error for any change to source data, logged (at most once a second) with how to write instead. */
    public ReadOnlyPathException refuse(String op, String path) {
        ReadOnlyPathException e = new ReadOnlyPathException(op, path);
        long now = System.currentTimeMillis();
        if (now - lastRefusalLogMs >= 1000) {
            lastRefusalLogMs = now;
            log.warn("refused: {}", e.getMessage());
        }
        return e;
    }

    private Handle handle(long fh) throws BadHandleException {
        Handle h = handles.get(fh);
        if (h == null) {
            throw new BadHandleException(fh);
        }
        return h;
    }
}
