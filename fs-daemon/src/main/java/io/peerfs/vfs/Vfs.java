package io.peerfs.vfs;

import io.peerfs.backend.Backend;
import io.peerfs.backend.FsStats;
import io.peerfs.backend.PosixException;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.fetch.PinnedPaths;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.PathTag;
import io.peerfs.meta.ResultPaths;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
    public static final int O_ACCMODE = 3;
    public static final int O_RDONLY = 0;
    public static final int O_TRUNC = 01000;
    /** A time argument of {@link #utimens} that leaves the time as it is. */
    public static final long OMIT = Long.MIN_VALUE;

    private final BackendMetaCache backend;
    private final MetaStore scratch;
    private final ScratchFiles scratchFiles;
    private final ResultFiles results;
    private final PathClasses paths;
    private final ControlXattrs control;
    /** Paths pinned in caches ({@code peerfs cache pin}). */
    private final TagSet pins;
    /** Read-mostly datasets ({@code peerfs tag --dataset}). */
    private final TagSet datasets;
    private final Attributes attributes;
    private final OpenFiles files;
    private final Namespace names;

    /**
     * @param backendCache cached reads of the backend
     * @param backendStore the backend itself, for changes under result paths
     * @param clockNs wall clock in nanoseconds since the epoch, for scratch timestamps
     * @param status the status document served as {@link XattrNames#STATUS_XATTR}
     */
    public Vfs(VfsConfig config, BackendMetaCache backendCache, Backend backendStore, MetaStore scratch,
               ChunkFetcher fetcher, ChunkStore store, LongSupplier clockNs, Supplier<byte[]> status) {
        this.backend = backendCache;
        this.scratch = scratch;
        SourceFiles sources = new SourceFiles(fetcher, config.chunkSize(), config.readaheadChunks());
        this.scratchFiles = new ScratchFiles(scratch, store, config.chunkSize(), clockNs);
        this.results = new ResultFiles(scratch, scratchFiles, backendStore, backendCache, config.writeback(),
                config.setOwners());
        ResultTree resultTree = new ResultTree(backendStore, backendCache, results, scratch, config.setOwners());
        Promotion promotion = new Promotion(scratch, scratchFiles, backendStore, backendCache, results, clockNs);
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
        this.files = new OpenFiles(backendCache, scratch, sources, scratchFiles, results, resultTree, paths, clockNs);
        this.names = new Namespace(backendCache, scratch, scratchFiles, results, resultTree, paths, files, clockNs);
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
        return recover(java.util.Set.of());
    }

    /**
     * {@link #recover()} for a daemon that takes over the files a dead one had open: result files
     * at {@code reopened} keep their staged data though their writer never closed them (it goes
     * on writing through the new daemon).
     */
    public Recovery recover(java.util.Set<String> reopened) throws IOException {
        reloadTags();
        scratch.noneOpen();
        int orphans = freeOrphans();
        int chunks = scratchFiles.freeUnreferencedChunks();
        return new Recovery(orphans, chunks, results.replay(reopened));
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

    /**
     * Scratch chunks that other nodes hold are fetched from them and freed through {@code peers};
     * each chunk sealed here is kept by {@code replicas} nodes, this one and others it copies to.
     */
    public void useScratchHolders(io.peerfs.fetch.ScratchPeers peers, int replicas) {
        scratchFiles.useHolders(peers, replicas);
    }

    /** What {@link XattrNames#DRAIN_XATTR} does: starts ({@code true}) or ends draining this node. */
    public void onDrain(java.util.function.Consumer<Boolean> drain) {
        control.onDrain(drain);
    }

    /**
     * close(2) of one descriptor: commits what was written (close-to-open consistency); a
     * result file is uploaded before it returns (queued with writeback).
     */
    public void flush(long fh) throws IOException {
        flush(fh, 0);
    }

    /** fstat: the attributes of an open file, wherever its name went since. */
    public FileAttr getattr(long fh) throws IOException {
        return files.getattr(fh);
    }

    /**
     * Opens a file by process {@code pid} (0: unknown). Source files open read-only and are
     * revalidated with the backend, so a file changed there is never served with old bytes.
     *
     * @return the handle for {@link #read}, {@link #write} and {@link #release}
     */
    public long open(String path, int flags, int pid) throws IOException {
        return files.open(path, flags, pid);
    }

    /** Creates and opens a new file: a result file under a result path, else a scratch file. */
    public long create(String path, int mode, Caller caller) throws IOException {
        return files.create(path, mode, caller);
    }

    /** Reads into {@code dst} from {@code offset}, up to its remaining bytes; 0 at end of file. */
    public int read(long fh, long offset, ByteBuffer dst) throws IOException {
        return files.read(fh, offset, dst);
    }

    /** One read of up to {@code size} bytes: held in memory where they are ({@code mayHold}), or filled into {@code into}'s buffer. */
    public ReadResult read(long fh, long offset, int size, boolean mayHold, ReadResult.Into into)
            throws IOException {
        return files.read(fh, offset, size, mayHold, into);
    }

    /** Writes all of {@code src} at {@code offset} of a scratch or result file open for writing. */
    public int write(long fh, long offset, ByteBuffer src) throws IOException {
        return files.write(fh, offset, src);
    }

    /** close(2) of one descriptor by process {@code pid}: commits; the writer's own close uploads a result file. */
    /** close(2) of a descriptor; false when nothing was committed (a result file closed by another process). */
    public boolean flush(long fh, int pid) throws IOException {
        return files.flush(fh, pid);
    }

    /** Makes the data written through {@code fh} durable on this node, uploading nothing; true once it is. */
    public boolean checkpoint(long fh) throws IOException {
        files.checkpoint(fh);
        return true;
    }

    /** fsync(2): commits and forces data and metadata to disk; a result file is on the backend when it returns. */
    public void fsync(long fh) throws IOException {
        files.fsync(fh);
    }

    public void release(long fh) throws IOException {
        files.release(fh);
    }

    /** Open handles, for leak checks and status. */
    public int openFiles() {
        return files.count();
    }

    public void ftruncate(long fh, long size) throws IOException {
        files.ftruncate(fh, size);
    }

    public void truncate(String path, long size) throws IOException {
        names.truncate(path, size);
    }

    public void mkdir(String path, int mode, Caller caller) throws IOException {
        names.mkdir(path, mode, caller);
    }

    /** mknod(2): a regular file, a FIFO, a socket or a device node ({@code rdev} its number). */
    public void mknod(String path, int mode, long rdev, Caller caller) throws IOException {
        names.mknod(path, mode, rdev, caller);
    }

    public void symlink(String target, String path, Caller caller) throws IOException {
        names.symlink(target, path, caller);
    }

    public void link(String from, String to) throws IOException {
        names.link(from, to);
    }

    public void unlink(String path) throws IOException {
        names.unlink(path);
    }

    public void rmdir(String path) throws IOException {
        names.rmdir(path);
    }

    public void rename(String from, String to) throws IOException {
        names.rename(from, to);
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

}
