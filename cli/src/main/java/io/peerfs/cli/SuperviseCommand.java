package io.peerfs.cli;

import io.peerfs.daemon.fuse.Supervisor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code peerfs supervise MOUNTPOINT --log FILE -- COMMAND...}: started by a mount daemon of
 * {@code --libfuse none}, not by hand. Keeps the mount's FUSE connection and starts COMMAND (a
 * new daemon) if the daemon dies; see {@link Supervisor}.
 */
@Command(name = "supervise", hidden = true,
        description = "Keep a mount's FUSE connection and start a new daemon if its daemon dies (started by"
                + " 'peerfs mount --libfuse none' itself).")
public final class SuperviseCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Option(names = "--log", paramLabel = "FILE", required = true)
    Path log;

    @Parameters(index = "1..*", paramLabel = "COMMAND", description = "The daemon to start after a crash.")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("supervise needs the daemon's command after --");
        }
        return Supervisor.run(mountpoint.toAbsolutePath().normalize(), command, log);
    }
}
