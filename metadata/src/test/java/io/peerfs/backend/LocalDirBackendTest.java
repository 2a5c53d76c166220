package io.peerfs.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalDirBackendTest {
    @TempDir
    Path tmp;

    @Test
    void pathsLeadingOutsideTheBackendAreRefused() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("backend"));
        Files.writeString(tmp.resolve("secret.txt"), "not yours");
        Files.createDirectories(root.resolve("a"));
        Files.writeString(root.resolve("b"), "inside");
        LocalDirBackend backend = new LocalDirBackend(root);
        for (String evil : new String[] {"../secret.txt", "a/../../secret.txt", "/etc/passwd", ".."}) {
            assertThrows(AccessDeniedException.class, () -> backend.read(evil, 0, ByteBuffer.allocate(10)), evil);
            assertThrows(AccessDeniedException.class, () -> backend.stat(evil), evil);
        }
        assertThrows(AccessDeniedException.class, () -> backend.delete("../secret.txt"));
        assertEquals("not yours", Files.readString(tmp.resolve("secret.txt")));
        assertEquals(6, backend.stat("a/../b").size(), "a path that stays inside is fine");
    }

    @Test
    void filesWithTheLongestNamesAreReplacedWhole() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("backend"));
        LocalDirBackend backend = new LocalDirBackend(root);
        byte[] data = "result bytes".getBytes();
        for (String name : new String[] {"a".repeat(255), "é".repeat(127), "x"}) {
            backend.replace(name, data.length, new Backend.NewFile(0644, -1, -1, 0, 0, java.util.Map.of()),
                    (off, dst) -> {
                        int n = (int) Math.min(dst.remaining(), data.length - off);
                        dst.put(data, (int) off, n);
                        return n;
                    }, "peerfs-123456789");
            assertEquals("result bytes", Files.readString(root.resolve(name)), name);
            String temp = Backend.temporaryName(name, "peerfs-123456789");
            assertEquals(true, Backend.isTemporary(temp));
            assertEquals(true, temp.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= Backend.NAME_MAX, temp);
        }
        try (var s = Files.list(root)) {
            assertEquals(3, s.count(), "no temporary file is left");
        }
    }
}
