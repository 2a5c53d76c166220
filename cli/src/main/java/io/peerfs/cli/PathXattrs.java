package io.peerfs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.peerfs.daemon.MountException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Arrays;

/**
 * Talks to the daemon serving a path through its virtual xattrs ({@code user.peerfs.*}):
 * the CLI needs no socket, and permissions are the kernel's.
 */
final class PathXattrs {

    private PathXattrs() {
    }

    private static UserDefinedFileAttributeView view(Path path) throws MountException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new MountException(path + ": no such file or directory");
        }
        return Files.getFileAttributeView(path, UserDefinedFileAttributeView.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    /** What the daemon says about a path ({@code peerfs info}); fails when the path is not on a PeerFS mount. */
    static JsonNode info(Path path) throws IOException {
        return Json.parse(read(path, "peerfs.info"));
    }

    /** Reads a virtual xattr the daemon answers; fails when the path is not on a PeerFS mount. */
    static byte[] read(Path path, String name) throws IOException {
        UserDefinedFileAttributeView v = view(path);
        try {
            ByteBuffer b = ByteBuffer.allocate(v.size(name) + 1024); // may change between the two calls
            v.read(name, b);
            return Arrays.copyOf(b.array(), b.position());
        } catch (NoSuchFileException e) {
            throw new MountException(path + ": no such file or directory");
        } catch (IOException | UnsupportedOperationException e) {
            throw new MountException(path + " is not on a PeerFS mount, or its daemon does not answer ("
                    + e.getMessage() + ")");
        }
    }

    /** Sets a virtual xattr; a refusal names the daemon log, where the reason is. */
    static void set(Path path, String name, String value) throws IOException {
        try {
            view(path).write(name, ByteBuffer.wrap(value.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (FileSystemException e) {
            throw new MountException(path + ": " + reason(e) + " (the daemon log says why)");
        }
    }

    static void remove(Path path, String name) throws IOException {
        try {
            view(path).delete(name);
        } catch (FileSystemException e) {
            throw new MountException(path + ": " + reason(e));
        }
    }

    private static String reason(FileSystemException e) {
        return e.getReason() != null ? e.getReason() : e.getMessage();
    }
}
