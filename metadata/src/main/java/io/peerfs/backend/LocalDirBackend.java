package io.peerfs.backend;

import static io.peerfs.backend.LibC.C;
import static io.peerfs.backend.RootDir.AT_EMPTY_PATH;
import static io.peerfs.backend.RootDir.AT_REMOVEDIR;
import static io.peerfs.backend.RootDir.AT_SYMLINK_NOFOLLOW;
import static io.peerfs.backend.RootDir.O_CLOEXEC;
import static io.peerfs.backend.RootDir.O_CREAT;
import static io.peerfs.backend.RootDir.O_DIRECTORY;
import static io.peerfs.backend.RootDir.O_EXCL;
import static io.peerfs.backend.RootDir.O_NOFOLLOW;
import static io.peerfs.backend.RootDir.O_NONBLOCK;
import static io.peerfs.backend.RootDir.O_PATH;
import static io.peerfs.backend.RootDir.O_RDONLY;
import static io.peerfs.backend.RootDir.O_WRONLY;

import io.peerfs.meta.FileAttr;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Backend} that is a directory of a mounted POSIX file system (CPFS, NFS, a local
 * disk), acted on beneath one directory handle ({@link RootDir}): every call resolves its path
 * from the handle without following a symlink and works on the parent's handle with the
 * {@code *at} calls, so a directory swapped for a symlink underneath (by another node, or on
 * the store itself) is refused with ELOOP, never followed as root.
 */
public final class LocalDirBackend implements Backend {
    /** A utimensat time that leaves the time as it is. */
    private static final long UTIME_OMIT = (1L << 30) - 2;
    private static final int DIRENT_BUFFER = 64 << 10;
    private static final int S_ISGID = 02000;
    /** Largest xattr value (the kernel's XATTR_SIZE_MAX) and name list read. */
    private static final int XATTR_MAX = 64 << 10;

    private final RootDir root;
    private final DirectReads direct;

    private LocalDirBackend(RootDir root) {
        this.root = root;
        this.direct = new DirectReads(root);
    }

    /** Opens the backend directory {@code root}: it must exist and be a directory. */
    public static LocalDirBackend open(Path root) throws IOException {
        return open(root, true);
    }

    /** {@link #open}; {@code openat2} false resolves paths as on a kernel without openat2. */
    static LocalDirBackend open(Path root, boolean openat2) throws IOException {
        return new LocalDirBackend(RootDir.open(root.toAbsolutePath().normalize(), openat2));
    }

    /** Bytes that {@link #readInto} read past the page cache since start. */
    public long bytesReadDirect() {
        return direct.bytesRead();
    }

    public Path root() {
        return root.path();
    }

    /**
     * The normalised form of a backend-relative path; one that would lead outside the backend
     * directory is refused. What it names is resolved by {@link RootDir}, never by this text.
     */
    private String relative(String path) throws AccessDeniedException {
        if (path.isEmpty()) {
            return path;
        }
        Path p = Path.of(path).normalize();
        String rel = p.toString();
        if (path.startsWith("/") || rel.isEmpty() || rel.equals("..") || rel.startsWith("../")) {
            throw new AccessDeniedException(path, null, "outside the backend directory " + root.path());
        }
        return rel;
    }

    private RootDir.At parent(String path, int flags) throws IOException {
        String rel = relative(path);
        if (rel.isEmpty()) {
            throw new AccessDeniedException(path, null, "the backend directory itself");
        }
        return root.parent(rel, flags);
    }

    private int open(String path, int flags) throws IOException {
        return root.open(relative(path), flags);
    }

    private IOException failure(String path) {
        return root.failure(LibC.errno(), path);
    }

    private void check(int rc, String path) throws IOException {
        if (rc < 0) {
            throw failure(path);
        }
    }

