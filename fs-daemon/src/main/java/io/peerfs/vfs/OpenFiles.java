package io.peerfs.vfs;

import io.peerfs.fetch.HeldBytes;
import io.peerfs.backend.PosixException;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.PathClass;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The open files of the mount, by handle: what a handle refers to (a source file, a scratch
 * file, a staged result file), and the calls on an open file (read, write, flush, fsync,
 * release, ftruncate, fstat). Opening resolves the path once; every later call finds its
 * file by handle and never looks the path up again.
 */
final class OpenFiles {
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
    private final LongSupplier clockNs;
    private final ConcurrentHashMap<Long, Handle> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);

    OpenFiles(BackendMetaCache backend, MetaStore scratch, SourceFiles sources, ScratchFiles scratchFiles,
              ResultFiles results, ResultTree resultTree, PathClasses paths, LongSupplier clockNs) {
        this.backend = backend;
        this.scratch = scratch;
        this.sources = sources;
        this.scratchFiles = scratchFiles;
        this.results = results;
        this.resultTree = resultTree;
        this.paths = paths;
        this.clockNs = clockNs;
    }

    /** fstat: the attributes of an open file, wherever its name went since. */
    FileAttr getattr(long fh) throws IOException {
        Handle h = handle(fh);
        if (h instanceof SourceHandle s) {
            return paths.attrOf(s.file().backendPath);
        }
        OpenScratch f = h instanceof ScratchHandle s ? s.file() : ((ResultHandle) h).file();
        return scratchFiles.get(f.ino).orElseThrow(() -> new NoSuchFileException("(open file " + fh + ")")).attr();
    }

    /**
     * Opens a file by process {@code pid} (0: unknown). Source files open read-only and are
     * revalidated with the backend, so a file changed there is never served with old bytes.
     */
    long open(String path, int flags, int pid) throws IOException {
        String rel = Vfs.rel(path);
        Optional<OpenScratch> s = rel.isEmpty() ? Optional.empty() : scratchFiles.openAt(rel);
        if (s.isPresent()) {
            OpenScratch f = s.get();
            if ((flags & Vfs.O_TRUNC) != 0 && (flags & Vfs.O_ACCMODE) != Vfs.O_RDONLY) {
                scratchFiles.truncate(f, 0);
            }
            return register(new ScratchHandle(f));
        }
        boolean writing = (flags & Vfs.O_ACCMODE) != Vfs.O_RDONLY;
        boolean truncate = writing && (flags & Vfs.O_TRUNC) != 0;
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
    long create(String path, int mode, Caller caller) throws IOException {
        String rel = Vfs.rel(path);
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
     * Reads into {@code dst} from {@code offset}, up to {@code dst.remaining()} bytes or the
     * end of the file.
     *
     * @return bytes read; 0 at end of file
     */
    int read(long fh, long offset, ByteBuffer dst) throws IOException {
        return ((ReadResult.Filled) read(fh, offset, dst.remaining(), false, fromDisk -> dst)).length();
    }

    /**
     * One read of up to {@code size} bytes from {@code offset}: with {@code mayHold}, bytes of a
     * source file already in memory with a file descriptor are held there (fetched first when
     * not on this node yet) for a reply to hand to the kernel without a copy; otherwise, and for
     * bytes on the cache disk or in two chunks, they are read into the buffer {@code into} gives.
     */
    ReadResult read(long fh, long offset, int size, boolean mayHold, ReadResult.Into into)
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

    /** A read of a source file, which may fail with {@link io.peerfs.backend.FileChangedException}. */
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
    int write(long fh, long offset, ByteBuffer src) throws IOException {
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
     * {@link #flush(long)} from process {@code pid}. A child that inherited the descriptor and
     * closes it (every fork + exec does) commits locally but does not upload a result file
     * half-way through its writer's work; the writer's own close does, or the last release.
     */
    /** close(2) of a descriptor: commits; false when nothing was (another process than a result file's writer). */
    boolean flush(long fh, int pid) throws IOException {
        Handle h = handle(fh);
        if (h instanceof ScratchHandle s) {
            scratchFiles.commit(s.file(), false);
        } else if (h instanceof ResultHandle r && r.writer()) {
            if (pid == 0 || r.pid() == 0 || pid == r.pid()) {
                results.flush(r.staged(), r.file());
            } else {
                results.closedElsewhere(r.staged(), r.file());
                return false;
            }
        }
        return true;
    }

    /**
     * Makes what was written through {@code fh} durable on this node without what a close does
     * besides (a result file is not uploaded): a daemon that dies after finds it there.
     */
    void checkpoint(long fh) throws IOException {
        Handle h = handle(fh);
        if (h instanceof ScratchHandle s) {
            scratchFiles.commit(s.file(), false); // a daemon's crash, not the node's: the page cache keeps it
        } else if (h instanceof ResultHandle r && r.writer()) {
            results.checkpoint(r.staged(), r.file());
        }
    }

    /** fsync(2): commits and forces data and metadata to disk; a result file is on the backend when it returns. */
    void fsync(long fh) throws IOException {
        Handle h = handle(fh);
        if (h instanceof ScratchHandle s) {
            scratchFiles.commit(s.file(), true);
        } else if (h instanceof ResultHandle r) {
            results.fsync(r.staged(), r.file());
        }
    }

    void release(long fh) throws IOException {
        Handle h = handles.remove(fh);
        if (h instanceof ScratchHandle s) {
            scratchFiles.release(s.file());
        } else if (h instanceof ResultHandle r) {
            results.release(r.staged(), r.file());
        }
    }

    /** Open handles, for leak checks and status. */
    int count() {
        return handles.size();
    }

    void ftruncate(long fh, long size) throws IOException {
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

    /**
     * Readers of backend files keep reading after a rename through this mount, as on a local
     * file system; libfuse also turns the unlink of an open file into such a rename.
     */
    void followRename(String from, String to) {
        for (Handle h : handles.values()) {
            if (h instanceof SourceHandle s) {
                String p = s.file().backendPath;
                if (p.equals(from) || p.startsWith(from + "/")) {
                    s.file().backendPath = to + p.substring(from.length());
                }
            }
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
