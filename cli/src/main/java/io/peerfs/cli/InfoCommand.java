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

/** {@code peerfs info PATH}: whether a path is source, scratch or result, and why. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Say whether PATH on a PeerFS mount is source (backend data, read-only), scratch (only in"
                + " node caches) or result (written back to the backend), and why.")
public final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "PATH", arity = "1..*", description = "Paths on a PeerFS mount.")
    java.util.List<Path> paths;

    @Option(names = "--json", description = "Print one JSON document per path.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        for (Path p : paths) {
            JsonNode info = PathXattrs.info(p.toAbsolutePath().normalize());
            if (json) {
                out.println(info);
                continue;
            }
            out.println(p + ": " + info.path("class").asText());
            out.println("  why:        " + info.path("why").asText());
            if (info.has("newNames")) {
                out.println("  new files:  " + info.path("newNames").asText());
            }
            if (info.has("uploadPending")) {
                out.println("  upload:     " + (info.path("uploadPending").asBoolean() ? "pending" : "done"));
            }
        }
        out.flush();
        return 0;
    }
}
