package io.peerfs.daemon.fuse;

import com.kenai.jffi.MemoryIO;
import io.peerfs.daemon.MountException;
import io.peerfs.vfs.Vfs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PeerFS's own FUSE loop: the kernel's protocol spoken on {@code /dev/fuse} without libfuse
 * (as go-fuse does), so the daemon holds everything a connection needs: the descriptor, the
 * negotiated INIT, the node ids and the handles. That is what lets a running mount be handed
 * to a new daemon ({@link #handOver}, {@link #adopt}) with no request failing; libfuse keeps
 * the node table and INIT state inside the process that mounted.
 *
 * <p>Root only: it mounts with mount(2) itself. Requests of up to 1 MiB; worker threads read
 * the device and answer, more start while all are busy (up to {@link #MAX_THREADS}).
 */
public final class KernelFuse implements FuseMount {
    private static final Logger log = LoggerFactory.getLogger(KernelFuse.class);
    static final int MAX_THREADS = 64;
    static final int IDLE_THREADS = 8;
    private static final int PAGE = 4096;
    static final int MAX_WRITE = 1 << 20;
    private static final int HEADER = 40;
    private static final int OUT_HEADER = 16;
    /** INIT flags PeerFS asks for when the kernel offers them. */
    private static final int WANT = 1 /* ASYNC_READ */ | 1 << 3 /* ATOMIC_O_TRUNC */ | 1 << 5 /* BIG_WRITES */
            | 1 << 12 /* AUTO_INVAL_DATA */ | 1 << 15 /* ASYNC_DIO */ | 1 << 18 /* PARALLEL_DIROPS */
            | 1 << 22 /* MAX_PAGES */;
    private static final int FUSE_MAX_PAGES = 1 << 22;
    private static final int MINOR = 38;
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;

    /** What a connection negotiated in INIT: a new daemon serving it must keep to it. */
    public record Session(int minor, int maxWrite, int flags) {
    }

    private final NodeTable nodes = new NodeTable();
    private Vfs vfs;
    private KernelOps ops;
    private volatile FuseMount.OpObserver observer;
    private volatile int fd = -1;
    private int wakeFd = -1;
    private volatile Session session;
    private volatile Path mounted;
    private volatile boolean stopping;
    private volatile boolean handingOver;
    private final AtomicInteger threads = new AtomicInteger();
    private final AtomicInteger idle = new AtomicInteger();
    private final AtomicLong requests = new AtomicLong();
    private final CountDownLatch ended = new CountDownLatch(1);
    /** Open once INIT is answered or the taken-over table restored, and the workers run. */
    private final CountDownLatch serving = new CountDownLatch(1);
    /** A connection taken over from another daemon; null when this one mounts. */
    private Handover.State adopted;
    /** The supervisor that keeps the connection for a crash; null when none. */
    private volatile Supervisor.Link link;
    private final Object compaction = new Object();
    private static final int FUSE_NOTIFY_RESEND = 7;

    @Override
    public int version() {
        return 0;
    }

    @Override
    public KernelFuse serve(Vfs v) {
        this.vfs = v;
        return this;
    }

    @Override
    public void observeOps(OpObserver o) {
        observer = o;
        if (ops != null) {
            ops.observe(o);
        }
    }

    /**
     * Serves the connection {@code state} describes instead of mounting: call before {@link #mount}.
     * {@code recovered}: the daemon before died (its supervisor's link), and the requests it had
     * read are asked for again, the writes it had answered but not made durable done again.
     */
    public void adopt(Handover.State state, Supervisor.Link recovered) {
        this.adopted = state;
        this.recoveredLink = recovered;
    }

    /** The supervisor of a daemon that died: the journal goes to it before anything is served. */
    private Supervisor.Link recoveredLink;

    /**
     * From now on every change of the node table and the handles is written to a journal the
     * supervisor behind {@code l} holds with the connection, so that a new daemon can go on
     * after a crash. Call once mounted.
     */
    public void supervise(Supervisor.Link l, int handovers, int recoveries, long mountedAtMs) throws IOException {
        if (link != null) {
            return; // a recovered daemon's journal was written before it served
        }
        try {
            // a taken-over table is restored by the loop's thread: the journal starts from it
            if (!serving.await(60, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new IOException("the FUSE loop is not serving after 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        NodeJournal j = NodeJournal.create(session, handovers, recoveries, mountedAtMs);
        try {
            nodes.journalTo(j, ops.openHandles(), () -> l.hold(fd, j.fd()));
        } catch (IOException | RuntimeException e) {
            nodes.stopJournal();
            j.close();
            throw e;
        }
        link = l;
        history = new int[] {handovers, recoveries};
        mountedAt = mountedAtMs;
    }

    private volatile int[] history = {0, 0};
    private volatile long mountedAt;

    /** The daemon stops on purpose (unmount, hand-over): the supervisor lets the connection go. */
    public void endSupervision() {
        Supervisor.Link l = link;
        link = null;
        if (l != null) {
            l.bye();
        }
        NodeJournal j = nodes.stopJournal();
        if (j != null) {
            j.close();
        }
    }

    /** A journal four times its snapshot is written anew, and the supervisor given the new one. */
    private void compactJournal() {
        synchronized (compaction) {
            NodeJournal current = nodes.journal();
            Supervisor.Link l = link;
            if (current == null || l == null || !current.wantsCompaction()) {
                return;
            }
            NodeJournal next = null;
            try {
                next = NodeJournal.create(session, history[0], history[1], mountedAt);
                NodeJournal n = next;
                nodes.journalTo(n, ops.openHandles(), () -> l.replace(n.fd())).close();
            } catch (IOException | RuntimeException e) {
                log.warn("crash recovery is off for this mount: the node journal could not be renewed ({})",
                        e.toString());
                if (next != null) {
                    next.close();
                }
                NodeJournal j = nodes.stopJournal();
                if (j != null) {
                    j.close();
                }
            }
        }
    }

    @Override
    public Map<String, Object> stats() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("loop", "peerfs");
        m.put("threads", threads.get());
        m.put("requests", requests.get());
        m.put("nodes", nodes.size());
        KernelOps o = ops;
        m.put("handles", o == null ? 0 : o.handles.size());
        Session s = session;
        if (s != null) {
            m.put("protocol", "7." + s.minor());
            m.put("maxWrite", s.maxWrite());
        }
        return m;
    }

    @Override
    public void mount(Path mountpoint, List<String> options) throws MountException {
        Options o = Options.parse(options);
        ops = new KernelOps(vfs, nodes, o.entryTtl.toNanos(), o.attrTtl.toNanos(), o.negativeTtl.toNanos(),
                o.autoCache);
        if (observer != null) {
            ops.observe(observer);
        }
        DevFuse.Calls c = DevFuse.c();
        wakeFd = c.eventfd(0, DevFuse.O_CLOEXEC | DevFuse.O_NONBLOCK);
        if (wakeFd < 0) {
            throw new MountException(DevFuse.failure("eventfd"));
        }
        if (adopted != null) {
            fd = adopted.fd();
            session = adopted.session();
            nodes.restore(adopted.nodes());
            if (recoveredLink != null) {
                journalFirst(adopted, recoveredLink);
            }
            reopen(adopted);
            if (recoveredLink != null) {
                askAgain();
            }
        } else {
            fd = c.open("/dev/fuse", DevFuse.O_RDWR | DevFuse.O_CLOEXEC | DevFuse.O_NONBLOCK, 0);
            if (fd < 0) {
                throw new MountException(DevFuse.failure("cannot open /dev/fuse") + " (is the fuse module loaded?)");
            }
            String data = "fd=" + fd + ",rootmode=40000,user_id=0,group_id=0"
                    + (o.allowOther ? ",allow_other" : "") + (o.defaultPermissions ? ",default_permissions" : "");
            long flags = DevFuse.MS_NOSUID | DevFuse.MS_NODEV | (o.readOnly ? DevFuse.MS_RDONLY : 0);
            if (c.mount(o.fsname, mountpoint.toString(), "fuse." + o.subtype, flags, data) != 0) {
                String why = DevFuse.failure("mount(2) of " + mountpoint);
                c.close(fd);
                throw new MountException(why + " (PeerFS's own FUSE loop mounts as root)");
            }
        }
        mounted = mountpoint;
        try {
            if (session == null) {
                session = init();
            }
            startWorker();
            serving.countDown();
            ended.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            mounted = null;
            if (!handingOver) {
                release();
                c.close(fd);
                fd = -1;
            }
            c.close(wakeFd);
        }
    }

    /** Reads and answers the kernel's INIT: the first request of a new connection. */
    private Session init() throws MountException {
        Worker w = new Worker(MAX_WRITE + PAGE);
        try {
            while (true) {
                long n = w.readRequest();
                if (n == -2) {
                    throw new MountException("the kernel closed the FUSE connection before INIT");
                }
                if (n < 0) {
                    continue;
                }
                ByteBuffer in = w.in;
                int opcode = in.getInt(4);
                long unique = in.getLong(8);
                if (opcode != KernelOps.INIT) {
                    w.reply(unique, -38, 0);
                    continue;
                }
                int major = in.getInt(HEADER);
                int minor = in.getInt(HEADER + 4);
                int readahead = in.getInt(HEADER + 8);
                int offered = in.getInt(HEADER + 12);
                if (major != 7) {
                    // a newer protocol: say which major this speaks, the kernel asks again
                    w.out.putInt(0, 7);
                    w.out.putInt(4, MINOR);
                    w.reply(unique, 0, 8);
                    continue;
                }
                int flags = offered & WANT;
                int maxWrite = (flags & FUSE_MAX_PAGES) != 0 ? MAX_WRITE : 32 * PAGE;
                ByteBuffer out = w.out;
                for (int i = 0; i < 64; i += 4) {
                    out.putInt(i, 0);
                }
                out.putInt(0, 7);
                out.putInt(4, Math.min(minor, MINOR));
                out.putInt(8, readahead);
                out.putInt(12, flags);
                out.putShort(16, (short) 64); // max_background
                out.putShort(18, (short) 48); // congestion_threshold
                out.putInt(20, maxWrite);
                out.putInt(24, 1); // time_gran: nanoseconds
                out.putShort(28, (short) (maxWrite / PAGE));
                w.reply(unique, 0, 64);
                Session s = new Session(Math.min(minor, MINOR), maxWrite, flags);
                log.info("FUSE protocol 7.{} (kernel 7.{}), requests up to {} KiB, flags {}", s.minor(), minor,
                        maxWrite / 1024, Integer.toHexString(flags));
                return s;
            }
        } finally {
            w.free();
        }
    }

    /**
     * A recovered daemon's journal, written and handed to the supervisor before the handles are
     * opened again and the dead daemon's pending writes done again, so those are in it too.
     */
    private void journalFirst(Handover.State s, Supervisor.Link l) {
        NodeJournal j = null;
        try {
            j = NodeJournal.create(s.session(), s.handovers(), s.recoveries(), s.mountedAtMs());
            NodeJournal created = j;
            nodes.journalTo(created, List.of(), () -> l.hold(fd, created.fd()));
            link = l;
            history = new int[] {s.handovers(), s.recoveries()};
            mountedAt = s.mountedAtMs();
        } catch (IOException | RuntimeException e) {
            log.warn("no crash recovery after this one: {}", e.toString());
            nodes.stopJournal();
            if (j != null) {
                j.close();
            }
            l.close();
        }
    }

    /** FUSE_NOTIFY_RESEND (Linux 6.9): the requests the dead daemon had read come again. */
    private void askAgain() {
        MemoryIO m = MemoryIO.getInstance();
        long buf = m.allocateMemory(OUT_HEADER, true);
        try {
            m.putInt(buf, OUT_HEADER);
            m.putInt(buf + 4, FUSE_NOTIFY_RESEND);
            if (DevFuse.c().write(fd, buf, OUT_HEADER) < 0) {
                log.warn("{}: requests the dead daemon had read are lost (their callers get an error; Linux 6.9 or"
                        + " later sends them again)", DevFuse.failure("FUSE_NOTIFY_RESEND"));
            } else {
                log.info("asked the kernel to send again what the dead daemon had read");
            }
        } finally {
            m.freeMemory(buf);
        }
    }

    private void startWorker() {
        threads.incrementAndGet();
        idle.incrementAndGet();
        Thread t = new Thread(this::work, "peerfs-fuse-" + threads.get());
        t.setDaemon(true);
        t.start();
    }

    /** One worker: reads a request, answers it, and again; more start while none is idle. */
    private void work() {
        Worker w = new Worker(session.maxWrite() + PAGE);
        boolean retired = false;
        try {
            while (!stopping) {
                long n = w.readRequest();
                if (n == -2) {
                    stopping = true;
                    wake();
                    break;
                }
                if (n < 0) {
                    continue;
                }
                if (idle.decrementAndGet() == 0 && threads.get() < MAX_THREADS) {
                    startWorker();
                }
                try {
                    serve(w, (int) n);
                } finally {
                    idle.incrementAndGet();
                }
                int i = idle.get();
                if (i > IDLE_THREADS && idle.compareAndSet(i, i - 1)) {
                    retired = true; // enough others wait
                    break;
                }
            }
        } catch (RuntimeException | Error e) {
            log.error("a FUSE worker failed", e);
        } finally {
            w.free();
            if (!retired) {
                idle.decrementAndGet();
            }
            if (threads.decrementAndGet() == 0 && stopping) {
                ended.countDown();
            }
        }
    }

    private void serve(Worker w, int length) {
        requests.incrementAndGet();
        ByteBuffer in = w.in;
        int opcode = in.getInt(4);
        long unique = in.getLong(8);
        KernelOps.Request r = new KernelOps.Request(opcode, unique, in.getLong(16), in.getInt(24), in.getInt(28),
                in.getInt(32), in.slice(HEADER, Math.max(0, length - HEADER)).order(ByteOrder.LITTLE_ENDIAN));
        if (opcode == KernelOps.DESTROY) {
            stopping = true;
            wake();
        }
        int result = ops.handle(r, w.out);
        if (result != KernelOps.NO_REPLY) {
            w.reply(unique, result < 0 ? result : 0, Math.max(result, 0));
        }
        NodeJournal j = nodes.journal();
        if (j != null && j.wantsCompaction()) {
            compactJournal();
        }
    }

    private void wake() {
        long buf = MemoryIO.getInstance().allocateMemory(8, true);
        try {
            MemoryIO.getInstance().putLong(buf, 1);
            DevFuse.c().write(wakeFd, buf, 8);
        } finally {
            MemoryIO.getInstance().freeMemory(buf);
        }
    }

    /** A worker's native buffers: the request read from the device, and the reply after its header. */
    private final class Worker {
        private final long inBase;
        private final long outBase;
        private final long pollFds;
        final ByteBuffer in;
        /** The reply's bytes after its header, page-aligned (the cache disk reads into it with direct I/O). */
        final ByteBuffer out;
        private final long outData;
        private final int inSize;

        Worker(int size) {
            MemoryIO m = MemoryIO.getInstance();
            inSize = size;
            inBase = m.allocateMemory(size, false);
            outBase = m.allocateMemory(size + 2L * PAGE, false);
            outData = (outBase + 2L * PAGE - 1) & -PAGE;
            pollFds = m.allocateMemory(16, true);
            in = m.newDirectByteBuffer(inBase, size).order(ByteOrder.LITTLE_ENDIAN);
            out = m.newDirectByteBuffer(outData, size).order(ByteOrder.LITTLE_ENDIAN);
        }

        /** The request's length; -1 for none this time, -2 when the connection is gone. */
        long readRequest() {
            DevFuse.Calls c = DevFuse.c();
            MemoryIO m = MemoryIO.getInstance();
            m.putInt(pollFds, fd);
            m.putInt(pollFds + 4, DevFuse.POLLIN); // events, revents 0
            m.putInt(pollFds + 8, wakeFd);
            m.putInt(pollFds + 12, DevFuse.POLLIN);
            int ready = c.poll(pollFds, 2, -1);
            if (stopping) {
                return -1;
            }
            if (ready < 0) {
                return -1; // EINTR
            }
            long n = c.read(fd, inBase, inSize);
            if (n >= 0) {
                return n;
            }
            int e = DevFuse.errno();
            if (e == DevFuse.ENODEV) {
                return -2; // unmounted
            }
            if (e != DevFuse.EAGAIN && e != DevFuse.EINTR && e != DevFuse.ENOENT) {
                log.warn("{}", DevFuse.failure("read from /dev/fuse"));
                return -2;
            }
            return -1;
        }

        void reply(long unique, int error, int length) {
            MemoryIO m = MemoryIO.getInstance();
            long header = outData - OUT_HEADER;
            m.putInt(header, OUT_HEADER + length);
            m.putInt(header + 4, error);
            m.putLong(header + 8, unique);
            if (DevFuse.c().write(fd, header, OUT_HEADER + length) < 0) {
                int e = DevFuse.errno();
                if (e != DevFuse.ENOENT) { // ENOENT: the request was interrupted, no one waits for it
                    log.warn("{}", DevFuse.failure("reply to /dev/fuse"));
                }
            }
        }

        void free() {
            MemoryIO m = MemoryIO.getInstance();
            m.freeMemory(inBase);
            m.freeMemory(outBase);
            m.freeMemory(pollFds);
        }
    }

    /** Closes every handle still open in the Vfs (the mount is gone, or handed over). */
    private void release() {
        KernelOps o = ops;
        if (o == null) {
            return;
        }
        for (KernelOps.Handle h : new ArrayList<>(o.handles.values())) {
            if (h.vfsFh >= 0) {
                try {
                    vfs.release(h.vfsFh);
                } catch (java.io.IOException | RuntimeException e) {
                    log.warn("closing a file left open at unmount: {}", e.toString());
                }
            }
        }
    }

    /**
     * Stops taking requests, lets the ones being served finish, closes every file in the Vfs
     * (so their data is committed or journaled) and returns what a new daemon needs to go on
     * serving the connection; the caller sends it with the descriptor. The mount stays.
     */
    public Handover.State handOver() throws InterruptedException {
        serving.await(); // a table being restored is handed on whole
        handingOver = true;
        stopping = true;
        wake();
        ended.await();
        release();
        KernelOps o = ops;
        return new Handover.State(fd, session, nodes.snapshot(), nodes.nextId(), o.nextFh.get(), o.openHandles(), 0, 0,
                0);
    }

    /** Reopens the files a previous daemon had open, under the handles the kernel holds. */
    private void reopen(Handover.State s) {
        nodes.nextId(s.nextNode());
        ops.nextFh.set(s.nextFh());
        int lost = 0;
        for (Handover.OpenHandle h : s.handles()) {
            NodeTable.Node n = nodes.get(h.node());
            if (n == null) {
                lost++;
                continue;
            }
            long vfsFh = -1;
            if (!h.dir()) {
                vfsFh = KernelOps.LOST;
                String p = nodes.path(h.node());
                int flags = h.flags() & ~(O_CREAT | O_EXCL | Vfs.O_TRUNC);
                try (io.peerfs.backend.Credentials.Scope scope = io.peerfs.backend.Credentials.enter(
                        io.peerfs.backend.Credentials.of(h.uid(), h.gid()))) {
                    if (p != null) {
                        vfsFh = vfs.open(p, flags, 0);
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    log.warn("{} cannot be opened again after the hand-over: {}", p, e.toString());
                }
                if (vfsFh == KernelOps.LOST) {
                    lost++;
                }
            }
            ops.addHandle(h.fh(), new KernelOps.Handle(vfsFh, n, h.flags(), h.uid(), h.gid()));
            if (vfsFh >= 0) {
                lost += writeAgain(s, h.fh(), vfsFh);
            }
        }
        log.info("took over a FUSE connection: {} nodes, {} open handles{}", nodes.size(), s.handles().size(),
                lost == 0 ? "" : " (" + lost + " of them answer EIO: their files are gone)");
    }

    /** Does the dead daemon's pending writes of {@code fh} again; 1 when they failed (the handle then answers EIO). */
    private int writeAgain(Handover.State s, long fh, long vfsFh) {
        int bytes = 0;
        try {
            for (Handover.PendingWrite w : s.writes()) {
                if (w.fh() == fh) {
                    java.nio.ByteBuffer data = java.nio.ByteBuffer.wrap(w.data());
                    vfs.write(vfsFh, w.offset(), data.duplicate());
                    nodes.journalWrite(fh, w.offset(), data);
                    bytes += w.data().length;
                }
            }
            if (bytes > 0) {
                log.info("wrote again {} bytes the dead daemon had answered but not made durable (handle {})", bytes,
                        fh);
            }
            return 0;
        } catch (IOException | RuntimeException e) {
            log.error("handle {}: writes the dead daemon had answered could not be done again: {}", fh, e.toString());
            KernelOps.Handle h = ops.handles.get(fh);
            if (h != null) {
                ops.handles.put(fh, new KernelOps.Handle(KernelOps.LOST, h.node, h.flags, h.uid, h.gid));
            }
            return 1;
        }
    }

    @Override
    public void answering(Path mountpoint) {
        PeerFuse3.raiseReadahead(mountpoint);
    }

    @Override
    public void umount() {
        Path mnt = mounted;
        if (mnt == null) {
            return;
        }
        FuseMount.detach(mnt);
    }

    /** The -o values the daemon passes, as this loop takes them. */
    private static final class Options {
        String fsname = "peerfs";
        String subtype = "peerfs";
        boolean allowOther;
        boolean defaultPermissions;
        boolean readOnly;
        boolean autoCache;
        Duration entryTtl = Duration.ofSeconds(1);
        Duration attrTtl = Duration.ofSeconds(1);
        Duration negativeTtl = Duration.ZERO;

        static Options parse(List<String> options) throws MountException {
            Options o = new Options();
            for (String opt : options) {
                int eq = opt.indexOf('=');
                String key = eq < 0 ? opt : opt.substring(0, eq);
                String value = eq < 0 ? "" : opt.substring(eq + 1);
                switch (key) {
                    case "fsname" -> o.fsname = value.replace("\\,", ",");
                    case "subtype" -> o.subtype = value;
                    case "allow_other" -> o.allowOther = true;
                    case "default_permissions" -> o.defaultPermissions = true;
                    case "ro" -> o.readOnly = true;
                    case "rw", "auto_unmount", "big_writes", "atomic_o_trunc", "use_ino" -> {
                        // rw is the default; auto_unmount is left out on purpose: the mount outlives a dead
                        // daemon, so a new one can take it over (until then it answers ENOTCONN, never the
                        // directory beneath); the other three this loop always does
                    }
                    case "auto_cache" -> o.autoCache = true;
                    case "entry_timeout" -> o.entryTtl = seconds(value);
                    case "attr_timeout" -> o.attrTtl = seconds(value);
                    case "negative_timeout" -> o.negativeTtl = seconds(value);
                    default -> throw new MountException("-o " + opt + " is not supported by PeerFS's own FUSE loop"
                            + " (--libfuse none); use --libfuse 3 for libfuse's options");
                }
            }
            return o;
        }

        private static Duration seconds(String v) throws MountException {
            try {
                return Duration.ofNanos((long) (Double.parseDouble(v) * 1e9));
            } catch (NumberFormatException e) {
                throw new MountException("not a number of seconds: " + v);
            }
        }
    }
}
