# A TCP proxy on 127.0.0.1:LISTEN to 127.0.0.1:TARGET that holds every chunk for DELAY
# seconds each way: a Redis "across racks" on a machine without netem. asyncio's timers make
# the round trip ~2.5 ms here whatever DELAY below 1 ms is given (redis-benchmark -c 1: ~390/s).
#   python3 tests/bench/delay-proxy.py 6393 6379 0.0002 &
import asyncio, socket, sys
LISTEN, TARGET, DELAY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
async def pipe(reader, writer):
    loop = asyncio.get_running_loop()
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            loop.call_later(DELAY, writer.write, data)
    finally:
        loop.call_later(DELAY * 2, writer.close)
async def handle(cr, cw):
    sr, sw = await asyncio.open_connection("127.0.0.1", TARGET)
    for w in (cw, sw):
        w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await asyncio.gather(pipe(cr, sw), pipe(sr, cw))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    async with server:
        await server.serve_forever()
asyncio.run(main())
