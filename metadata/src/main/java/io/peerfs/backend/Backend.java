package io.peerfs.backend;

import io.peerfs.meta.FileAttr;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * The central store that PeerFS caches (a CPFS, NFS or Lustre directory). Paths are
 * relative to the backend root, {@code ""} for the root itself, {@code /}-separated,
 * never with {@code .} or {@code ..} components.
 *
 * <p>Failures are the {@link java.nio.file} exceptions: {@code NoSuchFileException},
 * {@code NotDirectoryException}, {@code AccessDeniedException} and other
 * {@code FileSystemException}s, so the errno mapper can tell them apart.
 */
public interface Backend {

    /** Attributes of the path itself (symlinks are not followed). */
    FileAttr stat(String path) throws IOException;

    /**
     * {@link #stat}, asking the backend itself even where answers are shared through
     * peers: for revalidation at open (close-to-open consistency).
     */
    default FileAttr statDirect(String path) throws IOException {
        return stat(path);
    }

    /** Names in a directory, without {@code .} and {@code ..}. */
    List<String> list(String path) throws IOException;

    /** The target of a symbolic link. */
    String readlink(String path) throws IOException;

    /**
     * Reads from {@code offset} into {@code dst} until it is full or the file ends.
     *
     * @return bytes read, 0 at or past the end of the file
     */
    int read(String path, long offset, ByteBuffer dst) throws IOException;

    /**
     * {@link #read} into a buffer its caller gives up when the call throws: the caller never
     * uses {@code dst} again then. A layer that abandons hung calls may so let the read land
     * in {@code dst} itself rather than in a buffer of its own that it copies from.
     */
    default int readInto(String path, long offset, ByteBuffer dst) throws IOException {
        return read(path, offset, dst);
    }

    /**
     * {@link #readInto} of the file's version of {@code size} bytes and mtime {@code mtimeNs}:
     * a backend that can tell (the file it read is another version now) throws
     * {@link FileChangedException} instead of handing out another version's bytes.
     */
    default int readVersion(String path, long offset, ByteBuffer dst, long size, long mtimeNs) throws IOException {
        return readInto(path, offset, dst);
    }

    /**
     * Told that this node changed {@code path} (and what is below it) on the backend, so
     * layers that share metadata answer from the backend itself for a while.
     */
    default void changedHere(String path) {
    }

    /** The user extended attributes of a path ({@code user.} names), empty where unsupported. */
    Map<String, byte[]> xattrs(String path) throws IOException;

    /** Capacity and usage of the backend file system. */
    FsStats statfs() throws IOException;

    // Changes. PeerFS makes them only under result paths.

    /** What {@link #replace} writes: bytes of the new content from an offset. */
    @FunctionalInterface
    interface Content {
        /** Fills {@code dst} from {@code offset} as far as the content goes; returns bytes copied. */
        int read(long offset, ByteBuffer dst) throws IOException;

        /** Told after each write and flush of the temporary file: the upload is moving. */
        default void progress() {
        }

        /**
         * Asked right before the temporary file is renamed over the target; false (the caller
         * gave up on this upload) leaves the target alone and fails the upload.
         */
        default boolean mayCommit() {
            return true;
        }
    }

    /** Mode, owner, times and user xattrs a new file gets; {@code uid}/{@code gid} {@code -1} leave the daemon's. */
    record NewFile(int mode, int uid, int gid, long atimeNs, long mtimeNs, Map<String, byte[]> xattrs) {
    }

    /**
     * Writes {@code size} bytes of {@code content} to a temporary file beside {@code path},
     * forces it to disk and renames it over {@code path}: readers of the backend see the old
     * file or the whole new one, never a part. {@code tempTag} makes the temporary name
     * unique ({@link #isTemporary} recognises it), so a retried upload reuses it.
     *
     * @return the new file's attributes as a {@link #stat} of {@code path} answers them, read
     *     from the temporary file before the rename: a change by someone else after it cannot
     *     pass for this upload's (a cache keyed by size and mtime relies on that)
     */
    FileAttr replace(String path, long size, NewFile meta, Content content, String tempTag) throws IOException;

    /** True for the name of a temporary file of {@link #replace}, which listings should hide. */
    static boolean isTemporary(String name) {
        return name.startsWith(".") && name.endsWith(".peerfs-tmp");
    }

    /** Longest file name, in bytes, on the file systems PeerFS runs on (NAME_MAX). */
    int NAME_MAX = 255;

    /**
     * The temporary name {@link #replace} uses for {@code name}: {@code .NAME.TAG.peerfs-tmp},
     * with NAME cut (on a character boundary) so the whole stays within {@link #NAME_MAX}
     * bytes; {@code tag} keeps cut names apart.
     */
    static String temporaryName(String name, String tag) {
        String suffix = "." + tag + ".peerfs-tmp";
        int room = NAME_MAX - 1 - suffix.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        StringBuilder kept = new StringBuilder();
        int bytes = 0;
        for (int i = 0; i < name.length(); ) {
            int cp = name.codePointAt(i);
            int len = new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (bytes + len > room) {
                break;
            }
            kept.appendCodePoint(cp);
            bytes += len;
            i += Character.charCount(cp);
        }
        return "." + kept + suffix;
    }

    /** Creates an empty file; fails with {@code FileAlreadyExistsException} if the name exists. */
    void createFile(String path, NewFile meta) throws IOException;

    void mkdir(String path, NewFile meta) throws IOException;

    /**
     * Makes a FIFO, socket or device node ({@code rdev} its number, 0 for the others) with the
     * permissions, owner and group of {@code meta}; fails with {@code FileAlreadyExistsException}
     * if the name exists, EPERM for a device where the caller may not make one.
     */
    void mknod(String path, io.peerfs.meta.FileType type, long rdev, NewFile meta) throws IOException;

    void symlink(String target, String path, int uid, int gid) throws IOException;

    /** Adds the name {@code to} for the file {@code from} (hard link). */
    void link(String from, String to) throws IOException;

    /** Removes a file, symlink or empty directory. */
    void delete(String path) throws IOException;

    /** rename(2): atomically replaces an existing target (a file, or an empty directory). */
    void rename(String from, String to) throws IOException;

    void setMode(String path, int mode) throws IOException;

    /** Changes owner and group; {@code -1} leaves one as it is. Symlinks are not followed. */
    void setOwner(String path, int uid, int gid) throws IOException;

    /** Sets access and modification times (ns since the epoch); {@link Long#MIN_VALUE} leaves one as it is. */
    void setTimes(String path, long atimeNs, long mtimeNs) throws IOException;

    /** Cuts or extends (with a hole) a file to {@code size} bytes. */
    void truncate(String path, long size) throws IOException;

    void setXattr(String path, String name, byte[] value) throws IOException;

    void removeXattr(String path, String name) throws IOException;
}
