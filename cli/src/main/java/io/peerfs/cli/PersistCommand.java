package io.peerfs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.peerfs.daemon.MountException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code peerfs persist PATH}: writes a scratch file or tree to the backend and makes it result data. */
@Command(name = "persist", mixinStandardHelpOptions = true,
        description = "Write a scratch file or directory tree on a PeerFS mount to the backend at the same path;"
                + " it becomes a result path (later changes are written back too).")
public final class PersistCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH", description = "A scratch file or directory on a PeerFS mount.")
    Path path;

    @Override
    public Integer call() throws Exception {
        Path p = path.toAbsolutePath().normalize();
        JsonNode before = PathXattrs.info(p);
        if (!before.path("class").asText().equals("scratch")) {
            throw new MountException(p + " is " + before.path("class").asText() + " data, already on the backend;"
                    + " only scratch files and directories are persisted");
        }
        PathXattrs.set(p, "peerfs.persist", "1");
        JsonNode after = PathXattrs.info(p);
        PrintWriter out = spec.commandLine().getOut();
        out.println(p + ": written to the backend; now " + after.path("class").asText() + " ("
                + after.path("why").asText() + ")");
        out.flush();
        return 0;
    }
}
