package io.peerfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.backend.PosixException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The namespace rules alone; {@code MetaStoreContract} checks both engines apply them. */
class NamespaceRulesTest {
    static final Inode DIR_A = Inode.fresh(10, FileType.DIRECTORY, 0755, 0, 0, null, 1);
    static final Inode DIR_B = Inode.fresh(11, FileType.DIRECTORY, 0755, 0, 0, null, 1);
    static final Inode FILE = Inode.fresh(20, FileType.FILE, 0644, 0, 0, null, 1);
    static final Inode SUBDIR = Inode.fresh(21, FileType.DIRECTORY, 0755, 0, 0, null, 1);

    private static int errno(Exception e) {
        return ((PosixException) e).errno();
    }

    @Test
    void newNamesNeedAFreeNameInADirectory() throws Exception {
        assertThrows(NotDirectoryException.class, () -> NamespaceRules.requireDirectory("f", true, false));
        NamespaceRules.requireDirectory("d", true, true);
        NamespaceRules.requireDirectory("backend-dir", false, false);
        assertThrows(FileAlreadyExistsException.class,
                () -> NamespaceRules.create("d/x", FILE, 30, true, Optional.of(DIR_A)));
        NamespaceRules.Created c = NamespaceRules.create("d/sub", SUBDIR, 30, false, Optional.of(DIR_A));
        assertEquals(30, c.inode().ino());
        assertEquals(3, c.dir().orElseThrow().nlink(), "a subdirectory is a link of its parent");
        assertEquals(SUBDIR.ctimeNs(), c.dir().orElseThrow().mtimeNs());
        assertTrue(NamespaceRules.create("x", FILE, 31, false, Optional.empty()).dir().isEmpty());
    }

    @Test
    void linkRefusesDirectoriesGoneFilesAndTakenNames() throws Exception {
        assertEquals(PosixException.EPERM, errno(assertThrows(PosixException.class,
                () -> NamespaceRules.link("d/l", 21, Optional.of(SUBDIR), false, Optional.of(DIR_A), 5))));
        assertThrows(NoSuchFileException.class,
                () -> NamespaceRules.link("d/l", 20, Optional.empty(), false, Optional.of(DIR_A), 5));
        assertThrows(FileAlreadyExistsException.class,
                () -> NamespaceRules.link("d/l", 20, Optional.of(FILE), true, Optional.of(DIR_A), 5));
        NamespaceRules.Linked l = NamespaceRules.link("d/l", 20, Optional.of(FILE), false, Optional.of(DIR_A), 5);
        assertEquals(2, l.inode().nlink());
        assertEquals(5, l.dir().orElseThrow().mtimeNs());
        assertEquals(2, l.dir().orElseThrow().nlink());
    }

    @Test
    void unlinkCountsLinksAndRefusesFullDirectories() throws Exception {
        assertThrows(NoSuchFileException.class,
                () -> NamespaceRules.unlink("x", Optional.empty(), false, Optional.empty(), 5));
        assertThrows(DirectoryNotEmptyException.class,
                () -> NamespaceRules.unlink("d/sub", Optional.of(SUBDIR), true, Optional.of(DIR_A), 5));
        Inode parent = DIR_A.withEntriesChanged(1, 2);
        NamespaceRules.Unlinked u = NamespaceRules.unlink("d/sub", Optional.of(SUBDIR), false, Optional.of(parent), 5);
        assertEquals(0, u.inode().nlink());
        assertEquals(2, u.dir().orElseThrow().nlink());
        assertEquals(0, NamespaceRules.unlink("f", Optional.of(FILE), true, Optional.empty(), 5).inode().nlink(),
                "entries are asked of directories only");
    }

    @Test
    void renameFirstRules() throws Exception {
        assertThrows(NoSuchFileException.class,
                () -> NamespaceRules.renameIsNoop("a", "b", Optional.empty(), false, Optional.empty()));
        assertTrue(NamespaceRules.renameIsNoop("a", "a", Optional.of(1L), false, Optional.of(1L)));
        assertTrue(NamespaceRules.renameIsNoop("a", "b", Optional.of(1L), false, Optional.of(1L)),
                "two names of one file");
        assertEquals(PosixException.EINVAL, errno(assertThrows(PosixException.class,
                () -> NamespaceRules.renameIsNoop("d", "d/e", Optional.of(1L), true, Optional.empty()))));
        assertFalse(NamespaceRules.renameIsNoop("d", "de", Optional.of(1L), true, Optional.empty()));
    }

    @Test
    void renameReplacesLikeWithLikeAndKeepsDirectoryLinkCounts() throws Exception {
        assertThrows(NotDirectoryException.class, () -> NamespaceRules.rename("t", SUBDIR, Optional.of(FILE), false,
                Optional.empty(), Optional.empty(), 5));
        assertEquals(PosixException.EISDIR, errno(assertThrows(PosixException.class, () -> NamespaceRules.rename("t",
                FILE, Optional.of(SUBDIR), false, Optional.empty(), Optional.empty(), 5))));
        assertThrows(DirectoryNotEmptyException.class, () -> NamespaceRules.rename("t", SUBDIR,
                Optional.of(Inode.fresh(22, FileType.DIRECTORY, 0755, 0, 0, null, 1)), true, Optional.empty(),
                Optional.empty(), 5));
        Inode a = DIR_A.withEntriesChanged(1, 2); // holds SUBDIR
        NamespaceRules.Renamed across = NamespaceRules.rename("b/sub", SUBDIR, Optional.empty(), false,
                Optional.of(a), Optional.of(DIR_B), 5);
        assertEquals(2, across.fromDir().orElseThrow().nlink());
        assertEquals(3, across.toDir().orElseThrow().nlink());
        assertEquals(5, across.fromDir().orElseThrow().mtimeNs());
        NamespaceRules.Renamed within = NamespaceRules.rename("a/sub2", SUBDIR, Optional.empty(), false,
                Optional.of(a), Optional.of(a), 5);
        assertTrue(within.fromDir().isEmpty(), "one directory is written once");
        assertEquals(3, within.toDir().orElseThrow().nlink());
        Inode linked = FILE.withNlink(2, 1);
        NamespaceRules.Renamed over = NamespaceRules.rename("t", FILE, Optional.of(linked), false,
                Optional.empty(), Optional.empty(), 5);
        assertEquals(1, over.replaced().orElseThrow().nlink());
        assertEquals(5, over.moved().ctimeNs());
    }
}
