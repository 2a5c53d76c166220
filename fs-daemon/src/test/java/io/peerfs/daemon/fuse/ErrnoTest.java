package io.peerfs.daemon.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.peerfs.backend.PosixException;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.ErrorCodes;

class ErrnoTest {
    @Test
    void failuresMapToErrnoAndAStormOfThemIsLoggedAFewTimesOnly() {
        Logger logger = (Logger) LoggerFactory.getLogger(Errno.class);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        try {
            assertEquals(ErrorCodes.ENOENT(), Errno.of("getattr", "/a", new NoSuchFileException("/a")));
            assertEquals(ErrorCodes.ENOSPC(), Errno.of("write", "/a",
                    PosixException.of(PosixException.ENOSPC, "/a", null)));
            for (int errno : new int[] {PosixException.EXDEV, PosixException.EISDIR, PosixException.EFBIG,
                PosixException.EINVAL, PosixException.EPERM, PosixException.EOPNOTSUPP, PosixException.ELOOP}) {
                assertEquals(errno, Errno.of("rename", "/a", PosixException.of(errno, "/a", "/b")), "errno " + errno);
            }
            // a reason text is never read: in another locale strerror says it in other words
            assertEquals(ErrorCodes.EIO(), Errno.of("write", "/a",
                    new FileSystemException("/a", null, "No space left on device")));
            for (int i = 0; i < 500; i++) {
                assertEquals(ErrorCodes.EIO(), Errno.of("read", "/bad", new IOException("boom " + i)));
            }
            long warnings = lines.list.stream().filter(e -> e.getFormattedMessage().startsWith("read /bad")).count();
            assertTrue(warnings >= 1 && warnings <= Errno.WARNINGS_PER_WINDOW, warnings + " lines for 500 failures");
        } finally {
            logger.detachAppender(lines);
        }
    }
}
