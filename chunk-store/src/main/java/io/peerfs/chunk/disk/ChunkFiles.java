package io.peerfs.chunk.disk;

import io.peerfs.chunk.ChunkKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * On-disk layout of chunk files: {@code <dir>/ab/cd/<key>} (two levels of 256 folders keep
 * directories small); new chunks are written as {@code .tmp-<key>-<n>} beside their final
 * name and renamed.
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
        return dir.resolve(hex.substring(0, 2)).resolve(hex.substring(2, 4)).resolve(hex);
    }

    Path tempFor(ChunkKey key, long unique) {
        Path p = pathOf(key);
        return p.resolveSibling(TEMP_PREFIX + key.hex() + "-" + unique);
    }

    /**
     * Visits every chunk file; deletes leftovers of interrupted writes and files whose
     * name is not a chunk key on the way.
     */
    void scan(Consumer<ChunkKey> visitor) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir, 3)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (!Files.isRegularFile(p)) {
                    continue;
                }
                ChunkKey key = keyOf(p.getFileName().toString());
                if (key == null) {
                    Files.deleteIfExists(p);
                } else {
                    visitor.accept(key);
                }
            }
        }
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
