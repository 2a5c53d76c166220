package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two daemons talking TLS (certificates from a throwaway CA made with openssl): chunks flow
 * between them with every byte correct and the backend read once; a client without TLS
 * gets nothing, not even the challenge.
 */
class PeerTlsIT {
    static final int CHUNK = 4 << 20;
    @TempDir
    Path tmp;

    private void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        PeerFsMount.Run r = PeerFsMount.command(cmd.toArray(String[]::new));
        assertEquals(0, r.exit(), String.join(" ", cmd) + "\n" + r.err());
    }

    @Test
    void peersTalkTlsAndPlainClientsGetNothing() throws Exception {
        PeerFsMount.assumeFuse();
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "no openssl");
        Path ca = tmp.resolve("ca.pem");
        Path caKey = tmp.resolve("ca.key");
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=peerfs test CA",
                "-keyout", caKey.toString(), "-out", ca.toString());
        Path cert = tmp.resolve("node.pem");
        Path key = tmp.resolve("node.key");
        Path csr = tmp.resolve("node.csr");
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key.toString(),
                "-out", csr.toString());
        openssl("x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
                "-CAcreateserial", "-days", "2", "-out", cert.toString());

        Path backend = Files.createDirectories(tmp.resolve("backend"));
        byte[] data = random(5 * CHUNK + 11, 9);
        TestFiles.write(backend.resolve("d/f"), data);
        Path secret = TestFiles.secret(tmp.resolve("secret"), "a long enough cluster secret");
        List<String> addrs = List.of("127.0.0.1:" + Ports.free(), "127.0.0.1:" + Ports.free());
        List<PeerFsMount> nodes = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                nodes.add(new PeerFsMount(backend, tmp.resolve("mnt" + i), tmp.resolve("cache" + i), "--listen",
                        addrs.get(i), "--peers", String.join(",", addrs), "--secret-file", secret.toString(),
                        "--tls-cert", cert.toString(), "--tls-key", key.toString(), "--tls-ca", ca.toString())
                        .mount());
            }
            for (PeerFsMount n : nodes) {
                assertArrayEquals(data, Files.readAllBytes(n.mountpoint.resolve("d/f")));
            }
            long backendBytes = 0;
            long fetched = 0;
            for (PeerFsMount n : nodes) {
                backendBytes += n.status().path("backend").path("bytesRead").asLong();
                fetched += n.status().path("peers").path("bytesFetched").asLong();
            }
            assertEquals(data.length, backendBytes, "the backend was read once for both nodes");
            assertTrue(fetched > 0, "chunks went between the nodes over TLS");

            String[] hp = addrs.get(0).split(":");
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 5000);
                s.setSoTimeout(5000);
                s.getOutputStream().write(new byte[] {0, 0, 0, 2, 1, 2});
                s.getOutputStream().flush();
                DataInputStream in = new DataInputStream(s.getInputStream());
                int first;
                try {
                    first = in.read();
                } catch (java.io.IOException e) {
                    first = -1;
                }
                // a TLS server answers plain bytes with a TLS alert record (0x15) or closes; never a challenge frame
                assertTrue(first == -1 || first == 0x15, "a plain client got byte " + first);
            }
        } finally {
            for (PeerFsMount n : nodes) {
                n.close();
            }
        }
    }
}
