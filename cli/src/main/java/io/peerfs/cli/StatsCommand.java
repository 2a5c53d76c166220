package io.peerfs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code peerfs stats MOUNTPOINT}: a line of rates every interval, as {@code juicefs stats} or vmstat. */
@Command(name = "stats", mixinStandardHelpOptions = true,
        description = "Show the mount's activity, one line per interval: cache hit ratio and read rate, backend,"
                + " peer and write rates, cache use, upload queue, open files.")
public final class StatsCommand implements Callable<Integer> {
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
    private static final String HEADER = String.format(Locale.ROOT, "%-8s %6s %9s %9s %9s %9s %9s %9s %9s %6s %5s",
            "time", "hit%", "cache/s", "backend/s", "peerIn/s", "peerOut/s", "upload/s", "used", "pinned", "queue",
            "open");

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "1s", converter = Converters.Time.class,
            description = "Time between lines (default ${DEFAULT-VALUE}).")
    Duration interval;

    @Option(names = "--count", paramLabel = "N", defaultValue = "0",
            description = "Stop after N lines (default: until interrupted).")
    int count;

    @Override
    public Integer call() throws Exception {
        if (interval.toMillis() < 100) {
            throw new IllegalArgumentException("--interval must be at least 100ms, got " + interval.toMillis() + "ms");
        }
        Path mnt = mountpoint.toAbsolutePath().normalize();
        PrintWriter out = spec.commandLine().getOut();
        JsonNode before = Json.parse(StatusCommand.read(mnt));
        long beforeNs = System.nanoTime();
        for (int line = 0; count == 0 || line < count; line++) {
            if (line % 20 == 0) {
                out.println(HEADER);
            }
            Thread.sleep(interval.toMillis());
            JsonNode now = Json.parse(StatusCommand.read(mnt));
            long nowNs = System.nanoTime();
            double secs = (nowNs - beforeNs) / 1e9;
            long hits = delta(before, now, "cache", "hits");
            long misses = delta(before, now, "cache", "misses");
            out.println(String.format(Locale.ROOT, "%-8s %6s %9s %9s %9s %9s %9s %9s %9s %6d %5d",
                    LocalTime.now().format(CLOCK),
                    hits + misses == 0 ? "-" : String.format(Locale.ROOT, "%.1f", 100.0 * hits / (hits + misses)),
                    rate(before, now, secs, "cache", "bytesServed"), rate(before, now, secs, "backend", "bytesRead"),
                    rate(before, now, secs, "peers", "bytesFetched"), rate(before, now, secs, "peers", "bytesServed"),
                    rate(before, now, secs, "backend", "bytesWritten"),
                    size(now.path("cache").path("usedBytes").asLong()),
                    size(now.path("cache").path("pinnedBytes").asLong()),
                    now.path("writeback").path("queued").asLong(), now.path("daemon").path("openFiles").asLong()));
            out.flush();
            before = now;
            beforeNs = nowNs;
        }
        return 0;
    }

    private static long delta(JsonNode a, JsonNode b, String section, String field) {
        return b.path(section).path(field).asLong() - a.path(section).path(field).asLong();
    }

    private static String rate(JsonNode a, JsonNode b, double secs, String section, String field) {
        return size((long) (delta(a, b, section, field) / secs));
    }

    /** Compact sizes for columns: 0, 512B, 3.4K, 120M, 1.2G. */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + (bytes == 0 ? "" : "B");
        }
        String[] units = {"K", "M", "G", "T"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v < 10 ? "%.1f%s" : "%.0f%s", v, units[u]);
    }
}