    @Override
    public FileAttr stat(String path) throws IOException {
        ByteBuffer stx = Statx.buffer();
        String rel = relative(path);
        if (rel.isEmpty()) {
            check(C.statx(root.rootFd(), "", AT_EMPTY_PATH, Statx.MASK, stx), path);
        } else {
            try (RootDir.At at = root.parent(rel, O_PATH)) {
                check(C.statx(at.dirFd(), at.name(), AT_SYMLINK_NOFOLLOW, Statx.MASK, stx), path);
            }
        }
        return Statx.attr(stx);
    }

    @Override
    public List<String> list(String path) throws IOException {
        int fd = open(path, O_RDONLY | O_DIRECTORY);
        try {
            List<String> names = new ArrayList<>();
            ByteBuffer buf = ByteBuffer.allocateDirect(DIRENT_BUFFER).order(java.nio.ByteOrder.nativeOrder());
            byte[] name = new byte[256];
            while (true) {
                long n = C.getdents64(fd, buf.clear(), buf.capacity());
                if (n < 0) {
                    throw failure(path);
                }
                if (n == 0) {
                    return names;
                }
                for (int at = 0; at < n; ) {
                    int reclen = Short.toUnsignedInt(buf.getShort(at + 16));
                    int len = 0;
                    while (buf.get(at + 19 + len) != 0) {
                        name[len] = buf.get(at + 19 + len);
                        len++;
                    }
                    String s = new String(name, 0, len, StandardCharsets.UTF_8);
                    if (!s.equals(".") && !s.equals("..")) {
                        names.add(s);
                    }
                    at += reclen;
                }
            }
        } finally {
            C.close(fd);
        }
    }

    @Override
    public String readlink(String path) throws IOException {
        try (RootDir.At at = parent(path, O_PATH)) {
            ByteBuffer buf = ByteBuffer.allocate(4096);
            long n = C.readlinkat(at.dirFd(), at.name(), buf, buf.capacity());
            if (n < 0) {
                throw failure(path);
            }
            return new String(buf.array(), 0, (int) n, StandardCharsets.UTF_8);
        }
    }

    @Override
    public int read(String path, long offset, ByteBuffer dst) throws IOException {
        return read(path, offset, dst, null);
    }

    /** {@link #read}, then {@code same} checks the descriptor read (null: nothing to check). */
    private int read(String path, long offset, ByteBuffer dst, DirectReads.FdCheck same) throws IOException {
        int fd = openFile(path, O_RDONLY);
        try {
            int total = 0;
            while (dst.hasRemaining()) {
                long n = C.pread(fd, dst, dst.remaining(), offset + total);
                if (n < 0) {
                    if (LibC.errno() == PosixException.EINTR) {
                        continue;
                    }
                    throw failure(path);
                }
                if (n == 0) {
                    break;
                }
                dst.position(dst.position() + (int) n);
                total += (int) n;
            }
            if (same != null) {
                same.check(fd);
            }
            return total;
        } finally {
            C.close(fd);
        }
    }

    /** {@link #readInto}, checking on each descriptor read that the file is still that version. */
    @Override
    public int readVersion(String path, long offset, ByteBuffer dst, long size, long mtimeNs) throws IOException {
        DirectReads.FdCheck same = fd -> {
            ByteBuffer stx = Statx.buffer();
            check(C.statx(fd, "", AT_EMPTY_PATH, Statx.MASK, stx), path);
            FileAttr now = Statx.attr(stx);
            if (now.size() != size || now.mtimeNs() != mtimeNs) {
                throw new FileChangedException(path, size, mtimeNs, now.size(), now.mtimeNs());
            }
        };
        int n = direct.read(relative(path), offset, dst, same);
        return dst.hasRemaining() ? n + read(path, offset + n, dst, same) : n;
    }

    /**
     * Opens a file that must be a regular file: {@code O_NONBLOCK}, so a FIFO or device put in
     * its place never blocks the caller (and is refused with EINVAL).
     */
    private int openFile(String path, int flags) throws IOException {
        return root.requireRegular(open(path, flags | O_NONBLOCK), path);
    }

