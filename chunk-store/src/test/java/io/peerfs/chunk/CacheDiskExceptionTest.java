package io.peerfs.chunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;

/** A disk failure's kind comes from the errno the JDK reported, as the C library words it here. */
class CacheDiskExceptionTest {
    @Test
    void aRealEnospcFromTheJdkIsFull() throws Exception {
        Path full = Path.of("/dev/full"); // every write fails with ENOSPC
        assumeTrue(Files.isWritable(full), "/dev/full");
        IOException e = assertThrows(IOException.class, () -> {
            try (FileChannel c = FileChannel.open(full, StandardOpenOption.WRITE)) {
                c.write(ByteBuffer.wrap(new byte[4096]));
            }
        });
        assertEquals(CacheDiskException.Kind.FULL, CacheDiskException.classify(e), e.toString());
        assertEquals(CacheDiskException.Kind.FULL, CacheDiskException.classify(new IOException("wrapped", e)));
    }

    @Test
    void otherFailuresAreFailing() {
        assertEquals(CacheDiskException.Kind.FAILING,
                CacheDiskException.classify(new IOException("Input/output error")));
        assertEquals(CacheDiskException.Kind.FAILING, CacheDiskException.classify(new IOException((String) null)));
    }
}
