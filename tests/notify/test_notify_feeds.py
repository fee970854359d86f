"""wsbridge-notify with the presets, against servers that speak ntfy's and
Gotify's WebSocket streams (ntfy_server.py, gotify_server.py), the real
daemon, and python-dbusmock's notification server."""

import json
import pathlib
import re

from notifytest import FeedServer
from test_notify import SYSTEMD, default_browser
from wsbtest import SLOW, session_conf, wait_for

NTFY_TOKEN = "tk_ntfy_test_token"
GOTIFY_CLIENT = "Cclienttoken"
GOTIFY_APP = "Aapptoken"


def ntfy(wsb, *args, topic="alerts", **keys):
    """An ntfy server (keepalives every 0.2 s) and a daemon whose session
    "home" streams TOPIC from it with a token, as the README sets it up."""
    server = FeedServer(wsb, "ntfy", ["--keepalive", "0.2", "--token", NTFY_TOKEN, *args]).start()
    daemon = wsb.daemon(session_conf("home", f"ws://127.0.0.1:{server.port}/{topic}/ws",
                                     headers=f"Authorization: Bearer {NTFY_TOKEN}", **keys))
    daemon.wait_state("home", "open")
    return server, daemon


def gotify(wsb):
    server = FeedServer(wsb, "gotify", ["--client", GOTIFY_CLIENT,
                                        "--app", f"Backups={GOTIFY_APP}"]).start()
    daemon = wsb.daemon(session_conf("nas", f"ws://127.0.0.1:{server.port}/stream",
                                     headers=f"X-Gotify-Key: {GOTIFY_CLIENT}"))
    daemon.wait_state("nas", "open")
    return server, daemon


def ntfy_publish(server, body, **headers):
    return server.publish("/alerts", body, {**{f"X-{k.title()}": str(v)
                                               for k, v in headers.items()},
                                            "Authorization": f"Bearer {NTFY_TOKEN}"})


def keepalives(server):
    return [e for e in server.events("sent") if e["data"]["event"] == "keepalive"]


def test_ntfy_preset_urgency_and_events(wsb, desk):
    server, daemon = ntfy(wsb)
    mock = desk.server()
    n = desk.notifier(daemon, "home", "--preset", "ntfy", "--burst", "50")
    n.wait_log(r"subscribed to home/\*")
    for prio in (1, 2, 3, 4, 5):
        ntfy_publish(server, f"priority {prio}", priority=prio, title=f"P{prio}")
    ntfy_publish(server, "no priority, no title")
    ntfy_publish(server, "by name", priority="urgent", title="Named")
    calls = mock.wait_calls(lambda c: len(c) >= 7, "seven notifications")
    # Keepalives and the open event went by meanwhile, and more of them after.
    wait_for(lambda: len(keepalives(server)) >= 3, 10.0 * SLOW, "three keepalives")
    wait_for(lambda: daemon.status()["home"]["rx_messages"] >= 11, 10.0 * SLOW,
             "the daemon to receive the keepalives too")
    calls = mock.calls()
    assert [(c["summary"], c["body"], c["hints"]["urgency"]) for c in calls] == [
        ("P1", "priority 1", 0), ("P2", "priority 2", 0), ("P3", "priority 3", 1),
        ("P4", "priority 4", 2), ("P5", "priority 5", 2),
        ("alerts", "no priority, no title", 1), ("Named", "by name", 2)]
    assert not [c for c in calls if "keepalive" in c["body"] or "open" in c["body"]]


def test_ntfy_preset_tags_click_actions_markdown(wsb, desk):
    server, daemon = ntfy(wsb)
    mock = desk.server(capabilities=["body", "body-markup", "actions"])
    systemd = desk.mock(*SYSTEMD)
    systemd.call("AddMethod", SYSTEMD[2], "StartTransientUnit", "ssa(sv)a(sa(sv))", "o",
                 "ret = '/org/freedesktop/systemd1/job/1'")
    opened, env = default_browser(wsb.tmp / "browser")
    n = desk.notifier(daemon, "home", "--preset", "ntfy", env=env)
    n.wait_log(r"subscribed to home/\*")
    actions = [{"action": "view", "label": "Open portal", "url": "https://portal.example.com/x"},
               {"action": "http", "label": "Reboot", "url": "https://api.example.com/reboot"},
               {"action": "view", "label": "Docs", "url": "https://docs.example.com/"}]
    ntfy_publish(server, "Disk is at 99%", title="Disk full", tags="warning,skull,backup,srv1",
                 click="https://grafana.example.com/d/1", actions=json.dumps(actions))
    ntfy_publish(server, "took **3m 12s**, see [log](https://ci.example.com/1)", markdown="yes",
                 title="Backup <done>")
    calls = mock.wait_calls(lambda c: len(c) >= 2, "two notifications")
    first, second = calls
    assert first["summary"] == "\u26a0\ufe0f\U0001f480 Disk full"
    assert first["body"] == "Disk is at 99%\nTags: backup, srv1"
    assert first["actions"] == ["default", "Open", "view-0", "Open portal", "view-1", "Docs"]
    assert second["summary"] == "Backup <done>"
    assert second["body"] == ('took <b>3m 12s</b>, see '
                              '<a href="https://ci.example.com/1">log</a>')
    mock.invoke_action(first["id"], "view-0")
    line = wait_for(lambda: opened.exists() and opened.read_text(), 10.0 * SLOW,
                    "the view action's URL to open")
    assert line.split()[1] == "https://portal.example.com/x"


