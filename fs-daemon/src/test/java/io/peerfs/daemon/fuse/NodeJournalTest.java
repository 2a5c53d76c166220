package io.peerfs.daemon.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class NodeJournalTest {
    private static final KernelFuse.Session SESSION = new KernelFuse.Session(38, 1 << 20, 0x449029);

    @Test
    void aTableRebuiltFromItsJournalIsTheTableThatWroteIt() throws Exception {
        NodeTable t = new NodeTable();
        try (NodeJournal j = NodeJournal.create(SESSION, 2, 1, 1234L)) {
            NodeTable.Node early = t.lookedUp(NodeTable.ROOT, "early"); // before the journal: in its snapshot
            t.journalTo(j, List.of(), () -> { });
            NodeTable.Node d = t.lookedUp(NodeTable.ROOT, "d");
            NodeTable.Node f = t.lookedUp(d.id, "f");
            t.lookedUp(d.id, "f");
            NodeTable.Node g = t.lookedUp(d.id, "g");
            t.forget(g.id, 1);
            NodeTable.Node later = t.lookedUp(NodeTable.ROOT, "later");
            t.renamed(NodeTable.ROOT, "d", later.id, "moved");
            NodeTable.Node gone = t.lookedUp(NodeTable.ROOT, "gone");
            t.opened(gone);
            t.removed(NodeTable.ROOT, "gone");
            t.handleOpened(5, gone, 2, false, 1000, 100);
            t.handleOpened(6, f, 0, false, 0, 0);
            t.handleClosed(6);
            t.forget(early.id, 1);
            Handover.State s = NodeJournal.read(j.fd(), 42);
            NodeTable r = new NodeTable();
            r.restore(s.nodes());
            assertEquals("/later/moved/f", r.path(f.id));
            assertEquals(2, r.get(f.id).lookups);
            assertNull(r.get(g.id), "forgotten");
            assertNull(r.get(early.id), "forgotten after the snapshot");
            assertNull(r.path(gone.id), "removed while open: no path");
            assertEquals(List.of(new Handover.OpenHandle(5, gone.id, 2, false, 1000, 100)), s.handles());
            assertEquals(SESSION, s.session());
            assertEquals(42, s.fd());
            assertEquals(2, s.handovers());
            assertEquals(1, s.recoveries());
            assertEquals(1234L, s.mountedAtMs());
            assertTrue(s.nextNode() > gone.id);
            assertEquals(r.size(), t.size());
        }
    }

    @Test
    void writesNotYetDurableSurviveCompactionAndCleanOnlyWhatCameBefore() throws Exception {
        NodeTable t = new NodeTable();
        NodeJournal first = NodeJournal.create(SESSION, 0, 0, 1L);
        t.journalTo(first, List.of(), () -> { });
        NodeTable.Node f = t.lookedUp(NodeTable.ROOT, "f");
        t.handleOpened(3, f, 1, false, 0, 0);
        t.handleOpened(4, f, 1, false, 0, 0);
        t.journalWrite(3, 0, java.nio.ByteBuffer.wrap("aaaa".getBytes()));
        long mark = t.writeMark();
        t.journalWrite(3, 4, java.nio.ByteBuffer.allocateDirect(4).put("bbbb".getBytes()).flip());
        t.journalWrite(4, 0, java.nio.ByteBuffer.wrap("cccc".getBytes()));
        t.journalClean(3, mark); // an fsync that began before "bbbb" was written
        assertEquals(8, t.pendingBytes());
        // a compaction carries the pending writes over
        NodeJournal second = NodeJournal.create(SESSION, 0, 0, 1L);
        t.journalTo(second, List.of(new Handover.OpenHandle(3, f.id, 1, false, 0, 0),
                new Handover.OpenHandle(4, f.id, 1, false, 0, 0)), () -> { }).close();
        t.journalWrite(4, 4, java.nio.ByteBuffer.wrap("dd".getBytes()));
        t.handleClosed(4);
        Handover.State s = NodeJournal.read(second.fd(), 9);
        assertEquals(1, s.writes().size(), s.writes().toString());
        Handover.PendingWrite w = s.writes().get(0);
        assertEquals(3, w.fh());
        assertEquals(4, w.offset());
        assertEquals("bbbb", new String(w.data()));
        assertEquals(List.of(3L), s.handles().stream().map(Handover.OpenHandle::fh).toList());
        second.close();
    }
}
