package io.peerfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link SparseList} against a plain list doing the same. */
class SparseListTest {
    @Test
    void readsAsTheDenseListItStandsFor() {
        List<String> dense = Arrays.asList(null, "a", null, null, "b", null);
        SparseList<String> s = SparseList.of(dense);
        assertEquals(dense, s);
        assertEquals(s, dense);
        assertEquals(dense.hashCode(), s.hashCode());
        assertEquals(6, s.size());
        assertEquals(2, s.present());
        assertEquals("b", s.get(4));
        assertNull(s.get(5));
        assertThrows(IndexOutOfBoundsException.class, () -> s.get(6));
        assertTrue(s.contains("a") && s.contains(null) && !s.contains("c"));
        assertEquals(4, s.indexOf("b"));
        assertEquals(0, s.indexOf(null));
        assertEquals(List.of("a", "b"), s.presentValues());
        assertSame(s, SparseList.of(s));
    }

    @Test
    void changesMatchAPlainListsAtRandom() {
        Random r = new Random(7);
        List<Integer> model = new ArrayList<>();
        SparseList<Integer> s = SparseList.empty();
        for (int step = 0; step < 2000; step++) {
            int op = r.nextInt(10);
            if (op < 7) {
                int i = r.nextInt(200);
                Integer v = r.nextInt(4) == 0 ? null : r.nextInt(1000);
                while (model.size() <= i) {
                    model.add(null);
                }
                model.set(i, v);
                s = s.with(i, v);
            } else if (op < 9) {
                int n = r.nextInt(220);
                while (model.size() > n) {
                    model.remove(model.size() - 1);
                }
                s = s.truncated(n);
            } else {
                while (!model.isEmpty() && model.get(model.size() - 1) == null) {
                    model.remove(model.size() - 1);
                }
                s = s.trimmed();
            }
            assertEquals(model, s, "step " + step);
        }
    }

    @Test
    void aHugeLengthCostsOnlyItsEntries() {
        SparseList<String> s = SparseList.<String>empty().with(Integer.MAX_VALUE - 1, "last");
        assertEquals(Integer.MAX_VALUE, s.size());
        assertEquals(1, s.present());
        assertEquals("last", s.get(Integer.MAX_VALUE - 1));
        assertEquals(0, s.truncated(1000).present());
        assertEquals(0, s.with(Integer.MAX_VALUE - 1, null).trimmed().size());
    }

    @Test
    void aDamagedFormIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> SparseList.of(5, new int[] {3, 1}, new Object[] {"a", "b"}));
        assertThrows(IllegalArgumentException.class, () -> SparseList.of(5, new int[] {5}, new Object[] {"a"}));
        assertThrows(IllegalArgumentException.class, () -> SparseList.of(5, new int[] {1}, new Object[] {null}));
        assertThrows(IllegalArgumentException.class, () -> SparseList.of(-1, new int[0], new Object[0]));
        assertFalse(SparseList.of(5, new int[] {1, 3}, new Object[] {"a", "b"}).contains("c"));
    }
}
