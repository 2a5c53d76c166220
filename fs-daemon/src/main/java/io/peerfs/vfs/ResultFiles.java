package io.peerfs.vfs;

import io.peerfs.Stopping;
import io.peerfs.backend.Backend;
import io.peerfs.backend.Credentials;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.StagedFile;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Result files being written on this node. Their data is staged like scratch data (pinned
 * chunks, layout in the {@link MetaStore}) and the MetaStore's writeback journal records
 * which backend path each staged inode belongs to. An upload writes the staged bytes to the
 * backend as a temporary file and renames it over the path, so the backend never shows a
 * half-written file. {@code close} uploads before it returns, or with {@code writeback}
 * queues the upload; {@code fsync} always uploads. A staged file is dropped once it is
 * uploaded and closed everywhere on this node. At start the journal is replayed.
 *
 * <p>While a path is staged, this node reads it from the staged data, which is never older
 * than the backend's copy.
 */
final class ResultFiles implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ResultFiles.class);
    /** Longest wait between upload attempts of one file; the waits double from 1 s up to this. */
    static final long MAX_RETRY_SECONDS = 60;
    /** How long close waits for a running upload to notice it was interrupted. */
    private static final long STOP_WAIT_SECONDS = 10;

    /** A result file staged on this node. */
    static final class Staged {
        final long ino;
        /** Held by uploads and by changes of the backend name, so a rename never races an upload. */
        final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
        /** Backend path; changed under {@link #lock}. */
        volatile String path;
        /** Bumped by every change of the data or attributes; what an upload must catch up with. */
        final AtomicLong version = new AtomicLong(1);
        /** The {@link #version} the backend has; guarded by {@link #lock}. */
        long uploaded;
        /**
         * The backend file as the last upload left it (its size and mtime key its cache
         * entries); guarded by {@link #lock}.
         */
        io.peerfs.meta.FileAttr uploadedAs;
        /** Set when the name was removed or replaced (its data must never reach the backend), or when dropped after upload. */
        volatile boolean discarded;
        /**
         * Set when a write, truncate or commit failed (ENOSPC): the staged data is incomplete and
         * must never replace the backend's whole file.
         */
        volatile boolean failed;
        /** True once a writer's close or fsync made this data something the backend must get. */
        volatile boolean ready;
        /** Who opened it to write, as the journal has it (null where unknown); its upload is made as them. */
        volatile StagedFile.Writer writer;
        /** Handles on this node; guarded by the {@link ResultFiles#byPath} table. */
        int opens;
        boolean queued;
        /** Background uploads that failed in a row; only the uploader thread touches it. */
        int failedUploads;

        Staged(long ino, String path) {
            this.ino = ino;
            this.path = path;
        }
    }

    /** Counters for {@code peerfs status}. */
    record Stats(int staged, int queued, long uploads, long failures) {
    }

    private final MetaStore meta;
    private final ScratchFiles files;
    private final Backend backend;
    private final BackendMetaCache cache;
    private final boolean writeback;
    private final boolean setOwners;
    private final Map<String, Staged> byPath = new HashMap<>();
    private final ScheduledExecutorService uploader;
    private final LongAdder uploads = new LongAdder();
    private final LongAdder failures = new LongAdder();

    /**
     * @param writeback queue uploads on close instead of waiting for them
     * @param setOwners give uploaded files the writer's owner (the daemon runs as root)
     */
    ResultFiles(MetaStore meta, ScratchFiles files, Backend backend, BackendMetaCache cache, boolean writeback,
                boolean setOwners) {
        this.meta = meta;
        this.files = files;
        this.backend = backend;
        this.cache = cache;
        this.writeback = writeback;
        this.setOwners = setOwners;
        this.uploader = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "peerfs-upload");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Takes up the journal a previous daemon left: every staged file is uploaded in the
     * background (and read from its staged data until then).
     *
     * @return how many files were pending
     */
    int replay(java.util.Set<String> reopened) throws IOException {
        Map<Long, StagedFile> journal = meta.staged();
        int resumed = 0;
        for (Map.Entry<Long, StagedFile> e : journal.entrySet()) {
            Staged s = new Staged(e.getKey(), e.getValue().path());
            if (!e.getValue().ready() && reopened.contains(s.path)) {
                // its writer goes on through this daemon, which took the dead one's handles over
                s.writer = e.getValue().writer();
                synchronized (byPath) {
                    byPath.put(s.path, s);
                }
                log.info("writeback journal: keeping {} (staged inode {}) for its writer, still open", s.path, s.ino);
                continue;
            }
            if (!e.getValue().ready()) {
                // never closed by its writer: the backend keeps what it had (an empty new file, or the old one)
                log.info("writeback journal: dropping {} (staged inode {}), which its writer never closed", s.path,
                        s.ino);
                files.deleteIfUnused(meta.unstage(s.ino));
                continue;
            }
            s.ready = true;
            s.writer = e.getValue().writer();
            synchronized (byPath) {
                byPath.put(s.path, s);
            }
            log.info("writeback journal: uploading {} (staged inode {}) left by the previous daemon", s.path, s.ino);
            enqueue(s, 0);
            resumed++;
        }
        return resumed;
    }

    Optional<Staged> staged(String path) {
        synchronized (byPath) {
            return Optional.ofNullable(byPath.get(path));
        }
    }

    /** Staged files at or below {@code dir}. */
    private List<Staged> stagedBelow(String dir) {
        synchronized (byPath) {
            return byPath.values().stream().filter(s -> s.path.equals(dir) || s.path.startsWith(dir + "/")).toList();
        }
    }

    /**
     * Journals a new staged file for {@code path} and takes a handle on it. The caller (whose
     * credentials are current) is its writer.
     */
    Opened stage(String path, Inode spec) throws IOException {
        Credentials c = Credentials.current();
        StagedFile.Writer writer = c == null ? null : new StagedFile.Writer(c.uid(), c.gid(), c.groups());
        Inode inode = meta.stage(path, spec, writer);
        Staged s = new Staged(inode.ino(), path);
        s.writer = writer;
        synchronized (byPath) {
            Staged old = byPath.put(path, s);
            if (old != null) {
                old.discarded = true; // cannot happen while callers check staged() first; never upload two
            }
            s.opens++;
        }
        return new Opened(s, files.open(inode));
    }

    /**
     * Takes a handle on the file staged at {@code path}, if there is one. Atomic with
     * respect to dropping it after an upload: a staged file found here stays until released.
     */
    Optional<Opened> open(String path) throws IOException {
        Staged s;
        synchronized (byPath) {
            s = byPath.get(path);
            if (s == null) {
                return Optional.empty();
            }
            s.opens++;
        }
        Optional<Inode> inode = meta.get(s.ino);
        if (inode.isEmpty()) { // discarded meanwhile: the name is gone
            synchronized (byPath) {
                s.opens--;
            }
            throw new NoSuchFileException(path);
        }
        return Optional.of(new Opened(s, files.open(inode.get())));
    }

    /** A handle on a staged file. */
    record Opened(Staged staged, OpenScratch file) {
    }

    /**
     * The staged record with this node's unsaved size, for getattr and reads; empty when it
     * was uploaded and dropped meanwhile (the backend has it now).
     */
    Optional<Inode> current(Staged s) throws IOException {
        return files.get(s.ino);
    }

    /** Marks a change of the data or attributes, for the next upload. */
    void changed(Staged s) {
        s.version.incrementAndGet();
    }

    /** close(2): commits locally, then uploads (or queues the upload with writeback). */
    void flush(Staged s, OpenScratch f) throws IOException {
        commit(s, f, writeback); // with writeback the journal is all there is until the upload: make it durable
        markReady(s, writeback);
        if (writeback) {
            enqueue(s, 0);
        } else {
            upload(s);
        }
    }

    /**
     * A close by another process than the writer (a child closing an inherited descriptor):
     * nothing is committed or uploaded, so neither a crash nor an upload can publish the
     * writer's half-done file.
     */
    void closedElsewhere(Staged s, OpenScratch f) {
        log.debug("close of {} by another process than its writer: not uploaded", s.path);
    }

    /** Journals the committed data as acknowledged: after a crash it is uploaded, not dropped. */
    private void markReady(Staged s, boolean durable) throws IOException {
        s.lock.lock();
        try {
            if (!s.ready && !s.discarded) { // a removed name's data stays local until its last close
                meta.readyToUpload(s.ino);
                s.ready = true;
                if (durable) {
                    meta.sync();
                }
            }
        } finally {
            s.lock.unlock();
        }
    }

    /** The data is committed on this node (a dead daemon's successor finds it); nothing is uploaded. */
    void checkpoint(Staged s, OpenScratch f) throws IOException {
        commit(s, f, false);
    }

    /** fsync(2): the data is on the backend, durably, when it returns. */
    void fsync(Staged s, OpenScratch f) throws IOException {
        commit(s, f, true);
        markReady(s, true);
        upload(s);
    }

    private void commit(Staged s, OpenScratch f, boolean durable) throws IOException {
        try {
            files.commit(f, durable);
        } catch (IOException | RuntimeException e) {
            failed(s, e);
            throw e;
        }
    }

    /** A change of the staged data failed: the file is never uploaded, and the backend keeps its last whole version. */
    void failed(Staged s, Exception cause) {
        if (!s.failed) {
            s.failed = true;
            log.warn("result file {} will not be uploaded: a write to it failed ({}); the backend keeps its previous"
                    + " version", s.path, cause.toString());
        }
    }

    /** Gives a handle back; the last one drops the staged data once it is uploaded. */
    void release(Staged s, OpenScratch f) throws IOException {
        try {
            files.release(f);
        } catch (IOException | RuntimeException e) {
            if (!s.failed) {
                throw e;
            } // else the staged data is being dropped anyway; its chunks are freed below
        } finally {
            boolean last;
            synchronized (byPath) {
                last = --s.opens == 0;
            }
            if (last && s.failed) {
                discard(s);
            } else if (last) {
                if (!s.discarded && s.uploaded != s.version.get()) {
                    markReady(s, writeback); // every descriptor is closed: what is there is the file
                }
                if (!finishIfIdle(s)) {
                    enqueue(s, 0); // an upload at close failed, or writeback: the uploader takes it from here
                }
            }
        }
    }

    /**
     * Writes the staged file to the backend if it changed since its last upload. Holds the
     * file's monitor, so renames and removals of the path wait for it.
     */
    void upload(Staged s) throws IOException {
        s.lock.lock();
        try {
            long v = s.version.get();
            if (s.discarded || s.uploaded == v) {
                return;
            }
            if (s.failed) {
                throw new IOException("result file " + s.path + " is not uploaded: an earlier write to it failed");
            }
            Inode inode = current(s).orElseThrow(() -> new NoSuchFileException(s.path, null, "staged data is gone"));
            OpenScratch r = files.open(inode);
            Credentials writer = uploader(s);
            try (Credentials.Scope as = writer == null ? null : Credentials.enter(writer)) {
                s.uploadedAs = backend.replace(s.path, inode.size(), newFile(inode),
                        (off, dst) -> files.read(r, off, dst), "peerfs-" + s.ino);
            } finally {
                files.release(r);
            }
            s.uploaded = v;
            uploads.increment();
            cache.invalidate(s.path);
        } finally {
            s.lock.unlock();
        }
    }

    /**
     * Who uploads a staged file: its writer with their groups (so a directory they may write
     * through a supplementary group takes the upload, after a restart too). Another user's
     * file is then rewritten in place as the writer, so the store's own permission on that
     * file (modes, ACLs) decides and the file keeps its owner ({@code LocalDirBackend}). Null
     * where the writer is unknown (a journal of an earlier version): the file's owner uploads.
     */
    private Credentials uploader(Staged s) {
        StagedFile.Writer w = s.writer;
        if (w == null || !setOwners) {
            return null;
        }
        return Credentials.of(w.uid(), w.gid(), w.groups());
    }

    Backend.NewFile newFile(Inode i) {
        return new Backend.NewFile(i.mode(), setOwners ? i.uid() : -1, setOwners ? i.gid() : -1, i.atimeNs(),
                i.mtimeNs(), i.xattrs());
    }

    /** Drops a staged file that is uploaded and not open here; returns false when it must stay. */
    private boolean finishIfIdle(Staged s) throws IOException {
        s.lock.lock();
        try {
            synchronized (byPath) {
                if (s.discarded || s.opens > 0 || s.uploaded != s.version.get()) {
                    return s.discarded;
                }
                byPath.remove(s.path, s);
            }
            s.discarded = true; // done: later calls find nothing to do
            files.retireIfUnused(meta.unstage(s.ino), s.path, s.uploadedAs);
            return true;
        } finally {
            s.lock.unlock();
        }
    }

    private void enqueue(Staged s, long delaySeconds) {
        synchronized (byPath) {
            if (s.queued) {
                return;
            }
            s.queued = true;
        }
        uploader.schedule(() -> uploadInBackground(s), delaySeconds, TimeUnit.SECONDS);
    }

    private void uploadInBackground(Staged s) {
        synchronized (byPath) {
            s.queued = false;
        }
        try {
            upload(s);
            if (s.failedUploads > 0) {
                log.info("result file {} uploaded after {} failed attempts", s.path, s.failedUploads);
                s.failedUploads = 0;
            }
            finishIfIdle(s);
        } catch (IOException | RuntimeException e) {
            failures.increment();
            long delay = Math.min(MAX_RETRY_SECONDS, 1L << Math.min(s.failedUploads, 6));
            s.failedUploads++;
            log.warn("upload of result file {} failed (attempt {}), retrying in {}s (the data stays staged): {}",
                    s.path, s.failedUploads, delay, e.toString());
            enqueue(s, delay);
        }
    }

    /**
     * The name of a staged file was removed or replaced: its data is never uploaded, and is
     * freed once the last handle closes.
     */
    void discard(Staged s) throws IOException {
        s.lock.lock();
        try {
            if (s.discarded) {
                return;
            }
            s.discarded = true;
            synchronized (byPath) {
                byPath.remove(s.path, s);
            }
            files.deleteIfUnused(meta.unstage(s.ino));
        } finally {
            s.lock.unlock();
        }
    }

    /**
     * Runs a change of the backend names at or below {@code from} (a rename or removal) while
     * no upload of a staged file there can run; then those staged files follow it to
     * {@code to} ({@code null}: they are discarded). Staged files at {@code replaced} are
     * discarded after the change succeeds.
     */
    void whileNamesChange(String from, String to, String replaced, BackendChange change) throws IOException {
        List<Staged> moving = stagedBelow(from);
        List<Staged> victims = replaced == null ? List.of() : stagedBelow(replaced);
        List<Staged> locked = new ArrayList<>();
        try {
            for (Staged s : moving) {
                s.lock.lock();
                locked.add(s);
            }
            for (Staged s : victims) {
                s.lock.lock();
                locked.add(s);
            }
            change.run();
            for (Staged s : victims) {
                if (!moving.contains(s)) {
                    discard(s);
                }
            }
            for (Staged s : moving) {
                if (to == null) {
                    discard(s);
                    continue;
                }
                String target = to + s.path.substring(from.length());
                meta.restage(s.ino, target);
                synchronized (byPath) {
                    byPath.remove(s.path, s);
                    s.path = target;
                    byPath.put(target, s);
                }
            }
        } finally {
            for (Staged s : locked) {
                s.lock.unlock();
            }
        }
    }

    /** A change of backend names. */
    @FunctionalInterface
    interface BackendChange {
        void run() throws IOException;
    }

    /**
     * After a change of a staged file's attributes (chmod, utimens, xattrs): the backend
     * gets them with the next upload, which starts now when no handle is open here.
     */
    void attributesChanged(Staged s) throws IOException {
        changed(s);
        boolean idle;
        synchronized (byPath) {
            idle = s.opens == 0;
        }
        if (idle) {
            if (writeback) {
                enqueue(s, 0);
            } else {
                upload(s);
                finishIfIdle(s);
            }
        }
    }

    /**
     * Stages a copy of an existing backend file to write into (open for writing without
     * O_TRUNC): its first {@code size} bytes are copied from {@code source}.
     */
    Opened stageCopy(String path, Inode spec, long size, Backend.Content source, int chunkSize)
            throws IOException {
        Opened o = stage(path, spec);
        OpenScratch f = o.file();
        java.nio.ByteBuffer buf = files.borrowBuffer(); // pooled: a new 4 MiB per open ran direct memory out
        try {
            for (long off = 0; off < size; ) {
                buf.clear().limit((int) Math.min(Math.min(chunkSize, buf.capacity()), size - off));
                int n = source.read(off, buf);
                if (n <= 0) {
                    break; // the backend file got shorter meanwhile: stage what there was
                }
                buf.flip();
                off += files.write(f, off, buf);
            }
            return o;
        } catch (IOException | RuntimeException e) {
            discard(o.staged());
            release(o.staged(), f);
            throw e;
        } finally {
            files.giveBack(buf);
        }
    }

    /** Uploads the staged files at or below {@code path} now (before a link or a rename of a directory). */
    void uploadBelow(String path) throws IOException {
        for (Staged s : stagedBelow(path)) {
            upload(s);
        }
    }

    Stats stats() {
        synchronized (byPath) {
            int queued = (int) byPath.values().stream().filter(s -> s.queued).count();
            return new Stats(byPath.size(), queued, uploads.sum(), failures.sum());
        }
    }

    /** True while the backend does not have the staged file's latest data (for {@code peerfs info}). */
    boolean pending(Staged s) {
        s.lock.lock();
        try {
            return s.uploaded != s.version.get();
        } finally {
            s.lock.unlock();
        }
    }

    /**
     * Stops the uploader after giving queued uploads up to {@code waitSeconds}; what is left
     * stays in the journal for the next start.
     *
     * @return false when an upload still runs (a hung store): the MetaStore it writes to must
     *     then stay open, or the upload would use a closed RocksDB (a crash, not an error)
     */
    boolean close(long waitSeconds) {
        List<Staged> left;
        synchronized (byPath) {
            left = new ArrayList<>(byPath.values());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
        for (Staged s : left) {
            if (System.nanoTime() > deadline) {
                break;
            }
            try {
                upload(s);
                finishIfIdle(s);
            } catch (IOException | RuntimeException e) {
                log.warn("result file {} stays staged for the next start: {}", s.path, e.toString());
            }
        }
        uploader.shutdownNow();
        return Stopping.awaitStopped(uploader, STOP_WAIT_SECONDS);
    }

    @Override
    public void close() {
        close(0);
    }
}
