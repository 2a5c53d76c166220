package io.peerfs.backend;

import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A {@link Backend} that is a directory of a mounted POSIX file system (CPFS, NFS, a local disk). */
public final class LocalDirBackend implements Backend {
    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    /**
     * What a stat reads: numbers only. {@code unix:*} would also name the owner and group, a
     * passwd and a group lookup per stat (15 instead of 2.5 us here with /etc files; with LDAP
     * or SSSD behind NSS a network round trip, or a hang).
     */
    private static final String STAT_ATTRIBUTES =
            "unix:mode,size,lastModifiedTime,ctime,lastAccessTime,nlink,uid,gid,ino";

    private final Path root;
    private final DirectReads direct;

    public LocalDirBackend(Path root) {
        this.root = root.toAbsolutePath().normalize();
        this.direct = new DirectReads(this.root);
    }

    /** Bytes that {@link #readInto} read past the page cache since start. */
    public long bytesReadDirect() {
        return direct.bytesRead();
    }

    public Path root() {
        return root;
    }

    /** The file of a backend-relative path; one that would lead outside the backend directory is refused. */
    Path resolve(String path) throws java.nio.file.AccessDeniedException {
        if (path.isEmpty()) {
            return root;
        }
        Path p = root.resolve(path).normalize();
        if (!p.startsWith(root) || p.equals(root) || path.startsWith("/")) {
            throw new java.nio.file.AccessDeniedException(path, null, "outside the backend directory " + root);
        }
        return p;
    }

    @Override
    public FileAttr stat(String path) throws IOException {
        return stat(resolve(path));
    }

    private static FileAttr stat(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, STAT_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        FileType type = switch (mode & S_IFMT) {
            case S_IFDIR -> FileType.DIRECTORY;
            case S_IFREG -> FileType.FILE;
            case S_IFLNK -> FileType.SYMLINK;
            default -> FileType.OTHER;
        };
        return new FileAttr(type, mode & 07777, (Long) a.get("size"), nanos(a.get("lastModifiedTime")),
                nanos(a.get("ctime")), nanos(a.get("lastAccessTime")), (Integer) a.get("nlink"),
                (Integer) a.get("uid"), (Integer) a.get("gid"), (Long) a.get("ino"));
    }

    private static long nanos(Object fileTime) {
        return ((FileTime) fileTime).to(TimeUnit.NANOSECONDS);
    }

