package io.peerfs.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Who a change on the backend is made as: the calling process's fsuid, fsgid and supplementary
 * groups, so that the store's own permission model (modes, ACLs, setgid and sticky directories,
 * root squash) decides, as for a process on the store itself. Set for the current thread by the
 * FUSE layer around each changing call ({@link #enter}); {@link LocalDirBackend} takes them on
 * for the system calls it makes, on whichever thread makes them ({@link GuardedBackend} carries
 * them to its own threads).
 */
public final class Credentials {
    /** Most supplementary groups read (the kernel's NGROUPS_MAX). */
    static final int MAX_GROUPS = 65536;
    private static final ThreadLocal<Credentials> CURRENT = new ThreadLocal<>();

    private final int uid;
    private final int gid;
    private final long pid;
    private volatile int[] groups;

    private Credentials(int uid, int gid, long pid, int[] groups) {
        this.uid = uid;
        this.gid = gid;
        this.pid = pid;
        this.groups = groups;
    }

    /** A process's credentials; its groups are read from {@code /proc/PID/status} when first needed. */
    public static Credentials ofProcess(int uid, int gid, long pid) {
        return new Credentials(uid, gid, pid, pid > 0 ? null : new int[0]);
    }

    /** A user and group with no supplementary groups: a file's owner, for its upload. */
    public static Credentials of(int uid, int gid) {
        return of(uid, gid, new int[0]);
    }

    /** A user, group and supplementary groups: a file's writer as the journal recorded them. */
    public static Credentials of(int uid, int gid, int[] groups) {
        return new Credentials(uid, gid, 0, groups.clone());
    }

    public int uid() {
        return uid;
    }

    public int gid() {
        return gid;
    }

    /** The supplementary groups; none where the process is gone or its status unreadable. */
    public int[] groups() {
        int[] g = groups;
        if (g == null) {
            g = readGroups(Path.of("/proc/" + pid + "/status"));
            groups = g;
        }
        return g;
    }

    /** The {@code Groups:} line of a {@code /proc/PID/status} file. */
    static int[] readGroups(Path status) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("Groups:")) {
                    String list = line.substring("Groups:".length()).trim();
                    if (list.isEmpty()) {
                        return new int[0];
                    }
                    String[] ids = list.split("\\s+");
                    return Arrays.stream(ids).limit(MAX_GROUPS).mapToInt(Integer::parseUnsignedInt).toArray();
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process is gone: the user and group alone decide
        }
        return new int[0];
    }

    /** The credentials the current thread acts as, or null for the daemon's own. */
    public static Credentials current() {
        return CURRENT.get();
    }

    /** Makes {@code c} the current thread's until the scope closes (null: the daemon's own). */
    public static Scope enter(Credentials c) {
        Credentials before = CURRENT.get();
        CURRENT.set(c);
        return () -> CURRENT.set(before);
    }

    /** What {@link #enter} answers: closing it puts back what was current before. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    @Override
    public String toString() {
        return "uid " + uid + " gid " + gid;
    }
}
