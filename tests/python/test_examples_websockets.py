"""websockets' documented client examples (example/asyncio, example/sync,
example/quick, example/faq, docs/faq/client.rst, docs/howto/patterns.rst),
each run as its own program with only the import changed (``websockets`` ->
``wsbridge.websockets``) and the URI made a session's (``wsbridge://echo``
echoes; ``wsbridge://greet`` greets every connection). Written afresh from
the docs. Those that cannot run are listed in clients/python/README.md with
the reason: example/legacy/unix_client.py (the socket path is a server's),
example/tls/client.py (loads a certificate file that is not installed; TLS
is the session's), example/trio/* (trio is not supported)."""

import signal
import subprocess
import sys
import time

from peer_examples import echo_daemon, run_program
from pyclient import client_env


def check(wsb, tmp_path, source, timeout=30.0):
    echo, greet, daemon = echo_daemon(wsb)
    rc, out, err = run_program(daemon, source, tmp_path, timeout)
    return rc, out, err, greet


def with_input(wsb, tmp_path, source, text):
    echo, greet, daemon = echo_daemon(wsb)
    path = tmp_path / "example.py"
    path.write_text(source)
    r = subprocess.run([sys.executable, str(path)], input=text, capture_output=True, text=True,
                       timeout=60, env=client_env(WSBRIDGE_SOCKET=str(daemon.socket)))
    return r.returncode, r.stdout, r.stderr


def test_wss_example_asyncio_client(wsb, tmp_path):
    rc, out, err = with_input(wsb, tmp_path, '''
import asyncio

from wsbridge.websockets.asyncio.client import connect


async def hello():
    async with connect("wsbridge://echo") as websocket:
        name = input("What's your name? ")

        await websocket.send(name)
        print(f">>> {name}")

        greeting = await websocket.recv()
        print(f"<<< {greeting}")


if __name__ == "__main__":
    asyncio.run(hello())
''', "Ada\n")
    assert rc == 0 and out.splitlines() == ["What's your name? >>> Ada", "<<< Ada"], (out, err)


def test_wss_example_sync_client(wsb, tmp_path):
    rc, out, err = with_input(wsb, tmp_path, '''
from wsbridge.websockets.sync.client import connect


def hello():
    with connect("wsbridge://echo") as websocket:
        name = input("What's your name? ")

        websocket.send(name)
        print(f">>> {name}")

        greeting = websocket.recv()
        print(f"<<< {greeting}")


if __name__ == "__main__":
    hello()
''', "Ada\n")
    assert rc == 0 and out.splitlines() == ["What's your name? >>> Ada", "<<< Ada"], (out, err)


def test_wss_example_quick_client(wsb, tmp_path):
    rc, out, err = with_input(wsb, tmp_path, '''
from wsbridge.websockets.sync.client import connect

def hello():
    uri = "wsbridge://echo"
    with connect(uri) as websocket:
        name = input("What's your name? ")

        websocket.send(name)
        print(f">>> {name}")

        greeting = websocket.recv()
        print(f"<<< {greeting}")

if __name__ == "__main__":
    hello()
''', "Grace\n")
    assert rc == 0 and out.splitlines()[-1] == "<<< Grace", (out, err)


def test_wss_example_asyncio_hello(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
import asyncio

from wsbridge.websockets.asyncio.client import connect


async def hello():
    async with connect("wsbridge://echo") as websocket:
        await websocket.send("Hello world!")
        message = await websocket.recv()
        print(message)


if __name__ == "__main__":
    asyncio.run(hello())
''')
    assert rc == 0 and out.splitlines() == ["Hello world!"], (out, err)


def test_wss_example_sync_hello(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge.websockets.sync.client import connect


def hello():
    with connect("wsbridge://echo") as websocket:
        websocket.send("Hello world!")
        message = websocket.recv()
        print(message)


if __name__ == "__main__":
    hello()
''')
    assert rc == 0 and out.splitlines() == ["Hello world!"], (out, err)


