package io.peerfs.daemon.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MountTableTest {
    @Test
    void parsesMountinfoLinesWithOptionalFieldsAndEscapes() {
        String line = "612 29 0:54 / /tmp/my\\040mnt rw,nosuid,nodev,relatime shared:300 - fuse.peerfs"
                + " peerfs:/data/cpfs rw,user_id=0,group_id=0,default_permissions,allow_other";
        MountTable.Mount m = MountTable.parse(line).orElseThrow();
        assertEquals(Path.of("/tmp/my mnt"), m.mountpoint());
        assertEquals("fuse.peerfs", m.fsType());
        assertEquals("peerfs:/data/cpfs", m.source());
        assertEquals("0:54", m.device());
        assertTrue(m.isPeerFs());
        assertTrue(MountTable.parse("garbage").isEmpty());
    }

    @Test
    void findsTheRootMount() throws Exception {
        assertTrue(MountTable.find(Path.of("/")).isPresent());
        assertTrue(MountTable.find(Path.of("/definitely/not/a/mount")).isEmpty());
    }
}
