package io.peerfs.daemon;

/** The PeerFS version, from the jar manifest (the build's project version). */
public final class Version {
    private Version() {
    }

    public static String get() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
