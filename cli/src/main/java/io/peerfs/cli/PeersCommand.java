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

/** {@code peerfs peers MOUNTPOINT}: the cluster as the daemon serving MOUNTPOINT sees it. */
@Command(name = "peers", mixinStandardHelpOptions = true,
        description = "List the cluster members of the daemon serving MOUNTPOINT: liveness, bytes fetched from"
                + " each, failures; and this node's totals.")
public final class PeersCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Override
    public Integer call() throws Exception {
        JsonNode doc = Json.parse(StatusCommand.read(mountpoint.toAbsolutePath().normalize()));
        JsonNode peers = doc.path("peers");
        if (peers.isMissingNode()) {
            throw new MountException(mountpoint + " runs on its own: mount with --listen/--peers to join a cluster");
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf("node %s at %s: served %d bytes (%d chunks), fetched %d bytes, %d fallbacks, %d corrupt transfers,"
                        + " %d auth failures, %d bad frames%n",
                peers.path("nodeId").asText(), peers.path("address").asText("(fetch only)"),
                peers.path("bytesServed").asLong(), peers.path("chunksServed").asLong(),
                peers.path("bytesFetched").asLong(), peers.path("fallbacks").asLong(),
                peers.path("corruptTransfers").asLong(), peers.path("authFailures").asLong(),
                peers.path("badFrames").asLong());
        out.printf("%-24s %-6s %-5s %14s %9s%n", "MEMBER", "STATE", "SELF", "BYTES_FETCHED", "FAILURES");
        for (JsonNode m : peers.path("members")) {
            out.printf("%-24s %-6s %-5s %14d %9d%n", m.path("address").asText(),
                    m.path("live").asBoolean() ? "live" : "down", m.path("self").asBoolean() ? "yes" : "",
                    m.path("bytesFetched").asLong(), m.path("failures").asLong());
        }
        var servedTo = peers.path("servedTo").fields();
        if (servedTo.hasNext()) {
            out.printf("%-24s %14s %9s%n", "SERVED TO NODE", "BYTES", "CHUNKS");
            while (servedTo.hasNext()) {
                var e = servedTo.next();
                out.printf("%-24s %14d %9d%n", e.getKey(), e.getValue().path("bytesServed").asLong(),
                        e.getValue().path("chunksServed").asLong());
            }
        }
        out.flush();
        return 0;
    }
}
