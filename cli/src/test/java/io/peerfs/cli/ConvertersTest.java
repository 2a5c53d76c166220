package io.peerfs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

class ConvertersTest {
    @Test
    void durations() {
        Converters.Time t = new Converters.Time();
        assertEquals(Duration.ofSeconds(1), t.convert("1s"));
        assertEquals(Duration.ofSeconds(2), t.convert("2"));
        assertEquals(Duration.ofMillis(500), t.convert("500ms"));
        assertEquals(Duration.ofMillis(1500), t.convert("1.5s"));
        assertEquals(Duration.ofMinutes(2), t.convert("2m"));
        assertEquals(Duration.ZERO, t.convert("0"));
        assertThrows(TypeConversionException.class, () -> t.convert("soon"));
        assertThrows(TypeConversionException.class, () -> t.convert("-1s"));
    }

    @Test
    void defaultCacheDirIsPerMountpoint() {
        Path a = MountCommand.defaultCacheDir(Path.of("/mnt/a"));
        Path b = MountCommand.defaultCacheDir(Path.of("/mnt/b"));
        assertEquals("mnt-a", a.getFileName().toString());
        assertEquals("mnt-b", b.getFileName().toString());
    }
}
