package io.peerfs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code peerfs warmup PATH…}: loads files into the cache before a job reads them, by
 * asking the daemon to load each range (virtual xattr {@code user.peerfs.warmup}); the
 * bytes never pass through this process or the page cache.
 */
@Command(name = "warmup", mixinStandardHelpOptions = true,
        description = "Load files (directories: every file below) into this node's cache, or with --cluster into"
                + " each chunk's owner's, showing progress; --check only reports how much is cached.")
public final class WarmupCommand implements Callable<Integer> {
    /** Bytes asked for in one request: a multiple of every chunk size, small enough for a lively progress bar. */
    private static final long RANGE = 64L << 20;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "Files or directories on a PeerFS mount.")
    List<Path> paths;

    @Option(names = "--threads", paramLabel = "N",
            description = "Ranges loaded at once (default 4; with --cluster 16: the owners load in parallel, and"
                    + " each range's chunks are loaded one after another).")
    Integer threads;

    /** {@code --threads} as given, else the default for where the chunks go. */
    static int threads(Integer given, boolean cluster) {
        return given != null ? given : cluster ? 16 : 4;
    }

    @Option(names = "--cluster", description = "Load each chunk into its owner's cache (rendezvous hashing), so"
            + " the whole cluster is warm with each chunk read from the backend once.")
    boolean cluster;

    @Option(names = "--check", description = "Only report the cached percentage of the paths (this node's cache).")
    boolean check;

    /** A file to warm or check. */
    private record Target(Path path, long size) {
    }

    /** How a range of a file is asked for: the xattr's value for bytes {@code [offset, offset + length)}. */
    @FunctionalInterface
    interface RangeValue {
        String of(long offset, long length);
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (check) {
            checkThreads(threads(threads, false));
            int code = check(targets(paths), out);
            out.flush();
            return code;
        }
        return load(spec, paths, threads(threads, cluster), "peerfs.warmup", (off, len) -> off + " " + len + (cluster ? " owner" : ""),
                cluster ? "warmed %d of %d files, %s in %.1f s (%s/s) into the owners' caches"
                        : "warmed %d of %d files, %s in %.1f s (%s/s)");
    }

    private static void checkThreads(int threads) {
        if (threads < 1 || threads > 256) {
            throw new IllegalArgumentException("--threads must be from 1 to 256, got " + threads);
        }
    }

    /** The files at or below {@code paths}, each checked to be on a PeerFS mount. */
    private static List<Target> targets(List<Path> paths) throws IOException {
        List<Target> targets = new ArrayList<>();
        for (Path p : paths) {
            Path abs = p.toAbsolutePath().normalize();
            PathXattrs.info(abs); // a clear error when the path is missing or not on a PeerFS mount
            targets.addAll(files(abs));
        }
        return targets;
    }

    /**
     * Has the daemon load every file at or below {@code paths}, in ranges of {@value #RANGE}
     * bytes on {@code threads} threads, each by setting {@code xattr} to {@code value}; shows
     * progress, then one line: {@code summary} formatted with files done, files, bytes, seconds
     * and rate.
     *
     * @return 0, or 1 when a file failed (its error is printed)
     */
    static int load(CommandSpec spec, List<Path> paths, int threads, String xattr, RangeValue value, String summary)
            throws Exception {
        checkThreads(threads);
        PrintWriter out = spec.commandLine().getOut();
        int code = warm(spec, targets(paths), threads, xattr, value, summary);
        out.flush();
        return code;
    }

    private static List<Target> files(Path root) throws IOException {
        List<Target> out = new ArrayList<>();
        for (Path p : FileWalk.regularFiles(root)) {
            out.add(new Target(p, Files.size(p)));
        }
        return out;
    }

    private int check(List<Target> targets, PrintWriter out) throws IOException {
        long bytes = 0;
        long cached = 0;
        int whole = 0;
        for (Target t : targets) {
            JsonNode c = Json.parse(PathXattrs.read(t.path(), "peerfs.cached"));
            bytes += c.path("bytes").asLong();
            cached += c.path("cachedBytes").asLong();
            whole += c.path("cachedBytes").asLong() == c.path("bytes").asLong() ? 1 : 0;
        }
        double pct = bytes == 0 ? 100 : 100.0 * cached / bytes;
        out.printf(Locale.ROOT, "%d files, %s, %s cached (%.1f%%), %d files wholly cached%n", targets.size(),
                human(bytes), human(cached), pct, whole);
        return 0;
    }

    private static int warm(CommandSpec spec, List<Target> targets, int threads, String xattr, RangeValue value,
                            String summary) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        long total = targets.stream().mapToLong(Target::size).sum();
        AtomicLong done = new AtomicLong();
        AtomicInteger filesDone = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> work = new ArrayList<>();
        for (Target t : targets) {
            long ranges = Math.max(1, (t.size() + RANGE - 1) / RANGE);
            AtomicLong left = new AtomicLong(ranges);
            AtomicInteger fileFailed = new AtomicInteger();
            for (long r = 0; r < ranges; r++) {
                long off = r * RANGE;
                long len = Math.min(RANGE, t.size() - off);
                work.add(pool.submit(() -> {
                    try {
                        PathXattrs.set(t.path(), xattr, value.of(off, len));
                        done.addAndGet(len);
                    } catch (IOException e) {
                        if (fileFailed.getAndIncrement() == 0) {
                            failed.incrementAndGet();
                            errors.add(e.getMessage());
                        }
                    }
                    if (left.decrementAndGet() == 0 && fileFailed.get() == 0) {
                        filesDone.incrementAndGet();
                    }
                }));
            }
        }
        pool.shutdown();
        boolean tty = System.console() != null;
        while (!pool.awaitTermination(tty ? 200 : 5000, TimeUnit.MILLISECONDS)) {
            progress(tty, done.get(), total, filesDone.get(), targets.size(), start);
        }
        for (Future<?> f : work) {
            f.get();
        }
        if (tty) {
            System.err.print("\r\033[K");
        }
        double secs = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
        out.printf(Locale.ROOT, summary + "%s%n", filesDone.get(), targets.size(), human(done.get()), secs,
                human((long) (done.get() / secs)), failed.get() == 0 ? "" : "; " + failed.get() + " failed");
        for (String e : errors.subList(0, Math.min(10, errors.size()))) {
            spec.commandLine().getErr().println("peerfs: " + e);
        }
        return failed.get() == 0 ? 0 : 1;
    }

    /** A progress bar (a line every 5 s when not on a terminal). */
    private static void progress(boolean tty, long done, long total, int files, int allFiles, long start) {
        double secs = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
        double rate = done / secs;
        double frac = total == 0 ? 1 : (double) done / total;
        String eta = rate <= 0 ? "?" : String.format(Locale.ROOT, "%.0fs", (total - done) / rate);
        int width = 30;
        int filled = (int) (frac * width);
        String line = String.format(Locale.ROOT, "[%s%s] %5.1f%% %s/%s %d/%d files %s/s ETA %s",
                "#".repeat(filled), ".".repeat(width - filled), frac * 100, human(done), human(total), files,
                allFiles, human((long) rate), eta);
        System.err.print(tty ? "\r\033[K" + line : line + "\n");
        System.err.flush();
    }

    static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
