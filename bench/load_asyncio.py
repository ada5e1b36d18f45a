"""The asyncio and uvloop peers of bench/load.sh: the servers of
load_yieldc.c on asyncio streams (start_server, readline, readexactly,
readuntil, write + drain), single-threaded.

    python3 load_asyncio.py ping|http PORT [--uvloop]

Prints "ready" once listening; SIGINT stops it (asyncio.run's handling).
"""
import asyncio
import sys

PONG = b"+PONG\r\n"
ERR = b"-ERR unknown command\r\n"
HELLO = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 13\r\n\r\nHello, World!")
HELLO_CLOSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
               b"Content-Length: 13\r\nConnection: close\r\n\r\nHello, World!")


async def ping_conn(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            line = line.rstrip(b"\r\n")
            if line[:1] == b"*":
                argc = int(line[1:])
                if not 1 <= argc <= 1024:
                    break
                ping = False
                for i in range(argc):
                    h = (await reader.readline()).rstrip(b"\r\n")
                    if h[:1] != b"$":
                        return
                    a = await reader.readexactly(int(h[1:]) + 2)
                    if i == 0:
                        ping = argc == 1 and a[:-2].upper() == b"PING"
            elif not line:
                continue
            else:
                ping = line.upper() == b"PING"
            writer.write(PONG if ping else ERR)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        writer.close()


async def http_conn(reader, writer):
    try:
        while True:
            h = await reader.readuntil(b"\r\n\r\n")
            close = b"connection: close" in h.lower()
            writer.write(HELLO_CLOSE if close else HELLO)
            await writer.drain()
            if close:
                break
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main(mode, port):
    handler = ping_conn if mode == "ping" else http_conn
    server = await asyncio.start_server(handler, "127.0.0.1", port, backlog=4096)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("ping", "http"):
        sys.exit("usage: load_asyncio.py ping|http PORT [--uvloop]")
    if "--uvloop" in sys.argv[3:]:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    import signal
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    except KeyboardInterrupt:
        pass
