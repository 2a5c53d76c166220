package io.peerfs.vfs;

import io.peerfs.PeerFsException;

/** A file handle that is not open; maps to EBADF. */
public class BadHandleException extends PeerFsException {
    public BadHandleException(long fh) {
        super("no open file with handle " + fh);
    }
}
