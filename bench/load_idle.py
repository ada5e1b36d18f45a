"""The idle-connection client of bench/load.sh.

    python3 load_idle.py PORT N

Opens N TCP connections to 127.0.0.1:PORT, sends one inline PING on each
and reads its +PONG (so that the server has accepted and served every
one), prints "open N" and then holds them, idle, until stdin closes.
Exits 1 with the reason when a connection or its PING fails.
"""
import socket
import sys


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    socks = []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            socks.append(s)
            # in batches, so that the server's accept queue never overflows
            if len(socks) % 500 == 0 or i == n - 1:
                batch = socks[-(500 if len(socks) % 500 == 0 else len(socks) % 500):]
                for b in batch:
                    b.sendall(b"PING\r\n")
                for b in batch:
                    got = b""
                    while not got.endswith(b"\r\n"):
                        chunk = b.recv(64)
                        if not chunk:
                            raise OSError("server closed a connection")
                        got += chunk
                    if got != b"+PONG\r\n":
                        raise OSError(f"unexpected reply {got!r}")
    except OSError as e:
        print(f"load_idle: after {len(socks)} connections: {e}", file=sys.stderr)
        return 1
    print(f"open {len(socks)}", flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
