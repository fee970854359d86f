"""wsbridge-notify end to end: the real daemon and ws_server.py, python-dbusmock's
notification server on a private session bus, and the Notify calls it gets."""

import json
import re

from wsbtest import SLOW, session_conf, wait_for

SUMMARY_MISSED = "some messages were missed"
STORM = re.compile(r"^\d+ new messages? — ")


def feed(wsb, **keys):
    """A WebSocket server and a daemon with session "demo" open to it."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("demo", server.url, **keys))
    daemon.wait_state("demo", "open")
    return server, daemon


def singles(calls):
    """The calls that made a notification of their own (not the summary or gap)."""
    return [c for c in calls if not STORM.match(c["summary"]) and c["summary"] != SUMMARY_MISSED]


def test_notify_json_fields(wsb, desk):
    server, daemon = feed(wsb)
    mock = desk.server()
    n = desk.notifier(daemon, "demo", "--summary", "/title", "--body", "/detail/text",
                      "--icon", "mail-unread", "--urgency-key", "/level", "--app-name", "Feeds")
    n.wait_log(r"subscribed to demo/\*")
    server.inject(json.dumps({"title": "Build failed", "level": "critical",
                              "detail": {"text": "3 tests failed on main"}}),
                  json.dumps({"title": "Deployed", "level": 0, "detail": {"text": "v1.2"}}))
    calls = mock.wait_calls(lambda c: len(c) >= 2, "two notifications")
    assert len(calls) == 2
    first, second = calls
    assert first["app_name"] == "Feeds"
    assert first["icon"] == "mail-unread"
    assert first["summary"] == "Build failed"
    assert first["body"] == "3 tests failed on main"
    assert first["hints"]["urgency"] == 2
    assert first["replaces_id"] == 0 and first["actions"] == []
    assert (second["summary"], second["body"], second["hints"]["urgency"]) == (
        "Deployed", "v1.2", 0)


def test_notify_plain_text_fallback(wsb, desk):
    server, daemon = feed(wsb)
    mock = desk.server()
    n = desk.notifier(daemon, "demo", "--summary", "/title", "--body", "/text")
    n.wait_log(r"subscribed to demo/\*")
    unmatched = json.dumps({"other": "x"})
    long_text = "word " * 400
    server.inject("just some text\r\nsecond line", unmatched, long_text, b"\x00\x01\x02",
                  "tab\tand\x1bescape")
    calls = mock.wait_calls(lambda c: len(c) >= 5, "five notifications")
    assert [c["summary"] for c in calls] == ["demo"] * 5
    assert calls[0]["body"] == "just some text\nsecond line"
    assert calls[1]["body"] == unmatched
    body = calls[2]["body"]
    assert len(body) == 500 and body.endswith("word…"), body
    assert calls[3]["body"] == "binary message (3 bytes)"
    assert calls[4]["body"] == "tab and escape"
    assert calls[0]["hints"]["urgency"] == 1
    # The default icon, and what desktops' per-application settings go by.
    assert calls[0]["icon"] == "wsbridge-notify"
    assert calls[0]["hints"]["desktop-entry"] == "wsbridge-notify"
    assert calls[0]["hints"]["category"] == "im.received"


def test_notify_markup_escaped(wsb, desk):
    server, daemon = feed(wsb, channel_key="/channel")
    mock = desk.server()
    n = desk.notifier(daemon, "demo/eu", "--summary", "/title", "--body", "/text")
    n.wait_log(r"subscribed to demo/eu")
    server.inject(json.dumps({"title": "<i>Q&A</i>", "channel": "eu",
                              "text": "<b>bold</b> & <a href=\"https://evil\">click</a>"}),
                  json.dumps({"channel": "us", "text": "not ours"}),
                  json.dumps({"channel": "eu", "note": "<u>no text</u>"}))
    calls = mock.wait_calls(lambda c: len(c) >= 2, "two notifications")
    # The summary is plain text by the specification: it goes as it is.
    assert calls[0]["summary"] == "<i>Q&A</i>"
    assert calls[0]["body"] == "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href=\"https://evil\"&gt;" \
                               "click&lt;/a&gt;"
    assert calls[1]["summary"] == "demo/eu"
    assert calls[1]["body"] == ('{"channel": "eu", "note": "&lt;u&gt;no text&lt;/u&gt;"}')
    assert len(mock.calls()) == 2


def test_notify_server_without_markup_gets_raw_text(wsb, desk):
    server, daemon = feed(wsb)
    mock = desk.server(capabilities=["body", "icon-static"])
    n = desk.notifier(daemon)
    n.wait_log(r"no body markup")
    n.wait_log(r"subscribed to demo/\*")
    server.inject("<b>x</b> & y")
    calls = mock.wait_calls(lambda c: len(c) >= 1, "a notification")
    assert calls[0]["body"] == "<b>x</b> & y"


def test_notify_burst_coalesces(wsb, desk):
    server, daemon = feed(wsb)
    mock = desk.server()
    n = desk.notifier(daemon, "demo", "--burst", "3", "--window", "5")
    n.wait_log(r"subscribed to demo/\*")
    server.inject(*[f"message {i}" for i in range(50)])

    def final_count(calls):
        return any(c["summary"].startswith("47 new messages") for c in calls)
    calls = mock.wait_calls(final_count, "a summary showing 47 new messages")
    assert [c["body"] for c in singles(calls)] == ["message 0", "message 1", "message 2"]
    summaries = [c for c in calls if c not in singles(calls)]
    # One notification, first shown at once, then updated in place; messages
    # without a summary of their own are named by their text.
    assert summaries[0]["replaces_id"] == 0
    assert summaries[0]["summary"] == "1 new message — message 3"
    assert all(c["replaces_id"] == summaries[0]["id"] for c in summaries[1:]), summaries
    assert len({c["id"] for c in summaries}) == 1
    assert summaries[-1]["summary"] == "47 new messages — message 49"
    assert summaries[-1]["body"] == "demo, latest: message 49"
    assert all(c["hints"]["desktop-entry"] == "wsbridge-notify" for c in calls)
    # Updates are rate-limited, never one per message.
    assert len(summaries) <= 10, summaries
    assert len(mock.notifications()) == 4


def test_notify_daemon_restart_no_repeats(wsb, desk):
    server, daemon = feed(wsb)
    mock = desk.server()
    n = desk.notifier(daemon, "demo", "--burst", "100")
    n.wait_log(r"subscribed to demo/\*")
    server.inject("one", "two", "three")
    mock.wait_calls(lambda c: len(c) >= 3, "three notifications")
    assert daemon.stop() == 0
    n.wait_log(r"lost wsbridged")
    n.wait_log(r"cannot reach wsbridged")
    daemon.start(daemon.config_dir.joinpath("wsbridge.conf").read_text())
    daemon.wait_state("demo", "open")
    n.wait_log(r"subscribed to demo/\* again", timeout=40.0 * SLOW)
    n.wait_log(r"wsbridged restarted")
    server.inject("four", "five")
    calls = mock.wait_calls(lambda c: len(c) >= 5, "five notifications")
    assert [c["body"] for c in calls] == ["one", "two", "three", "four", "five"]


SLOW_CLIENT = "[daemon]\nslow_client_policy=disconnect\nclient_buffer_bytes=64K\n"


def flooded(wsb, desk, count=600, size=2000, **keys):
    """A notifier that the daemon disconnects as too slow: stopped while COUNT
    messages of SIZE bytes come, then let go on. Returns (server mock, notifier)."""
    server = wsb.server()
    daemon = wsb.daemon(SLOW_CLIENT + session_conf("demo", server.url, **keys))
    daemon.wait_state("demo", "open")
    mock = desk.server()
    n = desk.notifier(daemon, "demo", "--burst", "1000", "--window", "0.1")
    n.wait_log(r"subscribed to demo/\*")
    n.pause()
    server.inject(*[f"{i:05d} " + "x" * size for i in range(count)])
    wait_for(lambda: daemon.status()["demo"]["rx_messages"] >= count, 20.0 * SLOW,
             f"the daemon to receive {count} messages")
    daemon.wait_log(r"is not reading .*disconnecting it")
    n.resume()
    n.wait_log(r"lost wsbridged")
    n.wait_log(r"subscribed to demo/\* again")
    return mock, n


def test_notify_reconnect_resumes_from_history(wsb, desk):
    mock, _ = flooded(wsb, desk, history_messages=5000, history_bytes="64M")
    calls = mock.wait_calls(lambda c: len(c) >= 600, "600 notifications", timeout=60.0 * SLOW)
    bodies = [c["body"][:5] for c in calls]
    # Every message once, in order: what was read before the disconnect,
    # then the rest from the history. Nothing missed, nothing twice.
    assert bodies == [f"{i:05d}" for i in range(600)]
    assert not [c for c in calls if c["summary"] == SUMMARY_MISSED]


def test_notify_hole_shows_once(wsb, desk):
    mock, _ = flooded(wsb, desk, history_messages=5)
    calls = mock.wait_calls(lambda c: any(s["body"].startswith("00599") for s in c),
                            "the last message")
    missed = [c for c in calls if c["summary"] == SUMMARY_MISSED]
    assert len(missed) == 1, missed
    shown = [int(c["body"][:5]) for c in singles(calls)]
    assert shown == sorted(set(shown)), "a message was shown twice or out of order"
    # The history held the last five; the gap covers exactly what lies between.
    assert shown[-5:] == [595, 596, 597, 598, 599]
    first_missing = next(i for i, s in enumerate(shown) if s != i)
    # A count, never seq numbers.
    assert missed[0]["body"] == f"demo: {shown[-5] - first_missing:,} messages were missed"
    assert missed[0]["hints"]["category"] == "network.error"
    assert shown[:first_missing] == list(range(first_missing))


def test_notify_waits_for_a_server(wsb, desk):
    server, daemon = feed(wsb)
    n = desk.notifier(daemon)
    n.wait_log(r"no notification server on the session bus; waiting for one")
    n.wait_log(r"subscribed to demo/\*")
    server.inject("while nobody listened")
    wait_for(lambda: daemon.status()["demo"]["rx_messages"] >= 1, 5.0 * SLOW, "the message")
    mock = desk.server()
    calls = mock.wait_calls(lambda c: len(c) >= 1, "the waiting message")
    assert [c["body"] for c in calls] == ["while nobody listened"]
    # The server goes away and another one comes: nothing is lost or repeated.
    mock.stop()
    n.wait_log(r"waiting for one", count=2)
    server.inject("between servers")
    wait_for(lambda: daemon.status()["demo"]["rx_messages"] >= 2, 5.0 * SLOW, "the message")
    second = desk.server()
    calls = second.wait_calls(lambda c: len(c) >= 1, "the message sent between servers")
    server.inject("live again")
    calls = second.wait_calls(lambda c: len(c) >= 2, "a live message")
    assert [c["body"] for c in calls] == ["between servers", "live again"]
    assert calls[0]["replaces_id"] == 0


def test_notify_unknown_session_fails(wsb, desk):
    server, daemon = feed(wsb)
    desk.server()
    n = desk.notifier(daemon, "nosuch")
    # EX_CONFIG, which the unit's RestartPreventExitStatus= names.
    assert n.wait_exit() == 78
    assert "no session named 'nosuch'" in n.log()


def test_notify_usage_errors(wsb, desk):
    server, daemon = feed(wsb)
    for args, message in ((["--burst", "0"], "--burst: \"0\" is not a whole number"),
                          (["--url-key", "link"], "--url-key: invalid JSON pointer \"link\""),
                          (["--window", "-1"], "--window: \"-1\" is not a number of seconds")):
        n = desk.notifier(daemon, "demo", *args)
        assert n.wait_exit() == 2
        assert message in n.log(), n.log()


SYSTEMD = ("org.freedesktop.systemd1", "/org/freedesktop/systemd1",
           "org.freedesktop.systemd1.Manager")


def default_browser(tmp):
    """XDG dirs in which https:// opens with a script that records its pid and URL."""
    tmp.mkdir()
    opened = tmp / "opened.txt"
    script = tmp / "opener.sh"
    script.write_text(f"#!/bin/sh\nprintf '%s %s\\n' \"$$\" \"$1\" >> '{opened}'\n")
    script.chmod(0o755)
    apps = tmp / "data" / "applications"
    apps.mkdir(parents=True)
    (apps / "wsbtest-opener.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Test opener\nNoDisplay=true\n"
        f"Exec={script} %u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n")
    config = tmp / "config"
    config.mkdir()
    (config / "mimeapps.list").write_text(
        "[Default Applications]\nx-scheme-handler/https=wsbtest-opener.desktop\n"
        "x-scheme-handler/http=wsbtest-opener.desktop\n")
    env = {"XDG_DATA_HOME": tmp / "data", "XDG_DATA_DIRS": tmp / "data",
           "XDG_CONFIG_HOME": config}
    return opened, {k: str(v) for k, v in env.items()}


