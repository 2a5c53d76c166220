package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The same POSIX call sequences, run on a local directory and on a PeerFS one, to compare. */
final class PosixOps {
    static final int CHUNK = 1 << 20;

    private PosixOps() {
    }

    @FunctionalInterface
    interface Op {
        Object run(Path root) throws Exception;
    }

    /** Runs an op and describes its outcome: its value, or the error's reason. */
    static String outcome(Op op, Path root) {
        try {
            Object v = op.run(root);
            if (v instanceof byte[] b) {
                return "bytes:" + Arrays.hashCode(b) + ":" + b.length;
            }
            return "ok:" + v;
        } catch (FileSystemException e) {
            return e.getClass().getSimpleName() + ":" + e.getReason();
        } catch (Exception e) {
            return e.getClass().getSimpleName();
        }
    }

    /** Runs each op in {@code local} and in {@code peerfs}; returns the ones whose outcomes differ. */
    static List<String> differences(Path local, Path peerfs, Map<String, Op> ops) {
        List<String> differences = new ArrayList<>();
        for (Map.Entry<String, Op> e : ops.entrySet()) {
            String want = outcome(e.getValue(), local);
            String got = outcome(e.getValue(), peerfs);
            if (!want.equals(got)) {
                differences.add(e.getKey() + ": local " + want + ", peerfs " + got);
            }
        }
        return differences;
    }

    /** The names in a directory, sorted. */
    static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static byte[] pread(Path f, long off, int len) throws Exception {
        try (FileChannel ch = FileChannel.open(f)) {
            ByteBuffer b = ByteBuffer.allocate(len);
            int n = ch.read(b, off);
            return Arrays.copyOf(b.array(), Math.max(0, n));
        }
    }

    static Object pwrite(Path f, long off, byte[] data, StandardOpenOption... opts) throws Exception {
        List<StandardOpenOption> o = new ArrayList<>(List.of(StandardOpenOption.WRITE));
        o.addAll(List.of(opts));
        try (FileChannel ch = FileChannel.open(f, o.toArray(StandardOpenOption[]::new))) {
            return ch.write(ByteBuffer.wrap(data), off);
        }
    }

