package io.peerfs.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code peerfs cache …}: what a node's cache holds, under the operator's control. */
@Command(name = "cache", mixinStandardHelpOptions = true,
        subcommands = {CacheCommand.Ls.class, CacheCommand.Evict.class, CacheCommand.Pin.class, CacheCommand.Unpin.class},
        description = "What the cache holds ('peerfs cache ls MOUNTPOINT'), dropping it ('peerfs cache evict PATH…') and"
                + " keeping it ('peerfs cache pin PATH…', 'peerfs cache unpin PATH…').")
public final class CacheCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }

    /**
     * {@code peerfs cache ls MOUNTPOINT}: by top-level directory, the bytes of its files and
     * how much of them this node's cache holds. It walks the tree through the mount (one
     * {@code user.peerfs.cached} read per file), so it takes a while on millions of files.
     */
    @Command(name = "ls", mixinStandardHelpOptions = true,
            description = "Show, per top-level directory of the mount, the bytes of its files and how many of them"
                    + " this node's cache holds (scratch files count as held: they live on their holders). Walks"
                    + " every file: slow on millions of files.")
    static final class Ls implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "MOUNTPOINT")
        Path mountpoint;

        @Override
        public Integer call() throws Exception {
            Path root = mountpoint.toAbsolutePath().normalize();
            com.fasterxml.jackson.databind.JsonNode status = Json.parse(StatusCommand.read(root));
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-32s %12s %12s %7s%n", "PATH", "SIZE", "CACHED", "CACHED%");
            long size = 0;
            long cached = 0;
            List<Path> top;
            try (Stream<Path> s = Files.list(root)) {
                top = s.sorted().toList();
            }
            for (Path entry : top) {
                long[] sc = {0, 0};
                for (Path f : FileWalk.regularFiles(entry)) {
                    com.fasterxml.jackson.databind.JsonNode c = Json.parse(PathXattrs.read(f, "peerfs.cached"));
                    sc[0] += c.path("bytes").asLong();
                    sc[1] += c.path("cachedBytes").asLong();
                }
                size += sc[0];
                cached += sc[1];
                String name = root.relativize(entry) + (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS) ? "/" : "");
                out.printf("%-32s %12s %12s %6.1f%%%n", name, WarmupCommand.human(sc[0]), WarmupCommand.human(sc[1]),
                        percent(sc[1], sc[0]));
            }
            out.printf("%-32s %12s %12s %6.1f%%%n", "total", WarmupCommand.human(size), WarmupCommand.human(cached),
                    percent(cached, size));
            com.fasterxml.jackson.databind.JsonNode cache = status.path("cache");
            out.printf("cache: %s used of %s (%s scratch and staged data, %s of pinned paths, at most %s)%n",
                    WarmupCommand.human(cache.path("usedBytes").asLong()),
                    WarmupCommand.human(cache.path("capacityBytes").asLong()),
                    WarmupCommand.human(cache.path("pinnedBytes").asLong()),
                    WarmupCommand.human(cache.path("residentBytes").asLong()),
                    WarmupCommand.human(cache.path("residentLimitBytes").asLong()));
            out.flush();
            return 0;
        }

        private static double percent(long part, long whole) {
            return whole == 0 ? 100.0 : 100.0 * part / whole;
        }
    }

    /** {@code peerfs cache pin PATH… [--cluster]}. */
    @Command(name = "pin", mixinStandardHelpOptions = true,
            description = "Keep files (directories: every file below, including files added later) in the cache: their"
                    + " chunks are evicted only when nothing else is left to evict, up to --cache-pin-limit on each"
                    + " node. The pin is kept by the metadata store (every node sharing it honours it) until 'peerfs"
                    + " cache unpin'. Loads the files now: into this node's cache, or with --cluster into each chunk's"
                    + " owner's. Root only.")
    static final class Pin implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(arity = "1..*", paramLabel = "PATH", description = "Files or directories on a PeerFS mount.")
        List<Path> paths;

        @Option(names = "--cluster", description = "Load and keep each chunk at its owner (no copy on this node).")
        boolean cluster;

        @Option(names = "--threads", paramLabel = "N",
                description = "Ranges loaded at once (default 4; with --cluster 16).")
        Integer threads;

        @Override
        public Integer call() throws Exception {
            for (Path p : paths) {
                Path abs = p.toAbsolutePath().normalize();
                com.fasterxml.jackson.databind.JsonNode info = PathXattrs.info(abs); // missing, not on PeerFS: clear
                if (cluster && !Json.parse(StatusCommand.read(mountRoot(abs, info))).path("daemon").path("sharedMeta")
                        .asBoolean()) {
                    spec.commandLine().getErr().println("peerfs: --cluster needs a metadata store the nodes share"
                            + " (--meta redis://…), which keeps the pin for all of them; with each node's own, run"
                            + " 'peerfs cache pin' on each node");
                    return 2;
                }
                PathXattrs.set(abs, "peerfs.pin", "1");
            }
            if (cluster) {
                return WarmupCommand.load(spec, paths, WarmupCommand.threads(threads, true), "peerfs.pin",
                        (off, len) -> "load " + off + " " + len, "pinned %d of %d files, %s in %.1f s (%s/s), kept by each chunk's owner");
            }
            return WarmupCommand.load(spec, paths, WarmupCommand.threads(threads, false), "peerfs.warmup",
                    (off, len) -> off + " " + len,
                    "pinned %d of %d files, %s in %.1f s (%s/s), kept in this node's cache");
        }
    }

    /** The mount a path is on, from its mount-relative path ({@code peerfs info}'s "path"). */
    static Path mountRoot(Path abs, com.fasterxml.jackson.databind.JsonNode info) {
        String rel = info.path("path").asText("/").substring(1);
        int depth = rel.isEmpty() ? 0 : rel.split("/").length;
        return depth == 0 ? abs : abs.getRoot().resolve(abs.subpath(0, abs.getNameCount() - depth));
    }

    /** {@code peerfs cache unpin PATH…}. */
    @Command(name = "unpin", mixinStandardHelpOptions = true,
            description = "End the pins of paths given to 'peerfs cache pin' (exactly those paths): their chunks are"
                    + " ordinary cache entries again, on this node at once and on the others within seconds. Root"
                    + " only.")
    static final class Unpin implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(arity = "1..*", paramLabel = "PATH", description = "Pinned files or directories on a PeerFS mount.")
        List<Path> paths;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            int code = 0;
            for (Path p : paths) {
                Path abs = p.toAbsolutePath().normalize();
                com.fasterxml.jackson.databind.JsonNode info = PathXattrs.info(abs);
                String at = info.path("pinnedAt").asText(null);
                if (at == null || !at.equals(info.path("path").asText())) {
                    spec.commandLine().getErr().printf("peerfs: %s is not pinned itself%s%n", abs, at == null ? ""
                            : " (" + at + " of its mount is, which covers it: unpin that)");
                    code = 1;
                    continue;
                }
                PathXattrs.set(abs, "peerfs.pin", "0");
                out.printf("unpinned %s%n", abs);
            }
            out.flush();
            return code;
        }
    }

    /** {@code peerfs cache evict PATH… [--cluster]}. */
    @Command(name = "evict", mixinStandardHelpOptions = true,
            description = "Drop the cached chunks of files (directories: every file below) from this node's cache;"
                    + " with --cluster from each chunk's owner too, so the next read anywhere loads them from the"
                    + " central store again. Scratch files and result files not yet uploaded are the only copy of"
                    + " their data and stay.")
    static final class Evict implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(arity = "1..*", paramLabel = "PATH", description = "Files or directories on a PeerFS mount.")
        List<Path> paths;

        @Option(names = "--cluster", description = "Also ask each chunk's owner to drop its copy.")
        boolean cluster;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            List<Path> files = new ArrayList<>();
            for (Path p : paths) {
                Path abs = p.toAbsolutePath().normalize();
                PathXattrs.info(abs); // a clear error when the path is missing or not on a PeerFS mount
                files.addAll(FileWalk.regularFiles(abs));
            }
            long bytes = 0;
            for (Path f : files) { // the node's count before and after each: paths may be on several mounts
                long before = dropped(f);
                PathXattrs.set(f, "peerfs.evict", cluster ? "cluster" : "");
                bytes += dropped(f) - before;
            }
            out.printf("%d files: %s dropped from this node's cache%s%n", files.size(), WarmupCommand.human(bytes),
                    cluster ? ", and each chunk's owner asked to drop its copy" : "");
            out.flush();
            return 0;
        }

        /** Bytes the daemon serving {@code path} dropped from its cache so far. */
        private static long dropped(Path path) throws java.io.IOException {
            return Long.parseLong(new String(PathXattrs.read(path, "peerfs.evict"), StandardCharsets.US_ASCII).strip());
        }
    }
}
