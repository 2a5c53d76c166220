package io.peerfs.cli;

import io.peerfs.PeerFsException;
import io.peerfs.meta.redis.RedisMetaStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Mount options from a file: one {@code key = value} per line, {@code #} starts a comment,
 * the keys are the long option names without dashes ({@code cache-size = 20GiB}), plus
 * {@code backend} and {@code mountpoint} for the two arguments and {@code o} for libfuse
 * options. A flag takes {@code true} or {@code false}. Flags on the command line override
 * the file, because the file only supplies defaults.
 */
final class ConfigFile implements IDefaultValueProvider {
    /** Read when no {@code --config} is given, if it exists. */
    static final Path DEFAULT = Path.of("/etc/peerfs/peerfs.conf");

    private final Path path;
    private final Map<String, String> values;

    private ConfigFile(Path path, Map<String, String> values) {
        this.path = path;
        this.values = values;
    }

    /**
     * The file named by {@code --config} in {@code args}, else {@link #DEFAULT} when it
     * exists; null when there is none. Every key must name an option of {@code mount}.
     */
    static ConfigFile find(List<String> args, CommandSpec mount) throws IOException {
        Path named = null;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--config") && i + 1 < args.size()) {
                named = Path.of(args.get(i + 1));
            } else if (a.startsWith("--config=")) {
                named = Path.of(a.substring("--config=".length()));
            }
        }
        Path p = named != null ? named : Files.exists(DEFAULT) ? DEFAULT : null;
        return p == null ? null : load(p, mount);
    }

    static ConfigFile load(Path path, CommandSpec mount) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(path);
        } catch (NoSuchFileException e) {
            throw new PeerFsException("config file " + path + " does not exist");
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (int n = 1; n <= lines.size(); n++) {
            String line = lines.get(n - 1).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new PeerFsException(path + " line " + n + ": expected 'key = value', got '" + line + "'");
            }
            String key = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            if (key.equals("config") || !key.equals("backend") && !key.equals("mountpoint")
                    && mount.findOption(key) == null) {
                throw new PeerFsException(path + " line " + n + ": unknown option '" + key + "' (keys are the"
                        + " long names of 'peerfs mount' options without '--', and backend, mountpoint)");
            }
            values.put(key, value);
        }
        String meta = values.get("meta");
        if (meta != null && !RedisMetaStore.withoutPassword(meta).equals(meta)) {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            if ((mode & 077) != 0) {
                throw new PeerFsException("config file " + path + " holds a Redis password and is open to group or"
                        + " others (mode " + String.format("%04o", mode & 07777) + "): chmod 600 " + path
                        + ", or give the URL through PEERFS_META");
            }
        }
        return new ConfigFile(path, values);
    }

    Path path() {
        return path;
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (arg instanceof PositionalParamSpec p) {
            return values.get(p.index().min() == 0 ? "backend" : "mountpoint");
        }
        OptionSpec o = (OptionSpec) arg;
        String key = o.longestName().replaceFirst("^-+", "");
        return values.get(key);
    }
}
