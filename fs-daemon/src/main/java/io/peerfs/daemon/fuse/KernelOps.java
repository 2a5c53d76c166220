package io.peerfs.daemon.fuse;

import io.peerfs.backend.Credentials;
import io.peerfs.backend.FsStats;
import io.peerfs.backend.PosixException;
import io.peerfs.meta.FileAttr;
import io.peerfs.vfs.Caller;
import io.peerfs.vfs.ReadResult;
import io.peerfs.vfs.Vfs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What PeerFS's own FUSE loop does with each kernel request: the request's structs read, one
 * {@link Vfs} call, the reply's structs written (the layouts of {@code linux/fuse.h}, protocol
 * 7.38 and earlier kernels' compatible sizes). The node table turns node ids into the paths
 * the Vfs takes, as libfuse's high-level API does; handles are the loop's own numbers over the
 * Vfs's, so a hand-over can reopen each file under the number the kernel holds.
 */
final class KernelOps {
    static final int NO_REPLY = Integer.MIN_VALUE;
    static final int LOOKUP = 1;
    static final int FORGET = 2;
    static final int GETATTR = 3;
    static final int SETATTR = 4;
    static final int READLINK = 5;
    static final int SYMLINK = 6;
    static final int MKNOD = 8;
    static final int MKDIR = 9;
    static final int UNLINK = 10;
    static final int RMDIR = 11;
    static final int RENAME = 12;
    static final int LINK = 13;
    static final int OPEN = 14;
    static final int READ = 15;
    static final int WRITE = 16;
    static final int STATFS = 17;
    static final int RELEASE = 18;
    static final int FSYNC = 20;
    static final int SETXATTR = 21;
    static final int GETXATTR = 22;
    static final int LISTXATTR = 23;
    static final int REMOVEXATTR = 24;
    static final int FLUSH = 25;
    static final int INIT = 26;
    static final int OPENDIR = 27;
    static final int READDIR = 28;
    static final int RELEASEDIR = 29;
    static final int FSYNCDIR = 30;
    static final int ACCESS = 34;
    static final int CREATE = 35;
    static final int INTERRUPT = 36;
    static final int DESTROY = 38;
    static final int BATCH_FORGET = 42;
    static final int RENAME2 = 45;

    private static final int FATTR_MODE = 1;
    private static final int FATTR_UID = 1 << 1;
    private static final int FATTR_GID = 1 << 2;
    private static final int FATTR_SIZE = 1 << 3;
    private static final int FATTR_ATIME = 1 << 4;
    private static final int FATTR_MTIME = 1 << 5;
    private static final int FATTR_FH = 1 << 6;
    private static final int FATTR_ATIME_NOW = 1 << 7;
    private static final int FATTR_MTIME_NOW = 1 << 8;
    private static final int FOPEN_KEEP_CACHE = 1 << 1;
    private static final int FUSE_GETATTR_FH = 1;
    private static final int ENOSYS = 38;
    private static final int ERANGE = 34;
    private static final int ENOENT = 2;
    private static final int EBADF = 9;
    private static final int EIO = 5;
    /** {@code ino} of a listed name whose inode number is not known, as libfuse puts there. */
    private static final long UNKNOWN_INO = 0xffffffffL;
    /** {@code struct fuse_attr}: 88 bytes; entry_out has 40 before it, attr_out 16. */
    static final int ATTR_SIZE = 88;
    static final int ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
    static final int ATTR_OUT_SIZE = 16 + ATTR_SIZE;
    static final int OPEN_OUT_SIZE = 16;

    /** A request as read from the device: its header's fields and its body (little-endian). */
    record Request(int opcode, long unique, long nodeid, int uid, int gid, int pid, ByteBuffer body) {
        Caller caller() {
            return new Caller(uid, gid, pid);
        }
    }

    /** An open file or directory the kernel holds by {@code fh}. */
    static final class Handle {
        final long vfsFh; // -1 for a directory, LOST for a file a hand-over could not open again
        final NodeTable.Node node;
        final int flags;
        /** Who opened it: a hand-over opens it again as them. */
        final int uid;
        final int gid;
        volatile List<String> listing;

        Handle(long vfsFh, NodeTable.Node node, int flags, int uid, int gid) {
            this.vfsFh = vfsFh;
            this.node = node;
            this.flags = flags;
            this.uid = uid;
            this.gid = gid;
        }
    }

