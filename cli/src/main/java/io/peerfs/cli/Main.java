package io.peerfs.cli;

import io.peerfs.PeerFsException;
import picocli.CommandLine;

/** Entry point of the {@code peerfs} command. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        if (args.length > 0 && args[0].equals("mount-helper")) { // bin/mount.peerfs, for mount(8)
            return MountHelper.run(java.util.List.of(args).subList(1, args.length), System.err);
        }
        if (args.length == 1 && args[0].equals("cds-training")) { // bin/peerfs-cds
            try {
                return CdsTraining.run();
            } catch (java.io.IOException | InterruptedException e) {
                System.err.println("peerfs cds-training: " + e);
                return 1;
            }
        }
        CommandLine cl = new CommandLine(new PeerFsCommand());
        cl.setParameterExceptionHandler((ex, a) -> {
            // a user's mistake: one line saying what is wrong, and where to look
            ex.getCommandLine().getErr().println("peerfs: " + ex.getMessage());
            ex.getCommandLine().getErr().println("Run '" + ex.getCommandLine().getCommandSpec().qualifiedName()
                    + " --help' for usage.");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (ex instanceof PeerFsException || ex instanceof IllegalArgumentException
                    || ex instanceof java.io.IOException) {
                c.getErr().println("peerfs: " + ex.getMessage());
                return 1;
            }
            throw ex; // a bug: let picocli print the stack trace
        });
        if (args.length > 0 && args[0].equals("mount")) {
            CommandLine mount = cl.getSubcommands().get("mount");
            try {
                ConfigFile file = ConfigFile.find(java.util.List.of(args), mount.getCommandSpec());
                if (file != null) {
                    mount.setDefaultValueProvider(file);
                }
            } catch (java.io.IOException e) {
                cl.getErr().println("peerfs: " + e.getMessage());
                return 2;
            }
        }
        return cl.execute(args);
    }
}
