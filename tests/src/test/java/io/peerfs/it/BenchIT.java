package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tests/bench/run.sh in its quick mode: proves the benchmark still runs end to end and
 * prints every row. No timing is asserted (numbers belong in tests/bench/RESULTS.md); only
 * what must hold at any speed: every row has a number, and the cluster rows read the
 * dataset from the backend once whatever the number of daemons.
 */
class BenchIT {
    @TempDir
    Path tmp;

    @Test
    void quickBenchmarkPrintsEveryRowAndTheClusterReadsTheBackendOnce() throws Exception {
        PeerFsMount.assumeFuse();
        for (String tool : List.of("fio", "bindfs", "rclone", "redis-server")) {
            assumeTrue(PeerFsMount.command("sh", "-c", "command -v " + tool).exit() == 0, tool + " missing");
        }
        Path out = tmp.resolve("bench.txt");
        Process p = new ProcessBuilder("bash", PeerFsMount.ROOT.resolve("tests/bench/run.sh").toString(), "--quick")
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "the quick benchmark finishes");
        String table = Files.readString(out);
        System.out.println(table);
        assertEquals(0, p.exitValue(), table);
        for (String row : List.of("seq read 1M, 1 job(s): peerfs cold", "seq read 1M, 4 job(s): peerfs warm",
                "seq read 1M, 1 job(s): peerfs warm, libfuse 2",
                "seq read 1M, 1 job(s): bindfs", "seq read 1M, 1 job(s): rclone full cache, warm",
                "re-read 1M from page cache: peerfs", "rand read 4k, warm: peerfs", "rand read 128k, warm: peerfs",
                "seq write 1M: peerfs scratch", "seq write 1M: peerfs result (uploaded)",
                "small files 16K create: peerfs scratch", "small files 16K read: bindfs",
                "small files 16K remove: peerfs scratch", "small files 16K create: peerfs scratch, Redis meta",
                "small files 16K read: peerfs scratch, Redis meta")) {
            // the row's value column holds a number (not "-", which a failed row prints)
            assertTrue(table.lines().anyMatch(l -> l.startsWith(row)
                    && l.substring(row.length()).trim().split("\\s+")[0].matches("\\d+")), "row " + row);
        }
        assertTrue(table.lines().anyMatch(l -> l.matches("mount ready .*median \\d+ ms.*")), "mount ready");
        for (int n : List.of(1, 2, 4)) {
            String line = table.lines().filter(l -> l.startsWith("cluster N=" + n + ", 100 MiB/s link ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no cluster row N=" + n + ":\n" + table));
            String[] f = line.trim().split("\\s+"); // cluster N=n, 100 MiB/s link, wall, direct, backend MiB, x dataset
            assertEquals("1.00", f[8], "backend bytes per dataset with " + n + " daemons: " + line);
        }
    }
}
