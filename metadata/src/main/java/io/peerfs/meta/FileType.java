package io.peerfs.meta;

/** The kinds of file PeerFS serves. */
public enum FileType {
    FILE, DIRECTORY, SYMLINK, OTHER
}
