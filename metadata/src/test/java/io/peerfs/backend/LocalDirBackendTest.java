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
}