    /** The Vfs handle of a file a new daemon could not open again: every call on it answers EIO. */
    static final long LOST = -2;

    @FunctionalInterface
    private interface Body {
        int run() throws Exception;
    }

    private final Vfs vfs;
    private final NodeTable nodes;
    final ConcurrentHashMap<Long, Handle> handles = new ConcurrentHashMap<>();
    final AtomicLong nextFh = new AtomicLong(1);
    private final long entryTtlNs;
    private final long attrTtlNs;
    private final long negativeTtlNs;
    private final boolean autoCache;
    private volatile FuseMount.OpObserver observer = (op, nanos, failed) -> { };

    KernelOps(Vfs vfs, NodeTable nodes, long entryTtlNs, long attrTtlNs, long negativeTtlNs, boolean autoCache) {
        this.vfs = vfs;
        this.nodes = nodes;
        this.entryTtlNs = entryTtlNs;
        this.attrTtlNs = attrTtlNs;
        this.negativeTtlNs = negativeTtlNs;
        this.autoCache = autoCache;
    }

    void observe(FuseMount.OpObserver o) {
        observer = o;
    }

    /**
     * Answers one request into {@code out} (its position 0 is the reply's first byte after the
     * header): the reply's length, a negative errno, or {@link #NO_REPLY}. Never throws.
     */
    int handle(Request r, ByteBuffer out) {
        long start = System.nanoTime();
        String op = name(r.opcode());
        int result;
        try {
            out.clear();
            result = dispatch(r, out);
        } catch (Throwable t) {
            result = -Errno.of(op, nodes.path(r.nodeid()), t);
        }
        if (result != NO_REPLY) {
            observer.observe(op, System.nanoTime() - start, result < 0);
        }
        return result;
    }

