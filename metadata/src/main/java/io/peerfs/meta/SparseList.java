package io.peerfs.meta;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.RandomAccess;
import java.util.function.ObjIntConsumer;

/**
 * An immutable list that is mostly nulls, stored as its length and its non-null entries only:
 * a file's chunk layout, where a chunk never written is a hole. Memory follows the chunks
 * written, not the file's size, so one byte written just below the largest file size costs one
 * entry, not one per chunk before it. Reads as any {@link List} (a hole is null).
 */
public final class SparseList<T> extends AbstractList<T> implements RandomAccess {
    private static final SparseList<?> EMPTY = new SparseList<>(0, new int[0], new Object[0]);
    private final int length;
    /** Indexes of the non-null entries, ascending. */
    private final int[] at;
    private final Object[] values;

    private SparseList(int length, int[] at, Object[] values) {
        this.length = length;
        this.at = at;
        this.values = values;
    }

    @SuppressWarnings("unchecked")
    public static <T> SparseList<T> empty() {
        return (SparseList<T>) EMPTY;
    }

    /** {@code list} as a sparse list (itself when it is one). */
    @SuppressWarnings("unchecked")
    public static <T> SparseList<T> of(List<? extends T> list) {
        if (list instanceof SparseList<?> s) {
            return (SparseList<T>) s;
        }
        int n = 0;
        for (T v : list) {
            if (v != null) {
                n++;
            }
        }
        int[] at = new int[n];
        Object[] values = new Object[n];
        int j = 0;
        for (int i = 0; i < list.size(); i++) {
            T v = list.get(i);
            if (v != null) {
                at[j] = i;
                values[j++] = v;
            }
        }
        return new SparseList<>(list.size(), at, values);
    }

    /**
     * A list of {@code length} entries holding {@code values} at the ascending indexes {@code at}
     * (the decoder's form: checked, since a record may be damaged).
     */
    static <T> SparseList<T> of(int length, int[] at, Object[] values) {
        if (length < 0 || at.length != values.length) {
            throw new IllegalArgumentException("a sparse list of " + length + " with " + at.length + " entries");
        }
        for (int j = 0; j < at.length; j++) {
            if (at[j] < 0 || at[j] >= length || j > 0 && at[j] <= at[j - 1] || values[j] == null) {
                throw new IllegalArgumentException("entry " + j + " of a sparse list is out of order or empty");
            }
        }
        return new SparseList<>(length, at.clone(), values.clone());
    }

    @Override
    public int size() {
        return length;
    }

    /** How many entries are not null. */
    public int present() {
        return at.length;
    }

    @Override
    @SuppressWarnings("unchecked")
    public T get(int index) {
        Objects.checkIndex(index, length);
        int j = Arrays.binarySearch(at, index);
        return j >= 0 ? (T) values[j] : null;
    }

    /** This list with {@code value} at {@code index}, grown with nulls to reach it (null makes a hole). */
    public SparseList<T> with(int index, T value) {
        if (index < 0) {
            throw new IndexOutOfBoundsException(index);
        }
        int len = Math.max(length, index + 1);
        int j = Arrays.binarySearch(at, index);
        if (j >= 0) {
            if (value == null) {
                int[] a = new int[at.length - 1];
                Object[] v = new Object[at.length - 1];
                System.arraycopy(at, 0, a, 0, j);
                System.arraycopy(at, j + 1, a, j, at.length - j - 1);
                System.arraycopy(values, 0, v, 0, j);
                System.arraycopy(values, j + 1, v, j, at.length - j - 1);
                return new SparseList<>(len, a, v);
            }
            Object[] v = values.clone();
            v[j] = value;
            return new SparseList<>(len, at, v);
        }
        if (value == null) {
            return new SparseList<>(len, at, values);
        }
        int ins = -j - 1;
        int[] a = new int[at.length + 1];
        Object[] v = new Object[at.length + 1];
        System.arraycopy(at, 0, a, 0, ins);
        System.arraycopy(values, 0, v, 0, ins);
        a[ins] = index;
        v[ins] = value;
        System.arraycopy(at, ins, a, ins + 1, at.length - ins);
        System.arraycopy(values, ins, v, ins + 1, at.length - ins);
        return new SparseList<>(len, a, v);
    }

    /** The first {@code n} entries (all of them when there are fewer). */
    public SparseList<T> truncated(int n) {
        if (n >= length) {
            return this;
        }
        int keep = 0;
        while (keep < at.length && at[keep] < n) {
            keep++;
        }
        return new SparseList<>(Math.max(n, 0), Arrays.copyOf(at, keep), Arrays.copyOf(values, keep));
    }

    /** The list without its trailing nulls. */
    public SparseList<T> trimmed() {
        int len = at.length == 0 ? 0 : at[at.length - 1] + 1;
        return len == length ? this : new SparseList<>(len, at, values);
    }

    /** Calls {@code action} with each non-null entry and its index, in order. */
    @SuppressWarnings("unchecked")
    public void forEachPresent(ObjIntConsumer<T> action) {
        for (int j = 0; j < at.length; j++) {
            action.accept((T) values[j], at[j]);
        }
    }

    /** The indexes of the non-null entries, ascending ({@link #presentValues}' order). */
    public int[] presentIndexes() {
        return at.clone();
    }

    /** The non-null entries, in order. */
    @SuppressWarnings("unchecked")
    public List<T> presentValues() {
        return (List<T>) List.of(values);
    }

    @Override
    public boolean contains(Object o) {
        if (o == null) {
            return at.length < length;
        }
        for (Object v : values) {
            if (v.equals(o)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int indexOf(Object o) {
        if (o == null) {
            for (int i = 0; i < length; i++) {
                if (Arrays.binarySearch(at, i) < 0) {
                    return i;
                }
            }
            return -1;
        }
        for (int j = 0; j < values.length; j++) {
            if (values[j].equals(o)) {
                return at[j];
            }
        }
        return -1;
    }

    @Override
    public boolean equals(Object o) {
        if (o instanceof SparseList<?> s) {
            return length == s.length && Arrays.equals(at, s.at) && Arrays.equals(values, s.values);
        }
        return super.equals(o);
    }

    @Override
    public int hashCode() {
        return super.hashCode(); // List's contract: equal to a dense list of the same entries
    }
}
