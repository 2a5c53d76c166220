package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Builds backend trees and compares a mount with them byte for byte. */
final class TestFiles {
    private TestFiles() {
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes a cluster secret file, owner-only as the daemon requires. */
    static Path secret(Path file, String text) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        return Files.writeString(file, text);
    }

    static Path write(Path file, byte[] data) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.write(file, data);
    }

    /** Every entry below {@code root}: relative path → type, size and symlink target. */
    static TreeMap<String, String> describe(Path root) throws IOException {
        TreeMap<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String rel = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    out.put(rel, "link->" + Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.put(rel, "dir");
                } else {
                    out.put(rel, "file:" + Files.size(p));
                }
            }
        }
        return out;
    }

    /** Asserts the mount shows the same tree with the same bytes in every file. */
    static void assertSameTree(Path backend, Path mount) throws IOException {
        TreeMap<String, String> want = describe(backend);
        assertEquals(want, describe(mount));
        for (var e : want.entrySet()) {
            if (e.getValue().startsWith("file:")) {
                assertArrayEquals(Files.readAllBytes(backend.resolve(e.getKey())),
                        Files.readAllBytes(mount.resolve(e.getKey())), e.getKey());
            }
        }
    }
}
