package io.peerfs.meta.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class WithoutPasswordTest {
    @Test
    void anyPasswordIsMaskedWholeInLogsAndMessages() {
        assertEquals("redis://***@10.0.0.5:6379/0", RedisMetaStore.withoutPassword("redis://:s3cret@10.0.0.5:6379/0"));
        assertEquals("redis://***@host:6379/0", RedisMetaStore.withoutPassword("redis://:p@ss:w/rd@host:6379/0"),
                "a password holding '@', ':' and '/'");
        assertEquals("rediss://***@host:6380/2", RedisMetaStore.withoutPassword("rediss://user:pw@host:6380/2"));
        assertEquals("redis://host:6379/0", RedisMetaStore.withoutPassword("redis://host:6379/0"));
        assertEquals("rocksdb:", RedisMetaStore.withoutPassword("rocksdb:"));
        assertEquals("meta=redis://***@h:1/0 peers=a,b",
                RedisMetaStore.withoutPassword("meta=redis://:x@y@h:1/0 peers=a,b"), "within a configuration line");
    }
}
