package io.peerfs.cli;

import io.peerfs.Libc;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A background mount that bin/peerfs started as the daemon itself: one JVM start instead of
 * a CLI JVM that starts the daemon's (about half a second less to mount-ready). The launcher
 * runs this process in its own session and relays its output until it says the mount answers
 * ({@code mounted …}) or why it failed ({@code peerfs: …}); from {@link #takeOver} on, the
 * process's own output goes to the cache dir's log, and those last words to the launcher
 * through a descriptor kept for them, closed once said, which ends the launcher's wait.
 */
final class Detached {
    /** Set (to true) by the launcher: this JVM is the daemon of a background mount. */
    static final String PROPERTY = "peerfs.detached";

    private final Libc.Calls libc;
    private int statusFd;

    private Detached(Libc.Calls libc, int statusFd) {
        this.libc = libc;
        this.statusFd = statusFd;
    }

    static boolean requested() {
        return Boolean.getBoolean(PROPERTY);
    }

    /**
     * Keeps the launcher's pipe (standard output) for the last words and points standard
     * output and error at {@code log}, standard input at /dev/null.
     *
     * @return null where the descriptors cannot be moved: the caller then starts the daemon as a child
     */
    static Detached takeOver(Path log) throws IOException {
        Libc.Calls libc = Libc.calls();
        if (libc == null) {
            return null;
        }
        Files.createDirectories(log.getParent());
        System.out.flush();
        System.err.flush();
        int status = libc.fcntl(1, Libc.F_DUPFD_CLOEXEC, 3); // children (fusermount, systemd-notify) do not get it
        int logFd = libc.open(log.toString(), Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT | Libc.O_CLOEXEC, 0600);
        int devNull = libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (status < 0 || logFd < 0 || devNull < 0 || libc.dup2(logFd, 1) < 0 || libc.dup2(logFd, 2) < 0
                || libc.dup2(devNull, 0) < 0) {
            throw new IOException("cannot send the daemon's output to " + log);
        }
        libc.close(logFd);
        libc.close(devNull);
        return new Detached(libc, status);
    }

    /** Says the last words to the launcher and lets it return. */
    synchronized void finish(String line) {
        if (statusFd < 0) {
            return;
        }
        byte[] b = (line + "\n").getBytes(StandardCharsets.UTF_8);
        libc.write(statusFd, b, b.length); // a launcher killed meanwhile: nobody to tell
        libc.close(statusFd);
        statusFd = -1;
    }
}
