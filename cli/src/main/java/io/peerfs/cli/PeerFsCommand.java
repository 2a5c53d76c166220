package io.peerfs.cli;

import io.peerfs.daemon.Version;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;

/** {@code peerfs}: the top-level command; all work is in its subcommands. */
@Command(name = "peerfs", mixinStandardHelpOptions = true, versionProvider = PeerFsCommand.VersionProvider.class,
        description = "A caching, peer-to-peer FUSE file system over a central POSIX store.",
        subcommands = {MountCommand.class, UmountCommand.class, StatusCommand.class, InfoCommand.class,
                TagCommand.class, PersistCommand.class, PeersCommand.class, GcCommand.class, DrainCommand.class, CacheCommand.class, StatsCommand.class,
                WarmupCommand.class, SuperviseCommand.class})
public final class PeerFsCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    /** Prints the version from the jar manifest. */
    static final class VersionProvider implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"peerfs " + Version.get()};
        }
    }
}
