package io.peerfs.daemon.fuse;

import com.kenai.jffi.Library;
import com.kenai.jffi.MemoryIO;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.LongAdder;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps libfuse's worker threads attached to the JVM between callbacks.
 *
 * <p>jffi, under jnr-ffi, attaches a native thread to the JVM when it calls back into Java and
 * detaches it afterwards, until that thread has been attached 1,000 times
 * ({@code THREAD_ATTACH_THRESHOLD} in jffi's closure code); only then does it leave the thread
 * attached. Each attach builds a new {@code java.lang.Thread} and maps the thread's stack guard
 * pages, each detach tears them down: measured with strace, two {@code mmap} calls and a new
 * {@code Thread} per FUSE request, for the first thousand requests of every FUSE thread, and
 * libfuse spreads requests over all its idle threads. For a 128 KiB random read that was a
 * large part of the daemon's CPU per request.
 *
 * <p>On a thread's first callback this sets jffi's attach count for it (the second field of
 * jffi's per-thread {@code ThreadData}: {@code int error; int attach_count; JavaVM *attached_vm},
 * as in jffi 1.3.5, which the build pins) to the threshold, so its next attach is its last;
 * jffi detaches the thread when it ends (its {@code ThreadData} destructor), as it does for any
 * thread it left attached. If the loaded jffi is not found, callbacks run as before.
 */
final class CallbackThreads {
    private static final Logger log = LoggerFactory.getLogger(CallbackThreads.class);
    /** jffi's {@code THREAD_ATTACH_THRESHOLD}. */
    static final int ATTACH_THRESHOLD = 1000;
    private static final int ATTACH_COUNT_OFFSET = 4;

    /** libc's thread-specific data; public, as jnr-ffi requires. */
    public interface LibC {
        Pointer pthread_getspecific(int key);
    }

    private final LibC libc;
    /** jffi's {@code pthread_key_t} for its {@code ThreadData}; -1 when jffi was not found. */
    private final int threadDataKey;
    /** Set on the {@code Thread} object of the current attach; a re-attached thread has a new one. */
    private final ThreadLocal<Boolean> seen = new ThreadLocal<>();
    private final LongAdder attaches = new LongAdder();

    CallbackThreads() {
        LibC c = null;
        int key = -1;
        try {
            String jffi = loadedJffi();
            long keyAddress = Library.getCachedInstance(jffi, Library.LAZY | Library.LOCAL)
                    .getSymbolAddress("jffi_threadDataKey");
            if (keyAddress == 0) {
                throw new IOException(jffi + " has no jffi_threadDataKey");
            }
            key = MemoryIO.getInstance().getInt(keyAddress);
            c = LibraryLoader.create(LibC.class).failImmediately().load("c");
        } catch (IOException | RuntimeException | LinkageError e) {
            log.info("FUSE threads attach to the JVM per request, as jffi does by itself: {}", e.toString());
            key = -1;
        }
        this.libc = c;
        this.threadDataKey = key;
    }

    /** The path of the jffi stub this process mapped. */
    private static String loadedJffi() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int at = line.indexOf('/');
            if (at > 0 && line.substring(at).contains("/libjffi-")) {
                return line.substring(at).trim();
            }
        }
        throw new IOException("jffi's native library is not mapped");
    }

    /** Called at the start of every callback: cheap once the thread stays attached. */
    void enter() {
        if (seen.get() != null) {
            return;
        }
        seen.set(Boolean.TRUE);
        attaches.increment();
        if (threadDataKey < 0) {
            return;
        }
        Pointer td = libc.pthread_getspecific(threadDataKey);
        if (td != null && td.getInt(ATTACH_COUNT_OFFSET) < ATTACH_THRESHOLD) {
            td.putInt(ATTACH_COUNT_OFFSET, ATTACH_THRESHOLD);
        }
    }

    /** Callbacks that ran on a newly attached thread: about two per FUSE thread when this works. */
    long attaches() {
        return attaches.sum();
    }
}
