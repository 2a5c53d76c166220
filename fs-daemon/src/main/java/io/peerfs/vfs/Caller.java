package io.peerfs.vfs;

/** Who makes a call (from the FUSE request): the owner of what it creates. */
public record Caller(int uid, int gid) {
}
