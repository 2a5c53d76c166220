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
import java.nio.file.StandardOpenOption;
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

    private final Path root;

    public LocalDirBackend(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    Path resolve(String path) {
        return path.isEmpty() ? root : root.resolve(path);
    }

    @Override
    public FileAttr stat(String path) throws IOException {
        Map<String, Object> a = Files.readAttributes(resolve(path), "unix:*", LinkOption.NOFOLLOW_LINKS);
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
}
