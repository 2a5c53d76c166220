package io.peerfs.daemon.fuse;

import io.peerfs.daemon.MountException;
import io.peerfs.fetch.ChunkMemory;
import io.peerfs.vfs.Caller;
import io.peerfs.vfs.Vfs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.provider.ClosureManager;
import jnr.ffi.provider.jffi.ClosureHelper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The libfuse 3 binding, written against jnr-ffi here because jnr-fuse speaks only libfuse 2.
 * What it buys: requests of up to 1 MiB (libfuse 2 stops at 128 KiB), so a sequential reader
 * or writer crosses the kernel boundary an eighth as often. Each callback hands its arguments
 * to {@link FuseOps}, as {@link PeerFuse} does.
 */
public final class PeerFuse3 implements FuseMount {
    private static final Logger log = LoggerFactory.getLogger(PeerFuse3.class);
    /** Where {@code fh} is in libfuse 3's {@code struct fuse_file_info}. */
    private static final int FH_OFFSET = 16;
    /** {@code struct fuse_operations} of libfuse 3.8 and later: 42 function pointers. */
    private static final int OPS_SLOTS = 42;
    /**
     * FUSE worker threads at most: callbacks block on peer and backend reads (a dead peer for
     * --peer-timeout), and a request waits while all of them are busy. libfuse 2 has no limit.
     */
    private static final int MAX_THREADS = 64;
    /** Idle workers kept: a new native thread costs jffi a Java thread attach on its first callbacks. */
    private static final int IDLE_THREADS = 16;
    /** Kernel readahead for the mount: two of libfuse 3's largest (1 MiB) requests. */
    static final int READAHEAD_KB = 2048;
    private static final int FUSE_CAP_SPLICE_WRITE = 1 << 7;

    private final Runtime runtime = Runtime.getSystemRuntime();
    private final LibFuse3 lib;
    private final FuseOps ops = new FuseOps(FH_OFFSET, this::caller);
    private final Pointer operations;
    private final ReadBuffers readBuffers = new ReadBuffers();
    /** The callbacks the native table points at: they must stay reachable while mounted. */
    private final List<Object> callbacks = new ArrayList<>();
    private volatile FillDirCache fillDir;
    private volatile Path mounted;

    private record FillDirCache(long address, LibFuse3.FillDir fn) {
    }

    /** A C string for the filler, one native buffer per listing (jnr-ffi passes no String to native callbacks). */
    private final class NameBuffer {
        private Pointer buf;

        Pointer of(String name) {
            byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
            if (buf == null || buf.size() < bytes.length + 1) {
                buf = Memory.allocateDirect(runtime, Math.max(256, bytes.length + 1));
            }
            buf.put(0, bytes, 0, bytes.length);
            buf.putByte(bytes.length, (byte) 0);
            return buf;
        }
    }

    /**
     * Loads libfuse 3 and builds the native callback table.
     *
     * @throws UnsatisfiedLinkError when libfuse3.so.3 is not installed
     */
    public PeerFuse3() {
        this.lib = LibraryLoader.create(LibFuse3.class).failImmediately().load("libfuse3.so.3");
        this.operations = Memory.allocateDirect(runtime, OPS_SLOTS * 8L, true);
        ops.replyThrough(readBuffers);
        set(0, LibFuse3.PathTwoPointers.class, ops::getattr);
        set(1, LibFuse3.PathBuffer.class, ops::readlink);
        set(2, LibFuse3.Mknod.class, ops::mknod);
        set(3, LibFuse3.Mkdir.class, ops::mkdir);
        set(4, LibFuse3.PathOp.class, ops::unlink);
        set(5, LibFuse3.PathOp.class, ops::rmdir);
        set(6, LibFuse3.TwoStrings.class, ops::symlink);
        set(7, LibFuse3.Rename.class, ops::rename);
        set(8, LibFuse3.TwoStrings.class, ops::link);
        set(9, LibFuse3.PathModeFile.class, (path, mode, fi) -> ops.chmod(path, mode));
        set(10, LibFuse3.Chown.class, (path, uid, gid, fi) -> ops.chown(path, uid, gid));
        set(11, LibFuse3.Truncate.class,
                (path, size, fi) -> fi == null ? ops.truncate(path, size) : ops.ftruncate(path, size, fi));
        set(12, LibFuse3.PathPointer.class, ops::open);
        // read_buf (slot 37) instead of read: libfuse then sends a buffer the daemon aligned for direct I/O
        set(37, LibFuse3.ReadWrite.class, (path, bufp, size, offset, fi) ->
                ops.readBuf(path, bufp, size, offset, fi));
        set(14, LibFuse3.ReadWrite.class, ops::write);
        set(15, LibFuse3.PathPointer.class, ops::statfs);
        set(16, LibFuse3.PathPointer.class, ops::flush);
        set(17, LibFuse3.PathPointer.class, ops::release);
        set(18, LibFuse3.Fsync.class, (path, datasync, fi) -> ops.fsync(path, fi));
        set(19, LibFuse3.Setxattr.class, ops::setxattr);
        set(20, LibFuse3.Getxattr.class, ops::getxattr);
        set(21, LibFuse3.PathBuffer.class, ops::listxattr);
        set(22, LibFuse3.TwoStrings.class, ops::removexattr);
        set(24, LibFuse3.Readdir.class, (path, buf, filler, offset, fi, flags) -> {
            NameBuffer name = new NameBuffer();
            // the filler is looked up inside the guard: nothing may throw past a callback
            return ops.readdir(path, n -> fillDir(filler).apply(buf, name.of(n), null, 0, 0) == 0);
        });
        set(27, LibFuse3.Init.class, (conn, cfg) -> {
            spliceReplies(conn);
            useInodeNumbers(cfg);
            return null; // no private data, as fuse_new was given none
        });
        set(29, LibFuse3.Access.class, ops::access);
        set(30, LibFuse3.PathModeFile.class, ops::create);
        set(32, LibFuse3.PathTwoPointers.class, (path, times, fi) -> ops.utimens(path, times));
    }

