package io.peerfs.chunk.disk;

import io.peerfs.chunk.ChunkKey;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * On-disk layout of chunk files: {@code <dir>/ab/<key>}, 256 folders by the key's first
 * byte, all made when the store opens, so writing a chunk never makes a folder. New chunks are
 * written as {@code .tmp-<key>-<n>} beside their final name and renamed.
 *
 * <p>Earlier stores had a second level, {@code ab/cd/<key>}: with 65,536 folders nearly every
 * new chunk of a small file made one, and a mkdir plus a create in a cold folder cost ~1 ms
 * on the cache disk measured here, more than the rest of a 16 KiB scratch file's commit.
 * {@link #scan} moves the chunks of such a store up a level.
 */
final class ChunkFiles {
    static final String TEMP_PREFIX = ".tmp-";

    private final Path dir;

    ChunkFiles(Path dir) {
        this.dir = dir;
    }

    Path dir() {
        return dir;
    }

    Path pathOf(ChunkKey key) {
        String hex = key.hex();
        return dir.resolve(hex.substring(0, 2)).resolve(hex);
    }

    Path tempFor(ChunkKey key, long unique) {
        Path p = pathOf(key);
        return p.resolveSibling(TEMP_PREFIX + key.hex() + "-" + unique);
    }

    /**
     * Opens the chunk file of {@code key} for reading, or answers null where something other than
     * a regular file is in its place (a symlink, a FIFO that would block the reader, a device):
     * the caller drops such a chunk as corrupt. Missing files throw {@code NoSuchFileException}.
     * The cache dir is 0700 and the daemon's, so only root can swap an entry between the check
     * and the open, and the open does not follow a symlink even then.
     */
    FileChannel openForRead(ChunkKey key) throws IOException {
        Path p = pathOf(key);
        if (!attributesOf(key).isRegularFile()) {
            return null;
        }
        return FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
    }

    /** The chunk file's own attributes (a symlink's, not its target's). */
    BasicFileAttributes attributesOf(ChunkKey key) throws IOException {
        return Files.readAttributes(pathOf(key), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    /** Makes the 256 folders chunks go in (those that are missing). */
    void prepare() throws IOException {
        for (int b = 0; b < 256; b++) {
            Files.createDirectories(dir.resolve(String.format("%02x", b)));
        }
    }

    /**
     * Visits every chunk file; deletes leftovers of interrupted writes and files whose name is
     * not a chunk key on the way, and moves chunks of the earlier two-level layout where
     * {@link #pathOf} has them (then removes the emptied folders).
     *
     * @return chunks moved from the earlier layout
     */
    int scan(Consumer<ChunkKey> visitor) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        List<Path> found = new ArrayList<>();
        List<Path> oldFolders = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir, 3)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(p)) {
                    found.add(p);
                } else if (dir.relativize(p).getNameCount() == 2 && Files.isDirectory(p)) {
                    oldFolders.add(p);
                }
            }
        }
        int moved = 0;
        for (Path p : found) {
            ChunkKey key = keyOf(p.getFileName().toString());
            if (key == null) {
                Files.deleteIfExists(p);
                continue;
            }
            Path where = pathOf(key);
            if (!p.equals(where)) {
                Files.createDirectories(where.getParent());
                Files.move(p, where, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                moved++;
            }
            visitor.accept(key);
        }
        for (Path folder : oldFolders) {
            try {
                Files.deleteIfExists(folder);
            } catch (DirectoryNotEmptyException e) {
                // something else lives there: left alone
            }
        }
        return moved;
    }

    private static ChunkKey keyOf(String name) {
        if (name.startsWith(TEMP_PREFIX) || name.length() != 32) {
            return null;
        }
        try {
            return ChunkKey.parse(name);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
