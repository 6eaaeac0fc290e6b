"""Real POP3 clients from Debian packages against the real server: curl,
fetchmail and mpop.  Each test compares what the client delivered byte
for byte with wire_form(stored message), after undoing only the client's
own documented transformations (named in a comment where they apply).

A missing client is a failure, not a skip: tests/deps.sh installs them.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from fetchmail_case import FetchmailCase, need
from fixtures import (FIXTURES, PASSWORD, USER, big_message, fast_wire_form, login,
                      server_with, stored_for, wire_form)

KINDS = ("mbox", "maildir")


def expected(kind):
    return [wire_form(stored_for(kind, m)) for _, m in FIXTURES]


def lf(data):
    return data.replace(b"\r\n", b"\n")


class Curl(unittest.TestCase):
    """curl pop3://: RETR by message number, LIST without one.  curl
    removes the dot-stuffing and writes the message with its CRLFs, so
    its output must equal the wire form exactly."""

    def curl(self, port, path="", user=USER, password=PASSWORD, out=None):
        args = [need("curl"), "-s", "-S", "--max-time", "60",
                "pop3://%s:%s@127.0.0.1:%d/%s" % (user, password, port, path)]
        if out:
            args += ["-o", out]
        return subprocess.run(args, capture_output=True, timeout=90)

    def test_every_fixture_byte_for_byte(self):
        for kind in KINDS:
            with server_with(kind, [stored_for(kind, m) for _, m in FIXTURES]) as s:
                p = login(s)
                sizes = dict(tuple(map(int, l.split())) for l in p.list()[1])
                p.quit()
                got = []
                for n in range(1, len(FIXTURES) + 1):
                    r = self.curl(s.pop3_port, str(n))
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(len(r.stdout), sizes[n], (kind, n))
                    got.append(r.stdout)
                if kind == "mbox":
                    self.assertEqual(got, expected(kind))
                else:  # Maildir order is unspecified: compare as multisets
                    self.assertEqual(sorted(got), sorted(expected(kind)))

    def test_listing_without_a_message_number(self):
        for kind in KINDS:
            with server_with(kind, [stored_for(kind, m) for _, m in FIXTURES]) as s:
                r = self.curl(s.pop3_port)
                self.assertEqual(r.returncode, 0, r.stderr)
                p = login(s)
                listing = p.list()[1]
                p.quit()
                self.assertEqual(r.stdout, b"".join(l + b"\r\n" for l in listing))
                self.assertEqual(len(listing), len(FIXTURES))

    def test_wrong_password_fails(self):
        with server_with("mbox", [FIXTURES[0][1]]) as s:
            r = self.curl(s.pop3_port, "1", password="nope")
            self.assertNotEqual(r.returncode, 0)
            self.assertEqual(r.stdout, b"")

    def test_ten_megabytes_from_maildir(self):
        # The second of the two tests that move the 10 MB fixture.
        big = big_message()
        with server_with("maildir", [big]) as s, tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "big")
            r = self.curl(s.pop3_port, "1", out=out)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), fast_wire_form(big))


class Fetchmail(FetchmailCase):
    """fetchmail with a private rcfile (0600), HOME, idfile and pidfile in a
    temporary folder, delivering each message through an MDA into its own
    numbered file.  Its transformations, all switched off or undone:
      - a Received: header of its own: off with "set invisible";
      - CR stripping for MDA delivery: off with "no stripcr", so the file
        holds the CRLF lines exactly as received;
      - header address rewriting: off with "no rewrite";
      - opportunistic STLS (6.4 tries it and gives up without TLS): off
        with sslproto '';
      - a header without the blank line that ends it gets one (see
        headers_only below): fetchmail always writes that separator."""

    def run_fetchmail_uidl(self, port, protocol, password=PASSWORD):
        return self.run_fetchmail(port, protocol + " uidl", password)

    def check(self, kind, protocol):
        with server_with(kind, [stored_for(kind, m) for _, m in FIXTURES]) as s:
            r = self.run_fetchmail_uidl(s.pop3_port, protocol)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            got = self.delivered()
            want = expected(kind)
            # fetchmail ends a header that has no blank line with one.
            hdr = [i for i, (n, _) in enumerate(FIXTURES) if n == "headers_only"][0]
            want[hdr] += b"\r\n"
            if kind == "mbox":
                self.assertEqual(got, want)
            else:
                self.assertEqual(sorted(got), sorted(want))
            # --keep twice: the second run sees every UIDL in its idfile,
            # fetches nothing, and says so with exit status 1 (no mail).
            r = self.run_fetchmail_uidl(s.pop3_port, protocol)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertEqual(len(self.delivered()), len(FIXTURES))
            # keep: nothing was deleted on the server.
            p = login(s)
            self.assertEqual(p.stat()[0], len(FIXTURES))
            p.quit()

    def test_user_pass_mbox(self):
        self.check("mbox", "pop3")

    def test_user_pass_maildir(self):
        self.check("maildir", "pop3")

    def test_apop_mbox(self):
        self.check("mbox", "APOP")

    def test_apop_wrong_secret_fetches_nothing(self):
        with server_with("mbox", [FIXTURES[0][1]]) as s:
            r = self.run_fetchmail_uidl(s.pop3_port, "APOP", password="wrong")
            # 3: authentication failed.
            self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
            self.assertEqual(self.delivered(), [])


class Mpop(unittest.TestCase):
    """mpop with command-line settings only (--host), USER/PASS, no TLS,
    --keep=on and a private --uidls-file.  Its transformations:
      - every delivery method writes LF line ends: CRLF becomes LF (a CR
        not followed by LF stays);
      - --received-header=off stops it from adding a Received: header;
      - mbox delivery adds a "From MAILER-DAEMON date" line and a blank
        line after each message and quotes ">*From " lines with one more
        ">" (mboxrd); the test undoes exactly that."""

    def setUp(self):
        need("mpop")
        self.tmp = tempfile.mkdtemp(prefix="po-mpop-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_mpop(self, port, delivery):
        env = dict(os.environ, HOME=self.tmp)
        return subprocess.run(
            ["mpop", "-q", "--host=127.0.0.1", "--port=%d" % port,
             "--user=" + USER, "--passwordeval=echo " + PASSWORD, "--auth=user",
             "--tls=off", "--delivery=" + delivery, "--keep=on",
             "--received-header=off",
             "--uidls-file=" + os.path.join(self.tmp, "uidls")],
            capture_output=True, env=env, timeout=120)

    def test_maildir_delivery(self):
        md = os.path.join(self.tmp, "Maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub))
        with server_with("mbox", [stored_for("mbox", m) for _, m in FIXTURES]) as s:
            r = self.run_mpop(s.pop3_port, "maildir," + md)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            names = os.listdir(os.path.join(md, "new"))
            # mpop numbers its Maildir files with Q<counter>, in retrieval order.
            names.sort(key=lambda n: int(re.search(r"Q(\d+)", n).group(1)))
            got = []
            for n in names:
                with open(os.path.join(md, "new", n), "rb") as f:
                    got.append(f.read())
            self.assertEqual(got, [lf(e) for e in expected("mbox")])
            # A second run with the same uidls file fetches nothing.
            r = self.run_mpop(s.pop3_port, "maildir," + md)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(len(os.listdir(os.path.join(md, "new"))), len(FIXTURES))
            p = login(s)
            self.assertEqual(p.stat()[0], len(FIXTURES))
            p.quit()

    def test_mbox_delivery_from_maildir(self):
        mbox = os.path.join(self.tmp, "mbox")
        msgs = [stored_for("maildir", m) for _, m in FIXTURES]
        with server_with("maildir", msgs) as s:
            r = self.run_mpop(s.pop3_port, "mbox," + mbox)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(mbox, "rb") as f:
                data = f.read()
            got = []
            for chunk in re.split(rb"(?m)^From MAILER-DAEMON [^\n]*\n", data)[1:]:
                self.assertTrue(chunk.endswith(b"\n\n"))
                body = chunk[:-1]  # the blank line mpop adds after each message
                body = re.sub(rb"(?m)^>(>*From )", rb"\1", body)  # undo mboxrd quoting
                got.append(body)
            self.assertEqual(sorted(got), sorted(lf(e) for e in expected("maildir")))
            size = os.path.getsize(mbox)
            r = self.run_mpop(s.pop3_port, "mbox," + mbox)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(os.path.getsize(mbox), size)


if __name__ == "__main__":
    unittest.main()
