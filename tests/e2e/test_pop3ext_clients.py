"""Real clients using the POP3 extensions: curl with AUTH=PLAIN, LOGIN,
CRAM-MD5 and +APOP; fetchmail with auth cram-md5 and protocol APOP
(also with plaintext logins switched off); mpop with each method it has
that we offer (user, plain, login, cram-md5, apop; its automatic
choice refuses every method without TLS, so it is not tested); Python poplib capa(), apop(), utf8().  Each checks from the
client's own trace or the server's log that the method was really used.

A missing client is a failure, not a skip: tests/deps.sh installs them.
"""
import os
import poplib
import shutil
import subprocess
import tempfile
import unittest

from fetchmail_case import FetchmailCase, need
from fixtures import PASSWORD, USER, Server, mbox_from, message, wire_form

MSGS = [message(b"one", b"first body\n"), message(b"two", b".dot line\nsecond\n")]


def server(**kw):
    kw.setdefault("users", {USER: PASSWORD})
    kw.setdefault("mbox", {USER: mbox_from(MSGS)})
    return Server(**kw)


class Curl(unittest.TestCase):
    def curl(self, s, options, password=PASSWORD, path="1"):
        return subprocess.run(
            [need("curl"), "-s", "-S", "-v", "--max-time", "60",
             "--login-options", options, "-u", "%s:%s" % (USER, password),
             "pop3://127.0.0.1:%d/%s" % (s.pop3_port, path)],
            capture_output=True, timeout=90)

    def check(self, options, sent, **kw):
        with server(**kw) as s:
            r = self.curl(s, options)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, wire_form(MSGS[0]))
            self.assertIn(sent, r.stderr)
            bad = self.curl(s, options, password="nope")
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn(b"-ERR [AUTH]", bad.stderr)

    def test_plain(self):
        self.check("AUTH=PLAIN", b"> AUTH PLAIN")

    def test_login(self):
        self.check("AUTH=LOGIN", b"> AUTH LOGIN")

    def test_cram_md5(self):
        self.check("AUTH=CRAM-MD5", b"> AUTH CRAM-MD5")

    def test_cram_md5_with_plaintext_off(self):
        self.check("AUTH=CRAM-MD5", b"> AUTH CRAM-MD5",
                   extra_config="plaintext_auth no\n")

    def test_apop(self):
        self.check("AUTH=+APOP", b"> APOP alice ")

    def test_plain_refused_when_plaintext_off(self):
        with server(extra_config="plaintext_auth no\n") as s:
            r = self.curl(s, "AUTH=PLAIN")
            self.assertNotEqual(r.returncode, 0)
            self.assertEqual(r.stdout, b"")


class Fetchmail(FetchmailCase):
    def fetch(self, s, protocol, auth, password=PASSWORD):
        return self.run_fetchmail(s.pop3_port, "%s auth %s" % (protocol, auth),
                                  password, verbose=True)

    def check(self, protocol, auth, sent, **kw):
        with server(**kw) as s:
            r = self.fetch(s, protocol, auth)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn(sent, r.stdout + r.stderr)
            self.assertEqual(self.delivered(), [wire_form(m) for m in MSGS])
            # 3: authentication failed; nothing more delivered.
            r = self.fetch(s, protocol, auth, password="wrong")
            self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
            self.assertEqual(len(self.delivered()), len(MSGS))

    def test_cram_md5(self):
        self.check("pop3", "cram-md5", b"AUTH CRAM-MD5")

    def test_apop(self):
        self.check("apop", "password", b"APOP alice")

    def test_apop_with_plaintext_off(self):
        self.check("apop", "password", b"APOP alice",
                   extra_config="plaintext_auth no\n")


class Mpop(unittest.TestCase):
    def setUp(self):
        need("mpop")
        self.tmp = tempfile.mkdtemp(prefix="po-mpop-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def mpop(self, s, auth, password=PASSWORD):
        return subprocess.run(
            ["mpop", "--auth-only", "--debug", "--host=127.0.0.1",
             "--port=%d" % s.pop3_port, "--user=" + USER,
             "--passwordeval=echo " + password, "--auth=" + auth, "--tls=off",
             "--delivery=mbox," + os.path.join(self.tmp, "mbox")],
            capture_output=True, env=dict(os.environ, HOME=self.tmp), timeout=120)

    def check(self, auth, sent):
        with server() as s:
            r = self.mpop(s, auth)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn(sent, r.stdout + r.stderr)
            r = self.mpop(s, auth, password="wrong")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"-ERR [AUTH]", r.stdout + r.stderr)

    def test_user(self):
        self.check("user", b"--> USER alice")

    def test_plain(self):
        self.check("plain", b"--> AUTH PLAIN")

    def test_login(self):
        self.check("login", b"--> AUTH LOGIN")

    def test_cram_md5(self):
        self.check("cram-md5", b"--> AUTH CRAM-MD5")

    def test_apop(self):
        self.check("apop", b"--> APOP alice")


class Poplib(unittest.TestCase):
    def test_capa(self):
        with server() as s:
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
            caps = p.capa()
            for tag in ("TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE",
                        "PIPELINING", "UTF8", "IMPLEMENTATION"):
                self.assertIn(tag, caps)
            self.assertEqual(caps["SASL"], ["PLAIN", "LOGIN", "CRAM-MD5"])
            self.assertEqual(caps["EXPIRE"], ["NEVER"])
            self.assertNotIn("LOGIN-DELAY", caps)
            self.assertNotIn("STLS", caps)
            p.user(USER)
            p.pass_(PASSWORD)
            self.assertEqual(p.capa(), caps)  # the same in TRANSACTION
            p.quit()

    def test_capa_without_plaintext(self):
        with server(extra_config="plaintext_auth no\n") as s:
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
            caps = p.capa()
            self.assertNotIn("USER", caps)
            self.assertEqual(caps["SASL"], ["CRAM-MD5"])
            p.quit()

    def test_apop(self):
        with server() as s:
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
            self.assertTrue(p.apop(USER, PASSWORD).startswith(b"+OK"))
            self.assertEqual(p.stat()[0], len(MSGS))
            p.quit()

    def test_utf8(self):
        body = "Grüße, 日本\n".encode()
        msg = message(b"=?utf-8?q?caf=C3=A9?=", body)
        with server(mbox={USER: mbox_from([msg])}) as s:
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
            self.assertTrue(p.utf8().startswith(b"+OK"))
            p.user(USER)
            p.pass_(PASSWORD)
            # RFC 6856 §2.1: in UTF-8 mode UTF-8 content goes out as is.
            self.assertEqual(b"".join(l + b"\r\n" for l in p.retr(1)[1]), wire_form(msg))
            # UTF8 is an AUTHORIZATION command.
            with self.assertRaises(poplib.error_proto):
                p.utf8()
            p.quit()
            log = s.read_log()
            self.assertIn(b"UTF8 mode", log)


if __name__ == "__main__":
    unittest.main()
