package io.peerfs.meta;

import java.io.IOException;
import java.util.List;

/** The cluster's members and the settings they must share. One role of a {@link MetaStore}. */
public interface MemberRegistry {
    /** Registers this node as a member, or refreshes its heartbeat and address. */
    void heartbeat(Member member) throws IOException;

    /** Every registered member with its last heartbeat; liveness is the caller's judgement. */
    List<Member> members() throws IOException;

    /** Removes a member (its daemon stops cleanly). */
    void leave(String nodeId) throws IOException;

    /**
     * Records a setting every node of the cluster must share (chunk size, secret) the first
     * time a mount names it, and refuses a mount whose value differs. {@code describe} is how
     * the message names this mount's value. A one-node engine may accept anything.
     */
    default void agree(String setting, String value, String describe) throws IOException {
    }
}