def test_notify_url_action_opens_link(wsb, desk):
    server, daemon = feed(wsb)
    mock = desk.server(capabilities=["body", "body-markup", "actions"])
    systemd = desk.mock(*SYSTEMD)
    systemd.call("AddMethod", SYSTEMD[2], "StartTransientUnit", "ssa(sv)a(sa(sv))", "o",
                 "ret = '/org/freedesktop/systemd1/job/1'")
    opened, env = default_browser(wsb.tmp / "browser")
    n = desk.notifier(daemon, "demo", "--url-key", "/link", "--body", "/text", env=env)
    n.wait_log(r"subscribed to demo/\*")
    link = "https://example.com/build/42?token=s3cr3t"
    server.inject(json.dumps({"text": "local file", "link": "file:///etc/passwd"}),
                  json.dumps({"text": "with link", "link": link}))
    calls = mock.wait_calls(lambda c: len(c) >= 2, "two notifications")
    assert calls[0]["actions"] == []
    assert calls[1]["actions"] == ["default", "Open"]
    mock.invoke_action(calls[1]["id"])
    line = wait_for(lambda: opened.exists() and opened.read_text(), 10.0 * SLOW,
                    "the default handler to open the link")
    pid, url = line.split()
    assert url == link
    # The browser goes into a scope of its own, not the notifier's unit.
    scopes = wait_for(lambda: systemd.method_calls("StartTransientUnit"),
                      5.0 * SLOW, "a StartTransientUnit call")
    name, mode, props, aux = scopes[0]
    assert name == f"app-wsbridge\\x2dnotify-{pid}.scope" and mode == "fail"
    assert dict(props)["PIDs"] == [int(pid)]
    n.wait_log(r"opened the link of a notification")
    assert "s3cr3t" not in n.log()


