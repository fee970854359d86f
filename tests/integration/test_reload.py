"""SIGHUP re-reads the config: changed sessions reconnect, the rest are left alone."""

import re

from wsbtest import SLOW, session_conf, wait_for


def _connects_with(server, header, value):
    return [c for c in server.connects() if c["headers"].get(header) == value]


def test_reload_changed_session_reconnects_and_keeps_subscribers(wsb):
    server = wsb.server("--send-interval", "0.05")
    daemon = wsb.daemon(session_conf("chg", server.url, headers="X-Version: 1"))
    epoch = daemon.wait_state("chg", "open")["epoch"]
    watch = wsb.watch(daemon, "chg", 100000)
    watch.wait_messages(3)

    daemon.reload(session_conf("chg", server.url, headers="X-Version: 2"))

    wait_for(lambda: _connects_with(server, "x-version", "2"), 5 * SLOW,
             lambda: f"a new connection carrying X-Version: 2; connects: {server.connects()}")
    assert len(server.connects()) == 2, server.connects()
    status = daemon.wait_state("chg", "open", check=lambda s: s["reconnects"] >= 1)
    assert status["epoch"] == epoch, status
    # The watch started before the reload goes on, with the same numbering.
    # The server counts "msg <n>" per connection, and seq n went to the first
    # one's "msg <n>": messages of the new connection are those that differ.
    def from_new_connection():
        return [m for m in watch.messages() if m["data"] != f"msg {m['seq']}"]
    wait_for(lambda: len(from_new_connection()) >= 3, 5 * SLOW,
             lambda: f"the watch to get messages of the new connection; it has "
                     f"{[(m['seq'], m['data']) for m in watch.messages()]}")
    assert watch.proc.poll() is None, "the watch ended at the reload"
    msgs = watch.messages()
    seqs = [m["seq"] for m in msgs]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"seqs {seqs}"
    assert {m["epoch"] for m in msgs} == {epoch}, msgs


def test_reload_unchanged_session_keeps_connection(wsb):
    server = wsb.server("--send-interval", "0.05")
    marker = wsb.server()
    daemon = wsb.daemon(session_conf("same", server.url, headers="X-A: 1", ping_interval=20))
    before = daemon.wait_state("same", "open")

    # Same values, other order, a comment, and a new session to show the reload was done.
    same = ("# reordered\n[session same]\nping_interval=20\nheaders=X-A: 1\n"
            f"url={server.url}\nbackoff_max_ms=1000\nbackoff_initial_ms=100\n\n")
    daemon.reload(same + session_conf("added", marker.url))
    daemon.wait_state("added", "open")

    after = daemon.wait_state("same", "open")
    assert after["epoch"] == before["epoch"] and after["reconnects"] == 0, (before, after)
    assert len(server.connects()) == 1 and not server.close_codes(), server.events()
    grown = daemon.wait_state("same", "open", check=lambda s: s["last_seq"] > after["last_seq"])
    assert grown["epoch"] == before["epoch"] and grown["reconnects"] == 0, grown


def test_reload_removed_session_closes_1001_and_disappears(wsb):
    keep, gone = wsb.server(), wsb.server()
    gone_body = session_conf("x", gone.url).replace("[session x]", "[session]")
    daemon = wsb.daemon(session_conf("keep", keep.url), sessions_d={"gone": gone_body})
    daemon.wait_state("keep", "open")
    daemon.wait_state("gone", "open")
    wait_for(gone.connects, 5 * SLOW, "the server of 'gone' to see its connection")

    daemon.reload(session_conf("keep", keep.url), sessions_d={"gone": None})

    wait_for(lambda: "gone" not in daemon.status(), 5 * SLOW, "'gone' to leave the status")
    codes = wait_for(gone.close_codes, 5 * SLOW, "the server of 'gone' to see the close")
    assert codes == [1001], f"close codes {codes}, want [1001]"
    assert daemon.status()["keep"]["state"] == "open" and len(keep.connects()) == 1
    assert not keep.close_codes()


def test_reload_added_session_connects(wsb):
    first, second = wsb.server(), wsb.server()
    daemon = wsb.daemon(session_conf("first", first.url))
    daemon.wait_state("first", "open")

    body = session_conf("x", second.url).replace("[session x]", "[session]")
    daemon.reload(session_conf("first", first.url), sessions_d={"second": body})

    daemon.wait_state("second", "open")
    wait_for(second.connects, 5 * SLOW, "the new session's server to see it")
    assert len(first.connects()) == 1 and daemon.status()["first"]["reconnects"] == 0


def test_reload_invalid_config_keeps_old_one(wsb):
    a, b, c = wsb.server(), wsb.server(), wsb.server()
    config = session_conf("a", a.url, headers="X-V: 1") + session_conf("b", b.url)
    daemon = wsb.daemon(config)
    before = {name: daemon.wait_state(name, "open") for name in ("a", "b")}

    # a changed, b removed, c added -- and one bad value: none of it may apply.
    bad = (session_conf("a", a.url, headers="X-V: 2", ping_interval="banana") +
           session_conf("c", c.url))
    daemon.reload(bad)

    lines = daemon.wait_log(r"ping_interval")
    assert any(re.search(r"(?i)(keep|kept).*old configuration|old configuration.*(keep|kept)",
                         line) for line in lines), (
        f"the log must say the old configuration is kept: {lines}")
    status = daemon.status()
    assert set(status) == {"a", "b"}, status
    for name in ("a", "b"):
        assert status[name]["state"] == "open" and status[name]["reconnects"] == 0, status
        assert status[name]["epoch"] == before[name]["epoch"]
    assert len(a.connects()) == 1 and len(b.connects()) == 1
    assert not c.connects() and daemon.proc.poll() is None

    # Fixed, it applies.
    daemon.reload(session_conf("a", a.url, headers="X-V: 2") + session_conf("c", c.url))
    daemon.wait_state("c", "open")
    wait_for(lambda: "b" not in daemon.status() and _connects_with(a, "x-v", "2"), 5 * SLOW,
             "the fixed configuration to apply")