def test_ntfy_preset_without_actions_capability(wsb, desk):
    server, daemon = ntfy(wsb)
    mock = desk.server(capabilities=["body"])
    n = desk.notifier(daemon, "home", "--preset", "ntfy")
    n.wait_log(r"subscribed to home/\*")
    actions = [{"action": "view", "label": "Open portal", "url": "https://portal.example.com/"}]
    ntfy_publish(server, "**plain** here", markdown="1", actions=json.dumps(actions))
    calls = mock.wait_calls(lambda c: len(c) >= 1, "a notification")
    # No buttons where the server draws none; markdown as plain text.
    assert calls[0]["actions"] == []
    assert calls[0]["body"] == "plain here"


def test_gotify_preset(wsb, desk):
    server, daemon = gotify(wsb)
    mock = desk.server()
    n = desk.notifier(daemon, "nas", "--preset", "gotify", "--burst", "50")
    n.wait_log(r"subscribed to nas/\*")
    key = {"X-Gotify-Key": GOTIFY_APP}
    for prio in (0, 3, 4, 7, 8, 10):
        server.publish("/message", {"title": f"P{prio}", "message": "m", "priority": prio}, key)
    server.publish("/message", {"message": "Backup of **home** took *3m 12s*", "priority": 5,
                                "extras": {"client::display": {"contentType": "text/markdown"},
                                           "client::notification": {
                                               "click": {"url": "https://nas.example.com/b"}}}},
                   key)
    calls = mock.wait_calls(lambda c: len(c) >= 7, "seven notifications")
    assert [(c["summary"], c["hints"]["urgency"]) for c in calls[:6]] == [
        ("P0", 0), ("P3", 0), ("P4", 1), ("P7", 1), ("P8", 2), ("P10", 2)]
    last = calls[6]
    # Gotify titles a message without one with its application's name.
    assert last["summary"] == "Backups"
    assert last["body"] == "Backup of <b>home</b> took <i>3m 12s</i>"
    assert last["actions"] == ["default", "Open"]
    # The client token went in the handshake and was taken.
    assert not server.events("refused")


def test_gotify_wrong_token_refused(wsb):
    server = FeedServer(wsb, "gotify", ["--client", GOTIFY_CLIENT]).start()
    daemon = wsb.daemon(session_conf("nas", f"ws://127.0.0.1:{server.port}/stream",
                                     headers="X-Gotify-Key: wrong"))
    wait_for(lambda: server.events("refused"), 10.0 * SLOW, "the handshake to be refused")
    assert daemon.status()["nas"]["state"] != "open"


def test_urgency_map_generic(wsb, desk):
    from test_notify import feed
    server, daemon = feed(wsb)
    mock = desk.server()
    n = desk.notifier(daemon, "demo", "--urgency-key", "/sev", "--urgency-map",
                      "debug:low,info:low,warn:normal,error:critical,0-10:low,11-99:critical",
                      "--body", "/text", "--filter", "/kind=alert", "--burst", "50")
    n.wait_log(r"subscribed to demo/\*")
    server.inject(*[json.dumps({"kind": "alert", "sev": s, "text": str(s)})
                    for s in ("debug", "warn", "error", 5, 50, "unknown")],
                  json.dumps({"kind": "heartbeat", "sev": "error", "text": "hb"}))
    calls = mock.wait_calls(lambda c: len(c) >= 6, "six notifications")
    wait_for(lambda: daemon.status()["demo"]["rx_messages"] >= 7, 5.0 * SLOW, "the heartbeat")
    assert [(c["body"], c["hints"]["urgency"]) for c in mock.calls()] == [
        ("debug", 0), ("warn", 1), ("error", 2), ("5", 0), ("50", 2), ("unknown", 1)]


