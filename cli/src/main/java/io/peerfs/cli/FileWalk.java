package io.peerfs.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The files the path commands ({@code warmup}, {@code cache}) act on. */
final class FileWalk {
    private FileWalk() {
    }

    /** The regular files at or below {@code root}: itself if it is one (symlinks not followed). */
    static List<Path> regularFiles(Path root) throws IOException {
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            return Files.isRegularFile(root, LinkOption.NOFOLLOW_LINKS) ? List.of(root) : List.of();
        }
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).toList();
        }
    }
}
