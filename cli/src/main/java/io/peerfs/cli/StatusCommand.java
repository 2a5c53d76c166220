package io.peerfs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.peerfs.daemon.MountException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code peerfs status MOUNTPOINT}: the daemon's counters. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Print the counters of the daemon serving MOUNTPOINT: backend bytes and calls,"
                + " cache hits, misses, evictions, corrupt chunks.")
public final class StatusCommand implements Callable<Integer> {
    /** The mount root's virtual xattr that carries the status (without the {@code user.} prefix). */
    static final String XATTR = "peerfs.status";

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Option(names = "--json", description = "Print the status as one JSON document.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        byte[] doc = read(mountpoint.toAbsolutePath().normalize());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new String(doc, StandardCharsets.UTF_8));
        } else {
            print(Json.parse(doc), out);
        }
        out.flush();
        return 0;
    }

    static byte[] read(Path mnt) throws IOException {
        UserDefinedFileAttributeView view = Files.getFileAttributeView(mnt, UserDefinedFileAttributeView.class);
        try {
            ByteBuffer b = ByteBuffer.allocate(view.size(XATTR) + 4096); // the counters may grow between the two calls
            view.read(XATTR, b);
            return java.util.Arrays.copyOf(b.array(), b.position());
        } catch (IOException e) {
            throw new MountException(mnt + " is not a PeerFS mount, or its daemon does not answer ("
                    + e.getMessage() + ")");
        }
    }

    /** The pid of the daemon serving {@code mnt}, if it answers. */
    static Optional<Long> daemonPid(Path mnt) {
        try {
            return Optional.of(Json.parse(read(mnt)).path("daemon").path("pid").asLong());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static void print(JsonNode doc, PrintWriter out) {
        for (Iterator<Map.Entry<String, JsonNode>> sections = doc.fields(); sections.hasNext(); ) {
            Map.Entry<String, JsonNode> section = sections.next();
            out.println(section.getKey() + ":");
            for (Iterator<Map.Entry<String, JsonNode>> f = section.getValue().fields(); f.hasNext(); ) {
                Map.Entry<String, JsonNode> e = f.next();
                if (e.getValue().isContainerNode()) {
                    continue; // lists (peer members) have their own command
                }
                out.printf("  %-18s %s%n", e.getKey(), e.getValue().asText());
            }
        }
    }
}
