"""Resuming a feed across upstream outages (resume_pointer, resume_query,
resume_filter): the daemon reconnects asking for what came after the last
message id it received (ntfy's since=), keepalives with ids of their own
do not count, and a replay that overlaps what arrived delivers nothing
twice. With queue_persist the last id survives a daemon restart."""

import json
import pathlib

from wsbtest import SLOW, session_conf, wait_for

RESUME = dict(resume_pointer="/id", resume_query="since", resume_filter="/event=message",
              backoff_initial_ms="50", backoff_max_ms="200")


def ids(watch):
    out = []
    for m in watch.messages():
        doc = json.loads(m["data"])
        if doc["event"] == "message":
            out.append(doc["id"])
    return out


def test_reconnect_asks_for_what_came_after_the_last_id_and_repeats_nothing(wsb):
    server = wsb.server("--feed-ids", "--keepalive-every", "2", "--send-interval", "0.05",
                        "--counter-file", str(wsb.tmp / "counter"))
    daemon = wsb.daemon(session_conf("feed", server.url + "topic/ws?x=1", **RESUME))
    watch = wsb.watch(daemon, "feed", 10 ** 6)
    wait_for(lambda: len(ids(watch)) >= 5, 10 * SLOW, "five messages")
    server.kill()
    server.restart()
    server.wait_connects(2)
    path = server.connects()[1]["path"]
    assert path.startswith("/topic/ws?x=1&since=m"), path
    asked = int(path.rsplit("=m", 1)[1])
    wait_for(lambda: len(ids(watch)) >= asked + 4, 10 * SLOW, "the replay and live messages")
    got = [int(i[1:]) for i in ids(watch)]
    # Every message once, in order, the replay's overlap dropped (the watch
    # may have begun after the first ones).
    assert got == list(range(got[0], got[0] + len(got))), got
    assert got[0] <= asked - 1, (got[:3], asked)
    got = [f"m{n}" for n in got]
    seqs = [m["seq"] for m in watch.messages()]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    # The keepalive ids never became the one asked for: the last message's was.
    assert f"m{asked}" in got


def test_the_last_id_survives_a_daemon_restart_with_queue_persist(wsb):
    server = wsb.server("--feed-ids", "--send-interval", "0.05",
                        "--counter-file", str(wsb.tmp / "counter"))
    conf = session_conf("feed", server.url, queue_persist="true", **RESUME)
    daemon = wsb.daemon(conf)
    watch = wsb.watch(daemon, "feed", 10 ** 6)
    wait_for(lambda: len(ids(watch)) >= 3, 10 * SLOW, "three messages")
    daemon.stop()
    kept = (pathlib.Path(daemon.env["XDG_STATE_HOME"]) / "wsbridge" / "resume"
            / "feed.id").read_text()
    assert kept == ids(watch)[-1], (kept, ids(watch)[-3:])
    daemon.start(conf)
    wait_for(lambda: len(server.connects()) >= 2, 10 * SLOW, "the second connection")
    assert server.connects()[1]["path"].endswith(f"?since={kept}"), server.connects()[1]


def test_resume_keys_are_checked(wsb):
    daemon = wsb.daemon("")
    r = daemon.ctl("add", "bad", "ws://127.0.0.1:9/", "--no-connect", "-o", "resume_query=a b")
    assert r.returncode == 1 and "resume_query" in r.stderr and "byte 2" in r.stderr, r.stderr
    r = daemon.ctl("add", "bad", "ws://127.0.0.1:9/", "--no-connect", "-o", "resume_filter=event")
    assert r.returncode == 1 and "POINTER=VALUE" in r.stderr, r.stderr
    r = daemon.ctl("add", "bad", "ws://127.0.0.1:9/", "--no-connect", "-o", "resume_pointer=id")
    assert r.returncode == 1 and "resume_pointer" in r.stderr, r.stderr