def test_wss_example_faq_shutdown_client(wsb, tmp_path):
    echo, greet, daemon = echo_daemon(wsb)
    path = tmp_path / "example.py"
    path.write_text('''
import asyncio
import signal

from wsbridge.websockets.asyncio.client import connect

async def client():
    async with connect("wsbridge://greet") as websocket:
        # Close the connection when receiving SIGTERM.
        loop = asyncio.get_running_loop()
        def close():
            return loop.create_task(websocket.close())
        loop.add_signal_handler(signal.SIGTERM, close)

        # Process messages received on the connection.
        async for message in websocket:
            print(message, flush=True)

asyncio.run(client())
''')
    proc = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=client_env(WSBRIDGE_SOCKET=str(daemon.socket)))
    first = proc.stdout.readline()
    assert first.startswith("hello from "), first
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_wss_faq_reconnect_iterator(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
import asyncio
from wsbridge.websockets.asyncio.client import connect
from wsbridge.websockets.exceptions import ConnectionClosed

async def main():
    n = 0
    async for websocket in connect("wsbridge://echo"):
        try:
            n += 1
            if n == 4:
                await websocket.send("the end")
                print(await websocket.recv())
                return
            await websocket.send(f"close 4000 round {n}")
            print(await websocket.recv())
        except ConnectionClosed as e:
            print("closed", e.rcvd.code, e.rcvd.reason)
            continue

asyncio.run(main())
''')
    assert rc == 0, err
    assert out.splitlines() == ["closed 4000 round 1", "closed 4000 round 2",
                                "closed 4000 round 3", "the end"], out


def test_wss_faq_http_headers(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
import asyncio
from wsbridge.websockets.asyncio.client import connect

async def main():
    async with connect("wsbridge://echo", additional_headers={"Authorization": "Bearer x"}) as websocket:
        print(dict(websocket.request.headers), dict(websocket.response.headers))
    async with connect("wsbridge://echo", host="192.168.0.1") as websocket:
        await websocket.send("ok")
        print(await websocket.recv())

asyncio.run(main())
''')
    assert rc == 0 and out.splitlines() == ["{} {}", "ok"], (out, err)
    assert "additional_headers=" in err and "'headers'" in err and "host=" in err, err
    assert "Bearer" not in err


def test_wss_faq_close_with_context_manager(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
import asyncio
from wsbridge.websockets.asyncio.client import connect

async def do_some_work(websocket):
    await websocket.send("work")
    print(await websocket.recv())

async def main():
    async with connect("wsbridge://echo") as websocket:
        await do_some_work(websocket)
    print(websocket.state.name, websocket.close_code)

asyncio.run(main())
''')
    assert rc == 0 and out.splitlines() == ["work", "CLOSED 1000"], (out, err)


def test_wss_howto_consumer_producer(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
import asyncio
from wsbridge.websockets.asyncio.client import connect

received = []

async def consume(message):
    received.append(message)
    print("consumed", message)

async def produce():
    await asyncio.sleep(0.05)
    return f"tick {len(received)}"

async def consumer_handler(websocket):
    async for message in websocket:
        await consume(message)
        if len(received) == 3:
            await websocket.close()

async def producer_handler(websocket):
    while True:
        message = await produce()
        await websocket.send(message)

async def handler(websocket):
    consumer_task = asyncio.create_task(consumer_handler(websocket))
    producer_task = asyncio.create_task(producer_handler(websocket))
    done, pending = await asyncio.wait(
        [consumer_task, producer_task],
        return_when=asyncio.FIRST_COMPLETED,
    )
    for task in pending:
        task.cancel()

async def main():
    async with connect("wsbridge://echo") as websocket:
        await handler(websocket)

asyncio.run(main())
''')
    assert rc == 0, err
    assert out.splitlines()[:3] == ["consumed tick 0", "consumed tick 1", "consumed tick 2"], out


def test_wss_legacy_client_import(wsb, tmp_path):
    """websockets < 14 apps: `websockets.connect` with `extra_headers`,
    `ws.open`, and ConnectionClosed.code."""
    rc, out, err, _ = check(wsb, tmp_path, '''
import asyncio
from wsbridge import websockets

async def main():
    async with websockets.connect("wsbridge://echo", extra_headers={"X": "1"}) as ws:
        assert ws.open
        await ws.send("close 1001 bye")
        try:
            await ws.recv()
        except websockets.ConnectionClosed as e:
            print(type(e).__name__, e.code, e.reason, ws.closed)

asyncio.run(main())
''')
    assert rc == 0 and out.splitlines() == ["ConnectionClosedOK 1001 bye True"], (out, err)
    assert "extra_headers=" in err, err
