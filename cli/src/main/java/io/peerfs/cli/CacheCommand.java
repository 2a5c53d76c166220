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
@Command(name = "cache", mixinStandardHelpOptions = true, subcommands = CacheCommand.Evict.class,
        description = "Control the cache: 'peerfs cache evict PATH…' drops files' chunks.")
public final class CacheCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
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
                files.addAll(regularFiles(abs));
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

        private static List<Path> regularFiles(Path root) throws java.io.IOException {
            if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
                return Files.isRegularFile(root, LinkOption.NOFOLLOW_LINKS) ? List.of(root) : List.of();
            }
            try (Stream<Path> s = Files.walk(root)) {
                return s.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).toList();
            }
        }
    }
}
