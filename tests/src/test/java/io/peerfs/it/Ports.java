package io.peerfs.it;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** The one rule every integration test picks its listening ports by. */
final class Ports {
    private Ports() {
    }

    /** Ports handed out by {@link #free} in this JVM: two daemons never get the same one. */
    private static final Set<Integer> PORTS_GIVEN = ConcurrentHashMap.newKeySet();

    /**
     * A port free now, below the kernel's ephemeral range: a port from that range (what a bind
     * to port 0 gives) can be taken by an outgoing connection, such as a daemon dialing its
     * peers, before the daemon it was meant for listens on it ("Address already in use" in a CI
     * run).
     */
    static int free() throws IOException {
        int ephemeralLow = 32768;
        try {
            ephemeralLow = Integer.parseInt(
                    Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: the kernel's default range starts at 32768
        }
        int low = Math.max(1024, Math.min(20000, ephemeralLow / 2));
        Random r = new Random();
        for (int attempt = 0; attempt < 200 && ephemeralLow > low; attempt++) {
            int port = low + r.nextInt(ephemeralLow - low);
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("127.0.0.1", port));
            } catch (IOException taken) {
                continue;
            }
            if (PORTS_GIVEN.add(port)) {
                return port;
            }
        }
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort(); // no free port below the ephemeral range: one from it
        }
    }
}
