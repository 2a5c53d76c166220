package io.peerfs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code peerfs drain MOUNTPOINT}: before a node is taken out, it stops owning chunks and
 * directories, so readers move to the next owner without waiting for a timeout.
 */
@Command(name = "drain", mixinStandardHelpOptions = true,
        description = "Make this node own nothing before it is taken out: members asking it for a chunk or a"
                + " directory are told to ask the next owner (and rank it last from then on), so their reads move"
                + " on without a timeout. Scratch chunks it holds are still served. --undo ends it; so does a"
                + " restart of the daemon.")
public final class DrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Option(names = "--undo", description = "Own this node's share again.")
    boolean undo;

    @Override
    public Integer call() throws Exception {
        Path root = mountpoint.toAbsolutePath().normalize();
        JsonNode status = Json.parse(StatusCommand.read(root)); // a clear error when this is not a PeerFS mount
        if (status.path("peers").isMissingNode()) {
            throw new IllegalArgumentException(root + " is a node on its own (no --listen or --peers): there is"
                    + " nothing to drain");
        }
        PathXattrs.set(root, "peerfs.drain", undo ? "0" : "1");
        PrintWriter out = spec.commandLine().getOut();
        out.println(undo ? root + ": owns its share again"
                : root + ": draining; members now ask other nodes first. Scratch files written here are still read"
                        + " from this node: copy them off (or use --scratch-replicas) before it goes.");
        out.flush();
        return 0;
    }
}
