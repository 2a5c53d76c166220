package io.peerfs.backend;

/**
 * {@link BackendConfinementTest}'s cases with every path walked one {@code O_NOFOLLOW}
 * directory at a time, as on kernels without openat2 (a top-level class: surefire leaves
 * nested test classes out).
 */
class BackendConfinementWalkedTest extends BackendConfinementTest {
    @Override
    boolean openat2() {
        return false;
    }
}