    private int dispatch(Request r, ByteBuffer out) throws Exception {
        ByteBuffer in = r.body();
        return switch (r.opcode()) {
            case LOOKUP -> lookup(r.nodeid(), cstring(in), out);
            case FORGET -> {
                nodes.forget(r.nodeid(), in.getLong(0));
                yield NO_REPLY;
            }
            case BATCH_FORGET -> {
                int count = in.getInt(0);
                for (int i = 0; i < count && 8 + i * 16 + 16 <= in.limit(); i++) {
                    nodes.forget(in.getLong(8 + i * 16), in.getLong(16 + i * 16));
                }
                yield NO_REPLY;
            }
            case INTERRUPT -> NO_REPLY; // every call runs to its end; the reply then goes unread
            case GETATTR -> {
                FileAttr a = (in.getInt(0) & FUSE_GETATTR_FH) != 0 ? vfs.getattr(file(in.getLong(8)).vfsFh)
                        : vfs.getattr(path(r.nodeid()));
                yield attrOut(r.nodeid(), a, out);
            }
            case SETATTR -> change(r, () -> setattr(r, in, out));
            case READLINK -> {
                byte[] target = vfs.readlink(path(r.nodeid())).getBytes(StandardCharsets.UTF_8);
                out.put(0, target);
                yield target.length;
            }
            case SYMLINK -> {
                String name = cstring(in);
                String target = cstring(in);
                yield change(r, () -> {
                    String p = childPath(r.nodeid(), name);
                    vfs.symlink(target, p, r.caller());
                    return entry(r.nodeid(), name, p, out);
                });
            }
            case MKNOD -> {
                int mode = in.getInt(0);
                long rdev = Integer.toUnsignedLong(in.getInt(4));
                String name = cstring(in.position(16));
                yield change(r, () -> {
                    String p = childPath(r.nodeid(), name);
                    vfs.mknod(p, mode, rdev, r.caller());
                    return entry(r.nodeid(), name, p, out);
                });
            }
            case MKDIR -> {
                int mode = in.getInt(0);
                String name = cstring(in.position(8));
                yield change(r, () -> {
                    String p = childPath(r.nodeid(), name);
                    vfs.mkdir(p, mode, r.caller());
                    return entry(r.nodeid(), name, p, out);
                });
            }
            case UNLINK -> change(r, () -> unlink(r.nodeid(), cstring(in)));
            case RMDIR -> change(r, () -> {
                String name = cstring(in);
                vfs.rmdir(childPath(r.nodeid(), name));
                nodes.removed(r.nodeid(), name);
                return 0;
            });
            case RENAME -> rename(r, in.getLong(0), 0, in.position(8));
            case RENAME2 -> rename(r, in.getLong(0), in.getInt(8), in.position(16));
            case LINK -> {
                long from = in.getLong(0);
                String name = cstring(in.position(8));
                yield change(r, () -> {
                    String p = childPath(r.nodeid(), name);
                    vfs.link(path(from), p);
                    return entry(r.nodeid(), name, p, out);
                });
            }
            case OPEN -> open(r, in.getInt(0), out);
            case CREATE -> create(r, in.getInt(0), in.getInt(4), cstring(in.position(16)), out);
            case READ -> read(in, out);
            case WRITE -> write(in, out);
            case STATFS -> statfs(out);
            case RELEASE -> release(in.getLong(0));
            case FLUSH -> {
                long fh = in.getLong(0);
                long mark = nodes.writeMark();
                if (vfs.flush(file(fh).vfsFh, r.pid())) {
                    nodes.journalClean(fh, mark);
                }
                yield 0;
            }
            case FSYNC -> {
                long fh = in.getLong(0);
                long mark = nodes.writeMark();
                vfs.fsync(file(fh).vfsFh);
                nodes.journalClean(fh, mark);
                yield 0;
            }
            case FSYNCDIR -> 0;
            case SETXATTR -> {
                int size = in.getInt(0);
                int flags = in.getInt(4);
                String name = cstring(in.position(8));
                byte[] value = new byte[size];
                in.get(in.position(), value);
                yield change(r, () -> {
                    vfs.setxattr(path(r.nodeid()), name, value, flags);
                    return 0;
                });
            }
            case GETXATTR -> xattrOut(vfs.getxattr(path(r.nodeid()), cstring(in.position(8))), in.getInt(0), out);
            case LISTXATTR -> {
                StringBuilder names = new StringBuilder();
                for (String n : vfs.listxattr(path(r.nodeid()))) {
                    names.append(n).append('\0');
                }
                yield xattrOut(names.toString().getBytes(StandardCharsets.UTF_8), in.getInt(0), out);
            }
            case REMOVEXATTR -> change(r, () -> {
                vfs.removexattr(path(r.nodeid()), cstring(in));
                return 0;
            });
            case ACCESS -> {
                vfs.access(path(r.nodeid()), in.getInt(0));
                yield 0;
            }
            case OPENDIR -> {
                path(r.nodeid()); // a removed directory cannot be opened
                long fh = nextFh.getAndIncrement();
                NodeTable.Node n = node(r.nodeid());
                addHandle(fh, new Handle(-1, n, 0, r.uid(), r.gid()));
                out.putLong(0, fh);
                out.putLong(8, 0);
                yield OPEN_OUT_SIZE;
            }
            case READDIR -> readdir(r.nodeid(), in, out);
            case RELEASEDIR -> {
                Handle h = removeHandle(in.getLong(0));
                if (h != null) {
                    nodes.closed(h.node);
                }
                yield 0;
            }
            case DESTROY -> 0;
            default -> -ENOSYS;
        };
    }

    /** A call that may change the backend runs as the calling process (fsuid, fsgid, groups). */
    private static int change(Request r, Body body) throws Exception {
        try (Credentials.Scope scope = Credentials.enter(Credentials.ofProcess(r.uid(), r.gid(), r.pid()))) {
            return body.run();
        }
    }

    private int lookup(long parent, String name, ByteBuffer out) throws IOException {
        String p = childPath(parent, name);
        FileAttr a;
        try {
            a = vfs.getattr(p);
        } catch (NoSuchFileException e) {
            if (negativeTtlNs <= 0) {
                throw e;
            }
            // a negative entry: the kernel answers this name's lookups itself for a while
            out.put(0, new byte[ENTRY_OUT_SIZE]);
            putValid(out, 16, 40, negativeTtlNs);
            return ENTRY_OUT_SIZE;
        }
        return entryOut(nodes.lookedUp(parent, name), a, out);
    }

    /** The entry for a name just made: looked up by the kernel once from here on. */
    private int entry(long parent, String name, String p, ByteBuffer out) throws IOException {
        FileAttr a = vfs.getattr(p);
        return entryOut(nodes.lookedUp(parent, name), a, out);
    }