def test_ntfy_resume_after_notifier_restart(wsb, desk):
    server, daemon = ntfy(wsb)
    mock = desk.server()
    n = desk.notifier(daemon, "home", "--preset", "ntfy")
    n.wait_log(r"subscribed to home/\*")
    ntfy_publish(server, "one", title="1")
    ntfy_publish(server, "two", title="2")
    mock.wait_calls(lambda c: len(c) >= 2, "two notifications")
    assert n.stop() == 0
    # While it is stopped (a re-login, a unit restart):
    ntfy_publish(server, "three", title="3")
    ntfy_publish(server, "four", title="4")
    wait_for(lambda: len([e for e in server.events("sent") if e["data"]["event"] == "message"])
             >= 4, 5.0 * SLOW, "the messages to be sent")
    second = desk.notifier(daemon, "home", "--preset", "ntfy")
    second.wait_log(r"resuming after seq \d+")
    calls = mock.wait_calls(lambda c: len(c) >= 4, "the missed messages")
    ntfy_publish(server, "five", title="5")
    calls = mock.wait_calls(lambda c: len(c) >= 5, "a live message")
    assert [c["body"] for c in calls] == ["one", "two", "three", "four", "five"]
    assert not [c for c in calls if c["summary"] == "some messages were missed"]


def test_notify_restart_counts_missed_and_coalesces_backlog(wsb, desk):
    from test_notify import feed
    server, daemon = feed(wsb, history_messages=20)
    mock = desk.server()
    n = desk.notifier(daemon, "demo", "--burst", "5", "--window", "60")
    n.wait_log(r"subscribed to demo/\*")
    server.inject("before")
    mock.wait_calls(lambda c: len(c) >= 1, "a notification")
    assert n.stop() == 0
    server.inject(*[f"while stopped {i}" for i in range(50)])
    wait_for(lambda: daemon.status()["demo"]["rx_messages"] >= 51, 10.0 * SLOW, "the messages")
    again = desk.notifier(daemon, "demo", "--burst", "5", "--window", "60")
    again.wait_log(r"resuming after seq 1 ")
    calls = mock.wait_calls(lambda c: any(x["summary"].startswith("15 new messages")
                                          for x in c), "the backlog's summary")
    missed = [c for c in calls if c["summary"] == "some messages were missed"]
    assert len(missed) == 1 and missed[0]["body"] == "demo: 30 messages were missed", missed
    singles = [c["body"] for c in calls if c["summary"] == "demo"]
    # The 20 the history held: five on their own, fifteen counted.
    assert singles == ["before"] + [f"while stopped {i}" for i in range(30, 35)]
    assert calls[-1]["summary"] == "15 new messages \u2014 while stopped 49"


def test_notify_no_resume_starts_with_new_messages(wsb, desk):
    from test_notify import feed
    server, daemon = feed(wsb)
    mock = desk.server()
    n = desk.notifier(daemon, "demo")
    n.wait_log(r"subscribed to demo/\*")
    server.inject("first")
    mock.wait_calls(lambda c: len(c) >= 1, "a notification")
    assert n.stop() == 0
    server.inject("while stopped")
    wait_for(lambda: daemon.status()["demo"]["rx_messages"] >= 2, 5.0 * SLOW, "the message")
    again = desk.notifier(daemon, "demo", "--no-resume")
    again.wait_log(r"subscribed to demo/\*$")
    server.inject("live")
    calls = mock.wait_calls(lambda c: len(c) >= 2, "the live message")
    assert [c["body"] for c in calls] == ["first", "live"]


def test_ntfy_resume_after_upstream_outage(wsb, desk):
    """Needs the daemon's resume_* session keys (issue 28, the daemon's part)."""
    server, daemon = ntfy(wsb, resume_pointer="/id", resume_query="since",
                          resume_filter="/event=message")
    mock = desk.server()
    n = desk.notifier(daemon, "home", "--preset", "ntfy")
    n.wait_log(r"subscribed to home/\*")
    first = ntfy_publish(server, "before the outage", title="1")
    mock.wait_calls(lambda c: len(c) >= 1, "a notification")
    # Keepalives (with ids of their own) come after the last message.
    wait_for(lambda: len(keepalives(server)) >= 2, 10.0 * SLOW, "keepalives")
    server.publish("/_outage?seconds=1.5", b"")
    during = [ntfy_publish(server, f"during the outage {i}", title=f"d{i}")["id"]
              for i in range(3)]
    wait_for(lambda: len(server.connections()) >= 2, 20.0 * SLOW, "the daemon to reconnect")
    calls = mock.wait_calls(lambda c: len(c) >= 4, "the messages published during the outage")
    assert server.connections()[-1]["since"] == first["id"]
    ntfy_publish(server, "after", title="a")
    calls = mock.wait_calls(lambda c: len(c) >= 5, "a live message")
    assert [c["body"] for c in calls] == ["before the outage", "during the outage 0",
                                          "during the outage 1", "during the outage 2", "after"]
    assert len(during) == 3


EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "notify"


def example_session(name, server_url, token_path):
    """examples/notify/NAME-session.conf with the test server's URL (scheme,
    host and port) and a token file of the test's own."""
    text = (EXAMPLES / f"{name}-session.conf").read_text()
    text = re.sub(r"wss://[a-z.]+\.example\.com", server_url.rstrip("/"), text)
    return re.sub(r"token_file=.*", f"token_file={token_path}", text)


def test_ntfy_example_files_work(wsb, desk):
    """The README's ntfy set-up, from the files under examples/notify."""
    server = FeedServer(wsb, "ntfy", ["--keepalive", "0.2", "--token", NTFY_TOKEN]).start()
    token = wsb.tmp / "ntfy.token"
    token.write_text(NTFY_TOKEN + "\n")
    daemon = wsb.daemon(sessions_d={
        "ntfy": example_session("ntfy", f"ws://127.0.0.1:{server.port}", token)})
    daemon.wait_state("ntfy", "open")
    mock = desk.server()
    conf = wsb.tmp / "ntfy.conf"
    conf.write_text((EXAMPLES / "ntfy-notify.conf").read_text())
    n = desk.notifier(daemon, None, "--config", str(conf))
    n.wait_log(r"subscribed to ntfy/\*")
    ntfy_publish(server, "on alerts", title="A", priority=5)
    ntfy_publish(server, "alerts again", tags="tada")
    calls = mock.wait_calls(lambda c: len(c) >= 2, "two notifications")
    assert [(c["summary"], c["body"], c["hints"]["urgency"]) for c in calls] == [
        ("A", "on alerts", 2), ("\U0001f389 alerts", "alerts again", 1)]


def test_gotify_example_files_work(wsb, desk):
    server = FeedServer(wsb, "gotify", ["--client", GOTIFY_CLIENT,
                                        "--app", f"Backups={GOTIFY_APP}"]).start()
    token = wsb.tmp / "gotify.token"
    token.write_text(GOTIFY_CLIENT + "\n")
    daemon = wsb.daemon(sessions_d={
        "gotify": example_session("gotify", f"ws://127.0.0.1:{server.port}", token)})
    daemon.wait_state("gotify", "open")
    mock = desk.server()
    conf = wsb.tmp / "gotify.conf"
    conf.write_text((EXAMPLES / "gotify-notify.conf").read_text())
    n = desk.notifier(daemon, None, "--config", str(conf))
    n.wait_log(r"subscribed to gotify/\*")
    assert server.connections()[0]["path"] == "/stream"
    server.publish("/message", {"message": "done in **3m**", "priority": 8,
                                "extras": {"client::display": {"contentType": "text/markdown"}}},
                   {"X-Gotify-Key": GOTIFY_APP})
    calls = mock.wait_calls(lambda c: len(c) >= 1, "a notification")
    assert (calls[0]["summary"], calls[0]["body"], calls[0]["hints"]["urgency"]) == (
        "Backups", "done in <b>3m</b>", 2)


def test_example_set_ups_fit_in_ten_lines():
    """The README's promise: each server's set-up in at most ten lines."""
    for name in ("ntfy", "gotify"):
        lines = [line for f in (f"{name}-session.conf", f"{name}-notify.conf")
                 for line in (EXAMPLES / f).read_text().splitlines()
                 if line.strip() and not line.startswith("#")]
        assert len(lines) <= 10, (name, lines)


def test_notify_restart_while_messages_wait_for_a_server(wsb, desk):
    """Messages held for a notification server are not past the position:
    stopped before a server came, the next run still shows them."""
    from test_notify import feed
    server, daemon = feed(wsb)
    n = desk.notifier(daemon, "demo")
    n.wait_log(r"subscribed to demo/\*")
    n.wait_log(r"waiting for one")
    server.inject("held one", "held two")
    n.wait_log(r"the bus cannot start a notification server")
    assert n.stop() == 0
    mock = desk.server()
    again = desk.notifier(daemon, "demo")
    again.wait_log(r"resuming after seq 0 ")
    calls = mock.wait_calls(lambda c: len(c) >= 2, "the held messages")
    server.inject("live")
    calls = mock.wait_calls(lambda c: len(c) >= 3, "a live message")
    assert [c["body"] for c in calls] == ["held one", "held two", "live"]
