package io.peerfs.vfs;

import io.peerfs.backend.FsStats;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileAttr;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file system as PeerFS serves it, with no FUSE types: paths as the kernel gives them
 * ({@code /} or {@code /a/b}), failures as typed exceptions that the FUSE adapter maps to
 * errno in one place. Testable without a kernel.
 */
public final class Vfs {
    private static final Logger log = LoggerFactory.getLogger(Vfs.class);
    /** Virtual xattr on the mount root whose value is the daemon's status as JSON. */
    public static final String STATUS_XATTR = "user.peerfs.status";
    public static final int O_ACCMODE = 3;
    public static final int O_RDONLY = 0;

    private final BackendMetaCache meta;
    private final ChunkFetcher fetcher;
    private final int chunkSize;
    private final int readaheadChunks;
    private final Supplier<byte[]> status;
    private final ConcurrentHashMap<Long, OpenFile> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);
    private volatile long lastRefusalLogMs;

    /**
     * @param readaheadChunks chunks loaded ahead of a sequential reader
     * @param status the status document served as {@link #STATUS_XATTR}
     */
    public Vfs(BackendMetaCache meta, ChunkFetcher fetcher, int chunkSize, int readaheadChunks,
               Supplier<byte[]> status) {
        this.meta = meta;
        this.fetcher = fetcher;
        this.chunkSize = chunkSize;
        this.readaheadChunks = readaheadChunks;
        this.status = status;
    }

    /** Backend-relative form of a kernel path: {@code /} → {@code ""}, {@code /a/b} → {@code a/b}. */
    static String rel(String path) {
        return path.length() <= 1 ? "" : path.substring(1);
    }

    public FileAttr getattr(String path) throws IOException {
        return meta.stat(rel(path));
    }

    public List<String> readdir(String path) throws IOException {
        return meta.list(rel(path));
    }

    public String readlink(String path) throws IOException {
        return meta.readlink(rel(path));
    }

    /**
     * Opens a file for reading; revalidates its attributes with the backend so a file
     * changed there is never served with old bytes.
     *
     * @return the handle to pass to {@link #read} and {@link #release}
     */
    public long open(String path, int flags) throws IOException {
        if ((flags & O_ACCMODE) != O_RDONLY) {
            throw refuse("open for writing", path);
        }
        FileAttr attr = meta.statFresh(rel(path));
        if (attr.isDirectory()) {
            throw new FileSystemException(path, null, "Is a directory");
        }
        long fh = nextHandle.getAndIncrement();
        handles.put(fh, new OpenFile(rel(path), attr, chunkSize));
        return fh;
    }

    /**
     * Reads into {@code dst} from {@code offset}, up to {@code dst.remaining()} bytes or the
     * end of the file as it was at open.
     *
     * @return bytes read; 0 at end of file
     */
    public int read(long fh, long offset, ByteBuffer dst) throws IOException {
        OpenFile f = handle(fh);
        long size = f.attr.size();
        if (offset >= size) {
            return 0;
        }
        if (dst.remaining() > size - offset) {
            dst.limit(dst.position() + (int) (size - offset));
        }
        int total = 0;
        while (dst.hasRemaining()) {
            long pos = offset + total;
            int n = fetcher.read(f.chunk(pos / chunkSize), pos % chunkSize, dst);
            if (n <= 0) {
                break;
            }
            total += n;
        }
        readAhead(f, offset, offset + total);
        return total;
    }

    /** A reader continuing where it stopped is sequential: load the chunks it will want next. */
    private void readAhead(OpenFile f, long start, long end) {
        boolean sequential = start == f.lastEnd || start == 0;
        f.lastEnd = end;
        if (!sequential || readaheadChunks <= 0) {
            return;
        }
        long current = Math.max(0, end - 1) / chunkSize;
        long upTo = Math.min(f.chunkCount() - 1, current + readaheadChunks);
        if (upTo <= f.readaheadUpTo) {
            return;
        }
        for (long i = Math.max(current + 1, f.readaheadUpTo + 1); i <= upTo; i++) {
            fetcher.prefetch(f.chunk(i));
        }
        f.readaheadUpTo = upTo;
    }

    public void release(long fh) {
        handles.remove(fh);
    }

    /** Open handles, for leak checks and status. */
    public int openFiles() {
        return handles.size();
    }

    public FsStats statfs() throws IOException {
        return meta.statfs();
    }

    public byte[] getxattr(String path, String name) throws IOException {
        if (path.equals("/") && name.equals(STATUS_XATTR)) {
            return status.get();
        }
        byte[] v = meta.xattrs(rel(path)).get(name);
        if (v == null) {
            throw new NoSuchXattrException(path, name);
        }
        return v;
    }

    public List<String> listxattr(String path) throws IOException {
        Map<String, byte[]> x = meta.xattrs(rel(path));
        return new ArrayList<>(x.keySet());
    }

    /**
     * Checks that the path exists and, for write access, refuses: everything served now
     * is source data.
     */
    public void access(String path, int mask) throws IOException {
        meta.stat(rel(path));
        if ((mask & 2) != 0) {
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

    private OpenFile handle(long fh) throws BadHandleException {
        OpenFile f = handles.get(fh);
        if (f == null) {
            throw new BadHandleException(fh);
        }
        return f;
    }
}