    private int entryOut(NodeTable.Node n, FileAttr a, ByteBuffer out) {
        out.putLong(0, n.id);
        out.putLong(8, 0); // generation: ids are never reused while mounted
        putValid(out, 16, 40, entryTtlNs);
        putValid(out, 24, 44, attrTtlNs);
        putAttr(out, 40, a);
        nodes.answered(n, a.dataSize(), a.mtimeNs());
        return ENTRY_OUT_SIZE;
    }

    private int attrOut(long nodeid, FileAttr a, ByteBuffer out) {
        putValid(out, 0, 8, attrTtlNs);
        out.putInt(12, 0);
        putAttr(out, 16, a);
        NodeTable.Node n = nodes.get(nodeid);
        if (n != null) {
            nodes.answered(n, a.dataSize(), a.mtimeNs());
        }
        return ATTR_OUT_SIZE;
    }

    private static void putValid(ByteBuffer out, int secAt, int nsecAt, long ns) {
        out.putLong(secAt, ns / 1_000_000_000L);
        out.putInt(nsecAt, (int) (ns % 1_000_000_000L));
    }

    static void putAttr(ByteBuffer out, int at, FileAttr a) {
        out.putLong(at, a.ino());
        out.putLong(at + 8, a.dataSize());
        out.putLong(at + 16, (a.dataSize() + 511) / 512);
        out.putLong(at + 24, Math.floorDiv(a.atimeNs(), 1_000_000_000L));
        out.putLong(at + 32, Math.floorDiv(a.mtimeNs(), 1_000_000_000L));
        out.putLong(at + 40, Math.floorDiv(a.ctimeNs(), 1_000_000_000L));
        out.putInt(at + 48, (int) Math.floorMod(a.atimeNs(), 1_000_000_000L));
        out.putInt(at + 52, (int) Math.floorMod(a.mtimeNs(), 1_000_000_000L));
        out.putInt(at + 56, (int) Math.floorMod(a.ctimeNs(), 1_000_000_000L));
        out.putInt(at + 60, a.type().modeBits() | a.mode());
        out.putInt(at + 64, a.nlink());
        out.putInt(at + 68, a.uid());
        out.putInt(at + 72, a.gid());
        out.putInt(at + 76, (int) a.rdev());
        out.putInt(at + 80, 128 * 1024);
        out.putInt(at + 84, 0);
    }

    /** chmod, chown, truncate, then times, as libfuse orders them; the attributes after. */
    private int setattr(Request r, ByteBuffer in, ByteBuffer out) throws IOException {
        int valid = in.getInt(0);
        Handle h = (valid & FATTR_FH) != 0 ? handles.get(in.getLong(8)) : null;
        String p = nodes.path(r.nodeid());
        if (p == null && h == null) {
            throw new NoSuchFileException("node " + r.nodeid());
        }
        if ((valid & FATTR_MODE) != 0) {
            vfs.chmod(required(p), in.getInt(68) & 07777);
        }
        if ((valid & (FATTR_UID | FATTR_GID)) != 0) {
            vfs.chown(required(p), (valid & FATTR_UID) != 0 ? Integer.toUnsignedLong(in.getInt(76)) : 0xffffffffL,
                    (valid & FATTR_GID) != 0 ? Integer.toUnsignedLong(in.getInt(80)) : 0xffffffffL);
        }
        if ((valid & FATTR_SIZE) != 0) {
            if (h != null && h.vfsFh >= 0) {
                vfs.ftruncate(h.vfsFh, in.getLong(16));
            } else {
                vfs.truncate(required(p), in.getLong(16));
            }
        }
        if ((valid & (FATTR_ATIME | FATTR_MTIME)) != 0) {
            long atime = (valid & FATTR_ATIME) == 0 ? Vfs.OMIT
                    : (valid & FATTR_ATIME_NOW) != 0 ? nowNs() : in.getLong(32) * 1_000_000_000L + in.getInt(56);
            long mtime = (valid & FATTR_MTIME) == 0 ? Vfs.OMIT
                    : (valid & FATTR_MTIME_NOW) != 0 ? nowNs() : in.getLong(40) * 1_000_000_000L + in.getInt(60);
            vfs.utimens(required(p), atime, mtime);
        }
        FileAttr a = h != null && h.vfsFh >= 0 ? vfs.getattr(h.vfsFh) : vfs.getattr(required(p));
        return attrOut(r.nodeid(), a, out);
    }

