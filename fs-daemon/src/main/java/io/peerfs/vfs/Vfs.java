package io.peerfs.vfs;

import io.peerfs.backend.Backend;
import io.peerfs.backend.FsStats;
import io.peerfs.backend.PosixException;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.fetch.HeldBytes;
import io.peerfs.fetch.PinnedPaths;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.PathClass;
import io.peerfs.meta.PathTag;
import io.peerfs.meta.ResultPaths;
import java.io.IOException;
import java.nio.ByteBuffer;
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

/**
 * The file system as PeerFS serves it, with no FUSE types: paths as the kernel gives them
 * ({@code /} or {@code /a/b}), failures as typed exceptions that the FUSE adapter maps to
 * errno in one place. Testable without a kernel.
 *
 * <p>A path is <em>scratch</em> when the {@link MetaStore} has it (created through the
 * mount; lives only in node caches); <em>result</em> when it is at or below a result path
 * ({@link ResultPaths}) and not scratch: changed on the backend, file data staged and
 * uploaded by {@link ResultFiles}; else <em>source</em> (the backend's, read-only). A new
 * name is result when it falls under a result path and its directory is on the backend,
 * else scratch. Scratch names merge into backend directories; changes to source data are
 * refused; a rename between scratch and result is EXDEV (mv copies instead).
 */
public final class Vfs {
    /** Virtual xattr on the mount root whose value is the daemon's status as JSON. */
    public static final String STATUS_XATTR = "user.peerfs.status";
    /** Virtual xattr on any path whose value says, as JSON, whether it is source, scratch or result and why. */
    public static final String INFO_XATTR = "user.peerfs.info";
    /** Virtual xattr that, set on a scratch file or directory, writes it to the backend as result data. */
    public static final String PERSIST_XATTR = "user.peerfs.persist";
    /** Set on the mount's root: removes pinned chunks no layout uses; reading it gives the last count. */
    public static final String GC_XATTR = "user.peerfs.gc";
    /**
     * Set on a file ("" or "cluster"): drops its cached chunks here, with "cluster" at their
     * owners too ({@code peerfs cache evict}); read back anywhere: bytes dropped here so far.
     */
    public static final String EVICT_XATTR = "user.peerfs.evict";
    /** Set on the mount's root to "1" or "0": starts or ends draining this node ({@code peerfs drain}). */
    public static final String DRAIN_XATTR = "user.peerfs.drain";
    /**
     * Virtual xattr that, set to {@code "OFFSET LENGTH"} on a backend file, loads the chunks of
     * those bytes into this node's cache ({@code "OFFSET LENGTH owner"}: into each chunk's
     * owner's); returns when they are there.
     */
    public static final String WARMUP_XATTR = "user.peerfs.warmup";
    /**
     * Set on a path to "1" (root only): pins it in the cluster's caches, so chunks of files at
     * or below it are evicted last ({@code peerfs cache pin}); "0" unpins it. Read on any path:
     * the pinned path that covers it. Set on a file to "load OFFSET LENGTH": keeps those bytes'
     * chunks resident at their owners, loading them there if needed ({@code --cluster}).
     */
    public static final String PIN_XATTR = "user.peerfs.pin";
    /**
     * Set on a backend directory to "1" (root only): a read-mostly dataset, whose backend
     * metadata is trusted for {@code --dataset-ttl} ({@code peerfs tag --dataset}); "0" ends
     * it. Read on any path: the dataset that covers it.
     */
    public static final String DATASET_XATTR = "user.peerfs.dataset";
    /** Virtual xattr: {@code {"bytes":N,"cachedBytes":M}}, how much of a file this node's cache holds. */
    public static final String CACHED_XATTR = "user.peerfs.cached";
    public static final int O_ACCMODE = 3;
    public static final int O_RDONLY = 0;
    public static final int O_TRUNC = 01000;
    /** A time argument of {@link #utimens} that leaves the time as it is. */
    public static final long OMIT = Long.MIN_VALUE;
    /** How long an rmdir of a result directory waits for files libfuse hid to be released. */
    private static final long HIDDEN_RELEASE_WAIT_NS = 2_000_000_000L;

