package io.peerfs.fetch;

import io.peerfs.backend.FileChangedException;

/** A backend file read shorter than the version it was opened at: it changed on the store while open. */
public class BackendChangedException extends FileChangedException {
    public BackendChangedException(String path, long offset, int expected, int got) {
        super("backend file " + path + " changed while open: expected " + expected + " bytes at offset " + offset
                + ", read " + got + "; reopen the file");
    }
}
