package io.peerfs.backend;

import io.peerfs.PeerFsException;

/**
 * A backend file read for one version (size and mtime) turned out to be another: it changed
 * on the store after it was opened. Its bytes are not used (they would be cached under the
 * old version's keys, mixed with the old bytes); the reader sees EIO and reopens.
 */
public class FileChangedException extends PeerFsException {
    public FileChangedException(String message) {
        super(message);
    }

    public FileChangedException(String path, long size, long mtimeNs, long nowSize, long nowMtimeNs) {
        this("backend file " + path + " changed on the store while open (opened at " + size + " bytes, mtime "
                + mtimeNs + " ns; now " + nowSize + " bytes, mtime " + nowMtimeNs + " ns); reopen the file");
    }
}
