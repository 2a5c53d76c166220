package io.peerfs.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code mount.peerfs}, as mount(8) runs it for {@code mount -t peerfs} and fstab lines:
 * {@code mount.peerfs BACKEND MOUNTPOINT [-sfnv] [-N NS] [-o OPTIONS] [-t TYPE]}. Each
 * {@code key=value} or {@code key} in OPTIONS becomes {@code --key=value} or {@code --key} of
 * {@code peerfs mount}; list values are separated by {@code ;} (the comma separates options);
 * the kernel's mount flags go to libfuse; fstab-only options ({@code _netdev}, {@code noauto},
 * {@code x-systemd.*} …) are left out.
 */
final class MountHelper {
    /** Options only mount(8), fstab or systemd read. */
    private static final Set<String> MOUNT_ONLY = Set.of("defaults", "auto", "noauto", "_netdev", "nofail", "user",
            "users", "nouser", "owner", "group", "rw", "loop");
    /** Mount flags and FUSE options libfuse and the kernel take as they are. */
    private static final Set<String> FUSE = Set.of("ro", "allow_other", "allow_root", "default_permissions", "nosuid",
            "suid", "nodev", "dev", "noexec", "exec", "noatime", "atime", "relatime", "nodiratime", "sync", "async",
            "dirsync", "nonempty");
    private static final Set<String> FUSE_WITH_VALUE = Set.of("max_read", "fsname", "subtype", "max_write");

    private MountHelper() {
    }

    /** Translates and runs; returns the exit code. */
    static int run(List<String> args, PrintStream err) {
        List<String> mount;
        try {
            mount = translate(args);
        } catch (IllegalArgumentException e) {
            err.println("mount.peerfs: " + e.getMessage());
            return 1;
        }
        if (mount == null) {
            return 0; // -f: checked, nothing to do
        }
        return Main.run(mount.toArray(String[]::new));
    }

    /** The {@code peerfs mount …} arguments for mount(8)'s; null for a fake mount ({@code -f}). */
    static List<String> translate(List<String> args) {
        List<String> positional = new ArrayList<>();
        List<String> options = new ArrayList<>();
        boolean sloppy = false;
        boolean fake = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "-o" -> options.addAll(List.of(value(args, ++i, "-o").split(",")));
                case "-t", "-N" -> i++; // the type is ours; a namespace is mount(8)'s business
                case "-s" -> sloppy = true;
                case "-f" -> fake = true;
                case "-n", "-v" -> { }
                default -> {
                    if (a.startsWith("-")) {
                        throw new IllegalArgumentException("unknown argument '" + a + "'");
                    }
                    positional.add(a);
                }
            }
        }
        if (positional.size() != 2) {
            throw new IllegalArgumentException("usage: mount.peerfs BACKEND_DIR MOUNTPOINT [-o key=value,...]");
        }
        CommandSpec spec = new CommandLine(new MountCommand()).getCommandSpec();
        List<String> out = new ArrayList<>(List.of("mount", positional.get(0), positional.get(1)));
        for (String o : options) {
            if (o.isEmpty() || MOUNT_ONLY.contains(o) || o.startsWith("x-") || o.startsWith("comment=")) {
                continue;
            }
            int eq = o.indexOf('=');
            String key = eq < 0 ? o : o.substring(0, eq);
            if (FUSE.contains(o) || FUSE_WITH_VALUE.contains(key) && eq > 0) {
                out.add("-o");
                out.add(o);
                continue;
            }
            OptionSpec opt = key.equals("o") || key.equals("foreground") ? null : spec.findOption("--" + key);
            if (opt == null && eq < 0 && key.startsWith("no-")) { // the negated form of a flag
                OptionSpec positive = spec.findOption("--" + key.substring(3));
                if (positive != null && positive.negatable()) {
                    out.add("--" + key);
                    continue;
                }
            }
            if (opt == null) {
                if (sloppy) {
                    continue;
                }
                throw new IllegalArgumentException("unknown option '" + key + "' (the options are those of"
                        + " 'peerfs mount --help' without '--', lists separated by ';')");
            }
            boolean flag = opt.type() == boolean.class || opt.type() == Boolean.class;
            String value = eq < 0 ? null : o.substring(eq + 1);
            if (flag && (value == null || value.equals("true"))) {
                out.add("--" + key);
            } else if (flag && value.equals("false") && opt.negatable()) {
                out.add("--no-" + key);
            } else if (flag || value == null) {
                throw new IllegalArgumentException("option '" + key + "' " + (flag ? "is a flag: " + key + " or "
                        + key + "=true" + (opt.negatable() ? " or " + key + "=false" : "") : "needs a value: " + key
                        + "=…"));
            } else {
                out.add("--" + key + "=" + value.replace(';', ','));
            }
        }
        return fake ? null : out;
    }

    private static String value(List<String> args, int i, String flag) {
        if (i >= args.size()) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args.get(i);
    }
}
