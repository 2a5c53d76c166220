package io.peerfs.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code peerfs gc MOUNTPOINT}: drops this node's pinned scratch chunks that no file uses any more. */
@Command(name = "gc", mixinStandardHelpOptions = true,
        description = "Remove scratch chunks pinned in this node's cache that no file of the cluster uses any"
                + " more (left by a crash, or by a delete whose message to this node was lost). Safe while the"
                + " mount is in use.")
public final class GcCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Override
    public Integer call() throws Exception {
        Path root = mountpoint.toAbsolutePath().normalize();
        StatusCommand.read(root); // a clear error when this is not a PeerFS mount
        PathXattrs.set(root, "peerfs.gc", "1");
        String removed = new String(PathXattrs.read(root, "peerfs.gc"), StandardCharsets.US_ASCII);
        PrintWriter out = spec.commandLine().getOut();
        out.println(root + ": removed " + removed + " scratch chunks that no file uses");
        out.flush();
        return 0;
    }
}
