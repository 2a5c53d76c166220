package io.peerfs.fetch;

import io.peerfs.PeerFsException;

/** The backend file no longer has the size it had when it was opened. */
public class BackendChangedException extends PeerFsException {
    public BackendChangedException(String path, long offset, int expected, int got) {
        super("backend file " + path + " changed while open: expected " + expected + " bytes at offset " + offset
                + ", read " + got + "; reopen the file");
    }
}