    /** What a file handle refers to. */
    private sealed interface Handle permits SourceHandle, ScratchHandle, ResultHandle {
    }

    /**
     * @param pid the process that opened it: its close uploads, other processes' closes of inherited copies do not
     * @param writer opened for writing: a reader's close neither commits nor uploads (nor fails when the upload does)
     */
    private record ResultHandle(ResultFiles.Staged staged, OpenScratch file, int pid, boolean writer)
            implements Handle {
        ResultHandle(ResultFiles.Opened o, int pid, boolean writer) {
            this(o.staged(), o.file(), pid, writer);
        }
    }

    private record SourceHandle(OpenFile file) implements Handle {
    }

    private record ScratchHandle(OpenScratch file) implements Handle {
    }

    private final BackendMetaCache backend;
    private final MetaStore scratch;
    private final SourceFiles sources;
    private final ScratchFiles scratchFiles;
    private final ResultFiles results;
    private final ResultTree resultTree;
    private final PathClasses paths;
    private final ControlXattrs control;
    /** Paths pinned in caches ({@code peerfs cache pin}). */
    private final TagSet pins;
    /** Read-mostly datasets ({@code peerfs tag --dataset}). */
    private final TagSet datasets;
    private final Promotion promotion;
    private final Attributes attributes;
    private final LongSupplier clockNs;
    private final ConcurrentHashMap<Long, Handle> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);

    /**
     * @param backendCache cached reads of the backend
     * @param backendStore the backend itself, for changes under result paths
     * @param clockNs wall clock in nanoseconds since the epoch, for scratch timestamps
     * @param status the status document served as {@link #STATUS_XATTR}
     */
    public Vfs(VfsConfig config, BackendMetaCache backendCache, Backend backendStore, MetaStore scratch,
               ChunkFetcher fetcher, ChunkStore store, LongSupplier clockNs, Supplier<byte[]> status) {
        this.backend = backendCache;
        this.scratch = scratch;
        this.sources = new SourceFiles(fetcher, config.chunkSize(), config.readaheadChunks());
        this.scratchFiles = new ScratchFiles(scratch, store, config.chunkSize(), clockNs);
        this.results = new ResultFiles(scratch, scratchFiles, backendStore, backendCache, config.writeback(),
                config.setOwners());
        this.resultTree = new ResultTree(backendStore, backendCache, results, scratch, config.setOwners());
        this.promotion = new Promotion(scratch, scratchFiles, backendStore, backendCache, results, clockNs);
        this.clockNs = clockNs;
        this.paths = new PathClasses(backendCache, scratch, scratchFiles, results, config.resultPaths());
        this.pins = new TagSet(scratch, PathTag.PIN, store::releaseResident);
        fetcher.pinsFrom(new PinnedPaths() {
            @Override
            public String pinOf(String p) {
                return pins.covering(p);
            }

            @Override
            public String pinOfNow(String p) {
                return pins.coveringNow(p);
            }
        });
        this.datasets = new TagSet(scratch, PathTag.DATASET, backendCache::invalidateTree);
        backendCache.datasets(p -> datasets.covering(p) != null, config.datasetTtl());
        this.control = new ControlXattrs(paths, backendCache, scratch, sources, scratchFiles, results, promotion,
                pins, datasets, status);
        this.attributes = new Attributes(paths, backendCache, scratch, scratchFiles, resultTree, control,
                clockNs);
    }

    /**
     * Reads the result tags and pinned paths again from the MetaStore: at start, and every
     * little while where other nodes share it and may have changed them.
     */
    public void reloadTags() throws IOException {
        paths.reloadTags();
        pins.reload();
        datasets.reload();
    }

    /** What {@link #recover} found. */
    public record Recovery(int orphans, int chunks, int uploads) {
        @Override
        public String toString() {
            return orphans + " orphaned scratch inodes and " + chunks + " unreferenced chunks freed, " + uploads
                    + " result uploads resumed";
        }
    }

    /**
     * Takes up what a daemon that died left behind: frees scratch inodes that lost their last
     * name while open and pinned chunks sealed for writes never committed, and starts
     * uploading the result files of the writeback journal. Call at start, before mounting.
     */
    public Recovery recover() throws IOException {
        reloadTags();
        scratch.noneOpen();
        int orphans = freeOrphans();
        int chunks = scratchFiles.freeUnreferencedChunks();
        return new Recovery(orphans, chunks, results.replay());
    }

    /** Frees the inodes this node removed the last name of, unless a node still has them open; returns how many. */
    private int freeOrphans() throws IOException {
        int freed = 0;
        for (Inode o : scratch.orphans()) {
            if (scratchFiles.deleteIfUnused(o)) {
                freed++;
            }
        }
        return freed;
    }

    /**
     * Housekeeping of a shared scratch namespace, to run every little while: records the
     * closes the MetaStore missed, and frees the files this node removed while another node
     * had them open once none has (that node closed them while the MetaStore was unreachable,
     * or died and its record expired). Not for a one-node engine: its orphans are a scan.
     *
     * @return files freed
     */
    public int sweep() throws IOException {
        scratchFiles.recordCloses();
        return freeOrphans();
    }

    /** Uploads what it can of the queued result files (up to {@code waitSeconds}) and stops the uploader. */
    public boolean close(long waitSeconds) {
        return results.close(waitSeconds);
    }

    /** Result files staged here and their uploads, for status. */
    public Map<String, Long> writebackStats() {
        ResultFiles.Stats st = results.stats();
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("staged", (long) st.staged());
        m.put("queued", (long) st.queued());
        m.put("uploads", st.uploads());
        m.put("failures", st.failures());
        return m;
    }

    /** Backend-relative form of a kernel path: {@code /} → {@code ""}, {@code /a/b} → {@code a/b}. */
    static String rel(String path) {
        return path.length() <= 1 ? "" : path.substring(1);
    }

    /** The directory of a backend-relative path ({@code ""} for a name at the root). */
    static String parent(String rel) {
        int slash = rel.lastIndexOf('/');
        return slash < 0 ? "" : rel.substring(0, slash);
    }

    public FileAttr getattr(String path) throws IOException {
        return paths.attrOf(rel(path));
    }

    /** fstat: the attributes of an open file, wherever its name went since. */
    public FileAttr getattr(long fh) throws IOException {
        Handle h = handle(fh);
        if (h instanceof SourceHandle s) {
            return paths.attrOf(s.file().backendPath);
        }
        OpenScratch f = h instanceof ScratchHandle s ? s.file() : ((ResultHandle) h).file();
        return scratchFiles.get(f.ino).orElseThrow(() -> new NoSuchFileException("(open file " + fh + ")")).attr();
    }

    /** Backend names and scratch names of a directory, merged. */
    public List<String> readdir(String path) throws IOException {
        String rel = rel(path);
        Optional<Inode> s = paths.scratchAt(rel);
        Set<String> names = new LinkedHashSet<>();
        if (s.isPresent()) {
            if (!s.get().isDirectory()) {
                throw new NotDirectoryException(path);
            }
        } else {
            for (String n : backend.list(rel)) {
                if (!Backend.isTemporary(n) && !HiddenNames.isHidden(n)) { // an upload in progress, a removed open file
                    names.add(n);
                }
            }
        }
        for (String n : scratch.list(rel)) {
            if (!HiddenNames.isHidden(n)) {
                names.add(n);
            }
        }
        return new ArrayList<>(names);
    }

    public String readlink(String path) throws IOException {
        Optional<Inode> s = paths.scratchAt(rel(path));
        if (s.isPresent()) {
            if (s.get().type() != FileType.SYMLINK) {
                throw PosixException.of(PosixException.EINVAL, path, null);
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
        return open(path, flags, 0);
    }

    /** {@link #open(String, int)} by process {@code pid} (0: unknown). */
    public long open(String path, int flags, int pid) throws IOException {
        String rel = rel(path);
        Optional<OpenScratch> s = rel.isEmpty() ? Optional.empty() : scratchFiles.openAt(rel);
        if (s.isPresent()) {
            OpenScratch f = s.get();
            if ((flags & O_TRUNC) != 0 && (flags & O_ACCMODE) != O_RDONLY) {
                scratchFiles.truncate(f, 0);
            }
            return register(new ScratchHandle(f));
        }
        boolean writing = (flags & O_ACCMODE) != O_RDONLY;
        boolean truncate = writing && (flags & O_TRUNC) != 0;
        Optional<ResultFiles.Opened> staged = results.open(rel);
        if (staged.isPresent()) {
            if (truncate) {
                scratchFiles.truncate(staged.get().file(), 0);
                results.changed(staged.get().staged());
            }
            return register(new ResultHandle(staged.get(), pid, writing));
        }
        FileAttr attr = backend.statFresh(rel);
        if (attr.isDirectory()) {
            throw PosixException.of(PosixException.EISDIR, path, null);
        }
        if (writing) {
            if (!paths.isResult(rel)) {
                throw paths.refuse("open for writing", path);
            }
            return register(new ResultHandle(
                    resultTree.openForWrite(rel, attr, truncate, sources.chunkSize(), clockNs.getAsLong()), pid, true));
        }
        return register(new SourceHandle(new OpenFile(rel, attr, sources.chunkSize())));
    }

    /** Creates and opens a new file: a result file under a result path, else a scratch file. */
    public long create(String path, int mode, Caller caller) throws IOException {
        String rel = rel(path);
        if (paths.newName(rel) == PathClass.RESULT) {
            return register(new ResultHandle(resultTree.create(rel, mode, caller, clockNs.getAsLong()),
                    caller.pid(), true));
        }
        Inode inode = scratch.create(rel, Inode.fresh(0, FileType.FILE, mode, caller.uid(), caller.gid(), null,
                clockNs.getAsLong()));
        return register(new ScratchHandle(scratchFiles.openCreated(inode)));
    }

    private long register(Handle h) {
        long fh = nextHandle.getAndIncrement();
        handles.put(fh, h);
        return fh;
    }

    /**
     * Scratch chunks that other nodes hold are fetched from them and freed through {@code peers};
     * each chunk sealed here is kept by {@code replicas} nodes, this one and others it copies to.
     */
    public void useScratchHolders(io.peerfs.fetch.ScratchPeers peers, int replicas) {
        scratchFiles.useHolders(peers, replicas);
    }

    /** What {@link #DRAIN_XATTR} does: starts ({@code true}) or ends draining this node. */
    public void onDrain(java.util.function.Consumer<Boolean> drain) {
        control.onDrain(drain);
    }

    /**
     * Reads into {@code dst} from {@code offset}, up to {@code dst.remaining()} bytes or the
     * end of the file.
     *
     * @return bytes read; 0 at end of file
     */
    public int read(long fh, long offset, ByteBuffer dst) throws IOException {
        return ((ReadResult.Filled) read(fh, offset, dst.remaining(), false, fromDisk -> dst)).length();
    }

    /**
     * One read of up to {@code size} bytes from {@code offset}: with {@code mayHold}, bytes of a
     * source file already in memory with a file descriptor are held there (fetched first when
     * not on this node yet) for a reply to hand to the kernel without a copy; otherwise, and for
     * bytes on the cache disk or in two chunks, they are read into the buffer {@code into} gives.
     */
    public ReadResult read(long fh, long offset, int size, boolean mayHold, ReadResult.Into into)
            throws IOException {
        Handle h = handle(fh);
        if (h instanceof SourceHandle s) {
            OpenFile f = s.file();
            HeldBytes held = mayHold ? changedOnStore(f, () -> sources.hold(f, offset, size)) : null;
            if (held != null) {
                return new ReadResult.Held(held);
            }
            ByteBuffer dst = into.buffer(() -> sources.readsFromCacheDisk(f, offset));
            return new ReadResult.Filled(changedOnStore(f, () -> sources.read(f, offset, dst)));
        }
        OpenScratch f = h instanceof ScratchHandle s ? s.file() : ((ResultHandle) h).file();
        return new ReadResult.Filled(scratchFiles.read(f, offset, into.buffer(() -> false)));
    }

    /** A read of a source file, which may fail with {@link FileChangedException}. */
    @FunctionalInterface
    private interface SourceRead<T> {
        T run() throws IOException;
    }

    /**
     * Runs a read of a source file; when the backend file changed since it was opened (the
     * read fails), what is cached of its metadata goes, so the next open sees the new version
     * at once, even in a dataset trusted for long.
     */
    private <T> T changedOnStore(OpenFile f, SourceRead<T> read) throws IOException {
        try {
            return read.run();
        } catch (io.peerfs.backend.FileChangedException e) {
            backend.invalidate(f.path);
            throw e;
        }
    }

    /** Writes all of {@code src} at {@code offset} of a scratch or result file open for writing. */
    public int write(long fh, long offset, ByteBuffer src) throws IOException {
        Handle h = handle(fh);
        if (h instanceof ScratchHandle s) {
            return scratchFiles.write(s.file(), offset, src);
        }
        if (h instanceof ResultHandle r) {
            results.changed(r.staged());
            try {
                int n = scratchFiles.write(r.file(), offset, src);
                results.changed(r.staged()); // after too: an upload that started meanwhile may have missed it
                return n;
            } catch (IOException | RuntimeException e) {
                results.failed(r.staged(), e);
                throw e;
            }
        }
        throw new BadHandleException(fh); // source files never open for writing
    }

    /**
     * close(2) of one descriptor: commits what was written (close-to-open consistency); a
     * result file is uploaded before it returns (queued with writeback).
     */
    public void flush(long fh) throws IOException {
        flush(fh, 0);
    }

    /**
     * {@link #flush(long)} from process {@code pid}. A child that inherited the descriptor and
     * closes it (every fork + exec does) commits locally but does not upload a result file
     * half-way through its writer's work; the writer's own close does, or the last release.
     */
    public void flush(long fh, int pid) throws IOException {
        Handle h = handle(fh);
        if (h instanceof ScratchHandle s) {
            scratchFiles.commit(s.file(), false);
        } else if (h instanceof ResultHandle r && r.writer()) {
            if (pid == 0 || r.pid() == 0 || pid == r.pid()) {
                results.flush(r.staged(), r.file());
            } else {
                results.closedElsewhere(r.staged(), r.file());
            }
        }
    }

    /** fsync(2): commits and forces data and metadata to disk; a result file is on the backend when it returns. */
    public void fsync(long fh) throws IOException {
        Handle h = handle(fh);
        if (h instanceof ScratchHandle s) {
            scratchFiles.commit(s.file(), true);
        } else if (h instanceof ResultHandle r) {
            results.fsync(r.staged(), r.file());
        }
    }

    public void release(long fh) throws IOException {
        Handle h = handles.remove(fh);
        if (h instanceof ScratchHandle s) {
            scratchFiles.release(s.file());
        } else if (h instanceof ResultHandle r) {
            results.release(r.staged(), r.file());
        }
    }

    /** Open handles, for leak checks and status. */
    public int openFiles() {
        return handles.size();
    }

    public void truncate(String path, long size) throws IOException {
        Node.Changeable n = paths.forChange("truncate", path);
        if (n.isDirectory()) {
            throw PosixException.of(PosixException.EISDIR, path, null);
        }
        if (n instanceof Node.Scratch s) {
            OpenScratch f = scratchFiles.open(s.inode());
            try {
                scratchFiles.truncate(f, size);
            } finally {
                scratchFiles.release(f);
            }
            return;
        }
        String rel = rel(path);
        Optional<ResultFiles.Opened> staged = n instanceof Node.Staged ? results.open(rel) : Optional.empty();
        if (staged.isEmpty()) {
            resultTree.truncate(rel, size); // truncate(2) is atomic on the backend too
            return;
        }
        ResultFiles.Staged s = staged.get().staged();
        try {
            scratchFiles.truncate(staged.get().file(), size);
            results.changed(s);
            results.flush(s, staged.get().file());
        } finally {
            results.release(s, staged.get().file());
        }
    }

    public void ftruncate(long fh, long size) throws IOException {
        Handle h = handle(fh);
        if (h instanceof ScratchHandle s) {
            scratchFiles.truncate(s.file(), size);
            return;
        }
        if (h instanceof ResultHandle r) {
            try {
                scratchFiles.truncate(r.file(), size);
            } catch (IOException | RuntimeException e) {
                results.failed(r.staged(), e);
                throw e;
            }
            results.changed(r.staged());
            return;
        }
        throw paths.refuse("truncate", "(open source file)");
    }

    public void mkdir(String path, int mode, Caller caller) throws IOException {
        String rel = rel(path);
        if (paths.newName(rel) == PathClass.RESULT) {
            resultTree.mkdir(rel, mode, caller, clockNs.getAsLong());
            return;
        }
        scratch.create(rel, Inode.fresh(0, FileType.DIRECTORY, mode, caller.uid(), caller.gid(), null, clockNs.getAsLong()));
    }

    /**
     * mknod(2): a regular file (made empty, as {@link #create} and a close would), a FIFO, a
     * socket or a device node ({@code rdev} its number); {@code mode} holds the kind and the
     * permissions. The kernel serves the special kinds itself: PeerFS stores the node.
     */
    public void mknod(String path, int mode, long rdev, Caller caller) throws IOException {
        FileType type = FileType.ofMode(mode);
        if (type == FileType.FILE || (mode & FileType.S_IFMT) == 0) {
            release(create(path, mode & 07777, caller));
            return;
        }
        if (!type.isSpecial()) {
            throw PosixException.of(PosixException.EINVAL, path, null); // as mknod(2) for a directory or link
        }
        String rel = rel(path);
        long now = clockNs.getAsLong();
        if (paths.newName(rel) == PathClass.RESULT) {
            resultTree.mknod(rel, type, mode, rdev, caller, now);
            return;
        }
        Inode node = Inode.fresh(0, type, mode, caller.uid(), caller.gid(), null, now);
        scratch.create(rel, type.isDevice() ? node.withData(rdev, List.of(), 0, now) : node);
    }

    public void symlink(String target, String path, Caller caller) throws IOException {
        String rel = rel(path);
        if (paths.newName(rel) == PathClass.RESULT) {
            resultTree.symlink(target, rel, caller);
            return;
        }
        scratch.create(rel, Inode.fresh(0, FileType.SYMLINK, 0777, caller.uid(), caller.gid(), target, clockNs.getAsLong()));
    }

    public void link(String from, String to) throws IOException {
        Node.Changeable n = paths.forChange("link", from);
        String toRel = rel(to);
        if (n instanceof Node.Scratch s) {
            requireSameClass(from, to, paths.newName(toRel) == PathClass.SCRATCH);
            scratch.link(s.inode().ino(), toRel, clockNs.getAsLong());
            return;
        }
        requireSameClass(from, to, paths.newName(toRel) == PathClass.RESULT);
        resultTree.link(rel(from), toRel);
    }

    /** Scratch and result data live in different places: moving between them is EXDEV, as across mounts. */
    private static void requireSameClass(String from, String to, boolean same) throws FileSystemException {
        if (!same) {
            throw PosixException.of(PosixException.EXDEV, from, to);
        }
    }

    public void unlink(String path) throws IOException {
        Node.Changeable n = paths.forChange("unlink", path);
        if (n.isDirectory()) {
            throw PosixException.of(PosixException.EISDIR, path, null);
        }
        if (n instanceof Node.Scratch) {
            scratchFiles.deleteIfUnused(scratch.unlink(rel(path), clockNs.getAsLong()));
        } else {
            resultTree.remove(rel(path));
        }
    }

    public void rmdir(String path) throws IOException {
        Node.Changeable n = paths.forChange("rmdir", path);
        if (!n.isDirectory()) {
            throw new NotDirectoryException(path);
        }
        String rel = rel(path);
        List<String> inside = scratch.list(rel);
        if (!(n instanceof Node.Scratch s)) {
            if (!inside.isEmpty()) {
                throw new java.nio.file.DirectoryNotEmptyException(path); // scratch names inside it
            }
            removeResultDir(rel);
            return;
        }
        if (HiddenNames.onlyHidden(inside)) {
            for (String name : inside) { // removed while open: the open handles keep their data
                try {
                    scratchFiles.deleteIfUnused(scratch.unlink(rel + "/" + name, clockNs.getAsLong()));
                } catch (NoSuchFileException e) {
                    // its release removed it meanwhile
                }
            }
        }
        scratch.unlink(rel, clockNs.getAsLong());
        scratch.delete(s.inode().ino());
    }

    /**
     * Removes a result directory. One whose only entries are files libfuse hid until their
     * release (see {@link HiddenNames}) is waited for briefly: those releases are on their way
     * when a process closed, unlinked and then removed the directory, and the backend would
     * refuse it until then.
     */
    private void removeResultDir(String rel) throws IOException {
        long deadline = System.nanoTime() + HIDDEN_RELEASE_WAIT_NS;
        while (true) {
            try {
                resultTree.remove(rel);
                return;
            } catch (java.nio.file.DirectoryNotEmptyException e) {
                // empty by now: the last hidden file's release came between the two calls
                List<String> left = backend.list(rel);
                if (System.nanoTime() > deadline || !left.isEmpty() && !HiddenNames.onlyHidden(left)) {
                    throw e;
                }
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("rmdir of " + rel + " interrupted");
            }
        }
    }

    public void rename(String from, String to) throws IOException {
        Node.Changeable n = paths.forChange("rename", from);
        String fromRel = rel(from);
        String toRel = rel(to);
        PathClasses.Destination dest = paths.destination(toRel);
        if (!(n instanceof Node.Scratch)) {
            requireSameClass(from, to, dest.result());
            if (n.isDirectory() && !scratch.list(fromRel).isEmpty()) {
                throw PosixException.of(PosixException.EXDEV, from, to); // scratch names inside it stay
            }
            resultTree.rename(fromRel, toRel);
            followRename(fromRel, toRel);
            return;
        }
        if (dest.overSource()) {
            throw paths.refuse("rename over", to);
        }
        requireSameClass(from, to, !dest.result());
        Optional<Inode> replaced = scratch.rename(fromRel, toRel, clockNs.getAsLong());
        if (replaced.isPresent()) {
            if (replaced.get().isDirectory()) {
                scratch.delete(replaced.get().ino());
            } else {
                scratchFiles.deleteIfUnused(replaced.get());
            }
        }
    }

    /**
     * Readers of backend files keep reading after a rename through this mount, as on a local
     * file system; libfuse also turns the unlink of an open file into such a rename.
     */
    private void followRename(String from, String to) {
        for (Handle h : handles.values()) {
            if (h instanceof SourceHandle s) {
                String p = s.file().backendPath;
                if (p.equals(from) || p.startsWith(from + "/")) {
                    s.file().backendPath = to + p.substring(from.length());
                }
            }
        }
    }

    public void chmod(String path, int mode) throws IOException {
        attributes.chmod(path, mode);
    }

    /** Changes owner and group; {@code -1} (as an unsigned 32-bit value too) leaves one as it is. */
    public void chown(String path, long uid, long gid) throws IOException {
        attributes.chown(path, uid, gid);
    }

    /** Sets access and modification times (ns since the epoch); {@link #OMIT} leaves one as it is. */
    public void utimens(String path, long atimeNs, long mtimeNs) throws IOException {
        attributes.utimens(path, atimeNs, mtimeNs);
    }

    public FsStats statfs() throws IOException {
        return backend.statfs();
    }

    /**
     * An xattr's value. Only {@code user.} names are kept; others (the ACL and security names
     * {@code ls -l} and every write ask for) have no value without a look at the metadata.
     */
    public byte[] getxattr(String path, String name) throws IOException {
        return attributes.getxattr(path, name);
    }

    public List<String> listxattr(String path) throws IOException {
        return attributes.listxattr(path);
    }

    /** Sets a {@code user.} xattr; {@code flags} as setxattr(2) (create, replace). Also tags and persists. */
    public void setxattr(String path, String name, byte[] value, int flags) throws IOException {
        attributes.setxattr(path, name, value, flags);
    }

    public void removexattr(String path, String name) throws IOException {
        attributes.removexattr(path, name);
    }

    /**
     * Checks that the path exists. Write access is refused for source files; source
     * directories are writable, because new names in them become scratch entries.
     */
    public void access(String path, int mask) throws IOException {
        Node n = paths.resolve(rel(path));
        if ((mask & 2) != 0 && !n.isDirectory() && n instanceof Node.Source) {
            throw paths.refuse("write access to", path);
        }
    }

    private Handle handle(long fh) throws BadHandleException {
        Handle h = handles.get(fh);
        if (h == null) {
            throw new BadHandleException(fh);
        }
        return h;
    }
}
