package io.peerfs.vfs;

import java.util.Random;

/** Test data for this module's tests. */
public final class TestBytes {
    private TestBytes() {
    }

    /** {@code n} pseudo-random bytes, the same for the same seed. */
    public static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
