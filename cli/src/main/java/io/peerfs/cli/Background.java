package io.peerfs.cli;

import io.peerfs.daemon.DaemonConfig;
import io.peerfs.daemon.MountException;
import io.peerfs.daemon.MountPreflight;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Starts the mount daemon as a detached process (its own session, output to the cache
 * dir's log) and returns once the mount answers, or reports why the daemon died.
 */
final class Background {
    private static final long READY_TIMEOUT_MS = 60_000;

    private Background() {
    }

    static int start(CommandSpec spec, DaemonConfig config) throws IOException, MountException {
        Path log = config.cacheDir().resolve("peerfs.log");
        long logStart = Files.exists(log) ? Files.size(log) : 0;
        List<String> cmd = new ArrayList<>();
        cmd.add("setsid"); // leave the terminal's session: closing the shell must not stop the daemon
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(spec.commandLine().getParseResult().originalArgs());
        cmd.add("--foreground");
        Process p = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true)
                .start();
        if (MountPreflight.awaitMounted(config.mountpoint(), READY_TIMEOUT_MS, p::isAlive)) {
            spec.commandLine().getOut().println("mounted " + config.backend() + " on " + config.mountpoint()
                    + " (daemon pid " + p.pid() + ", log " + log + ")");
            return 0;
        }
        p.destroy();
        spec.commandLine().getErr().println("peerfs: " + reason(log, logStart));
        return 1;
    }

    /** The daemon's own one-line error if it printed one, else the tail of its log. */
    private static String reason(Path log, long from) throws IOException {
        byte[] all = Files.readAllBytes(log);
        String out = new String(all, (int) Math.min(from, all.length), (int) Math.max(0, all.length - from),
                StandardCharsets.UTF_8);
        List<String> lines = out.lines().toList();
        for (String l : lines) {
            if (l.startsWith("peerfs: ")) {
                return l.substring("peerfs: ".length());
            }
        }
        String tail = String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
        return "the mount daemon did not come up; see " + log + (tail.isEmpty() ? "" : ": " + tail);
    }
}
