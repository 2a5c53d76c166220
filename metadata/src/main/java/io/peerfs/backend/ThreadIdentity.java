package io.peerfs.backend;

import static io.peerfs.backend.LibC.C;

import java.io.IOException;
import java.nio.file.AccessDeniedException;

/**
 * Takes on {@link Credentials} for the system calls of the current thread: {@code setfsuid},
 * {@code setfsgid} and the raw {@code setgroups} system call, which on Linux are per thread
 * (glibc's {@code setgroups} would change every thread of the daemon). Only a daemon running as
 * root switches; one running as a user acts as that user anyway.
 */
final class ThreadIdentity {
    private static final long SYS_SETGROUPS = RootDir.ARM ? 159 : 116;
    private static final int EUID = C.geteuid();
    private static final boolean ROOT = EUID == 0;
    /** The daemon's own supplementary groups, put back after each switch. */
    private static final int[] OWN_GROUPS = ownGroups();

    private ThreadIdentity() {
    }

    private static int[] ownGroups() {
        return Credentials.readGroups(java.nio.file.Path.of("/proc/self/status"));
    }

    /** The body's system calls made as {@code c}; as the daemon where {@code c} is null, root or the daemon's own. */
    static <T> T as(Credentials c, IoCall<T> body) throws IOException {
        if (c == null || !ROOT || c.uid() == 0 && c.gid() == 0) {
            return body.call();
        }
        int[] groups = c.groups();
        try {
            if (C.syscall(SYS_SETGROUPS, groups.length, groups) != 0) {
                throw new AccessDeniedException("cannot take on the caller's groups (" + c + "): errno "
                        + LibC.errno());
            }
            C.setfsgid(c.gid());
            C.setfsuid(c.uid());
            if (C.setfsuid(-1) != c.uid() || C.setfsgid(-1) != c.gid()) { // -1 changes nothing, answers the current
                throw new AccessDeniedException("cannot act as the caller (" + c + ") on the backend");
            }
            return body.call();
        } finally {
            C.setfsuid(0);
            C.setfsgid(0);
            C.syscall(SYS_SETGROUPS, OWN_GROUPS.length, OWN_GROUPS);
        }
    }

    /**
     * The body as the daemon again, inside {@link #as}: for a step that finishes what the
     * caller was allowed to do, where doing it as the caller would differ from the one system
     * call a process on the store makes (a mkdir keeps an inherited setgid bit that a chmod by a
     * non-member clears).
     */
    static <T> T asDaemon(IoCall<T> body) throws IOException {
        if (!acting()) {
            return body.call();
        }
        int uid = C.setfsuid(-1);
        int gid = C.setfsgid(-1);
        C.setfsuid(0);
        C.setfsgid(0);
        try {
            return body.call();
        } finally {
            C.setfsgid(gid);
            C.setfsuid(uid);
        }
    }

    /** Whether this thread makes its calls as someone other than the daemon now. */
    static boolean acting() {
        return C.setfsuid(-1) != EUID; // -1 changes nothing and answers the current fsuid
    }

    @FunctionalInterface
    interface IoCall<T> {
        T call() throws IOException;
    }
}
