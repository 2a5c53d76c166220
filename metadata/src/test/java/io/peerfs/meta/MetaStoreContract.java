package io.peerfs.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.chunk.ChunkKey;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The contract of every {@link MetaStore} engine; subclass it once per engine. */
public abstract class MetaStoreContract {
    protected MetaStore store;

    /** A new, empty store. */
    protected abstract MetaStore open() throws Exception;

    /** The same store after closing and opening it again (what a daemon restart sees). */
    protected abstract MetaStore reopen(MetaStore old) throws Exception;

    @BeforeEach
    void setUp() throws Exception {
        store = open();
    }

    @AfterEach
    void tearDown() {
        store.close();
    }

    private static Inode file() {
        return Inode.fresh(0, FileType.FILE, 0644, 1000, 1000, null, 1);
    }

    private static Inode dir() {
        return Inode.fresh(0, FileType.DIRECTORY, 0755, 0, 0, null, 1);
    }

    private List<String> sorted(List<String> l) {
        return l.stream().sorted().toList();
    }

    @Test
    void createAssignsNumbersAndRefusesTakenNames() throws Exception {
        Inode a = store.create("a", file());
        Inode b = store.create("b", file());
        assertNotEquals(a.ino(), b.ino());
        assertTrue(a.ino() > 0);
        assertEquals(Optional.of(a), store.lookup("a").map(i -> i));
        assertEquals(a.ino(), store.get(a.ino()).orElseThrow().ino());
        assertThrows(FileAlreadyExistsException.class, () -> store.create("a", file()));
        assertThrows(NotDirectoryException.class, () -> store.create("a/child", file()));
        assertTrue(store.lookup("nope").isEmpty());
    }

    @Test
    void listsTheNamesOfOneDirectoryOnly() throws Exception {
        store.create("d", dir());
        store.create("d/x", file());
        store.create("d/sub", dir());
        store.create("d/sub/deeper", file());
        store.create("dd", file()); // a sibling whose name starts like the directory
        store.create("backend-dir/y", file()); // a scratch file inside a directory the store does not hold
        assertEquals(List.of("sub", "x"), sorted(store.list("d")));
        assertEquals(List.of("deeper"), store.list("d/sub"));
        assertEquals(List.of("backend-dir/y"), List.of("backend-dir/" + store.list("backend-dir").get(0)));
        assertEquals(List.of("d", "dd"), sorted(store.list("")).stream().filter(n -> n.startsWith("d")).toList());
    }

    @Test
    void hardLinksShareOneInode() throws Exception {
        Inode a = store.create("a", file());
        Inode linked = store.link(a.ino(), "b", 5);
        assertEquals(2, linked.nlink());
        assertEquals(a.ino(), store.lookup("b").orElseThrow().ino());
        assertEquals(1, store.unlink("a", 6).nlink());
        assertEquals(1, store.lookup("b").orElseThrow().nlink());
        store.create("d", dir());
        assertThrows(FileSystemException.class, () -> store.link(store.lookup("d").orElseThrow().ino(), "d2", 7));
        assertThrows(FileAlreadyExistsException.class, () -> store.link(a.ino(), "b", 8));
    }

    @Test
    void unlinkKeepsTheRecordUntilDeleted() throws Exception {
        Inode a = store.create("a", file());
        assertEquals(0, store.unlink("a", 2).nlink());
        assertTrue(store.lookup("a").isEmpty());
        assertEquals(List.of(a.ino()), store.orphans().stream().map(Inode::ino).toList());
        store.delete(a.ino());
        assertTrue(store.get(a.ino()).isEmpty());
        assertTrue(store.orphans().isEmpty());
        assertThrows(NoSuchFileException.class, () -> store.unlink("a", 3));
    }

    @Test
    void aCloseReturnsTheRecordAsItStandsAfterIt() throws Exception {
        Inode a = store.create("a", file());
        store.opened(a.ino());
        assertEquals(1, store.closed(a.ino()).orElseThrow().nlink());
        store.opened(a.ino());
        store.unlink("a", 2);
        assertEquals(0, store.closed(a.ino()).orElseThrow().nlink(), "removed while open: its data may go now");
        store.delete(a.ino());
        assertTrue(store.closed(a.ino()).isEmpty());
    }

    @Test
    void directoriesMustBeEmptyToRemove() throws Exception {
        store.create("d", dir());
        store.create("d/x", file());
        assertThrows(DirectoryNotEmptyException.class, () -> store.unlink("d", 2));
        store.unlink("d/x", 3);
        assertEquals(0, store.unlink("d", 4).nlink());
    }

