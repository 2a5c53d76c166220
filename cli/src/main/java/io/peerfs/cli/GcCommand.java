package io.peerfs.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
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
        UserDefinedFileAttributeView view = Files.getFileAttributeView(root, UserDefinedFileAttributeView.class);
        view.write("peerfs.gc", java.nio.ByteBuffer.wrap("1".getBytes(StandardCharsets.US_ASCII)));
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(32);
        view.read("peerfs.gc", b);
        PrintWriter out = spec.commandLine().getOut();
        out.println(root + ": removed " + new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII)
                + " scratch chunks that no file uses");
        out.flush();
        return 0;
    }
}