    private <T> void set(int slot, Class<T> type, T callback) {
        ClosureManager closures = runtime.getClosureManager();
        Pointer fn = closures.getClosurePointer(type, callback);
        callbacks.add(callback);
        callbacks.add(fn);
        operations.putPointer(slot * 8L, fn);
    }

    /**
     * Sets {@code use_ino} in {@code struct fuse_config} (libfuse 3 takes it only here, not as
     * an option), so {@code st_ino} is the one getattr gives: the backend's or the MetaStore's,
     * shared by hard links. The layout (six ints, then entry, negative and attr timeouts at 24,
     * 32, 40, then intr, intr_signal, remember, hard_remove, use_ino at 64) is checked against
     * the timeouts the mount set, all three the same and positive; otherwise it is left alone.
     */
    private static void useInodeNumbers(Pointer cfg) {
        try {
            double entry = cfg.getDouble(24);
            if (entry > 0 && entry == cfg.getDouble(32) && entry == cfg.getDouble(40)) {
                cfg.putInt(64, 1);
            } else {
                log.warn("inode numbers are libfuse's: its fuse_config is not laid out as expected");
            }
        } catch (RuntimeException | Error e) {
            log.warn("inode numbers are libfuse's: {}", e.toString());
        }
    }

    /**
     * Asks libfuse to splice read replies into the kernel ({@code FUSE_CAP_SPLICE_WRITE}) when it
     * and the kernel can and a pipe of a reply's size is allowed, so replies come from the
     * reusable slots of {@link ReadBuffers}. In {@code struct fuse_conn_info}: proto_minor at 4,
     * capable at 20, want at 24. Runs in libfuse's INIT: nothing may throw past it.
     */
    private void spliceReplies(Pointer conn) {
        try {
            int protoMinor = conn.getInt(4);
            if (protoMinor < 14 || (conn.getInt(20) & FUSE_CAP_SPLICE_WRITE) == 0) {
                log.info("read replies are copied: this libfuse or kernel cannot splice them (protocol 7.{})",
                        protoMinor);
            } else if (readBuffers.spliceReplies(ReadBuffers.LARGEST_READ)) {
                conn.putInt(24, conn.getInt(24) | FUSE_CAP_SPLICE_WRITE);
            }
        } catch (RuntimeException | Error e) {
            log.warn("read replies are copied: {}", e.toString());
        }
    }

    /** libfuse passes the same filler function to every readdir: it is wrapped once. */
    private LibFuse3.FillDir fillDir(Pointer filler) {
        FillDirCache c = fillDir;
        if (c == null || c.address() != filler.address()) {
            ClosureHelper helper = ClosureHelper.getInstance();
            LibFuse3.FillDir fn = helper.getNativeConveter(LibFuse3.FillDir.class)
                    .fromNative(filler, helper.getFromNativeContext());
            c = new FillDirCache(filler.address(), fn);
            fillDir = c;
        }
        return c.fn();
    }

    /** {@code struct fuse_context}: uid at 8, gid at 12, pid at 16. */
    private Caller caller() {
        Pointer ctx = lib.fuse_get_context();
        return new Caller(ctx.getInt(8), ctx.getInt(12), ctx.getInt(16));
    }

    @Override
    public int version() {
        return 3;
    }

    /**
     * Memory for the chunks the daemon holds in memory, from which read replies are spliced
     * where they are instead of copied (see {@link ReadBuffers}).
     */
    public static ChunkMemory chunkMemory() {
        return ReadBuffers.chunkMemory();
    }

    @Override
    public PeerFuse3 serve(Vfs v) {
        ops.serve(v);
        return this;
    }

