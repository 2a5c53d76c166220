package io.peerfs.backend;

import io.peerfs.meta.FileAttr;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a hung or failing backend from hanging the mount. Every read and metadata call runs
 * on a bounded pool of backend threads and the caller waits at most {@code timeout}: then it
 * gets {@link BackendUnavailableException} (EIO) while the stuck thread stays behind in its
 * system call (a blocked read cannot be interrupted). Reads land in the backend thread's own
 * buffer and are copied to the caller's only when it is still waiting, so a read that
 * finishes late never writes into memory its caller has given back; {@link #readInto}, whose
 * caller never reuses its buffer after a failure, reads straight into it.
 *
 * <p>Errors that mean the backend itself is gone (EIO, ENOTCONN from a dead FUSE or NFS
 * client, ESTALE, and a backend directory that was unmounted underneath and shows another
 * file system) become {@link BackendUnavailableException} too, so the metadata cache can
 * answer from what it knows. Result uploads ({@link #replace}) may run long: they fail when
 * they make no progress (no 1 MiB written or flushed) for the timeout; an abandoned upload
 * never renames its temporary file over the target, so a late one cannot overwrite a newer
 * version, and the uploader retries.
 */
public final class GuardedBackend extends ForwardingBackend {
    private static final Logger log = LoggerFactory.getLogger(GuardedBackend.class);
    private static final int THREADS = 16;
    private static final int QUEUE = 256;
    private static final Set<String> UNAVAILABLE = Set.of("Input/output error", "Transport endpoint is not connected",
            "Stale file handle", "No such device", "Host is down", "No route to host", "Connection timed out");

    private final Path root;
    private volatile Object rootDevice;
    private final long timeoutNs;
    private final ThreadPoolExecutor pool;
    /** Uploads, on their own threads: a long one must not hold a metadata or read thread. */
    private final ThreadPoolExecutor uploads;
    private static final int MAX_UPLOADS = 64;
    private final java.util.concurrent.atomic.AtomicLong uploadAttempts = new java.util.concurrent.atomic.AtomicLong();
    /** Temporary-name tags with an abandoned upload attempt still running. */
    private final java.util.concurrent.ConcurrentHashMap<String, Integer> stragglers =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final ThreadLocal<ByteBuffer> readBuffers = new ThreadLocal<>();
    private final LongAdder timeouts = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private volatile long lastWarningMs;

    /**
     * @param root the backend directory, to notice it being unmounted underneath
     * @param timeout longest wait for one call
     */
    public GuardedBackend(Backend delegate, Path root, Duration timeout) throws IOException {
        super(delegate);
        this.root = root;
        this.rootDevice = Files.getAttribute(root, "unix:dev");
        this.timeoutNs = timeout.toNanos();
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(THREADS, THREADS, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE),
                r -> {
                    Thread t = new Thread(r, "peerfs-backend-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        AtomicInteger u = new AtomicInteger();
        this.uploads = new ThreadPoolExecutor(0, MAX_UPLOADS, 60, TimeUnit.SECONDS,
                new java.util.concurrent.SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "peerfs-upload-" + u.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
    }

    /** Calls that timed out and calls that failed because the backend was unavailable, since start. */
    public record Stats(long timeouts, long failures, int busyThreads) {
    }

    public Stats stats() {
        return new Stats(timeouts.sum(), failures.sum(), pool.getActiveCount() + uploads.getActiveCount());
    }

    @Override
    public int read(String path, long offset, ByteBuffer dst) throws IOException {
        int want = dst.remaining();
        AbandonableCall caller = new AbandonableCall();
        return call("read", path, caller, () -> {
            ByteBuffer own = readBuffer(want);
            super.read(path, offset, own);
            own.flip();
            synchronized (caller) {
                if (caller.abandoned) {
                    return -1; // the caller gave up; its buffer may be someone else's by now
                }
                int n = own.remaining();
                dst.put(own);
                return n;
            }
        });
    }

    /** Straight into {@code dst}: a caller that stops waiting gives it up (see {@link Backend#readInto}). */
    @Override
    public int readInto(String path, long offset, ByteBuffer dst) throws IOException {
        return call("read", path, () -> super.readInto(path, offset, dst));
    }

    @Override
    public int readVersion(String path, long offset, ByteBuffer dst, long size, long mtimeNs) throws IOException {
        return call("read", path, () -> super.readVersion(path, offset, dst, size, mtimeNs));
    }

    /** Set, under its lock, by a caller that stopped waiting. */
    private static final class AbandonableCall {
        boolean abandoned;

        synchronized void abandon() {
            abandoned = true;
        }
    }

    private ByteBuffer readBuffer(int size) {
        ByteBuffer b = readBuffers.get();
        if (b == null || b.capacity() < size) {
            b = ByteBuffer.allocateDirect(size);
            readBuffers.set(b);
        }
        return b.clear().limit(size);
    }

    @Override
    public FileAttr stat(String path) throws IOException {
        return call("stat", path, () -> super.stat(path));
    }

    @Override
    public FileAttr statDirect(String path) throws IOException {
        return call("stat", path, () -> super.statDirect(path));
    }

    @Override
    public List<String> list(String path) throws IOException {
        return call("list", path, () -> super.list(path));
    }

    @Override
    public String readlink(String path) throws IOException {
        return call("readlink", path, () -> super.readlink(path));
    }

    @Override
    public Map<String, byte[]> xattrs(String path) throws IOException {
        return call("xattrs", path, () -> super.xattrs(path));
    }

    @Override
    public FsStats statfs() throws IOException {
        return call("statfs", "", super::statfs);
    }

    @Override
    public void createFile(String path, NewFile meta) throws IOException {
        call("create", path, () -> {
            super.createFile(path, meta);
            return null;
        });
    }

    @Override
    public void mkdir(String path, NewFile meta) throws IOException {
        call("mkdir", path, () -> {
            super.mkdir(path, meta);
            return null;
        });
    }

    @Override
    public void mknod(String path, io.peerfs.meta.FileType type, long rdev, NewFile meta) throws IOException {
        call("mknod", path, () -> {
            super.mknod(path, type, rdev, meta);
            return null;
        });
    }

    @Override
    public void symlink(String target, String path, int uid, int gid) throws IOException {
        call("symlink", path, () -> {
            super.symlink(target, path, uid, gid);
            return null;
        });
    }

    @Override
    public void link(String from, String to) throws IOException {
        call("link", to, () -> {
            super.link(from, to);
            return null;
        });
    }

    @Override
    public void delete(String path) throws IOException {
        call("delete", path, () -> {
            super.delete(path);
            return null;
        });
    }

    @Override
    public void rename(String from, String to) throws IOException {
        call("rename", from, () -> {
            super.rename(from, to);
            return null;
        });
    }

    @Override
    public void setMode(String path, int mode) throws IOException {
        call("chmod", path, () -> {
            super.setMode(path, mode);
            return null;
        });
    }

    @Override
    public void setOwner(String path, int uid, int gid) throws IOException {
        call("chown", path, () -> {
            super.setOwner(path, uid, gid);
            return null;
        });
    }

    @Override
    public void setTimes(String path, long atimeNs, long mtimeNs) throws IOException {
        call("utimens", path, () -> {
            super.setTimes(path, atimeNs, mtimeNs);
            return null;
        });
    }

    @Override
    public void truncate(String path, long size) throws IOException {
        call("truncate", path, () -> {
            super.truncate(path, size);
            return null;
        });
    }

    @Override
    public void setXattr(String path, String name, byte[] value) throws IOException {
        call("setxattr", path, () -> {
            super.setXattr(path, name, value);
            return null;
        });
    }

    @Override
    public void removeXattr(String path, String name) throws IOException {
        call("removexattr", path, () -> {
            super.removeXattr(path, name);
            return null;
        });
    }

    @Override
    public FileAttr replace(String path, long size, NewFile meta, Content content, String tempTag) throws IOException {
        Upload up = new Upload(content);
        // the file's own temporary name (a killed daemon's leftover is reused and renamed away),
        // unless an abandoned attempt of it may still be writing there: then one of this attempt's own
        String tag = stragglers.getOrDefault(tempTag, 0) > 0 ? tempTag + "-" + uploadAttempts.incrementAndGet()
                : tempTag;
        Future<FileAttr> f;
        try {
            Credentials as = Credentials.current();
            f = uploads.submit(() -> {
                try (Credentials.Scope scope = Credentials.enter(as)) {
                    return super.replace(path, size, meta, up, tag);
                } finally {
                    if (up.finish()) {
                        stragglers.computeIfPresent(tempTag, (k, n) -> n > 1 ? n - 1 : null);
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            failures.increment();
            throw unavailable("upload", path, MAX_UPLOADS + " uploads are stuck: the backend does not answer", null);
        }
        try {
            while (true) {
                long left = timeoutNs - (System.nanoTime() - up.lastProgressNs);
                if (left <= 0) {
                    abandon(up, tempTag);
                    f.cancel(false);
                    timeouts.increment();
                    throw unavailable("upload", path, "no progress in " + Duration.ofNanos(timeoutNs).toMillis()
                            + " ms", null);
                }
                try {
                    return f.get(left, TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    // progress since? the loop looks again
                }
            }
        } catch (InterruptedException e) {
            abandon(up, tempTag);
            f.cancel(false);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("upload " + path + " interrupted");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw translate("upload", path, io);
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        }
    }

    /** Counted before the worker can finish, so that its finish always finds the count. */
    private void abandon(Upload up, String tempTag) {
        synchronized (up) {
            if (up.state.get() == Upload.RUNNING) {
                stragglers.merge(tempTag, 1, Integer::sum);
            }
            up.abandon();
        }
    }

    /** An upload's content, watched: progress resets the timeout; once abandoned it reads and commits nothing. */
    private static final class Upload implements Content {
        private static final int RUNNING = 0;
        private static final int COMMITTING = 1;
        private static final int ABANDONED = 2;
        private static final int DONE = 3;
        private final Content content;
        private final AtomicInteger state = new AtomicInteger(RUNNING);
        volatile long lastProgressNs = System.nanoTime();

        Upload(Content content) {
            this.content = content;
        }

        @Override
        public synchronized int read(long offset, ByteBuffer dst) throws IOException {
            if (state.get() == ABANDONED) { // the caller has given the staged file back
                throw new IOException("upload abandoned by its caller");
            }
            int n = content.read(offset, dst);
            lastProgressNs = System.nanoTime();
            return n;
        }

        @Override
        public void progress() {
            lastProgressNs = System.nanoTime();
        }

        @Override
        public boolean mayCommit() {
            return state.compareAndSet(RUNNING, COMMITTING);
        }

        /** Waits only for a read of the local staged file in progress, never for the backend. */
        synchronized void abandon() {
            state.compareAndSet(RUNNING, ABANDONED);
        }

        /** The worker is done; true if the caller had given up on it (and counted it a straggler). */
        synchronized boolean finish() {
            if (state.get() == ABANDONED) {
                return true;
            }
            state.set(DONE);
            return false;
        }
    }

    private <T> T call(String op, String path, Callable<T> work) throws IOException {
        return call(op, path, new AbandonableCall(), work);
    }

    private <T> T call(String op, String path, AbandonableCall caller, Callable<T> work) throws IOException {
        Future<T> f;
        Credentials as = Credentials.current(); // the caller's, on the backend thread too
        try {
            f = pool.submit(() -> {
                try (Credentials.Scope scope = Credentials.enter(as)) {
                    return work.call();
                }
            });
        } catch (RejectedExecutionException e) {
            failures.increment();
            throw unavailable(op, path, THREADS + QUEUE + " backend calls are waiting: the backend does not answer",
                    null);
        }
        try {
            return f.get(timeoutNs, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            caller.abandon();
            f.cancel(false); // never interrupt: an interrupted FileChannel closes, and the call is stuck anyway
            timeouts.increment();
            throw unavailable(op, path, "no answer in " + Duration.ofNanos(timeoutNs).toMillis() + " ms", null);
        } catch (InterruptedException e) {
            caller.abandon();
            f.cancel(false);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(op + " " + path + " interrupted");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw translate(op, path, io);
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        }
    }

    /** The error a caller sees: the backend's own, or {@link BackendUnavailableException} when the backend is gone. */
    private IOException translate(String op, String path, IOException e) {
        if (e instanceof PosixException pe ? PosixException.meansUnavailable(pe.errno())
                : e instanceof FileSystemException fse && fse.getReason() != null
                && UNAVAILABLE.contains(fse.getReason())
                || !(e instanceof FileSystemException) && e.getMessage() != null
                && UNAVAILABLE.stream().anyMatch(e.getMessage()::contains)) {
            failures.increment();
            return unavailable(op, path, e.getMessage(), e);
        }
        if (e instanceof NoSuchFileException && !sameFileSystem()) {
            failures.increment();
            return unavailable(op, path, "the backend directory " + root + " is no longer the file system it was"
                    + " at mount (unmounted?)", e);
        }
        return e;
    }

    /**
     * False when the backend directory now shows another, empty file system: the store was
     * unmounted underneath. Another device with entries is the store mounted again.
     */
    private boolean sameFileSystem() {
        try {
            Object dev = Files.getAttribute(root, "unix:dev");
            if (dev.equals(rootDevice)) {
                return true;
            }
            try (var entries = Files.newDirectoryStream(root)) {
                if (entries.iterator().hasNext()) {
                    log.info("backend directory {} is on another file system than at mount (mounted again)", root);
                    rootDevice = dev;
                    return true;
                }
            }
            return false;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private BackendUnavailableException unavailable(String op, String path, String why, Throwable cause) {
        long now = System.currentTimeMillis();
        if (now - lastWarningMs > 10_000) { // one line per 10 s while the backend is away, not one per call
            lastWarningMs = now;
            log.warn("backend {} unavailable ({} {}: {}); cached data is still served", root, op,
                    path.isEmpty() ? "/" : path, why);
        }
        return new BackendUnavailableException(op, path, why, cause);
    }
}
