"""Per-channel history: `history`, and subscribers that resume with
since_seq + epoch get what they missed or an explicit gap."""

import json

from wsbtest import SLOW, ApiClient, pb, session_conf, wait_for

INVALID = pb.ERROR_CODE_INVALID_ARGUMENT


def _lines(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def _fill(wsb, n, **keys):
    """A session "h" whose server has sent "m1".."mN"; returns (server, daemon, epoch)."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("h", server.url, **keys))
    epoch = daemon.wait_state("h", "open")["epoch"]
    server.inject(*(f"m{i}" for i in range(1, n + 1)))
    daemon.wait_state("h", "open", check=lambda s: s["last_seq"] == n)
    return server, daemon, epoch


def _history(daemon, target, *args):
    lines = _lines(daemon.ctl_ok("history", target, "--json", *args).stdout)
    gaps = [(g["from"], g["to"]) for g in lines if g["type"] == "gap"]
    msgs = [(m["seq"], m["data"]) for m in lines if m["type"] == "text"]
    assert len(gaps) + len(msgs) == len(lines), lines
    assert all(g["type"] != "gap" for g in lines[len(gaps):]), f"the gap line comes first: {lines}"
    return gaps, msgs, lines


def _m(*seqs):
    return [(s, f"m{s}") for s in seqs]


def test_history_last_n_with_gap(wsb):
    _, daemon, epoch = _fill(wsb, 20, history_messages=5)

    gaps, msgs, lines = _history(daemon, "h", "--last", "3")
    assert gaps == [] and msgs == _m(18, 19, 20), lines
    assert all(m["session"] == "h" and m["channel"] == "*" and m["epoch"] == epoch
               for m in lines), lines
    # The ring holds 16..20: of the last 10, 11..15 are gone.
    gaps, msgs, lines = _history(daemon, "h", "--last", "10")
    assert gaps == [(11, 15)] and msgs == _m(16, 17, 18, 19, 20), lines
    gaps, msgs, lines = _history(daemon, "h/*", "--last", "5")
    assert gaps == [] and msgs == _m(16, 17, 18, 19, 20), lines
    gaps, msgs, lines = _history(daemon, "h")
    assert gaps == [(1, 15)] and msgs == _m(16, 17, 18, 19, 20), lines

    api = ApiClient(daemon.socket)
    api.hello()
    h = api.history("h", "*", 7)
    assert [(m.seq, m.data.decode()) for m in h.messages] == _m(16, 17, 18, 19, 20), h
    assert h.HasField("gap") and (h.gap.from_seq, h.gap.to_seq) == (14, 15), h.gap
    assert h.status.last_seq == 20 and h.status.epoch == epoch, h.status
    h = api.history("h", "*", 2)
    assert [m.seq for m in h.messages] == [19, 20] and not h.HasField("gap"), h
    api.close()


def test_history_per_channel(wsb):
    # Odd messages on "odd", even ones on "even"; each channel keeps 5.
    server = wsb.server()
    daemon = wsb.daemon(session_conf("h", server.url, history_messages=5,
                                     channel_key="/ch"))
    daemon.wait_state("h", "open")
    server.inject(*(json.dumps({"ch": "odd" if i % 2 else "even", "n": i})
                    for i in range(1, 21)))
    daemon.wait_state("h", "open", check=lambda s: s["last_seq"] == 20)

    def seqs(target, *args):
        lines = _lines(daemon.ctl_ok("history", target, "--json", *args).stdout)
        gaps = [(g["from"], g["to"]) for g in lines if g["type"] == "gap"]
        msgs = [m for m in lines if m["type"] == "text"]
        assert all(json.loads(m["data"])["n"] == m["seq"] for m in msgs), msgs
        return gaps, [m["seq"] for m in msgs], {m["channel"] for m in msgs}

    assert seqs("h/odd", "--last", "3") == ([], [15, 17, 19], {"odd"})
    assert seqs("h/even", "--last", "5") == ([], [12, 14, 16, 18, 20], {"even"})
    gaps, got, channels = seqs("h/odd", "--last", "7")
    assert got == [11, 13, 15, 17, 19] and channels == {"odd"}, got
    # Odd messages 7 and 9 are gone; on a named channel the gap may be wider
    # than the lost messages, never narrower, and never reaches into the ring.
    assert len(gaps) == 1 and gaps[0][0] <= 7 and 9 <= gaps[0][1] < 11, gaps
    assert seqs("h", "--last", "3") == ([], [18, 19, 20], {"odd", "even"})
    r = daemon.ctl("history", "h/none")
    assert r.returncode == 0 and r.stdout == "", r


def test_history_bytes_limit_evicts(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("h", server.url, history_bytes="4K"))
    daemon.wait_state("h", "open")
    server.inject(*(f"{i:04d}" + "x" * 996 for i in range(1, 21)))  # 1000 bytes each
    daemon.wait_state("h", "open", check=lambda s: s["last_seq"] == 20)

    lines = _lines(daemon.ctl_ok("history", "h", "--json").stdout)
    msgs = [m for m in lines if m["type"] == "text"]
    held = [m["seq"] for m in msgs]
    assert 1 <= len(held) <= 4 and held == list(range(21 - len(held), 21)), held
    assert all(m["data"].startswith(f"{m['seq']:04d}") for m in msgs)
    assert [(g["from"], g["to"]) for g in lines if g["type"] == "gap"] == [(1, 20 - len(held))]


def _events(api, until_seq, timeout=5.0 * SLOW):
    """Gap and message events of API until a message (or gap) reaches
    UNTIL_SEQ, as ("gap", from, to, epoch) and ("msg", seq, data, epoch)."""
    out = []
    while not out or out[-1][2 if out[-1][0] == "gap" else 1] < until_seq:
        ev = api.next_event(timeout)
        assert ev is not None, f"events so far: {out}"
        kind = ev.WhichOneof("event")
        if kind == "gap":
            out.append(("gap", ev.gap.from_seq, ev.gap.to_seq, ev.gap.epoch))
        elif kind == "message":
            out.append(("msg", ev.message.seq, ev.message.data.decode(), ev.message.epoch))
    return out


def test_subscribe_resumes_from_history_or_gap(wsb):
    server, daemon, epoch = _fill(wsb, 20, history_messages=5)
    assert 0 < epoch < 2 ** 53, epoch

    def resume(since, epoch_, until):
        api = ApiClient(daemon.socket)
        api.hello()
        reply = api.subscribe("h", "*", since, epoch_)
        assert reply.WhichOneof("result") == "subscribe", reply
        assert reply.subscribe.status.last_seq == 20, reply
        return api, _events(api, until)

    def msgs(*seqs):
        return [("msg", s, f"m{s}", epoch) for s in seqs]

    # Within the ring: just the missing ones.
    a17, got = resume(17, epoch, 20)
    assert got == msgs(18, 19, 20), got
    # Older than the ring: a gap for what it lost, then what it holds.
    a12, got = resume(12, epoch, 20)
    assert got == [("gap", 13, 15, epoch)] + msgs(16, 17, 18, 19, 20), got
    a0, got = resume(0, epoch, 20)
    assert got == [("gap", 1, 15, epoch)] + msgs(16, 17, 18, 19, 20), got
    # Up to date: nothing to replay.
    a20 = ApiClient(daemon.socket)
    a20.hello()
    a20.subscribe_ok("h", "*", 20, epoch)
    # Another epoch (seq restarted since): everything of this one is a gap.
    stale, got = resume(5, epoch ^ 0x5A5A, 20)
    assert got == [("gap", 1, 20, epoch)], got
    live = ApiClient(daemon.socket)
    live.hello()
    live.subscribe_ok("h")

    # Then live messages, once, after the replay.
    server.inject("m21", "m22")
    for api in (a17, a12, a0, a20, stale, live):
        assert _events(api, 22) == msgs(21, 22)
        api.close()

    # Refused: since_seq beyond last_seq, or without its epoch.
    api = ApiClient(daemon.socket)
    api.hello()
    for since, e, what in ((23, epoch, "beyond last_seq"), (5, 0, "without an epoch")):
        reply = api.subscribe("h", "*", since, e)
        assert reply.WhichOneof("result") == "error", (what, reply)
        assert reply.error.code == INVALID, (what, reply.error)
        assert reply.error.message, what
    api.close()


def test_watch_since_replays_and_resumes(wsb):
    server, daemon, epoch = _fill(wsb, 20, history_messages=5)

    watch = wsb.watch(daemon, "h", 7, ["--since", "12", "--epoch", str(epoch)])
    wait_for(lambda: len(watch.messages()) >= 5, 5 * SLOW, "the replay")
    server.inject("m21", "m22")
    rc, msgs = watch.wait()
    assert rc == 0
    gaps = [(g["from"], g["to"], g["epoch"]) for g in watch.events("gap")]
    assert gaps == [(13, 15, epoch)], watch.events()
    assert [(m["seq"], m["data"]) for m in msgs] == _m(16, 17, 18, 19, 20, 21, 22)
    first_msg = next(i for i, line in enumerate(watch.events()) if line["type"] == "text")
    assert watch.events()[first_msg - 1]["type"] == "gap", "the gap comes before the replay"

    # --epoch alone replays all the history holds.
    rc, msgs = wsb.watch(daemon, "h", 5, ["--epoch", str(epoch)]).wait()
    assert rc == 0 and [m["seq"] for m in msgs] == [18, 19, 20, 21, 22], msgs

    r = daemon.ctl("watch", "h", "--since", "3", "--count", "1")
    assert r.returncode == 2 and "--epoch" in r.stderr, r
    r = daemon.ctl("watch", "h", "--since", "99", "--epoch", str(epoch), "--count", "1")
    assert r.returncode == 1 and r.stderr.strip(), r


def test_daemon_restart_starts_new_epoch(wsb):
    server, daemon, old_epoch = _fill(wsb, 4)
    assert daemon.stop() == 0

    daemon.start(daemon.config_dir.joinpath("wsbridge.conf").read_text())
    status = daemon.wait_state("h", "open")
    new_epoch = status["epoch"]
    assert new_epoch != old_epoch and 0 < new_epoch < 2 ** 53, (old_epoch, new_epoch)
    assert status["last_seq"] == 0, status
    server.inject("n1", "n2", "n3")
    daemon.wait_state("h", "open", check=lambda s: s["last_seq"] == 3)

    # A subscriber of the old epoch learns that all of the new one is missed,
    # even with a since_seq beyond the new last_seq.
    api = ApiClient(daemon.socket)
    api.hello()
    reply = api.subscribe("h", "*", 4, old_epoch)
    assert reply.WhichOneof("result") == "subscribe", reply
    server.inject("n4")
    assert _events(api, 4) == [("gap", 1, 3, new_epoch), ("msg", 4, "n4", new_epoch)]
    api.close()
    gaps, msgs, _ = _history(daemon, "h")
    assert gaps == [] and msgs == [(1, "n1"), (2, "n2"), (3, "n3"), (4, "n4")]