    /**
     * {@link #read}, the whole blocks past the page cache where the buffer and offset are
     * aligned to them and the file system allows it ({@link DirectReads}): a chunk read into
     * the store is not kept a second time in the page cache.
     */
    @Override
    public int readInto(String path, long offset, ByteBuffer dst) throws IOException {
        int n = direct.read(relative(path), offset, dst);
        return dst.hasRemaining() ? n + read(path, offset + n, dst) : n; // the short last block, or all
    }

    /**
     * The path of an {@code O_PATH} descriptor that the xattr calls (which have no {@code *at}
     * form) resolve to exactly that inode: the link is the kernel's, nothing is walked again.
     */
    private static String byDescriptor(int fd) {
        return "/proc/self/fd/" + fd;
    }

    @Override
    public Map<String, byte[]> xattrs(String path) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        int fd = open(path, O_PATH);
        try {
            ByteBuffer stx = Statx.buffer();
            check(C.statx(fd, "", AT_EMPTY_PATH, Statx.MASK, stx), path);
            if (Statx.isSymlink(stx)) {
                return out; // no user xattrs on symlinks
            }
            String self = byDescriptor(fd);
            ByteBuffer list = ByteBuffer.allocate(XATTR_MAX);
            long n = C.listxattr(self, list, list.capacity());
            if (n < 0) {
                if (LibC.errno() == PosixException.EOPNOTSUPP) {
                    return out; // file system without xattrs
                }
                throw failure(path);
            }
            ByteBuffer value = ByteBuffer.allocate(XATTR_MAX);
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (list.get(i) != 0) {
                    continue;
                }
                String name = new String(list.array(), start, i - start, StandardCharsets.UTF_8);
                start = i + 1;
                if (!name.startsWith("user.")) {
                    continue;
                }
                long len = C.getxattr(self, name, value.clear(), value.capacity());
                if (len < 0) {
                    if (LibC.errno() == PosixException.ENODATA) {
                        continue; // removed since the listing
                    }
                    throw failure(path);
                }
                out.put(name, java.util.Arrays.copyOf(value.array(), (int) len));
            }
            return out;
        } finally {
            C.close(fd);
        }
    }

    @Override
    public FsStats statfs() throws IOException {
        FileStore fs = Files.getFileStore(root.path());
        long bs = Math.max(1, fs.getBlockSize());
        return new FsStats(bs, fs.getTotalSpace() / bs, fs.getUnallocatedSpace() / bs, fs.getUsableSpace() / bs,
                0, 0, 255);
    }

    /**
     * Writes the temporary file in the target's directory, as opened beneath the root once, and
     * renames it there: a directory swapped for a symlink during the upload cannot send the
     * bytes or the rename anywhere else.
     */
    @Override
    public FileAttr replace(String path, long size, NewFile meta, Content content, String tempTag) throws IOException {
        return ThreadIdentity.as(uploader(meta), () -> upload(path, size, meta, content, tempTag));
    }

    /**
     * Who an upload is made as: the caller where one is current (a persist), else the file's
     * writer, whose owner it gets (a close, a background upload, a journal replayed at start).
     */
    private static Credentials uploader(NewFile meta) {
        Credentials c = Credentials.current();
        if (c != null || meta.uid() < 0) {
            return c;
        }
        return Credentials.of(meta.uid(), Math.max(meta.gid(), 0));
    }

    private FileAttr upload(String path, long size, NewFile meta, Content content, String tempTag)
            throws IOException {
        try (RootDir.At at = parent(path, O_RDONLY)) {
            int inPlace = openForRewrite(at, path);
            if (inPlace >= 0) {
                return rewrite(inPlace, path, size, content);
            }
            String temp = Backend.temporaryName(at.name(), tempTag);
            C.unlinkat(at.dirFd(), temp, 0); // a retried upload's earlier attempt
            int fd = C.openat(at.dirFd(), temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0) {
                throw failure(path);
            }
            FileAttr written;
            try {
                try {
                    write(fd, path, size, content);
                    applyMeta(fd, path, meta);
                    ByteBuffer stx = Statx.buffer();
                    check(C.statx(fd, "", AT_EMPTY_PATH, Statx.MASK, stx), path);
                    written = Statx.attr(stx); // a rename keeps size and mtime
                } finally {
                    C.close(fd);
                }
                if (!ThreadIdentity.asDaemon(content::mayCommit)) {
                    throw new IOException("upload of " + path + " abandoned by its caller");
                }
                check(C.renameat(at.dirFd(), temp, at.dirFd(), at.name()), path);
            } catch (IOException | RuntimeException e) {
                C.unlinkat(at.dirFd(), temp, 0);
                throw e;
            }
            check(C.fsync(at.dirFd()), path); // so the rename survives a crash of the machine
            return written;
        }
    }

    /**
     * The file at {@code at} opened for writing, as the uploader, where its data must be
     * rewritten in place rather than replaced by a renamed temp file; else -1. So it is for a
     * file with more than one name (hard links: a rename over one name would split them), and
     * for another user's file the uploader may write by its modes or ACLs: the store checks
     * that permission on the file itself, as for a write in place on the store, and the file
     * keeps its owner, group and mode (a rename would need the directory and change them).
     */
    private int openForRewrite(RootDir.At at, String path) throws IOException {
        ByteBuffer stx = Statx.buffer();
        if (C.statx(at.dirFd(), at.name(), AT_SYMLINK_NOFOLLOW, Statx.MASK, stx) != 0 || !Statx.isRegular(stx)) {
            return -1; // missing (a new file) or something else (the rename refuses it)
        }
        FileAttr existing = Statx.attr(stx);
        Credentials as = ThreadIdentity.acting() ? Credentials.current() : null;
        if (existing.nlink() < 2 && (as == null || as.uid() == existing.uid())) {
            return -1;
        }
        int fd = C.openat(at.dirFd(), at.name(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
        if (fd < 0) {
            throw failure(path);
        }
        return root.requireRegular(fd, path);
    }

    /**
     * Writes the content over a hard-linked file through its own descriptor and cuts it to
     * {@code size}: every name sees it, and the file keeps its inode, owner, mode and xattrs.
     * Readers on the store may see the file half-written meanwhile (documented).
     */
    private FileAttr rewrite(int fd, String path, long size, Content content) throws IOException {
        try {
            if (!ThreadIdentity.asDaemon(content::mayCommit)) {
                throw new IOException("upload of " + path + " abandoned by its caller");
            }
            check(C.ftruncate(fd, size), path); // past the new end first: no stale tail is ever read
            write(fd, path, size, content);
            ByteBuffer stx = Statx.buffer();
            check(C.statx(fd, "", AT_EMPTY_PATH, Statx.MASK, stx), path);
            return Statx.attr(stx);
        } finally {
            C.close(fd);
        }
    }

    private static final int COPY_BUFFER = 1 << 20;
    private static final long FLUSH_EVERY = 16 << 20;

    private void write(int fd, String path, long size, Content content) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(Math.max(size, 1), COPY_BUFFER));
        long unflushed = 0;
        for (long off = 0; off < size; ) {
            buf.clear().limit((int) Math.min(buf.capacity(), size - off));
            long from = off;
            int n = ThreadIdentity.asDaemon(() -> content.read(from, buf)); // the staged bytes are in the cache
            if (n <= 0) {
                throw new IOException("content of " + path + " ended at " + off + " of " + size + " bytes");
            }
            buf.flip();
            while (buf.hasRemaining()) {
                long w = C.pwrite(fd, buf, buf.remaining(), off);
                if (w < 0) {
                    if (LibC.errno() == PosixException.EINTR) {
                        continue;
                    }
                    throw failure(path);
                }
                buf.position(buf.position() + (int) w);
                off += w;
                unflushed += w;
            }
            if (unflushed >= FLUSH_EVERY) { // so that the final fsync is short, and progress is seen
                check(C.fdatasync(fd), path);
                unflushed = 0;
            }
            ThreadIdentity.asDaemon(() -> {
                content.progress();
                return null;
            });
        }
        check(C.fsync(fd), path);
        ThreadIdentity.asDaemon(() -> {
            content.progress();
            return null;
        });
    }

    /** Mode, owner, xattrs and times of a file just created, through its own descriptor. */
    private void applyMeta(int fd, String path, NewFile meta) throws IOException {
        check(C.fchmod(fd, meta.mode() & 07777), path);
        // made as a user, it is that user's already, with the group the store gives (the
        // directory's, where it is setgid): no other owner is given
        if ((meta.uid() != -1 || meta.gid() != -1) && !ThreadIdentity.acting()) {
            check(C.fchown(fd, meta.uid(), meta.gid()), path);
        }
        for (Map.Entry<String, byte[]> x : meta.xattrs().entrySet()) {
            ByteBuffer v = ByteBuffer.wrap(x.getValue());
            check(C.fsetxattr(fd, x.getKey(), v, v.remaining(), 0), path);
        }
        if (meta.mtimeNs() != Long.MIN_VALUE) {
            check(C.futimens(fd, times(meta.atimeNs(), meta.mtimeNs())), path);
        }
    }

    private static long[] times(long atimeNs, long mtimeNs) {
        long[] t = new long[4];
        set(t, 0, atimeNs);
        set(t, 2, mtimeNs);
        return t;
    }

    private static void set(long[] t, int at, long ns) {
        if (ns == Long.MIN_VALUE) {
            t[at + 1] = UTIME_OMIT;
        } else {
            t[at] = Math.floorDiv(ns, 1_000_000_000L);
            t[at + 1] = Math.floorMod(ns, 1_000_000_000L);
        }
    }

    @Override
    public void createFile(String path, NewFile meta) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            try (RootDir.At at = parent(path, O_PATH)) {
                int fd = C.openat(at.dirFd(), at.name(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0) {
                    throw failure(path);
                }
                try {
                    applyMeta(fd, path, meta);
                } finally {
                    C.close(fd);
                }
            }
            return null;
        });
    }

    @Override
    public void mkdir(String path, NewFile meta) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            try (RootDir.At at = parent(path, O_PATH)) {
                check(C.mkdirat(at.dirFd(), at.name(), 0700), path);
                ByteBuffer stx = Statx.buffer();
                check(C.statx(at.dirFd(), at.name(), AT_SYMLINK_NOFOLLOW, Statx.MASK, stx), path);
                // the daemon's umask (077) is not the caller's, whose mode the kernel already
                // masked: the mode is set again, keeping a setgid bit inherited from the parent
                // as mkdir(2) does (so as the daemon: a chmod by a non-member would clear it)
                int mode = meta.mode() & 01777 | Statx.mode(stx) & S_ISGID;
                ThreadIdentity.asDaemon(() -> {
                    check(C.fchmodat(at.dirFd(), at.name(), mode, AT_SYMLINK_NOFOLLOW), path);
                    return null;
                });
                own(at, path, meta.uid(), meta.gid());
            }
            return null;
        });
    }

    @Override
    public void mknod(String path, io.peerfs.meta.FileType type, long rdev, NewFile meta) throws IOException {
        if (!type.isSpecial()) {
            throw PosixException.of(PosixException.EINVAL, path, null);
        }
        ThreadIdentity.as(Credentials.current(), () -> {
            try (RootDir.At at = parent(path, O_PATH)) {
                check(C.mknodat(at.dirFd(), at.name(), type.modeBits() | 0600, type.isDevice() ? rdev : 0), path);
                // the daemon's umask (077) is not the caller's, whose mode the kernel already masked
                check(C.fchmodat(at.dirFd(), at.name(), meta.mode() & 07777, AT_SYMLINK_NOFOLLOW), path);
                own(at, path, meta.uid(), meta.gid());
            }
            return null;
        });
    }

    /** The owner of something just made; made as a user, it is that user's already (see {@link #applyMeta}). */
    private void own(RootDir.At at, String path, int uid, int gid) throws IOException {
        if (!ThreadIdentity.acting()) {
            chown(at, path, uid, gid);
        }
    }

    private void chown(RootDir.At at, String path, int uid, int gid) throws IOException {
        if (uid != -1 || gid != -1) {
            check(C.fchownat(at.dirFd(), at.name(), uid, gid, AT_SYMLINK_NOFOLLOW), path);
        }
    }

    @Override
    public void symlink(String target, String path, int uid, int gid) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            try (RootDir.At at = parent(path, O_PATH)) {
                check(C.symlinkat(target, at.dirFd(), at.name()), path);
                own(at, path, uid, gid);
            }
            return null;
        });
    }

    @Override
    public void link(String from, String to) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            try (RootDir.At source = parent(from, O_PATH); RootDir.At target = parent(to, O_PATH)) {
                check(C.linkat(source.dirFd(), source.name(), target.dirFd(), target.name(), 0), to);
            }
            return null;
        });
    }

    @Override
    public void delete(String path) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            try (RootDir.At at = parent(path, O_PATH)) {
                if (C.unlinkat(at.dirFd(), at.name(), 0) < 0) {
                    if (LibC.errno() != PosixException.EISDIR) {
                        throw failure(path);
                    }
                    check(C.unlinkat(at.dirFd(), at.name(), AT_REMOVEDIR), path);
                }
            }
            return null;
        });
    }

    @Override
    public void rename(String from, String to) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            try (RootDir.At source = parent(from, O_PATH); RootDir.At target = parent(to, O_PATH)) {
                if (C.renameat(source.dirFd(), source.name(), target.dirFd(), target.name()) < 0) {
                    throw root.failure(LibC.errno(), from);
                }
            }
            return null;
        });
    }

    @Override
    public void setMode(String path, int mode) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            try (RootDir.At at = parent(path, O_PATH)) {
                check(C.fchmodat(at.dirFd(), at.name(), mode & 07777, AT_SYMLINK_NOFOLLOW), path);
            }
            return null;
        });
    }

    @Override
    public void setOwner(String path, int uid, int gid) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            try (RootDir.At at = parent(path, O_PATH)) {
                chown(at, path, uid, gid);
            }
            return null;
        });
    }

    @Override
    public void setTimes(String path, long atimeNs, long mtimeNs) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            try (RootDir.At at = parent(path, O_PATH)) {
                check(C.utimensat(at.dirFd(), at.name(), times(atimeNs, mtimeNs), AT_SYMLINK_NOFOLLOW), path);
            }
            return null;
        });
    }

    /** Through an {@code O_NOFOLLOW} descriptor without {@code O_CREAT}: a final symlink is refused, nothing is made. */
    @Override
    public void truncate(String path, long size) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            int fd = openFile(path, O_WRONLY);
            try {
                check(C.ftruncate(fd, size), path);
            } finally {
                C.close(fd);
            }
            return null;
        });
    }

    @Override
    public void setXattr(String path, String name, byte[] value) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            int fd = open(path, O_PATH);
            try {
                ByteBuffer v = ByteBuffer.wrap(value);
                check(C.setxattr(byDescriptor(fd), name, v, v.remaining(), 0), path);
            } finally {
                C.close(fd);
            }
            return null;
        });
    }

    @Override
    public void removeXattr(String path, String name) throws IOException {
        ThreadIdentity.as(Credentials.current(), () -> {
            int fd = open(path, O_PATH);
            try {
                check(C.removexattr(byDescriptor(fd), name), path);
            } finally {
                C.close(fd);
            }
            return null;
        });
    }
}