    private static String required(String p) throws NoSuchFileException {
        if (p == null) {
            throw new NoSuchFileException("a removed file");
        }
        return p;
    }

    private static long nowNs() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** Removes a name; one still open is renamed away instead and removed at its last release, as libfuse does. */
    private int unlink(long parent, String name) throws IOException {
        String p = childPath(parent, name);
        NodeTable.Node n = nodes.at(parent, name);
        if (n != null && n.open > 0 && hide(parent, name, p)) {
            return 0;
        }
        vfs.unlink(p);
        nodes.removed(parent, name);
        return 0;
    }

    /** Renames an open file to a hidden name in its directory; false when that failed. */
    private boolean hide(long parent, String name, String p) throws IOException {
        for (int attempt = 0; attempt < 4; attempt++) {
            String hidden = String.format(".fuse_hidden%016x", ThreadLocalRandom.current().nextLong());
            String to = childPath(parent, hidden);
            try {
                vfs.getattr(to);
                continue; // taken
            } catch (IOException e) {
                // free, or the check failed: the rename says
            }
            try {
                vfs.rename(p, to);
                nodes.renamed(parent, name, parent, hidden);
                return true;
            } catch (IOException e) {
                return false;
            }
        }
        return false;
    }

    private int rename(Request r, long newParent, int flags, ByteBuffer names) throws Exception {
        String from = cstring(names);
        String to = cstring(names);
        return change(r, () -> {
            if (flags != 0) {
                throw PosixException.of(PosixException.EINVAL, from, to);
            }
            FuseOps.requireNameMax(to);
            String toPath = childPath(newParent, to);
            NodeTable.Node replaced = nodes.at(newParent, to);
            if (replaced != null && replaced.open > 0) {
                hide(newParent, to, toPath);
            }
            vfs.rename(childPath(r.nodeid(), from), toPath);
            nodes.renamed(r.nodeid(), from, newParent, to);
            return 0;
        });
    }

    /** An open for writing is a change: a result file opened so is staged with the caller as its writer. */
    private int open(Request r, int flags, ByteBuffer out) throws Exception {
        NodeTable.Node n = node(r.nodeid());
        String p = path(r.nodeid());
        Body body = () -> {
            long vfsFh = vfs.open(p, flags, r.pid());
            return opened(n, vfsFh, flags, r, out);
        };
        return (flags & Vfs.O_ACCMODE) == Vfs.O_RDONLY && (flags & Vfs.O_TRUNC) == 0 ? body.run() : change(r, body);
    }

    private int opened(NodeTable.Node n, long vfsFh, int flags, Request r, ByteBuffer out) {
        int openFlags = 0;
        if (autoCache) {
            // libfuse's auto_cache: the page cache stays when size and mtime are as last answered
            try {
                FileAttr a = vfs.getattr(vfsFh);
                if (nodes.unchanged(n, a.dataSize(), a.mtimeNs())) {
                    openFlags |= FOPEN_KEEP_CACHE;
                }
                nodes.answered(n, a.dataSize(), a.mtimeNs());
            } catch (IOException e) {
                // no attributes, no kept cache
            }
        }
        long fh = nextFh.getAndIncrement();
        addHandle(fh, new Handle(vfsFh, n, flags, r.uid(), r.gid()));
        out.putLong(0, fh);
        out.putInt(8, openFlags);
        out.putInt(12, 0);
        return OPEN_OUT_SIZE;
    }

