package io.peerfs.vfs;

import java.util.List;
import java.util.regex.Pattern;

/**
 * libfuse's names for files removed while open: its high-level API renames such a file to
 * {@code .fuse_hidden} and 16 hex digits, and removes it at the file's release, which the
 * kernel sends after close() returns. To the processes using the mount these files are gone:
 * listings leave them out, and removing their directory takes them along (scratch) or waits
 * for their release (result directories, whose names are the backend's).
 */
final class HiddenNames {
    private static final Pattern HIDDEN = Pattern.compile("\\.fuse_hidden[0-9a-f]{16}");

    private HiddenNames() {
    }

    static boolean isHidden(String name) {
        return HIDDEN.matcher(name).matches();
    }

    /** True when {@code names} has entries and every one is a hidden file. */
    static boolean onlyHidden(List<String> names) {
        return !names.isEmpty() && names.stream().allMatch(HiddenNames::isHidden);
    }
}
