"""wsbridge.conf(5) documents every key of the daemon's configuration table
(daemon/config/config.c, printed by print-config-keys) in its group's section, with
its default and, for numbers and sizes, its range."""

import json
import os
import pathlib
import re
import subprocess

import wsbtest

MANPAGE = pathlib.Path(os.environ["WSB_SOURCE_ROOT"]) / "packaging" / "wsbridge.conf.5"
SECTIONS = {"daemon": "[daemon] GROUP", "session": "[session NAME] GROUPS"}
UNITS = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]


def config_keys():
    r = subprocess.run([str(wsbtest.BUILD_ROOT / "tests" / "packaging" / "print-config-keys")],
                       capture_output=True, text=True, check=True)
    return [json.loads(line) for line in r.stdout.splitlines()]


def plain(troff):
    """A tag line as text: no requests, fonts, quotes or escapes."""
    text = re.sub(r"^\.\w+\s*", "", troff)
    text = re.sub(r"\\f[BIRP]", "", text).replace('"', " ")
    text = text.replace("\\(en", "–").replace("\\-", "-").replace("\\(ha", "^")
    return " ".join(text.split())


def tags_by_section(man_text):
    """{section title: [tag text]}: the lines after .TP and .TQ."""
    sections, current, lines = {}, None, man_text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(".SH "):
            current = line[4:].strip().strip('"')
            sections.setdefault(current, [])
        elif line in (".TP", ".TQ") and current and i + 1 < len(lines):
            sections[current].append(plain(lines[i + 1]))
    return sections


def size_text(n):
    if n == 1:
        return "1 byte"
    for unit, name in UNITS:
        if n and n % unit == 0:
            return f"{n // unit} {name}"
    return str(n)


def number_text(key, value):
    return size_text(value) if key["type"] == "size" else str(value)


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)", text)
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def problems(man_text, keys):
    """What the page lacks, one line per key."""
    sections = tags_by_section(man_text)
    found = []
    for key in keys:
        title = SECTIONS[key["group"]]
        tags = [t for t in sections.get(title, []) if re.search(rf"\b{key['name']}\b", t)]
        if not tags:
            found.append(f"{key['name']}: no entry in section {title}")
            continue
        tag = tags[0]
        if key["default"] is None:
            if "default" not in tag and "required" not in tag:
                found.append(f"{key['name']}: {tag!r} does not say what the default is")
            continue
        default = key["default"]
        if key["type"] == "size":
            default = size_text(parse_size(default))
        if f"default {default}" not in tag:
            found.append(f"{key['name']}: {tag!r} does not say 'default {default}'")
        if "min" in key:
            span = (f"{number_text(key, int(key['min']))}–"
                    f"{number_text(key, int(key['max']))}")
            if span not in tag:
                found.append(f"{key['name']}: {tag!r} does not give the range {span}")
    return found


def runtime_classes(man_text):
    """{class: text of its entry} of ACCESS CONTROL's key classes."""
    section = man_text.split('.SH "ACCESS CONTROL"', 1)[1].split("\n.SH ", 1)[0]
    classes = {}
    for part in section.split("\n.TP\n")[1:]:
        tag, _, body = part.partition("\n")
        classes[plain(tag)] = plain(body.split("\n.PP", 1)[0].replace("\n", " "))
    return classes


def runtime_problems(man_text, keys):
    """Each [session] key's runtime class (who may set it when creating a
    session at runtime) as ACCESS CONTROL lists it: the named classes list
    exactly their keys; "any creator" is every other."""
    classes = runtime_classes(man_text)
    found = []
    session = [k for k in keys if k["group"] == "session"]
    for name in {k["runtime"] for k in session}:
        if name not in classes:
            found.append(f"class {name!r}: no entry in ACCESS CONTROL")
    for key in session:
        cls = key["runtime"]
        for name, text in classes.items():
            listed = re.search(rf"\b{key['name']}\b", text) is not None
            if name != "any creator" and listed != (name == cls):
                found.append(f"{key['name']}: class {cls!r}, but the {name!r} entry "
                             f"{'lists' if listed else 'does not list'} it")
    return found


def test_manpage_says_who_may_set_each_key_at_runtime():
    keys = config_keys()
    assert {k.get("runtime") for k in keys if k["group"] == "session"} == \
        {"admin", "own ids", "any creator"}
    text = MANPAGE.read_text()
    assert not runtime_problems(text, keys), runtime_problems(text, keys)
    # The check fails for a key moved out of its class.
    moved = text.replace(".BR token_file ,\n", "", 1)
    assert runtime_problems(moved, keys) == [
        "token_file: class 'admin', but the 'admin' entry does not list it"]


def test_manpage_documents_every_config_key():
    keys = config_keys()
    assert {k["group"] for k in keys} == set(SECTIONS) and len(keys) > 30, keys
    found = problems(MANPAGE.read_text(), keys)
    assert not found, "wsbridge.conf(5) is missing:\n  " + "\n  ".join(found)


def test_manpage_check_finds_an_undocumented_key():
    """The check fails for a key the page leaves out, a wrong default and a
    wrong range (a page edited in the way a new key would leave it)."""
    keys = config_keys()
    text = MANPAGE.read_text()
    without = re.sub(r"\.TP\n\.BR max_clients .*\n", "", text)
    assert without != text
    assert problems(without, keys) == ["max_clients: no entry in section [daemon] GROUP"]
    wrong = text.replace("ping_interval \" (seconds, default 30, 0\\(en86400)\"",
                         "ping_interval \" (seconds, default 31, 0\\(en86401)\"")
    assert wrong != text
    assert [p.split(":")[0] for p in problems(wrong, keys)] == ["ping_interval"] * 2
