package io.peerfs.daemon.fuse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernel's node ids and the paths they stand for, as libfuse's high-level API keeps them:
 * a node is a name in a parent node, known to the kernel {@code lookups} times; a path is
 * built by walking up to the root (id 1). A rename moves a node, so what the kernel holds of
 * its subtree stays valid; a removed name leaves its node detached (no path) until the kernel
 * forgets it. Ids are never reused while mounted, and a hand-over carries the table as it is
 * ({@link #snapshot}, {@link #restore}).
 */
final class NodeTable {
    static final long ROOT = 1;

    /** One node; its fields change only under the table's lock. */
    static final class Node {
        final long id;
        Node parent;
        String name;
        long lookups;
        /** Open handles on it: a removed node with some is renamed away (hidden) instead. */
        int open;
        /** Size and mtime of its last attributes answered: an open of it unchanged keeps the page cache. */
        long size = -1;
        long mtimeNs;

        Node(long id, Node parent, String name) {
            this.id = id;
            this.parent = parent;
            this.name = name;
        }
    }

    /** A node as a hand-over carries it: its parent's id (0 when detached), name and lookups. */
    record Entry(long id, long parent, String name, long lookups) {
    }

    private record Key(long parent, String name) {
    }

    private final Map<Long, Node> byId = new HashMap<>();
    private final Map<Key, Node> byName = new HashMap<>();
    private final Node root = new Node(ROOT, null, "");
    private long nextId = ROOT + 1;
    /** Where changes are written for a daemon that may have to take over after a crash; null when none. */
    private volatile NodeJournal journal;

    NodeTable() {
        root.lookups = 1;
        byId.put(ROOT, root);
    }

    /** The path of node {@code id} ({@code /} for the root), or null when it has none (removed or unknown). */
    synchronized String path(long id) {
        Node n = byId.get(id);
        return n == null ? null : path(n);
    }

    private String path(Node n) {
        if (n == root) {
            return "/";
        }
        List<String> names = new ArrayList<>();
        for (Node at = n; at != root; at = at.parent) {
            if (at == null || at.name == null) {
                return null;
            }
            names.add(at.name);
        }
        StringBuilder b = new StringBuilder();
        for (int i = names.size() - 1; i >= 0; i--) {
            b.append('/').append(names.get(i));
        }
        return b.toString();
    }

    /** The path of {@code name} in node {@code parent}, or null when the parent has no path. */
    synchronized String child(long parent, String name) {
        String p = path(parent);
        return p == null ? null : p.equals("/") ? "/" + name : p + "/" + name;
    }

    synchronized Node get(long id) {
        return byId.get(id);
    }

    /** The node for {@code name} in {@code parent}, made if new, with one more lookup by the kernel. */
    synchronized Node lookedUp(long parent, String name) {
        Node p = byId.get(parent);
        Node n = byName.get(new Key(parent, name));
        if (n == null) {
            n = new Node(nextId++, p, name);
            byId.put(n.id, n);
            byName.put(new Key(parent, name), n);
            n.lookups++;
            if (journal != null) {
                journal.node(n.id, parent, name, n.lookups);
            }
            return n;
        }
        n.lookups++;
        if (journal != null) {
            journal.lookups(n.id, n.lookups);
        }
        return n;
    }

    /** The kernel dropped {@code count} lookups of node {@code id}; at none it is gone. */
    synchronized void forget(long id, long count) {
        Node n = byId.get(id);
        if (n == null || n == root) {
            return;
        }
        n.lookups -= count;
        if (n.lookups <= 0 && n.open == 0) {
            byId.remove(id);
            detach(n);
            if (journal != null) {
                journal.gone(id);
            }
        } else if (journal != null) {
            journal.lookups(id, n.lookups);
        }
    }

    /** Removes the name of whatever node is {@code name} in {@code parent}. */
    synchronized void removed(long parent, String name) {
        Node n = byName.get(new Key(parent, name));
        if (n != null) {
            detach(n);
        }
    }

    /** The node at {@code name} in {@code parent}, null if the kernel does not know it. */
    synchronized Node at(long parent, String name) {
        return byName.get(new Key(parent, name));
    }

    /** Moves the node at ({@code parent}, {@code name}) to ({@code newParent}, {@code newName}), replacing one there. */
    synchronized void renamed(long parent, String name, long newParent, String newName) {
        Node n = byName.remove(new Key(parent, name));
        Node replaced = byName.get(new Key(newParent, newName));
        if (replaced != null && replaced != n) {
            detach(replaced);
        }
        if (n != null) {
            n.parent = byId.get(newParent);
            n.name = newName;
            byName.put(new Key(newParent, newName), n);
            if (journal != null) {
                journal.node(n.id, newParent, newName, n.lookups);
            }
        }
    }

    private void detach(Node n) {
        if (n.parent != null) {
            byName.remove(new Key(n.parent.id, n.name), n);
            if (journal != null) {
                journal.detached(n.id);
            }
        }
        n.parent = null;
        n.name = null;
    }

    synchronized void opened(Node n) {
        n.open++;
    }

    /** One handle of {@code n} closed; true when it was the last. */
    synchronized boolean closed(Node n) {
        n.open--;
        if (n.open == 0 && n.lookups <= 0) {
            byId.remove(n.id);
            detach(n);
            if (journal != null) {
                journal.gone(n.id);
            }
        }
        return n.open == 0;
    }

    synchronized void answered(Node n, long size, long mtimeNs) {
        n.size = size;
        n.mtimeNs = mtimeNs;
    }

    /** True when {@code n}'s last answered attributes had this size and mtime. */
    synchronized boolean unchanged(Node n, long size, long mtimeNs) {
        return n.size == size && n.mtimeNs == mtimeNs;
    }

    /** A handle was opened: written to the journal, if any. */
    synchronized void handleOpened(long fh, Node n, int flags, boolean dir, int uid, int gid) {
        if (journal != null) {
            journal.handle(fh, n.id, flags, dir, uid, gid);
        }
    }

    private long writeSeq;

    /** The number the next write gets: a {@link #journalClean} with it covers every write before. */
    synchronized long writeMark() {
        return writeSeq;
    }

    /** A write answered to the kernel, kept in the journal until clean; the handle's pending bytes, or -1. */
    synchronized long journalWrite(long fh, long offset, java.nio.ByteBuffer data) {
        return journal == null ? -1 : journal.write(fh, writeSeq++, offset, data);
    }

    synchronized void journalClean(long fh, long upTo) {
        if (journal != null) {
            journal.clean(fh, upTo);
        }
    }

    synchronized long pendingBytes() {
        return journal == null ? 0 : journal.pendingBytes();
    }

    synchronized void handleClosed(long fh) {
        if (journal != null) {
            journal.closed(fh);
        }
    }

    /**
     * Writes the whole table and {@code handles} into {@code next}, which from then on takes
     * every change; {@code published} runs (hands {@code next} to the supervisor) before any
     * change can go to it alone. Returns the journal written until now.
     */
    /** Hands a journal to whoever keeps it for a crash. */
    @FunctionalInterface
    interface Publish {
        void run() throws IOException;
    }

    synchronized NodeJournal journalTo(NodeJournal next, java.util.Collection<Handover.OpenHandle> handles,
                                       Publish published) throws IOException {
        for (Entry e : snapshot()) {
            next.node(e.id(), e.parent(), e.name(), e.lookups());
        }
        for (Handover.OpenHandle h : handles) {
            next.handle(h.fh(), h.node(), h.flags(), h.dir(), h.uid(), h.gid());
        }
        if (journal != null) {
            journal.carryOver(next);
        }
        next.snapshotWritten();
        published.run();
        NodeJournal before = journal;
        journal = next;
        return before;
    }

    /** The journal now written, read without the lock: every FUSE request asks. */
    NodeJournal journal() {
        return journal;
    }

    /** Stops writing changes; returns the journal written until now (null if none). */
    synchronized NodeJournal stopJournal() {
        NodeJournal j = journal;
        journal = null;
        return j;
    }

    synchronized int size() {
        return byId.size();
    }

    /** Every node but the root, parents before children. */
    synchronized List<Entry> snapshot() {
        List<Entry> out = new ArrayList<>();
        Map<Long, List<Node>> children = new HashMap<>();
        List<Node> detached = new ArrayList<>();
        for (Node n : byId.values()) {
            if (n == root) {
                continue;
            }
            if (n.parent == null) {
                detached.add(n);
            } else {
                children.computeIfAbsent(n.parent.id, k -> new ArrayList<>()).add(n);
            }
        }
        List<Node> queue = new ArrayList<>(List.of(root));
        for (int i = 0; i < queue.size(); i++) {
            for (Node c : children.getOrDefault(queue.get(i).id, List.of())) {
                out.add(new Entry(c.id, c.parent.id, c.name, c.lookups));
                queue.add(c);
            }
        }
        for (Node n : detached) {
            out.add(new Entry(n.id, 0, "", n.lookups));
        }
        return out;
    }

    /** Takes over a table another daemon kept ({@link #snapshot}, parents before children). */
    synchronized void restore(List<Entry> entries) {
        for (Entry e : entries) {
            Node parent = e.parent() == 0 ? null : byId.get(e.parent());
            Node n = new Node(e.id(), parent, parent == null ? null : e.name());
            n.lookups = e.lookups();
            byId.put(n.id, n);
            if (parent != null) {
                byName.put(new Key(parent.id, e.name()), n);
            }
            nextId = Math.max(nextId, e.id() + 1);
        }
    }

    synchronized long nextId() {
        return nextId;
    }

    synchronized void nextId(long id) {
        nextId = Math.max(nextId, id);
    }
}
