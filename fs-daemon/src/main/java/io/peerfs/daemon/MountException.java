package io.peerfs.daemon;

import io.peerfs.PeerFsException;

/** A mount cannot start; the message is one line for the user saying what to do. */
public class MountException extends PeerFsException {
    public MountException(String message) {
        super(message);
    }

    public MountException(String message, Throwable cause) {
        super(message, cause);
    }
}
