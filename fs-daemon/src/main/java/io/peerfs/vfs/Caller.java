package io.peerfs.vfs;

/**
 * Who makes a call (from the FUSE request): the owner of what it creates, and its process
 * ({@code pid} 0 when unknown).
 */
public record Caller(int uid, int gid, int pid) {
    public Caller(int uid, int gid) {
        this(uid, gid, 0);
    }
}
