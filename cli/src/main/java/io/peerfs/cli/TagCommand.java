package io.peerfs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.peerfs.daemon.MountException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code peerfs tag --result DIR [--clear]}: makes a backend directory a result path, or stops
 * it being one; {@code peerfs tag --dataset DIR [--clear]}: the same for a read-mostly dataset.
 */
@Command(name = "tag", mixinStandardHelpOptions = true,
        description = "Tag a backend directory on a PeerFS mount as a result path (--result: files created or changed"
                + " below it are written back to the backend; same as 'setfattr -n user.peerfs.result -v 1 DIR') or"
                + " as a read-mostly dataset (--dataset: its attributes and listings are trusted for --dataset-ttl,"
                + " so an epoch over it asks the store nothing; changes made on the store meanwhile are seen after"
                + " that, or at once with --clear; root only).")
public final class TagCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** Which tag. */
    static final class Kind {
        @Option(names = "--result", required = true, description = "Tag DIR as a result path.")
        boolean result;

        @Option(names = "--dataset", required = true, description = "Tag DIR as a read-mostly dataset.")
        boolean dataset;
    }

    @picocli.CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
    Kind kind;

    @Option(names = "--clear", description = "Remove the tag instead.")
    boolean clear;

    @Parameters(index = "0", paramLabel = "DIR", description = "A directory on a PeerFS mount.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        Path d = dir.toAbsolutePath().normalize();
        JsonNode before = PathXattrs.info(d);
        PrintWriter out = spec.commandLine().getOut();
        if (kind.dataset) {
            PathXattrs.set(d, "peerfs.dataset", clear ? "0" : "1");
            JsonNode after = PathXattrs.info(d);
            out.println(d + (after.has("datasetAt") ? ": read-mostly dataset " + after.path("datasetAt").asText()
                    + " (backend metadata trusted for --dataset-ttl)" : ": not a dataset; metadata lives --meta-ttl"));
            out.flush();
            return 0;
        }
        if (clear) {
            PathXattrs.remove(d, "peerfs.result");
        } else {
            if (before.path("class").asText().equals("scratch")) {
                throw new MountException(d + " is a scratch directory (it exists only in node caches): write it to"
                        + " the backend with 'peerfs persist " + dir + "' instead");
            }
            if (!before.has("newNames")) {
                throw new MountException(d + " is not a directory: tag the directory that holds it");
            }
            PathXattrs.set(d, "peerfs.result", "1");
        }
        JsonNode after = PathXattrs.info(d);
        out.println(d + ": " + after.path("class").asText() + " (" + after.path("why").asText() + "); new files here are "
                + after.path("newNames").asText());
        out.flush();
        return 0;
    }
}
