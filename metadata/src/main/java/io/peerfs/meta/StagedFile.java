package io.peerfs.meta;

/**
 * A writeback journal entry.
 *
 * @param path the backend path the staged data belongs to
 * @param ready true once a writer's close or fsync committed the data: it must reach the
 *     backend even after a crash. Data never committed by a writer is dropped after a crash,
 *     so a half-written file never replaces the backend's.
 */
public record StagedFile(String path, boolean ready) {
}