    @Override
    public List<String> list(String path) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(resolve(path))) {
            for (Path p : ds) {
                names.add(p.getFileName().toString());
            }
        }
        return names;
    }

    @Override
    public String readlink(String path) throws IOException {
        return Files.readSymbolicLink(resolve(path)).toString();
    }

    @Override
    public int read(String path, long offset, ByteBuffer dst) throws IOException {
        try (FileChannel ch = FileChannel.open(resolve(path), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            int total = 0;
            while (dst.hasRemaining()) {
                int n = ch.read(dst, offset + total);
                if (n < 0) {
                    break;
                }
                total += n;
            }
            return total;
        }
    }

    /**
     * {@link #read}, the whole blocks past the page cache where the buffer and offset are
     * aligned to them and the file system allows it ({@link DirectReads}): a chunk read into
     * the store is not kept a second time in the page cache.
     */
    @Override
    public int readInto(String path, long offset, ByteBuffer dst) throws IOException {
        int n = direct.read(resolve(path), offset, dst);
        return dst.hasRemaining() ? n + read(path, offset + n, dst) : n; // the short last block, or all
    }

    @Override
    public Map<String, byte[]> xattrs(String path) throws IOException {
        Path p = resolve(path);
        UserDefinedFileAttributeView view =
                Files.getFileAttributeView(p, UserDefinedFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        Map<String, byte[]> out = new LinkedHashMap<>();
        if (view == null || Files.isSymbolicLink(p)) {
            return out;
        }
        try {
            for (String name : view.list()) {
                ByteBuffer b = ByteBuffer.allocate(view.size(name));
                view.read(name, b);
                out.put("user." + name, b.array());
            }
        } catch (UnsupportedOperationException e) {
            return out; // file system without user xattrs
        }
        return out;
    }

    @Override
    public FsStats statfs() throws IOException {
        FileStore fs = Files.getFileStore(root);
        long bs = Math.max(1, fs.getBlockSize());
        return new FsStats(bs, fs.getTotalSpace() / bs, fs.getUnallocatedSpace() / bs, fs.getUsableSpace() / bs,
                0, 0, 255);
    }

    @Override
    public FileAttr replace(String path, long size, NewFile meta, Content content, String tempTag) throws IOException {
        Path target = resolve(path);
        FileAttr written;
        Path temp = target.resolveSibling(Backend.temporaryName(target.getFileName().toString(), tempTag));
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(Math.max(size, 1), COPY_BUFFER));
                long unflushed = 0;
                for (long off = 0; off < size; ) {
                    buf.clear().limit((int) Math.min(buf.capacity(), size - off));
                    int n = content.read(off, buf);
                    if (n <= 0) {
                        throw new IOException("content of " + path + " ended at " + off + " of " + size + " bytes");
                    }
                    buf.flip();
                    while (buf.hasRemaining()) {
                        int w = ch.write(buf, off);
                        off += w;
                        unflushed += w;
                    }
                    if (unflushed >= FLUSH_EVERY) { // so that the final force is short, and progress is seen
                        ch.force(false);
                        unflushed = 0;
                    }
                    content.progress();
                }
                ch.force(true);
                content.progress();
            }
            applyMeta(temp, meta);
            written = stat(temp); // a rename keeps size and mtime
            if (!content.mayCommit()) {
                throw new IOException("upload of " + path + " abandoned by its caller");
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        forceDirectory(target.getParent());
        return written;
    }

    private static final int COPY_BUFFER = 1 << 20;
    private static final long FLUSH_EVERY = 16 << 20;

    private static void applyMeta(Path p, NewFile meta) throws IOException {
        Files.setAttribute(p, "unix:mode", meta.mode() & 07777, LinkOption.NOFOLLOW_LINKS);
        chown(p, meta.uid(), meta.gid());
        UserDefinedFileAttributeView view =
                Files.getFileAttributeView(p, UserDefinedFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        for (Map.Entry<String, byte[]> x : meta.xattrs().entrySet()) {
            view.write(x.getKey().substring("user.".length()), ByteBuffer.wrap(x.getValue()));
        }
        if (meta.mtimeNs() != Long.MIN_VALUE) {
            Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setTimes(FileTime.from(meta.mtimeNs(), TimeUnit.NANOSECONDS),
                            FileTime.from(meta.atimeNs(), TimeUnit.NANOSECONDS), null);
        }
    }

    private static void chown(Path p, int uid, int gid) throws IOException {
        if (uid != -1) {
            Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        }
        if (gid != -1) {
            Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** fsync of a directory, so a rename in it survives a crash of the machine. */
    private static void forceDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    @Override
    public void createFile(String path, NewFile meta) throws IOException {
        Path p = resolve(path);
        Files.newByteChannel(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
        applyMeta(p, meta);
    }

    @Override
    public void mkdir(String path, NewFile meta) throws IOException {
        Path p = resolve(path);
        Files.createDirectory(p);
        Files.setAttribute(p, "unix:mode", meta.mode() & 07777, LinkOption.NOFOLLOW_LINKS);
        chown(p, meta.uid(), meta.gid());
    }

    @Override
    public void symlink(String target, String path, int uid, int gid) throws IOException {
        Path p = resolve(path);
        Files.createSymbolicLink(p, Path.of(target));
        chown(p, uid, gid);
    }

    @Override
    public void link(String from, String to) throws IOException {
        Files.createLink(resolve(to), resolve(from));
    }

    @Override
    public void delete(String path) throws IOException {
        Files.delete(resolve(path));
    }

    @Override
    public void rename(String from, String to) throws IOException {
        Files.move(resolve(from), resolve(to), StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public void setMode(String path, int mode) throws IOException {
        Files.setAttribute(resolve(path), "unix:mode", mode & 07777, LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public void setOwner(String path, int uid, int gid) throws IOException {
        chown(resolve(path), uid, gid);
    }

    @Override
    public void setTimes(String path, long atimeNs, long mtimeNs) throws IOException {
        Files.getFileAttributeView(resolve(path), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(
                mtimeNs == Long.MIN_VALUE ? null : FileTime.from(mtimeNs, TimeUnit.NANOSECONDS),
                atimeNs == Long.MIN_VALUE ? null : FileTime.from(atimeNs, TimeUnit.NANOSECONDS), null);
    }

    @Override
    public void truncate(String path, long size) throws IOException {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(resolve(path).toFile(), "rw")) {
            f.setLength(size);
        } catch (java.io.FileNotFoundException e) {
            throw new NoSuchFileException(path, null, e.getMessage());
        }
    }

    @Override
    public void setXattr(String path, String name, byte[] value) throws IOException {
        xattrView(path).write(name.substring("user.".length()), ByteBuffer.wrap(value));
    }

    @Override
    public void removeXattr(String path, String name) throws IOException {
        xattrView(path).delete(name.substring("user.".length()));
    }

    private UserDefinedFileAttributeView xattrView(String path) throws IOException {
        UserDefinedFileAttributeView view = Files.getFileAttributeView(resolve(path),
                UserDefinedFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        if (view == null) {
            throw new java.nio.file.FileSystemException(path, null, "Operation not supported");
        }
        return view;
    }
}