    private int create(Request r, int flags, int mode, String name, ByteBuffer out) throws Exception {
        return change(r, () -> {
            String p = childPath(r.nodeid(), name);
            long vfsFh = vfs.create(p, mode, r.caller());
            FileAttr a;
            try {
                a = vfs.getattr(vfsFh);
            } catch (IOException | RuntimeException e) {
                vfs.release(vfsFh);
                throw e;
            }
            NodeTable.Node n = nodes.lookedUp(r.nodeid(), name);
            entryOut(n, a, out);
            ByteBuffer open = out.slice(ENTRY_OUT_SIZE, OPEN_OUT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            long fh = nextFh.getAndIncrement();
            addHandle(fh, new Handle(vfsFh, n, flags, r.uid(), r.gid()));
            open.putLong(0, fh);
            open.putLong(8, 0);
            return ENTRY_OUT_SIZE + OPEN_OUT_SIZE;
        });
    }

    /** Bytes one handle may have written but not durable before they are checkpointed. */
    static final long PENDING_PER_FILE = 8L << 20;
    /** Bytes all handles together may have so; past it the writing handle is checkpointed. */
    static final long PENDING_ALL = 64L << 20;

    /**
     * A write; under supervision its bytes also go to the node journal before the kernel is
     * told, so a daemon that dies before they are durable does not lose them ({@link
     * KernelFuse}): a handle with too much of that is checkpointed (committed here, no upload).
     */
    private int write(ByteBuffer in, ByteBuffer out) throws IOException {
        long fh = in.getLong(0);
        Handle h = file(fh);
        int size = in.getInt(16);
        ByteBuffer data = in.slice(40, Math.min(size, in.limit() - 40));
        int n = vfs.write(h.vfsFh, in.getLong(8), data.duplicate());
        long pending = nodes.journalWrite(fh, in.getLong(8), data.slice(0, n));
        if (pending > PENDING_PER_FILE || (pending > 0 && nodes.pendingBytes() > PENDING_ALL)) {
            long mark = nodes.writeMark();
            if (vfs.checkpoint(h.vfsFh)) {
                nodes.journalClean(fh, mark);
            }
        }
        out.putInt(0, n);
        out.putInt(4, 0);
        return 8;
    }

    private int read(ByteBuffer in, ByteBuffer out) throws IOException {
        Handle h = file(in.getLong(0));
        int size = Math.min(in.getInt(16), out.capacity());
        ReadResult result = vfs.read(h.vfsFh, in.getLong(8), size, false, fromDisk -> out.slice(0, size));
        if (result instanceof ReadResult.Held held) {
            held.bytes().close(); // not asked for: nothing is held
            throw new IOException("a read held bytes it was not allowed to");
        }
        return ((ReadResult.Filled) result).length();
    }

    /** Puts a handle in the table (and the node journal): the kernel holds it from the reply on. */
    void addHandle(long fh, Handle h) {
        handles.put(fh, h);
        nodes.opened(h.node);
        nodes.handleOpened(fh, h.node, h.flags, h.vfsFh == -1, h.uid, h.gid);
    }

    private Handle removeHandle(long fh) {
        Handle h = handles.remove(fh);
        if (h != null) {
            nodes.handleClosed(fh);
        }
        return h;
    }

    /** The handles as a hand-over or the node journal carries them. */
    List<Handover.OpenHandle> openHandles() {
        List<Handover.OpenHandle> open = new ArrayList<>();
        for (java.util.Map.Entry<Long, Handle> e : handles.entrySet()) {
            Handle h = e.getValue();
            open.add(new Handover.OpenHandle(e.getKey(), h.node.id, h.flags, h.vfsFh == -1, h.uid, h.gid));
        }
        return open;
    }

    private int release(long fh) throws IOException {
        Handle h = removeHandle(fh);
        if (h == null) {
            return 0;
        }
        try {
            if (h.vfsFh >= 0) {
                vfs.release(h.vfsFh);
            }
        } finally {
            if (nodes.closed(h.node)) {
                removeHidden(h.node);
            }
        }
        return 0;
    }

    /** A hidden file (removed while open) goes with its last handle. */
    private void removeHidden(NodeTable.Node n) {
        String p = nodes.path(n.id);
        if (p == null || !p.substring(p.lastIndexOf('/') + 1).startsWith(".fuse_hidden")) {
            return;
        }
        try {
            vfs.unlink(p);
            NodeTable.Node parent = n.parent;
            if (parent != null) {
                nodes.removed(parent.id, n.name);
            }
        } catch (IOException e) {
            Errno.of("release", p, e);
        }
    }

    private int statfs(ByteBuffer out) throws IOException {
        FsStats s = vfs.statfs();
        out.putLong(0, s.totalBlocks());
        out.putLong(8, s.freeBlocks());
        out.putLong(16, s.availableBlocks());
        out.putLong(24, s.files());
        out.putLong(32, s.freeFiles());
        out.putInt(40, (int) s.blockSize());
        out.putInt(44, (int) s.nameMax());
        out.putInt(48, (int) s.blockSize());
        for (int at = 52; at < 80; at += 4) {
            out.putInt(at, 0);
        }
        return 80;
    }

    /** xattr convention: size 0 asks for the length; a too-small buffer is ERANGE. */
    private static int xattrOut(byte[] bytes, int size, ByteBuffer out) {
        if (size == 0) {
            out.putInt(0, bytes.length);
            out.putInt(4, 0);
            return 8;
        }
        if (size < bytes.length) {
            return -ERANGE;
        }
        out.put(0, bytes);
        return bytes.length;
    }

    /** Names from {@code offset} on, as many as fit; a listing is taken at offset 0 and kept by the handle. */
    private int readdir(long nodeid, ByteBuffer in, ByteBuffer out) throws IOException {
        Handle h = handles.get(in.getLong(0));
        long offset = in.getLong(8);
        int size = Math.min(in.getInt(16), out.capacity());
        List<String> names = h == null ? null : h.listing;
        if (names == null || offset == 0) {
            names = new ArrayList<>();
            names.add(".");
            names.add("..");
            names.addAll(vfs.readdir(path(nodeid)));
            if (h != null) {
                h.listing = names;
            }
        }
        int at = 0;
        for (long i = offset; i < names.size(); i++) {
            byte[] name = names.get((int) i).getBytes(StandardCharsets.UTF_8);
            int len = (24 + name.length + 7) & ~7;
            if (at + len > size) {
                break;
            }
            out.putLong(at, UNKNOWN_INO);
            out.putLong(at + 8, i + 1);
            out.putInt(at + 16, name.length);
            out.putInt(at + 20, 0); // DT_UNKNOWN: the caller stats when it needs the type
            out.put(at + 24, name);
            for (int pad = at + 24 + name.length; pad < at + len; pad++) {
                out.put(pad, (byte) 0);
            }
            at += len;
        }
        return at;
    }

    private Handle file(long fh) throws IOException {
        Handle h = handles.get(fh);
        if (h == null || h.vfsFh == -1) {
            throw PosixException.of(EBADF, "handle " + fh, null);
        }
        if (h.vfsFh == LOST) {
            throw PosixException.of(EIO, "handle " + fh, null);
        }
        return h;
    }

    private NodeTable.Node node(long id) throws NoSuchFileException {
        NodeTable.Node n = nodes.get(id);
        if (n == null) {
            throw new NoSuchFileException("node " + id);
        }
        return n;
    }

    private String path(long id) throws NoSuchFileException {
        return required(nodes.path(id));
    }

    private String childPath(long parent, String name) throws IOException {
        String p = nodes.child(parent, name);
        if (p == null) {
            throw PosixException.of(ENOENT, name, null);
        }
        FuseOps.requireNameMax(p);
        return p;
    }

    /** The NUL-terminated string at {@code in}'s position; the position moves past its NUL. */
    static String cstring(ByteBuffer in) {
        int start = in.position();
        int end = start;
        while (end < in.limit() && in.get(end) != 0) {
            end++;
        }
        byte[] b = new byte[end - start];
        in.get(start, b);
        in.position(Math.min(end + 1, in.limit()));
        return new String(b, StandardCharsets.UTF_8);
    }

    static String name(int opcode) {
        return switch (opcode) {
            case LOOKUP -> "lookup";
            case GETATTR -> "getattr";
            case SETATTR -> "setattr";
            case READLINK -> "readlink";
            case SYMLINK -> "symlink";
            case MKNOD -> "mknod";
            case MKDIR -> "mkdir";
            case UNLINK -> "unlink";
            case RMDIR -> "rmdir";
            case RENAME, RENAME2 -> "rename";
            case LINK -> "link";
            case OPEN -> "open";
            case READ -> "read";
            case WRITE -> "write";
            case STATFS -> "statfs";
            case RELEASE -> "release";
            case FSYNC -> "fsync";
            case SETXATTR -> "setxattr";
            case GETXATTR -> "getxattr";
            case LISTXATTR -> "listxattr";
            case REMOVEXATTR -> "removexattr";
            case FLUSH -> "flush";
            case OPENDIR -> "opendir";
            case READDIR -> "readdir";
            case RELEASEDIR -> "releasedir";
            case ACCESS -> "access";
            case CREATE -> "create";
            default -> "op" + opcode;
        };
    }
}
