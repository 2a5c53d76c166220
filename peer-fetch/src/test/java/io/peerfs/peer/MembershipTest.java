package io.peerfs.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class MembershipTest {
    final AtomicLong now = new AtomicLong(1_000_000);
    final Membership members = new Membership("127.0.0.1:1", "self", List.of("127.0.0.1:2", "127.0.0.1:3"), null,
            Duration.ofSeconds(2), now::get);

    /** How long the peer stays left out after a failure now. */
    private long downFor(String peer) {
        members.markDown(peer, "test");
        long start = now.get();
        while (!members.isLive(peer)) {
            now.addAndGet(100);
        }
        return now.get() - start;
    }

    @Test
    void aFailedPeerIsLeftOutBrieflyThenLongerWhileItKeepsFailing() {
        String peer = "127.0.0.1:2";
        assertEquals(Membership.FIRST_DOWN_MS, downFor(peer), "a restarting daemon is asked again soon");
        assertEquals(2 * Membership.FIRST_DOWN_MS, downFor(peer));
        assertEquals(4 * Membership.FIRST_DOWN_MS, downFor(peer));
        assertEquals(8 * Membership.FIRST_DOWN_MS, downFor(peer));
        assertEquals(Membership.DOWN_MS, downFor(peer), "at most DOWN_MS");
        assertEquals(Membership.DOWN_MS, downFor(peer));
        now.addAndGet(Membership.FORGIVE_MS + 1);
        assertEquals(Membership.FIRST_DOWN_MS, downFor(peer), "after a quiet minute it starts short again");
    }

    @Test
    void failuresWhileLeftOutDoNotLengthenTheWaitAndOthersStayLive() {
        members.markDown("127.0.0.1:2", "test");
        now.addAndGet(900);
        members.markDown("127.0.0.1:2", "a request that was already under way");
        assertEquals(Set.of("127.0.0.1:1", "127.0.0.1:3"), members.live());
        now.addAndGet(100);
        assertTrue(members.isLive("127.0.0.1:2"));
        assertEquals(Set.of("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"), members.live());
        members.markDown("127.0.0.1:1", "this node never leaves its own candidates");
        assertTrue(members.live().contains("127.0.0.1:1"));
        assertFalse(members.live().contains("127.0.0.1:9"));
    }
}
