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

/** {@code peerfs tag --result DIR [--clear]}: makes a backend directory a result path, or stops it being one. */
@Command(name = "tag", mixinStandardHelpOptions = true,
        description = "Tag a backend directory on a PeerFS mount as a result path: files created or changed"
                + " below it are written back to the backend. Same as"
                + " 'setfattr -n user.peerfs.result -v 1 DIR'.")
public final class TagCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--result", required = true, description = "Tag DIR as a result path.")
    boolean result;

    @Option(names = "--clear", description = "Remove the tag instead.")
    boolean clear;

    @Parameters(index = "0", paramLabel = "DIR", description = "A directory on a PeerFS mount.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        Path d = dir.toAbsolutePath().normalize();
        JsonNode before = PathXattrs.info(d);
        PrintWriter out = spec.commandLine().getOut();
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
