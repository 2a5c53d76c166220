package io.peerfs.daemon.fuse;

import com.kenai.jffi.MemoryIO;
import java.io.IOException;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The node table and open handles of a FUSE connection, written as they change into memory
 * another process holds (a memfd the supervisor keeps): when the daemon dies, however it
 * dies, a new one reads the connection's state back ({@link #read}) and serves on. A log of
 * small records after a header; a record counts once the header's committed length covers
 * it, so a daemon killed mid-record leaves a log that ends at its last whole record. The log
 * is compacted into a fresh memfd ({@link #compacted}) once it is four times the snapshot.
 */
final class NodeJournal implements AutoCloseable {
    /** Address space reserved per journal; only what is written takes memory. */
    static final long CAPACITY = 1L << 30;
    private static final int MAGIC = 0x50464a31; // "PFJ1"
    private static final int HEADER = 64;
    private static final int NODE = 1;
    private static final int LOOKUPS = 2;
    private static final int GONE = 3;
    private static final int DETACH = 4;
    private static final int HANDLE = 5;
    private static final int CLOSED = 6;
    private static final int WRITE = 7;
    private static final int CLEAN = 8;
    /**
     * Compaction happens at four times the last snapshot, but not below this: written data passes
     * through the log, and each compaction copies what is still pending into the next one.
     */
    private static final long MIN_COMPACT = 64L << 20;

    private final int fd;
    /** The mapping (unmapped when collected); {@link #base} is its address. */
    private final java.nio.MappedByteBuffer map;
    private final long base;
    private final long capacity;
    private long used = HEADER;
    private long compactAt = MIN_COMPACT;
    private boolean broken;
    /**
     * Writes the kernel was told are done but no fsync, flush or checkpoint has made durable yet,
     * per handle: where each record is in this journal, with its sequence number and size. A new
     * journal takes them over ({@link #carryOver}); a dead daemon's successor writes them again.
     */
    private final Map<Long, java.util.ArrayDeque<long[]>> pending = new HashMap<>();
    private final Map<Long, Long> pendingOf = new HashMap<>();
    private long pendingBytes;

    private NodeJournal(int fd, java.nio.MappedByteBuffer map, long capacity) {
        this.fd = fd;
        this.map = map;
        this.base = MemoryIO.getInstance().getDirectBufferAddress(map);
        this.capacity = capacity;
    }

    /** Maps memfd {@code fd} (through /proc: jnr-ffi's mmap passes its offset wrongly). */
    private static java.nio.MappedByteBuffer map(int fd, boolean write) throws IOException {
        java.nio.file.Path p = java.nio.file.Path.of("/proc/self/fd", Integer.toString(fd));
        try (java.nio.channels.FileChannel ch = write
                ? java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.READ,
                        java.nio.file.StandardOpenOption.WRITE)
                : java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.READ)) {
            long size = Math.min(CAPACITY, ch.size());
            return ch.map(write ? java.nio.channels.FileChannel.MapMode.READ_WRITE
                    : java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, size);
        }
    }

    /** A new, empty journal for a connection with {@code session}. */
    static NodeJournal create(KernelFuse.Session session, int handovers, int recoveries, long mountedAtMs)
            throws IOException {
        DevFuse.Calls c = DevFuse.c();
        int fd = c.memfd_create("peerfs-nodes", DevFuse.MFD_CLOEXEC);
        if (fd < 0) {
            throw new IOException(DevFuse.failure("memfd_create"));
        }
        if (c.ftruncate(fd, CAPACITY) != 0) {
            String why = DevFuse.failure("ftruncate of the node journal");
            c.close(fd);
            throw new IOException(why);
        }
        NodeJournal j;
        try {
            j = new NodeJournal(fd, map(fd, true), CAPACITY);
        } catch (IOException | RuntimeException e) {
            c.close(fd);
            throw e;
        }
        long base = j.base;
        MemoryIO m = MemoryIO.getInstance();
        m.putInt(base, MAGIC);
        m.putInt(base + 4, 1);
        m.putInt(base + 16, session.minor());
        m.putInt(base + 20, session.maxWrite());
        m.putInt(base + 24, session.flags());
        m.putInt(base + 28, handovers);
        m.putLong(base + 32, mountedAtMs);
        m.putInt(base + 40, recoveries);
        j.commit();
        return j;
    }

    int fd() {
        return fd;
    }

    synchronized void node(long id, long parent, String name, long lookups) {
        byte[] n = name == null ? new byte[0] : name.getBytes(StandardCharsets.UTF_8);
        long at = begin(NODE, 24 + n.length);
        if (at < 0) {
            return;
        }
        MemoryIO m = MemoryIO.getInstance();
        m.putLong(at, id);
        m.putLong(at + 8, parent);
        m.putLong(at + 16, lookups);
        m.putByteArray(at + 24, n, 0, n.length);
        commit();
    }

    synchronized void lookups(long id, long lookups) {
        two(LOOKUPS, id, lookups);
    }

    synchronized void gone(long id) {
        one(GONE, id);
    }

    synchronized void detached(long id) {
        one(DETACH, id);
    }

    synchronized void handle(long fh, long node, int flags, boolean dir, int uid, int gid) {
        long at = begin(HANDLE, 32);
        if (at < 0) {
            return;
        }
        MemoryIO m = MemoryIO.getInstance();
        m.putLong(at, fh);
        m.putLong(at + 8, node);
        m.putInt(at + 16, flags);
        m.putInt(at + 20, dir ? 1 : 0);
        m.putInt(at + 24, uid);
        m.putInt(at + 28, gid);
        commit();
    }

    synchronized void closed(long fh) {
        one(CLOSED, fh);
        dropPending(fh, Long.MAX_VALUE);
    }

    /**
     * A write answered to the kernel: its bytes, kept until a {@link #clean} of its handle.
     *
     * @return the bytes now pending for {@code fh}; -1 when the journal could not take them
     */
    synchronized long write(long fh, long seq, long offset, java.nio.ByteBuffer data) {
        int n = data.remaining();
        long at = begin(WRITE, 24 + n);
        if (at < 0) {
            return -1;
        }
        MemoryIO m = MemoryIO.getInstance();
        m.putLong(at, fh);
        m.putLong(at + 8, seq);
        m.putLong(at + 16, offset);
        if (data.isDirect()) {
            m.copyMemory(m.getDirectBufferAddress(data) + data.position(), at + 24, n);
        } else {
            byte[] b = new byte[n];
            data.duplicate().get(b);
            m.putByteArray(at + 24, b, 0, n);
        }
        commit();
        java.util.ArrayDeque<long[]> q = pending.computeIfAbsent(fh, k -> new java.util.ArrayDeque<>());
        q.addLast(new long[] {seq, at - 8 - base, n});
        pendingBytes += n;
        return pendingOf.merge(fh, (long) n, Long::sum);
    }

    /** Writes of {@code fh} numbered below {@code upTo} are durable: they need not be written again. */
    synchronized void clean(long fh, long upTo) {
        two(CLEAN, fh, upTo);
        dropPending(fh, upTo);
    }

    private void dropPending(long fh, long upTo) {
        java.util.ArrayDeque<long[]> q = pending.get(fh);
        while (q != null && !q.isEmpty() && q.peekFirst()[0] < upTo) {
            long n = q.removeFirst()[2];
            pendingBytes -= n;
            pendingOf.merge(fh, -n, Long::sum);
        }
        if (q != null && q.isEmpty()) {
            pending.remove(fh);
            pendingOf.remove(fh);
        }
    }

    /** Bytes written but not yet durable, over every handle. */
    synchronized long pendingBytes() {
        return pendingBytes;
    }

    /** Copies the pending writes into {@code next}, which a compaction puts in place of this journal. */
    synchronized void carryOver(NodeJournal next) {
        MemoryIO m = MemoryIO.getInstance();
        for (Map.Entry<Long, java.util.ArrayDeque<long[]>> e : pending.entrySet()) {
            for (long[] w : e.getValue()) {
                long record = base + w[1];
                long offset = m.getLong(record + 8 + 16);
                java.nio.ByteBuffer data = m.newDirectByteBuffer(record + 8 + 24, (int) w[2]);
                next.write(e.getKey(), w[0], offset, data);
            }
        }
    }

    private void two(int type, long a, long b) {
        long at = begin(type, 16);
        if (at >= 0) {
            MemoryIO.getInstance().putLong(at, a);
            MemoryIO.getInstance().putLong(at + 8, b);
            commit();
        }
    }

    private void one(int type, long value) {
        long at = begin(type, 8);
        if (at >= 0) {
            MemoryIO.getInstance().putLong(at, value);
            commit();
        }
    }

    /** Room for a record of {@code length} bytes; its payload's address, or -1 when the journal is full. */
    private long begin(int type, int length) {
        long size = (8 + length + 7) & ~7L;
        if (broken || used + size > capacity) {
            broken = true;
            return -1;
        }
        MemoryIO m = MemoryIO.getInstance();
        m.putInt(base + used, type);
        m.putInt(base + used + 4, length);
        long payload = base + used + 8;
        used += size;
        return payload;
    }

    /** Publishes what was written: the records before the committed length are whole. */
    private void commit() {
        VarHandle.releaseFence();
        MemoryIO.getInstance().putLong(base + 8, used);
    }

    /** True when the log has grown past four times its last snapshot (or it overflowed). */
    synchronized boolean wantsCompaction() {
        return used > compactAt || broken;
    }

    /** This journal was written with a snapshot of {@code bytes}: compact at four times that. */
    synchronized void snapshotWritten() {
        compactAt = Math.max(MIN_COMPACT, 4 * used);
    }

    @Override
    public synchronized void close() {
        broken = true; // nothing is written after
        unmap(map);
        DevFuse.c().close(fd);
    }

    /**
     * Unmaps at once rather than when the buffer is collected: a replaced journal's memory is
     * shared memory, freed only once unmapped here and closed by the supervisor too.
     */
    private static void unmap(java.nio.MappedByteBuffer b) {
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            java.lang.reflect.Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            c.getMethod("invokeCleaner", java.nio.ByteBuffer.class).invoke(f.get(null), b);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // left to the collector
        }
    }

    /**
     * The connection's state as the journal in memfd {@code fd} has it, for a daemon that takes
     * over the descriptor {@code fuseFd}. Malformed records end the log.
     */
    static Handover.State read(int fd, int fuseFd) throws IOException {
        java.nio.MappedByteBuffer map = map(fd, false);
        long base = MemoryIO.getInstance().getDirectBufferAddress(map);
        try {
            MemoryIO m = MemoryIO.getInstance();
            if (map.capacity() < HEADER) {
                throw new IOException("not a PeerFS node journal (" + map.capacity() + " bytes)");
            }
            if (m.getInt(base) != MAGIC || m.getInt(base + 4) != 1) {
                throw new IOException("not a PeerFS node journal");
            }
            long committed = m.getLong(base + 8);
            if (committed < HEADER || committed > map.capacity()) {
                throw new IOException("node journal of " + committed + " bytes");
            }
            KernelFuse.Session session = new KernelFuse.Session(m.getInt(base + 16), m.getInt(base + 20),
                    m.getInt(base + 24));
            Map<Long, long[]> nodes = new HashMap<>(); // id -> parent, lookups
            Map<Long, String> names = new HashMap<>();
            Map<Long, Handover.OpenHandle> handles = new LinkedHashMap<>();
            Map<Long, List<Handover.PendingWrite>> writes = new LinkedHashMap<>();
            long maxNode = NodeTable.ROOT;
            long maxFh = 0;
            for (long at = HEADER; at + 8 <= committed; ) {
                int type = m.getInt(base + at);
                int length = m.getInt(base + at + 4);
                long p = base + at + 8;
                if (length < 0 || at + 8 + length > committed) {
                    break;
                }
                switch (type) {
                    case NODE -> {
                        long id = m.getLong(p);
                        byte[] n = new byte[length - 24];
                        m.getByteArray(p + 24, n, 0, n.length);
                        nodes.put(id, new long[] {m.getLong(p + 8), m.getLong(p + 16)});
                        names.put(id, new String(n, StandardCharsets.UTF_8));
                        maxNode = Math.max(maxNode, id);
                    }
                    case LOOKUPS -> {
                        long[] n = nodes.get(m.getLong(p));
                        if (n != null) {
                            n[1] = m.getLong(p + 8);
                        }
                    }
                    case GONE -> nodes.remove(m.getLong(p));
                    case DETACH -> {
                        long[] n = nodes.get(m.getLong(p));
                        if (n != null) {
                            n[0] = 0;
                        }
                    }
                    case HANDLE -> {
                        long fh = m.getLong(p);
                        handles.put(fh, new Handover.OpenHandle(fh, m.getLong(p + 8), m.getInt(p + 16),
                                m.getInt(p + 20) != 0, m.getInt(p + 24), m.getInt(p + 28)));
                        maxFh = Math.max(maxFh, fh);
                    }
                    case CLOSED -> {
                        handles.remove(m.getLong(p));
                        writes.remove(m.getLong(p));
                    }
                    case WRITE -> {
                        byte[] data = new byte[length - 24];
                        m.getByteArray(p + 24, data, 0, data.length);
                        writes.computeIfAbsent(m.getLong(p), k -> new ArrayList<>())
                                .add(new Handover.PendingWrite(m.getLong(p), m.getLong(p + 8), m.getLong(p + 16), data));
                    }
                    case CLEAN -> {
                        List<Handover.PendingWrite> w = writes.get(m.getLong(p));
                        long upTo = m.getLong(p + 8);
                        if (w != null) {
                            w.removeIf(x -> x.seq() < upTo);
                        }
                    }
                    default -> at = committed; // not a record: the log ends here
                }
                at += (8 + length + 7) & ~7L;
            }
            List<Handover.PendingWrite> all = new ArrayList<>();
            for (Map.Entry<Long, List<Handover.PendingWrite>> e : writes.entrySet()) {
                if (handles.containsKey(e.getKey())) {
                    all.addAll(e.getValue());
                }
            }
            return new Handover.State(fuseFd, session, parentsFirst(nodes, names), maxNode + 1, maxFh + 1,
                    new ArrayList<>(handles.values()), m.getInt(base + 28), m.getInt(base + 40), m.getLong(base + 32))
                    .withWrites(all);
        } finally {
            unmap(map);
        }
    }

    /** The nodes as {@link NodeTable#restore} takes them: parents first; those without a live parent detached. */
    private static List<NodeTable.Entry> parentsFirst(Map<Long, long[]> nodes, Map<Long, String> names) {
        Map<Long, List<Long>> children = new HashMap<>();
        for (Map.Entry<Long, long[]> e : nodes.entrySet()) {
            children.computeIfAbsent(e.getValue()[0], k -> new ArrayList<>()).add(e.getKey());
        }
        List<NodeTable.Entry> out = new ArrayList<>();
        List<Long> queue = new ArrayList<>(List.of(NodeTable.ROOT));
        java.util.Set<Long> placed = new java.util.HashSet<>();
        for (int i = 0; i < queue.size(); i++) {
            for (long child : children.getOrDefault(queue.get(i), List.of())) {
                if (child != NodeTable.ROOT && placed.add(child)) {
                    out.add(new NodeTable.Entry(child, queue.get(i), names.get(child), nodes.get(child)[1]));
                    queue.add(child);
                }
            }
        }
        for (Map.Entry<Long, long[]> e : nodes.entrySet()) {
            if (e.getKey() != NodeTable.ROOT && !placed.contains(e.getKey())) {
                out.add(new NodeTable.Entry(e.getKey(), 0, "", e.getValue()[1]));
            }
        }
        return out;
    }
}