def test_notify_server_started_again_when_a_message_is_due(wsb, desk):
    """The notification server crashes; the next message has the bus start
    one again (D-Bus activation), and what waited meanwhile is shown."""
    import os
    import signal
    server, daemon = feed(wsb)
    activated = desk.activatable_server()
    n = desk.notifier(daemon, "demo", "--burst", "2", "--window", "30")
    n.wait_log(r"subscribed to demo/\*")
    # The watch itself had the bus start the first one.
    n.wait_log(r"notification server .* is there")
    server.inject("one")
    activated.wait_calls(lambda c: len(c) >= 1, "the first message")
    first_pid = desk.server_pid()
    os.kill(first_pid, signal.SIGKILL)
    n.wait_log(r"no notification server on the session bus; waiting for one")
    server.inject("two", "three", "four", "five")
    n.wait_log(r"notification server .* is there", count=2)
    second_pid = desk.server_pid()
    try:
        assert second_pid != first_pid
        calls = activated.wait_calls(
            lambda c: any(x["summary"].startswith("3 new messages") for x in c),
            "the held messages on the new server")
        # The new server's own log: the held messages, the storm ("one" and
        # "two" filled the burst of 2) coalesced.
        assert [c["body"] for c in calls if c["summary"] == "demo"] == ["two"]
        assert calls[-1]["summary"] == "3 new messages \u2014 five"
    finally:
        os.kill(second_pid, signal.SIGTERM)
