package io.peerfs.daemon.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class NodeTableTest {
    @Test
    void pathsFollowRenamesOfAnyAncestor() {
        NodeTable t = new NodeTable();
        NodeTable.Node a = t.lookedUp(NodeTable.ROOT, "a");
        NodeTable.Node b = t.lookedUp(a.id, "b");
        NodeTable.Node c = t.lookedUp(b.id, "c");
        assertEquals("/a/b/c", t.path(c.id));
        t.renamed(NodeTable.ROOT, "a", NodeTable.ROOT, "z");
        assertEquals("/z/b/c", t.path(c.id));
        assertEquals("/z/b/x", t.child(b.id, "x"));
        assertSame(b, t.lookedUp(a.id, "b"), "the same name is the same node");
    }

    @Test
    void aRemovedNameLeavesItsNodeWithoutAPathUntilForgotten() {
        NodeTable t = new NodeTable();
        NodeTable.Node f = t.lookedUp(NodeTable.ROOT, "f");
        t.removed(NodeTable.ROOT, "f");
        assertNull(t.path(f.id));
        assertSame(f, t.get(f.id));
        NodeTable.Node again = t.lookedUp(NodeTable.ROOT, "f");
        assertNotEquals(f.id, again.id, "a new file of the name is a new node; ids are not reused");
        t.forget(f.id, 1);
        assertNull(t.get(f.id));
    }

    @Test
    void aRenameOverANameDetachesTheNodeThatWasThere() {
        NodeTable t = new NodeTable();
        NodeTable.Node x = t.lookedUp(NodeTable.ROOT, "x");
        NodeTable.Node y = t.lookedUp(NodeTable.ROOT, "y");
        t.renamed(NodeTable.ROOT, "x", NodeTable.ROOT, "y");
        assertEquals("/y", t.path(x.id));
        assertNull(t.path(y.id));
        assertSame(x, t.at(NodeTable.ROOT, "y"));
    }

    @Test
    void anOpenNodeOutlivesItsLookups() {
        NodeTable t = new NodeTable();
        NodeTable.Node f = t.lookedUp(NodeTable.ROOT, "f");
        t.opened(f);
        t.forget(f.id, 1);
        assertSame(f, t.get(f.id), "still open");
        t.closed(f);
        assertNull(t.get(f.id));
    }

    @Test
    void aSnapshotRestoresTheSameTableWithParentsFirst() {
        NodeTable t = new NodeTable();
        NodeTable.Node d = t.lookedUp(NodeTable.ROOT, "d");
        NodeTable.Node e = t.lookedUp(d.id, "e");
        t.lookedUp(d.id, "e");
        NodeTable.Node gone = t.lookedUp(NodeTable.ROOT, "gone");
        t.removed(NodeTable.ROOT, "gone");
        // a rename that puts a child before its new parent in id order
        NodeTable.Node later = t.lookedUp(NodeTable.ROOT, "later");
        t.renamed(NodeTable.ROOT, "d", later.id, "d");
        NodeTable r = new NodeTable();
        r.restore(t.snapshot());
        assertEquals("/later/d/e", r.path(e.id));
        assertEquals(2, r.get(e.id).lookups);
        assertNull(r.path(gone.id));
        assertEquals(t.nextId(), r.nextId());
        assertEquals(t.size(), r.size());
    }

    @Test
    void aHandOverStateSurvivesItsEncodingAndDamageIsRefused() throws IOException {
        NodeTable t = new NodeTable();
        NodeTable.Node d = t.lookedUp(NodeTable.ROOT, "dír");
        t.lookedUp(d.id, "f");
        Handover.State s = new Handover.State(7, new KernelFuse.Session(38, 1 << 20, 0x449029), t.snapshot(),
                t.nextId(), 12, List.of(new Handover.OpenHandle(11, d.id, 2, false, 1000, 100)), 3, 2, 1234567L);
        byte[] bytes = Handover.encode(s);
        assertEquals(s, Handover.decode(bytes, 7));
        bytes[0] ^= 1;
        byte[] damaged = bytes;
        assertThrows(IOException.class, () -> Handover.decode(damaged, 7));
        byte[] cut = java.util.Arrays.copyOf(Handover.encode(s), 30);
        assertThrows(IOException.class, () -> Handover.decode(cut, 7));
    }
}