    @Test
    void renameMovesAFileAndReplacesATarget() throws Exception {
        Inode a = store.create("a", file());
        Inode b = store.create("b", file());
        Optional<Inode> replaced = store.rename("a", "b", 9);
        assertEquals(b.ino(), replaced.orElseThrow().ino());
        assertEquals(0, replaced.get().nlink());
        assertEquals(a.ino(), store.lookup("b").orElseThrow().ino());
        assertTrue(store.lookup("a").isEmpty());
        assertEquals(List.of(b.ino()), store.orphans().stream().map(Inode::ino).toList());
        assertThrows(NoSuchFileException.class, () -> store.rename("a", "c", 10));
    }

    @Test
    void renameMovesAWholeDirectoryTree() throws Exception {
        store.create("src", dir());
        store.create("src/a", dir());
        Inode deep = store.create("src/a/file", file());
        store.create("src/top", file());
        store.create("srcx", file());
        store.create("dst-parent", dir());
        store.rename("src", "dst-parent/moved", 3);
        assertEquals(deep.ino(), store.lookup("dst-parent/moved/a/file").orElseThrow().ino());
        assertTrue(store.lookup("dst-parent/moved/top").isPresent());
        assertTrue(store.lookup("src/a/file").isEmpty());
        assertTrue(store.list("src").isEmpty());
        assertTrue(store.lookup("srcx").isPresent(), "a sibling with a common prefix stays");
        assertEquals(List.of("a", "top"), sorted(store.list("dst-parent/moved")));
    }

    @Test
    void renameFollowsRename2Rules() throws Exception {
        store.create("d", dir());
        store.create("d/sub", dir());
        store.create("f", file());
        store.create("full", dir());
        store.create("full/x", file());
        store.create("empty", dir());
        assertEquals("Invalid argument", assertThrows(FileSystemException.class,
                () -> store.rename("d", "d/sub/inside", 1)).getReason());
        assertEquals("Is a directory", assertThrows(FileSystemException.class,
                () -> store.rename("f", "empty", 1)).getReason());
        assertThrows(NotDirectoryException.class, () -> store.rename("d", "f", 1));
        assertThrows(DirectoryNotEmptyException.class, () -> store.rename("d", "full", 1));
        assertTrue(store.rename("d", "empty", 1).isPresent());
        assertTrue(store.lookup("empty/sub").isPresent());
        Inode f = store.lookup("f").orElseThrow();
        store.link(f.ino(), "f2", 1);
        assertTrue(store.rename("f", "f2", 1).isEmpty(), "renaming onto another name of the same file does nothing");
        assertTrue(store.lookup("f").isPresent());
    }

    @Test
    void updateStoresAttributesXattrsAndLayout() throws Exception {
        Inode a = store.create("a", file());
        List<ChunkKey> layout = new ArrayList<>(Arrays.asList(ChunkKey.forScratchFile(a.ino(), 1, 0), null,
                ChunkKey.forScratchFile(a.ino(), 2, 2)));
        store.modify(a.ino(), i -> i.withData(9_000_000, layout, 2, 77));
        store.modify(a.ino(), i -> i.withMode(0600, 78).withOwner(5, 6, 79).withXattrs(Map.of("user.k", new byte[] {1, 2, 3}), 80));
        assertThrows(NoSuchFileException.class, () -> store.modify(12345, i -> i));
        store = reopen(store);
        Inode got = store.lookup("a").orElseThrow();
        assertEquals(9_000_000, got.size());
        assertEquals(layout, got.chunks());
        assertEquals(2, got.generation());
        assertEquals(0600, got.mode());
        assertEquals(5, got.uid());
        assertEquals(77, got.mtimeNs());
        assertArrayEquals(new byte[] {1, 2, 3}, got.xattrs().get("user.k"));
        assertEquals(java.util.Set.of(layout.get(0), layout.get(2)), store.referencedChunks());
    }

