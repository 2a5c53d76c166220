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

    /** The user extended attributes of a path ({@code user.} names), empty where unsupported. */
    Map<String, byte[]> xattrs(String path) throws IOException;

    /** Capacity and usage of the backend file system. */
    FsStats statfs() throws IOException;
}
