package io.peerfs.meta.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A Lua script run by its SHA-1 (EVALSHA), sent whole only when the server does not have it:
 * the first time, and after a restart or a failover emptied its script cache.
 */
final class LuaScript {
    private final String body;
    private final String sha;

    LuaScript(String body) {
        this.body = body;
        try {
            this.sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
                    .digest(body.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-1", e);
        }
    }

    <T> T run(RedisCommands<byte[], byte[]> c, ScriptOutputType type, byte[][] keys, byte[]... args) {
        try {
            return c.evalsha(sha, type, keys, args);
        } catch (RedisNoScriptException e) {
            return c.eval(body, type, keys, args);
        }
    }
}
