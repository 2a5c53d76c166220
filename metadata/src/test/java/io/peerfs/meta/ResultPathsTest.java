package io.peerfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ResultPathsTest {
    private final ResultPaths paths = new ResultPaths(List.of("out/**", "*.ckpt", "runs/*/final"));

    private boolean result(String rel, String... tags) {
        return paths.why(rel, Set.of(tags)).isPresent();
    }

    @Test
    void globsMatchPathsAndEverythingBelowThem() {
        assertTrue(result("out"));
        assertTrue(result("out/a"));
        assertTrue(result("out/a/b/c.bin"));
        assertTrue(result("model.ckpt"));
        assertTrue(result("deep/dir/model.ckpt"));
        assertTrue(result("x.ckpt/inside"));
        assertTrue(result("runs/7/final"));
        assertTrue(result("runs/7/final/weights"));
        assertEquals(false, result("runs/7/other"));
        assertEquals(false, result("output/a"));
        assertEquals(false, result("data/out/a"), "a glob with a slash is anchored at the backend root");
        assertEquals(false, result(""));
        assertEquals(false, result("model.ckpt.bak"));
    }

    @Test
    void tagsCoverThePathAndEverythingBelow() {
        assertTrue(result("data/keep", "data/keep"));
        assertTrue(result("data/keep/a/b", "data/keep"));
        assertEquals(false, result("data/keeper", "data/keep"));
        assertEquals(false, result("data", "data/keep"));
        assertTrue(result("anything", ""));
    }

    @Test
    void reasonsNameTheGlobOrTag() {
        assertEquals(Optional.of("matches --result-paths glob 'out/**' (via its directory 'out')"),
                paths.why("out/x", Set.of()));
        assertEquals(Optional.of("matches --result-paths glob '*.ckpt'"), paths.why("a/m.ckpt", Set.of()));
        assertEquals(Optional.of("directory 'data' is tagged user.peerfs.result=1"),
                paths.why("data/x", Set.of("data")));
    }

    @Test
    void unusableGlobsAreRefusedWithAMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ResultPaths(List.of("/abs/**")));
        assertTrue(e.getMessage().contains("relative to the backend root"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ResultPaths(List.of("../up")));
        e = assertThrows(IllegalArgumentException.class, () -> new ResultPaths(List.of("out/[a")));
        assertTrue(e.getMessage().contains("not a valid glob"), e.getMessage());
        assertTrue(new ResultPaths(List.of(" ", "")).isEmpty());
    }
}