    @Override
    public Map<String, Object> stats() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("readReplies", readBuffers.splicing() ? "spliced" : "copied");
        m.put("bytesSpliced", readBuffers.bytesSpliced());
        m.put("bytesFromMemory", readBuffers.bytesHeld());
        m.put("replySlots", readBuffers.slots());
        m.put("threadAttaches", ops.threadAttaches());
        return m;
    }

    @Override
    public void observeOps(OpObserver o) {
        ops.observe(o);
    }

    @Override
    public void mount(Path mountpoint, List<String> options) throws MountException {
        List<Pointer> keep = new ArrayList<>();
        Pointer args = fuseArgs(options, keep);
        Pointer fuse = lib.fuse_new(args, operations, OPS_SLOTS * 8L, null);
        if (fuse == null) {
            throw new MountException("libfuse3 refused the mount options " + String.join(",", options));
        }
        if (lib.fuse_mount(fuse, mountpoint.toString()) != 0) {
            lib.fuse_destroy(fuse);
            throw new MountException("libfuse3 could not mount on " + mountpoint);
        }
        mounted = mountpoint;
        Pointer loopConfig = lib.fuse_loop_cfg_create();
        try {
            lib.fuse_loop_cfg_set_max_threads(loopConfig, MAX_THREADS);
            lib.fuse_loop_cfg_set_idle_threads(loopConfig, IDLE_THREADS);
            int rc = lib.fuse_loop_mt(fuse, loopConfig);
            if (rc != 0) {
                log.warn("the FUSE loop of {} ended with {}", mountpoint, rc);
            }
        } finally {
            mounted = null;
            lib.fuse_loop_cfg_destroy(loopConfig);
            lib.fuse_unmount(fuse);
            lib.fuse_destroy(fuse);
            readBuffers.close(); // no FUSE thread is left to write a slot
            java.lang.ref.Reference.reachabilityFence(keep); // libfuse may point into the arguments until here
        }
    }

    /** Raises the kernel's readahead on the mount ({@link #raiseReadahead}). */
    @Override
    public void answering(Path mountpoint) {
        raiseReadahead(mountpoint);
    }

    /**
     * Lets the kernel read ahead {@link #READAHEAD_KB} on this mount instead of its default 128 KiB,
     * so that a sequential reader's requests are as big as the mount allows (1 MiB; measured on a
     * 2-core machine: 1 job reading from cache files in memory 1,550 → 1,900 MiB/s). Only after the
     * first request was answered: the kernel sets the mount's readahead again when INIT is
     * answered. Root only, as the setting is; otherwise the mount works with the default.
     */
    static void raiseReadahead(Path mountpoint) {
        try {
            // the mount is in mountinfo before INIT is answered; any request returns only after
            // (a clean-clone CI run read 128 here when the setting went in first). statfs(2), as
            // it asks no peer: a stat of the root asks the owner of its directory, and a peer
            // not started yet would be skipped for the next 10 s (Java's FileStore stats too)
            io.peerfs.Libc.Calls libc = io.peerfs.Libc.calls();
            if (libc == null || libc.statfs(mountpoint.toString(), new byte[256]) != 0) {
                throw new IOException("statfs of the mount failed");
            }
            MountTable.Mount m = MountTable.find(mountpoint).orElseThrow(() -> new IOException("not in mountinfo"));
            Files.writeString(Path.of("/sys/class/bdi", m.device(), "read_ahead_kb"), READAHEAD_KB + "\n");
        } catch (IOException | RuntimeException e) {
            log.info("kernel readahead on {} stays at its default: {}", mountpoint, e.toString());
        }
    }

    /** {@code struct fuse_args {int argc; char **argv; int allocated;}} with argv[0] and {@code -o} pairs. */
    private Pointer fuseArgs(List<String> options, List<Pointer> keep) {
        List<String> argv = new ArrayList<>(List.of("peerfs"));
        for (String o : options) {
            argv.add("-o");
            argv.add(o);
        }
        Pointer vector = Memory.allocateDirect(runtime, (argv.size() + 1) * 8L, true);
        for (int i = 0; i < argv.size(); i++) {
            byte[] bytes = argv.get(i).getBytes(StandardCharsets.UTF_8);
            Pointer s = Memory.allocateDirect(runtime, bytes.length + 1, true);
            s.put(0, bytes, 0, bytes.length);
            keep.add(s);
            vector.putPointer(i * 8L, s);
        }
        keep.add(vector);
        Pointer args = Memory.allocateDirect(runtime, 24, true);
        args.putInt(0, argv.size());
        args.putPointer(8, vector);
        keep.add(args);
        return args;
    }

    @Override
    public void umount() {
        Path mnt = mounted;
        if (mnt == null) {
            return;
        }
        FuseMount.detach(mnt);
    }
}
