"""postoffice fetch (docs/postoffice.8) against the real server: POP1,
POP2 and POP3, from mbox and Maildir maildrops into mbox and Maildir
targets, with the tricky fixtures.

What lands is the wire form of each stored message (spool/wire.h) with
CRLF turned into LF; an mbox target adds a From line, quotes body lines
starting with "From " (mboxo) and an empty line after each message.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from fixtures import (FIXTURES, PASSWORD, USER, BINARY, big_message,
                      mailbox_snapshot, server_with, stored_for, wire_form)

MSGS = [m for _, m in FIXTURES]
PROTOS = ("pop1", "pop2", "pop3")
SUMMARY = re.compile(rb"^fetched (\d+) messages?, (\d+) octets$", re.M)
ENVELOPE = b"From sender@example.org Mon Nov 23 10:00:00 2026"


def lf_form(stored):
    return wire_form(stored).replace(b"\r\n", b"\n")


def mboxo(msg):
    return b"\n".join(b">" + line if line.startswith(b"From ") else line
                      for line in msg.split(b"\n"))


def read_mbox(path):
    """[(envelope, message)] of an mbox fetch wrote: unquoted From lines
    separate, each message is followed by one empty line."""
    with open(path, "rb") as f:
        data = f.read()
    parts = re.split(rb"(?m)^(From [^\n]*)\n", data)
    assert parts[0] == b"", parts[0][:80]
    out = []
    for env, body in zip(parts[1::2], parts[2::2]):
        assert body.endswith(b"\n\n") or body == b"\n", body[-20:]
        out.append((env, body[:-1]))
    return out


def read_maildir(path):
    for sub in ("tmp", "cur"):
        assert os.listdir(os.path.join(path, sub)) == [], sub
    new = os.path.join(path, "new")
    out = []
    for name in os.listdir(new):
        with open(os.path.join(new, name), "rb") as f:
            out.append(f.read())
    return sorted(out)


def url(s, proto, user=USER, path=""):
    port = s.pop3_port if proto == "pop3" else s.pop2_port
    return "%s://%s@127.0.0.1:%d%s" % (proto, user, port, path)


class FetchCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="po-fetch-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def fetch(self, target, link, *opts, password=PASSWORD, env=None):
        e = dict(os.environ)
        e.pop("POSTOFFICE_PASSWORD", None)
        if password is not None:
            e["POSTOFFICE_PASSWORD"] = password
        e.update(env or {})
        return subprocess.run([BINARY, "fetch", *opts, "--to", target, link],
                              env=e, capture_output=True, timeout=120)

    def target(self, kind, name="got"):
        path = os.path.join(self.tmp, name)
        return path, "%s:%s" % (kind, path)

    def landed(self, kind, path):
        """The messages as stored in the target, ordered for an mbox."""
        if kind == "maildir":
            return read_maildir(path)
        return [m for _, m in read_mbox(path)]

    def expected(self, kind, stored):
        msgs = [lf_form(m) for m in stored]
        return sorted(msgs) if kind == "maildir" else [mboxo(m) for m in msgs]

    def summary(self, p):
        m = SUMMARY.search(p.stderr)
        self.assertIsNotNone(m, p.stderr)
        return int(m.group(1)), int(m.group(2))


class Matrix(FetchCase):
    """Every protocol, maildrop format and target format, fixtures and all."""

    def test_every_fixture_lands_and_the_maildrop_is_emptied(self):
        for proto in PROTOS:
            for drop in ("mbox", "maildir"):
                for kind in ("mbox", "maildir"):
                    with self.subTest(proto=proto, drop=drop, kind=kind):
                        self.one(proto, drop, kind)

    def one(self, proto, drop, kind):
        stored = [stored_for(drop, m) for m in MSGS]
        path, target = self.target(kind, "%s-%s-%s" % (proto, drop, kind))
        with server_with(drop, stored) as s:
            p = self.fetch(target, url(s, proto))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(self.summary(p),
                             (len(stored), sum(len(wire_form(m)) for m in stored)))
            got = self.landed(kind, path)
            want = self.expected(kind, stored)
            if drop == "maildir" and kind == "mbox":
                # A Maildir has no order of its own to compare with.
                got, want = sorted(got), sorted(want)
            self.assertEqual(got, want)
            snap = mailbox_snapshot(s)
            self.assertEqual(snap, [] if drop == "maildir" else b"")
            if kind == "mbox":
                envs = [e for e, _ in read_mbox(path)]
                if proto == "pop1" and drop == "mbox":
                    # POP1 carries the envelope; it is kept.
                    self.assertEqual(envs, [ENVELOPE] * len(stored))
                elif proto != "pop1":
                    self.assertTrue(all(e.startswith(b"From MAILER-DAEMON ")
                                        for e in envs), envs[:2])

    def test_appends_to_an_existing_mbox(self):
        path, target = self.target("mbox")
        with open(path, "wb") as f:
            f.write(b"From old@example.org Mon Nov 23 09:00:00 2026\n"
                    b"Subject: old\n\nalready here\n\n")
        with server_with("mbox", [MSGS[0]]) as s:
            p = self.fetch(target, url(s, "pop3"))
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([m for _, m in read_mbox(path)],
                         [b"Subject: old\n\nalready here\n", lf_form(MSGS[0])])

    def test_large_message(self):
        big = big_message(3 * 1024 * 1024)
        for proto in PROTOS:
            with self.subTest(proto=proto):
                path, target = self.target("maildir", proto)
                with server_with("maildir", [big, MSGS[0]]) as s:
                    p = self.fetch(target, url(s, proto))
                    self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(read_maildir(path),
                                 sorted([lf_form(big), lf_form(MSGS[0])]))

    def test_empty_maildrop(self):
        for proto in PROTOS:
            for drop in ("mbox", "maildir"):
                with self.subTest(proto=proto, drop=drop):
                    path, target = self.target("mbox", proto + drop)
                    with server_with(drop, []) as s:
                        p = self.fetch(target, url(s, proto))
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertEqual(self.summary(p), (0, 0))
                    self.assertFalse(os.path.exists(path))


class Keep(FetchCase):
    def test_keep_leaves_the_maildrop_intact(self):
        for proto in PROTOS:
            for drop in ("mbox", "maildir"):
                with self.subTest(proto=proto, drop=drop):
                    stored = [stored_for(drop, m) for m in MSGS]
                    with server_with(drop, stored) as s:
                        before = mailbox_snapshot(s)
                        for run in ("1", "2"):
                            path, target = self.target("maildir", proto + drop + run)
                            p = self.fetch(target, url(s, proto), "--keep")
                            self.assertEqual(p.returncode, 0, p.stderr)
                            self.assertEqual(read_maildir(path),
                                             self.expected("maildir", stored))
                            self.assertEqual(mailbox_snapshot(s), before)

    def test_keep_uses_the_keeping_verbs(self):
        for proto, verb, not_verb in (("pop1", b"C: RETR alice", b"RDEL"),
                                      ("pop2", b"C: ACKS", b"ACKD"),
                                      ("pop3", b"C: RETR 2", b"DELE")):
            with self.subTest(proto=proto):
                with server_with("mbox", MSGS[:2]) as s:
                    p = self.fetch(self.target("mbox", proto)[1], url(s, proto),
                                   "--keep", "--trace")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(verb, p.stderr)
                self.assertNotIn(not_verb, p.stderr)


class Folders(FetchCase):
    def test_pop1_and_pop2_fetch_a_named_folder(self):
        from harness import mbox_from
        archive = [stored_for("mbox", m) for m in MSGS[2:5]]
        for proto in ("pop1", "pop2"):
            with self.subTest(proto=proto):
                with server_with("mbox", [MSGS[0]],
                                 folders={USER: {"archive": mbox_from(archive)}}) as s:
                    inbox = mailbox_snapshot(s)
                    path, target = self.target("maildir", proto)
                    p = self.fetch(target, url(s, proto, path="/archive"))
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertEqual(read_maildir(path), sorted(map(lf_form, archive)))
                    self.assertEqual(mailbox_snapshot(s), inbox)
                    with open(os.path.join(s.folders, USER, "archive"), "rb") as f:
                        self.assertEqual(f.read(), b"")


class Failures(FetchCase):
    def test_wrong_password_stores_and_deletes_nothing(self):
        for proto in PROTOS:
            for apop in ((), ("--apop",)) if proto == "pop3" else ((),):
                with self.subTest(proto=proto, apop=apop):
                    with server_with("mbox", MSGS[:3]) as s:
                        before = mailbox_snapshot(s)
                        path, target = self.target("mbox", proto)
                        p = self.fetch(target, url(s, proto), *apop,
                                       password="not-the-password")
                        self.assertEqual(p.returncode, 77, p.stderr)
                        self.assertIn(b"login refused", p.stderr)
                        self.assertIsNone(SUMMARY.search(p.stderr))
                        self.assertFalse(os.path.exists(path))
                        self.assertEqual(mailbox_snapshot(s), before)

    def test_store_failure_deletes_nothing_unstored(self):
        # The target's folder does not exist: the first message cannot be
        # stored, so nothing may be deleted on the server.
        for proto in PROTOS:
            for kind in ("mbox", "maildir"):
                with self.subTest(proto=proto, kind=kind):
                    with server_with("mbox", MSGS[:3]) as s:
                        before = mailbox_snapshot(s)
                        p = self.fetch("%s:%s/missing/dir/box" % (kind, self.tmp),
                                       url(s, proto))
                        self.assertEqual(p.returncode, 74, p.stderr)
                        self.assertIn(b"storing message 1", p.stderr)
                        self.assertEqual(mailbox_snapshot(s), before)

    def test_connection_refused(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        p = self.fetch(self.target("mbox")[1], "pop3://alice@127.0.0.1:%d" % port)
        self.assertEqual(p.returncode, 69, p.stderr)
        self.assertIn(b"Connection refused", p.stderr)

    def test_usage_errors(self):
        t = self.target("mbox")[1]
        for args, env_pw in (
                (["--to", t, "http://alice@host"], True),
                (["--to", t, "pop3://host"], True),          # no user
                (["--to", t, "pop3://alice@"], True),        # no host
                (["--to", t, "pop3://alice@host:0"], True),
                (["--to", t, "pop3://alice@host:99999"], True),
                (["--to", t, "pop3://alice@host:x"], True),
                (["--to", t, "pop3://alice@host/folder"], True),  # POP3 has none
                (["--to", t, "pop2://al%0Dice@host"], True),     # CR in a name
                (["--to", t, "pop2://al ice@host"], True),
                (["--to", "mh:/tmp/x", "pop3://alice@host"], True),
                (["--to", "mbox:", "pop3://alice@host"], True),
                (["pop3://alice@host"], True),                  # no --to
                (["--to", t], True),                            # no URL
                (["--apop", "--to", t, "pop2://alice@host"], True),
                (["--bogus", "--to", t, "pop3://alice@host"], True),
                (["--to", t, "pop3://alice@host"], False),      # no password
                (["--password-file", "/nonexistent", "--to", t,
                  "pop3://alice@host"], False)):
            with self.subTest(args=args):
                p = subprocess.run([BINARY, "fetch", *args], capture_output=True,
                                   env=dict(os.environ, **({"POSTOFFICE_PASSWORD": "x"}
                                                           if env_pw else {})),
                                   timeout=30)
                self.assertEqual(p.returncode, 64, p.stderr)
                self.assertTrue(p.stderr.startswith(b"postoffice fetch: ")
                                or p.stderr.startswith(b"usage:"), p.stderr)

    def test_unknown_host(self):
        p = self.fetch(self.target("mbox")[1], "pop3://alice@no-such-host.invalid")
        self.assertEqual(p.returncode, 68, p.stderr)


class Password(FetchCase):
    SECRET = "s3cr3t wor\\ds"

    def test_password_file_first_line(self):
        pw = os.path.join(self.tmp, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\nsecond line ignored\n")
        with server_with("mbox", MSGS[:1]) as s:
            path, target = self.target("mbox")
            p = self.fetch(target, url(s, "pop3"), "--password-file", pw,
                           password="wrong-one-in-the-environment")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(read_mbox(path)), 1)

    def test_trace_shows_the_dialogue_and_never_the_password(self):
        expect = {
            "pop1": [b"C: USER alice", b"C: PASS ********", b"C: RDEL alice",
                     b"S: #", b"C: RCEV", b"S: <mailbox data: ", b"C: RCVD",
                     b"C: QUIT"],
            "pop2": [b"S: + POP2 test.example", b"C: HELO alice ********",
                     b"S: #2", b"C: READ", b"C: RETR", b"S: <message 1: ",
                     b"C: ACKD", b"S: =0", b"C: QUIT"],
            "pop3": [b"S: +OK", b"C: USER alice", b"C: PASS ********",
                     b"C: STAT", b"C: RETR 1", b"S: <message 1: ", b"S: .",
                     b"C: DELE 2", b"C: QUIT"],
        }
        for proto, apop in (("pop1", ()), ("pop2", ()), ("pop3", ()),
                            ("pop3", ("--apop",))):
            with self.subTest(proto=proto, apop=apop):
                with server_with("mbox", MSGS[:2],
                                 users={USER: self.SECRET}) as s:
                    path, target = self.target("mbox", proto + "".join(apop))
                    p = self.fetch(target, url(s, proto), "--trace", *apop,
                                   password=self.SECRET)
                self.assertEqual(p.returncode, 0, p.stderr)
                lines = p.stderr.split(b"\n")
                self.assertTrue(all(re.match(rb"(C: |S: |-- |fetched |$)", l)
                                    for l in lines), p.stderr)
                want = list(expect[proto])
                if apop:
                    want[1:3] = [b"C: APOP alice ********"]
                for w in want:
                    self.assertTrue(any(l.startswith(w) for l in lines),
                                    (w, p.stderr))
                for part in (b"s3cr3t", b"wor\\ds", b"wor ds"):
                    self.assertNotIn(part, p.stderr)
                self.assertEqual(len(read_mbox(path)), 2)


if __name__ == "__main__":
    unittest.main()
