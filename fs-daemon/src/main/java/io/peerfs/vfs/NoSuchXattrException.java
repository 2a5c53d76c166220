package io.peerfs.vfs;

import io.peerfs.PeerFsException;

/** The extended attribute does not exist; maps to ENODATA. */
public class NoSuchXattrException extends PeerFsException {
    public NoSuchXattrException(String path, String name) {
        super(path + ": no extended attribute " + name);
    }
}
