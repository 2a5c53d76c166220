package io.peerfs.daemon.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The kernel's table of mounts ({@code /proc/self/mountinfo}). */
public final class MountTable {
    /**
     * One mounted file system: where, what type ({@code fuse.peerfs}), from what source, and its
     * device ({@code major:minor}, also the name of its entry in {@code /sys/class/bdi}).
     */
    public record Mount(Path mountpoint, String fsType, String source, String device) {
        public boolean isPeerFs() {
            return fsType.equals("fuse.peerfs");
        }
    }

    private MountTable() {
    }

    /** The mount whose mount point is exactly {@code mountpoint}, the newest if stacked. */
    public static Optional<Mount> find(Path mountpoint) throws IOException {
        Path want = mountpoint.toAbsolutePath().normalize();
        Mount found = null;
        for (Mount m : all()) {
            if (m.mountpoint().equals(want)) {
                found = m;
            }
        }
        return Optional.ofNullable(found);
    }

    static List<Mount> all() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().map(MountTable::parse)
                .flatMap(Optional::stream).toList();
    }

    /** Parses one mountinfo line: {@code id parent dev root MOUNTPOINT opts [tags] - FSTYPE SOURCE superopts}. */
    static Optional<Mount> parse(String line) {
        String[] f = line.split(" ");
        int dash = List.of(f).indexOf("-");
        if (f.length < 5 || dash < 0 || dash + 2 >= f.length) {
            return Optional.empty();
        }
        return Optional.of(new Mount(Path.of(unescape(f[4])), f[dash + 1], unescape(f[dash + 2]), f[2]));
    }

    /** mountinfo writes space, tab, newline and backslash as octal escapes ({@code \040}). */
    static String unescape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()
                    && s.substring(i + 1, i + 4).chars().allMatch(d -> d >= '0' && d <= '7')) {
                out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