    /** Creating, writing at offsets, holes, reads, truncates, O_TRUNC, two descriptors, unlink while open, fsync. */
    static Map<String, Op> fileData() {
        Map<String, Op> ops = new LinkedHashMap<>();
        ops.put("create", r -> Files.write(r.resolve("a"), random(3 * CHUNK + 5, 1)) != null);
        ops.put("create exclusive on existing", r -> Files.write(r.resolve("a"), new byte[1], StandardOpenOption.CREATE_NEW));
        ops.put("write in the middle", r -> pwrite(r.resolve("a"), CHUNK - 3, random(10, 2)));
        ops.put("write past the end (hole)", r -> pwrite(r.resolve("a"), 6L * CHUNK, random(100, 3)));
        ops.put("read across chunks", r -> pread(r.resolve("a"), CHUNK - 10, 2 * CHUNK));
        ops.put("read the hole", r -> pread(r.resolve("a"), 4L * CHUNK, 1000));
        ops.put("read past the end", r -> pread(r.resolve("a"), 10L * CHUNK, 10));
        ops.put("append", r -> Files.write(r.resolve("a"), random(777, 4), StandardOpenOption.APPEND) != null);
        ops.put("size", r -> Files.size(r.resolve("a")));
        ops.put("truncate down", r -> {
            try (RandomAccessFile f = new RandomAccessFile(r.resolve("a").toFile(), "rw")) {
                f.setLength(CHUNK + 17);
            }
            return Files.size(r.resolve("a"));
        });
        ops.put("truncate up", r -> {
            try (RandomAccessFile f = new RandomAccessFile(r.resolve("a").toFile(), "rw")) {
                f.setLength(2L * CHUNK + 1);
            }
            return Files.size(r.resolve("a"));
        });
        ops.put("read after truncates", r -> Files.readAllBytes(r.resolve("a")));
        ops.put("O_TRUNC", r -> Files.write(r.resolve("b"), random(5000, 5)) != null
                && Files.write(r.resolve("b"), random(10, 6), StandardOpenOption.TRUNCATE_EXISTING) != null);
        ops.put("read after O_TRUNC", r -> Files.readAllBytes(r.resolve("b")));
        ops.put("empty file", r -> Files.write(r.resolve("empty"), new byte[0]) != null && Files.size(r.resolve("empty")) == 0);
        ops.put("read and write through two descriptors", r -> {
            try (FileChannel w = FileChannel.open(r.resolve("two"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileChannel rd = FileChannel.open(r.resolve("two"), StandardOpenOption.READ)) {
                w.write(ByteBuffer.wrap("written".getBytes(StandardCharsets.UTF_8)), 0);
                ByteBuffer b = ByteBuffer.allocate(20);
                rd.read(b, 0);
                return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
            }
        });
        ops.put("unlink while open", r -> {
            Files.write(r.resolve("gone"), random(2 * CHUNK, 7));
            try (FileChannel ch = FileChannel.open(r.resolve("gone"))) {
                Files.delete(r.resolve("gone"));
                ByteBuffer b = ByteBuffer.allocate(2 * CHUNK);
                while (b.hasRemaining() && ch.read(b) > 0) {
                    // read it all
                }
                return Arrays.hashCode(b.array()) + ":" + Files.exists(r.resolve("gone"));
            }
        });
        ops.put("removed while open, then its directory", r -> {
            Path dir = Files.createDirectory(r.resolve("rm"));
            List<Object> seen = new ArrayList<>();
            try (FileChannel ch = FileChannel.open(dir.resolve("f"), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(random(CHUNK + 10, 8)));
                Files.delete(dir.resolve("f"));
                seen.add(names(dir)); // no trace of it: libfuse's .fuse_hiddenNNN is not listed
                seen.add(ch.size()); // fstat
                ch.write(ByteBuffer.wrap(random(100, 9)), 2L * CHUNK);
                ch.truncate(CHUNK);
                seen.add(ch.size());
                ByteBuffer b = ByteBuffer.allocate(CHUNK);
                ch.read(b, 0);
                seen.add(Arrays.hashCode(b.array()));
            }
            // at once: the kernel sends the release behind the close
            Files.delete(dir);
            seen.add(Files.exists(dir));
            return seen;
        });
        ops.put("fsync", r -> {
            try (FileChannel ch = FileChannel.open(r.resolve("a"), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 5);
                ch.force(true);
            }
            return Files.size(r.resolve("a"));
        });
        return ops;
    }

    /** mkdir, rmdir, renames of files and directories, symlinks, hard links, chmod, utimens, xattrs. */
    /**
     * FIFOs, unix sockets and device nodes: made, looked at, used through the kernel, renamed,
     * linked and removed again (a tree compare would block reading a FIFO).
     */
    static Map<String, Op> specialFiles() {
        Map<String, Op> ops = new LinkedHashMap<>();
        ops.put("mkfifo", r -> run("mkfifo", "-m", "0640", r.resolve("p").toString()));
        ops.put("fifo attributes", r -> Files.readAttributes(r.resolve("p"), "unix:mode,size,nlink"));
        ops.put("mkfifo on a taken name", r -> run("mkfifo", r.resolve("p").toString()));
        ops.put("bytes through the fifo", r -> {
            Thread writer = new Thread(() -> {
                try {
                    Files.writeString(r.resolve("p"), "through the kernel");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            writer.start();
            String read = Files.readString(r.resolve("p")); // blocks until the writer opens, as on ext4
            writer.join(10_000);
            return read;
        });
        ops.put("unix socket: bind, connect, talk", r -> {
            var at = java.net.UnixDomainSocketAddress.of(r.resolve("s"));
            try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                server.bind(at);
                try (var client = java.nio.channels.SocketChannel.open(at); var peer = server.accept()) {
                    client.write(StandardCharsets.UTF_8.encode("ping"));
                    ByteBuffer got = ByteBuffer.allocate(4);
                    while (got.hasRemaining() && peer.read(got) >= 0) {
                        // until the four bytes are in
                    }
                    return new String(got.array(), StandardCharsets.UTF_8) + " "
                            + Files.readAttributes(r.resolve("s"), "unix:mode");
                }
            }
        });
        ops.put("mknod a character device", r -> run("mknod", "-m", "0600", r.resolve("c").toString(), "c", "1", "3")
                + " " + Files.readAttributes(r.resolve("c"), "unix:mode,rdev,size"));
        ops.put("mknod a block device", r -> run("mknod", "-m", "0640", r.resolve("b").toString(), "b", "7", "200")
                + " " + Files.readAttributes(r.resolve("b"), "unix:mode,rdev,size"));
        ops.put("rename a fifo", r -> Files.move(r.resolve("p"), r.resolve("p2")) != null
                ? Files.readAttributes(r.resolve("p2"), "unix:mode") : null);
        // the new name's count: the old name's is the kernel's cached one until use_ino (libfuse
        // numbers each path by itself; issue #31)
        ops.put("hard link to a fifo", r -> Files.createLink(r.resolve("p3"), r.resolve("p2")) != null
                ? Files.readAttributes(r.resolve("p3"), "unix:nlink,mode") : null);
        ops.put("listing", r -> {
            try (Stream<Path> s = Files.list(r)) {
                return s.map(p -> p.getFileName().toString()).sorted().toList();
            }
        });
        ops.put("remove them", r -> {
            for (String name : List.of("p2", "p3", "s", "c", "b")) {
                Files.delete(r.resolve(name));
            }
            return true;
        });
        return ops;
    }

    /**
     * Every change of a directory's entries sets its mtime and ctime (both directories' for a
     * rename between two), and each subdirectory counts as a link of its parent.
     */
    static Map<String, Op> parentTimes() {
        Map<String, Op> ops = new LinkedHashMap<>();
        ops.put("make d and e", r -> Files.createDirectory(r.resolve("d")) != null
                && Files.createDirectory(r.resolve("e")) != null);
        ops.put("create", r -> touches(r, "d", () -> Files.createFile(r.resolve("d/f"))));
        ops.put("mkdir", r -> touches(r, "d", () -> Files.createDirectory(r.resolve("d/s"))));
        ops.put("links of d with a subdirectory", r -> Files.getAttribute(r.resolve("d"), "unix:nlink"));
        ops.put("symlink", r -> touches(r, "d", () -> Files.createSymbolicLink(r.resolve("d/l"), Path.of("f"))));
        ops.put("hard link", r -> touches(r, "e", () -> Files.createLink(r.resolve("e/g"), r.resolve("d/f"))));
        ops.put("mkfifo", r -> touches(r, "d", () -> run("mkfifo", r.resolve("d/p").toString())));
        ops.put("rename within", r -> touches(r, "d", () -> Files.move(r.resolve("d/f"), r.resolve("d/f2"))));
        ops.put("rename a directory out: from", r -> touches(r, "d",
                () -> Files.move(r.resolve("d/s"), r.resolve("e/s"))));
        ops.put("links of d and e after", r -> List.of(Files.getAttribute(r.resolve("d"), "unix:nlink"),
                Files.getAttribute(r.resolve("e"), "unix:nlink")));
        ops.put("rename in: to", r -> touches(r, "e", () -> Files.move(r.resolve("d/f2"), r.resolve("e/f3"))));
        ops.put("unlink", r -> touches(r, "e", () -> {
            Files.delete(r.resolve("e/f3"));
            return null;
        }));
        ops.put("rmdir", r -> touches(r, "e", () -> {
            Files.delete(r.resolve("e/s"));
            return null;
        }));
        ops.put("links of e after rmdir", r -> Files.getAttribute(r.resolve("e"), "unix:nlink"));
        ops.put("a write leaves the directory's times", r -> touches(r, "e",
                () -> Files.write(r.resolve("e/g"), new byte[] {1}, StandardOpenOption.APPEND)));
        ops.put("unlink the fifo", r -> touches(r, "d", () -> { // a tree compare would block opening it
            Files.delete(r.resolve("d/p"));
            return null;
        }));
        return ops;
    }

    /** Whether {@code change} moved both the mtime and the ctime of directory {@code dir} of {@code r}. */
    private static String touches(Path r, String dir, java.util.concurrent.Callable<?> change) throws Exception {
        Path d = r.resolve(dir);
        Object before = Files.readAttributes(d, "unix:lastModifiedTime,ctime");
        Thread.sleep(20); // past the local file system's clock tick
        change.call();
        Object after = Files.readAttributes(d, "unix:lastModifiedTime,ctime");
        java.util.Map<?, ?> b = (java.util.Map<?, ?>) before;
        java.util.Map<?, ?> a = (java.util.Map<?, ?>) after;
        return "mtime " + (a.get("lastModifiedTime").equals(b.get("lastModifiedTime")) ? "kept" : "changed")
                + ", ctime " + (a.get("ctime").equals(b.get("ctime")) ? "kept" : "changed");
    }

    /** Runs a command; answers its exit status. */
    static int run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(
                ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor();
    }

    static Map<String, Op> namespace() {
        Map<String, Op> ops = new LinkedHashMap<>();
        ops.put("mkdir", r -> Files.createDirectory(r.resolve("d")) != null);
        ops.put("mkdir again", r -> Files.createDirectory(r.resolve("d")));
        ops.put("mkdir without parent", r -> Files.createDirectory(r.resolve("no/such")));
        ops.put("files in it", r -> {
            for (int i = 0; i < 20; i++) {
                Files.write(r.resolve("d/f" + i), random(100 * i, i));
            }
            return true;
        });
        ops.put("rmdir not empty", r -> {
            Files.delete(r.resolve("d"));
            return true;
        });
        ops.put("rename file", r -> Files.move(r.resolve("d/f1"), r.resolve("d/renamed")) != null);
        ops.put("rename over existing file", r -> Files.move(r.resolve("d/f2"), r.resolve("d/f3"),
                StandardCopyOption.REPLACE_EXISTING) != null);
        ops.put("read replaced", r -> Files.readAllBytes(r.resolve("d/f3")));
        ops.put("rename across directories", r -> Files.createDirectory(r.resolve("e")) != null
                && Files.move(r.resolve("d/f4"), r.resolve("e/f4")) != null);
        ops.put("rename directory", r -> Files.move(r.resolve("d"), r.resolve("e/d2")) != null);
        ops.put("listing after rename", r -> {
            try (Stream<Path> s = Files.list(r.resolve("e/d2"))) {
                return s.map(p -> p.getFileName().toString()).sorted().toList();
            }
        });
        ops.put("rename directory over empty directory", r -> Files.createDirectory(r.resolve("empty")) != null
                && Files.move(r.resolve("e/d2"), r.resolve("empty"), StandardCopyOption.REPLACE_EXISTING) != null);
        ops.put("rename file over directory", r -> Files.move(r.resolve("e/f4"), r.resolve("empty"),
                StandardCopyOption.REPLACE_EXISTING));
        ops.put("symlink", r -> Files.createSymbolicLink(r.resolve("link"), Path.of("empty/f5")) != null
                && Files.readSymbolicLink(r.resolve("link")).toString().equals("empty/f5"));
        ops.put("read through symlink", r -> Files.readAllBytes(r.resolve("link")));
        ops.put("hard link", r -> Files.createLink(r.resolve("hard"), r.resolve("empty/f6")) != null);
        ops.put("read hard link", r -> Files.readAllBytes(r.resolve("hard")));
        ops.put("hard links share one inode number, other files have their own", r -> List.of(
                Files.getAttribute(r.resolve("hard"), "unix:ino").equals(Files.getAttribute(r.resolve("empty/f6"),
                        "unix:ino")),
                Files.getAttribute(r.resolve("hard"), "unix:ino").equals(Files.getAttribute(r.resolve("empty"),
                        "unix:ino"))));
        ops.put("unlink one name", r -> {
            Files.delete(r.resolve("empty/f6"));
            return Files.readAllBytes(r.resolve("hard")).length;
        });
        ops.put("chmod", r -> {
            Files.setPosixFilePermissions(r.resolve("hard"), PosixFilePermissions.fromString("rw-r-----"));
            return PosixFilePermissions.toString(Files.getPosixFilePermissions(r.resolve("hard")));
        });
        ops.put("utimens", r -> {
            Files.setLastModifiedTime(r.resolve("hard"), FileTime.fromMillis(1_600_000_000_123L));
            return Files.getLastModifiedTime(r.resolve("hard")).toMillis();
        });
        ops.put("xattr set/get/list/remove", r -> {
            UserDefinedFileAttributeView v = Files.getFileAttributeView(r.resolve("hard"), UserDefinedFileAttributeView.class);
            v.write("tag", StandardCharsets.UTF_8.encode("v1"));
            ByteBuffer b = ByteBuffer.allocate(10);
            v.read("tag", b);
            List<String> names = v.list();
            v.delete("tag");
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8) + names + v.list();
        });
        ops.put("remove missing", r -> {
            Files.delete(r.resolve("nothing"));
            return true;
        });
        ops.put("rmdir empty", r -> {
            Files.createDirectory(r.resolve("tmpdir"));
            Files.delete(r.resolve("tmpdir"));
            return Files.exists(r.resolve("tmpdir"));
        });
        String longest = "n".repeat(255);
        String tooLong = "n".repeat(256);
        ops.put("create a 255-byte name", r -> Files.createFile(r.resolve(longest)) != null);
        ops.put("create a 256-byte name", r -> Files.createFile(r.resolve(tooLong)));
        ops.put("mkdir a 256-byte name", r -> Files.createDirectory(r.resolve(tooLong)));
        ops.put("stat a 256-byte name", r -> Files.readAttributes(r.resolve(tooLong), "unix:mode"));
        ops.put("rename to a 256-byte name", r -> Files.move(r.resolve(longest), r.resolve(tooLong)));
        ops.put("a 256-byte name of two-byte characters", r -> Files.createFile(r.resolve("\u00e9".repeat(128))));
        return ops;
    }
}