    @Test
    void anUpdateFromAStaleRecordKeepsTheChangesMadeSince() throws Exception {
        Inode seen = store.create("a", file());
        store.modify(seen.ino(), i -> i.withMode(0600, 5));
        Inode got = store.modify(seen.ino(), seen, i -> i.withData(42, List.of(), 1, 6));
        assertEquals(0600, got.mode(), "the change made after the record was seen");
        assertEquals(42, got.size());
        Inode stored = store.get(seen.ino()).orElseThrow();
        assertEquals(0600, stored.mode());
        assertEquals(42, stored.size());
        Inode again = store.modify(seen.ino(), stored, i -> i.withOwner(7, 8, 9));
        assertEquals(7, again.uid());
        assertEquals(42, store.get(seen.ino()).orElseThrow().size());
        store.delete(seen.ino());
        assertThrows(NoSuchFileException.class, () -> store.modify(seen.ino(), stored, i -> i));
    }

    @Test
    void concurrentUpdatesFromOneStaleRecordLoseNone() throws Exception {
        Inode seen = store.create("counter", file());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            done.add(pool.submit(() -> {
                for (int n = 0; n < 50; n++) {
                    store.modify(seen.ino(), seen, i -> i.withData(i.size() + 1, List.of(), 1, i.mtimeNs() + 1));
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        assertEquals(200, store.get(seen.ino()).orElseThrow().size());
    }

    @Test
    void symlinksKeepTheirTarget() throws Exception {
        store.create("l", Inode.fresh(0, FileType.SYMLINK, 0777, 0, 0, "../target/ü", 1));
        store = reopen(store);
        assertEquals("../target/ü", store.lookup("l").orElseThrow().target());
    }

    @Test
    void concurrentCreatesAndRenamesInOneDirectoryLoseNothing() throws Exception {
        store.create("d", dir());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int id = t;
            done.add(pool.submit(() -> {
                for (int i = 0; i < 50; i++) {
                    store.create("d/t" + id + "-" + i, file());
                    store.rename("d/t" + id + "-" + i, "d/r" + id + "-" + i, 2);
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        List<String> names = store.list("d");
        assertEquals(200, names.size());
        assertTrue(names.stream().allMatch(n -> n.startsWith("r")));
        assertEquals(200, names.stream().map(n -> {
            try {
                return store.lookup("d/" + n).orElseThrow().ino();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }).distinct().count());
    }

    /** The directory's mtime, ctime and link count. */
    private List<Long> timesAndLinks(String dir) throws Exception {
        Inode d = store.lookup(dir).orElseThrow();
        return List.of(d.mtimeNs(), d.ctimeNs(), (long) d.nlink());
    }

    @Test
    void everyChangeOfADirectorysEntriesSetsItsTimesAndSubdirectoriesCountAsLinks() throws Exception {
        store.create("a", dir());
        store.create("b", dir());
        assertEquals(List.of(1L, 1L, 2L), timesAndLinks("a"));
        store.create("a/f", Inode.fresh(0, FileType.FILE, 0644, 0, 0, null, 10));
        assertEquals(List.of(10L, 10L, 2L), timesAndLinks("a"), "create");
        store.create("a/s", Inode.fresh(0, FileType.DIRECTORY, 0755, 0, 0, null, 20));
        assertEquals(List.of(20L, 20L, 3L), timesAndLinks("a"), "mkdir: the new directory's .. is a link");
        store.link(store.lookup("a/f").orElseThrow().ino(), "b/g", 30);
        assertEquals(List.of(30L, 30L, 2L), timesAndLinks("b"), "link");
        assertEquals(List.of(20L, 20L, 3L), timesAndLinks("a"), "the other name's directory is untouched");
        store.rename("a/s", "b/s", 40);
        assertEquals(List.of(40L, 40L, 2L), timesAndLinks("a"), "rename of a directory out");
        assertEquals(List.of(40L, 40L, 3L), timesAndLinks("b"), "rename of a directory in");
        store.rename("b/g", "b/h", 50);
        assertEquals(List.of(50L, 50L, 3L), timesAndLinks("b"), "rename within one directory");
        store.create("a/t", Inode.fresh(0, FileType.DIRECTORY, 0755, 0, 0, null, 55));
        store.rename("a/t", "b/s", 60); // replaces an empty directory
        assertEquals(List.of(60L, 60L, 2L), timesAndLinks("a"));
        assertEquals(List.of(60L, 60L, 3L), timesAndLinks("b"), "one subdirectory in, one replaced");
        store.unlink("b/h", 70);
        assertEquals(List.of(70L, 70L, 3L), timesAndLinks("b"), "unlink");
        store.unlink("b/s", 80);
        assertEquals(List.of(80L, 80L, 2L), timesAndLinks("b"), "rmdir");
        store = reopen(store);
        assertEquals(List.of(80L, 80L, 2L), timesAndLinks("b"), "kept");
        store.create("top", file()); // its directory is the backend's: nothing else to change
        assertTrue(store.lookup("top").isPresent());
    }

    @Test
    void stagedInodesAreJournaledWithTheirTargetAndSurviveARestart() throws Exception {
        StagedFile.Writer writer = new StagedFile.Writer(65534, 100, new int[] {4242, 27, 100});
        Inode a = store.stage("out/a.bin", file(), null);
        Inode b = store.stage("out/b.bin", file(), writer);
        assertNotEquals(a.ino(), b.ino());
        assertEquals(1, a.nlink());
        assertTrue(store.list("out").isEmpty(), "a staged inode has no scratch name");
        assertTrue(store.lookup("out/a.bin").isEmpty());
        store.readyToUpload(b.ino());
        store.restage(b.ino(), "out/c.bin");
        store = reopen(store);
        assertEquals(Map.of(a.ino(), new StagedFile("out/a.bin", false), b.ino(),
                new StagedFile("out/c.bin", true, writer)), store.staged(), "the writer and its groups are kept");
        assertTrue(store.orphans().isEmpty(), "staged inodes are not orphans");
        assertEquals(Optional.of(a.ino()), store.get(a.ino()).map(Inode::ino));
    }

    @Test
    void unstagingLeavesAnUnlinkedInodeToDelete() throws Exception {
        Inode a = store.stage("a", file(), null);
        Inode gone = store.unstage(a.ino());
        assertEquals(0, gone.nlink());
        assertTrue(store.staged().isEmpty());
        assertEquals(List.of(a.ino()), store.orphans().stream().map(Inode::ino).toList());
        store.delete(a.ino());
        assertTrue(store.get(a.ino()).isEmpty());
        assertThrows(NoSuchFileException.class, () -> store.unstage(a.ino()));
        assertThrows(NoSuchFileException.class, () -> store.restage(a.ino(), "b"));
        assertThrows(NoSuchFileException.class, () -> store.readyToUpload(a.ino()));
    }

    @Test
    void stagedAndScratchInodesNeverShareANumber() throws Exception {
        Inode s = store.create("x", file());
        Inode t = store.stage("y", file(), null);
        Inode u = store.create("z", file());
        assertEquals(3, List.of(s.ino(), t.ino(), u.ino()).stream().distinct().count());
    }

    @Test
    void resultTagsAreSetClearedAndKept() throws Exception {
        store.tagResult("out", true);
        store.tagResult("runs/7/ckpt", true);
        store.tagResult("out", true);
        store = reopen(store);
        assertEquals(java.util.Set.of("out", "runs/7/ckpt"), store.resultTags());
        store.tagResult("out", false);
        store.tagResult("never-tagged", false);
        assertEquals(java.util.Set.of("runs/7/ckpt"), store.resultTags());
    }

    @Test
    void pinTagsAreKeptApartFromResultTags() throws Exception {
        store.tag(PathTag.PIN, "data/imagenet", true);
        store.tag(PathTag.PIN, "", true);
        store.tagResult("out", true);
        store = reopen(store);
        assertEquals(java.util.Set.of("data/imagenet", ""), store.tagged(PathTag.PIN));
        assertEquals(java.util.Set.of("out"), store.resultTags());
        store.tag(PathTag.PIN, "", false);
        store.tag(PathTag.DATASET, "data", true);
        assertEquals(java.util.Set.of("data/imagenet"), store.tagged(PathTag.PIN));
        assertEquals(java.util.Set.of("data"), store.tagged(PathTag.DATASET));
        assertEquals(java.util.Set.of("out"), store.tagged(PathTag.RESULT));
    }

    @Test
    void membersRegisterRefreshAndLeave() throws Exception {
        store.heartbeat(new Member("gpu-1", "10.0.0.1:7070", 1000));
        store.heartbeat(new Member("gpu-2", "10.0.0.2:7070", 1000));
        store.heartbeat(new Member("gpu-1", "10.0.0.9:7071", 2000));
        store = reopen(store);
        assertEquals(List.of(new Member("gpu-1", "10.0.0.9:7071", 2000), new Member("gpu-2", "10.0.0.2:7070", 1000)),
                store.members().stream().sorted(java.util.Comparator.comparing(Member::nodeId)).toList());
        store.leave("gpu-2");
        store.leave("never-joined");
        assertEquals(List.of("gpu-1"), store.members().stream().map(Member::nodeId).toList());
    }
}
