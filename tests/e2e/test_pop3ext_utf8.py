"""RFC 6856 over a raw socket and Python poplib: UTF8 USER in CAPA in
both states, the UTF8 command (AUTHORIZATION only, once), 8-bit messages
sent as stored by default in either mode, and utf8_strict: -ERR [UTF8]
for a message with a non-ASCII header outside UTF-8 mode, the message
itself inside it.  §2.2 (UTF8 USER): UTF-8 names and passwords in
USER/PASS (with or without UTF8), AUTH PLAIN and APOP, SASLprep's
mappings applied, malformed UTF-8 and prohibited characters refused
exactly like a wrong password.
"""
import base64
import hashlib
import poplib
import re
import unittest

from fixtures import PASSWORD, USER, Server, mbox_from, raw_login, wire_form
from harness import unstuff

INTL = "From: Jörg <jörg@example.org>\nSubject: Grüße\n\nHallo\n".encode()
LATIN1_BODY = b"From: a@example.org\nSubject: plain\n\ncaf\xe9\n"
ASCII = b"From: a@example.org\nSubject: ascii\n\nhello\n"
MSGS = [INTL, LATIN1_BODY, ASCII]


def server(**kw):
    kw.setdefault("users", {USER: PASSWORD})
    kw.setdefault("mbox", {USER: mbox_from(MSGS)})
    return Server(**kw)


def login(s, utf8):
    c = s.connect()
    c.line()
    if utf8:
        r = c.cmd("UTF8")
        assert r.startswith("+OK"), r
    assert c.cmd("USER " + USER).startswith("+OK")
    assert c.cmd("PASS " + PASSWORD).startswith("+OK")
    return c


def retr(c, n):
    r = c.cmd("RETR %d" % n)
    return r, unstuff(c.multiline()) if r.startswith("+OK") else None


class Utf8(unittest.TestCase):
    def test_capa_in_both_states(self):
        with server() as s:
            c = s.connect()
            c.line()
            for _ in range(2):
                self.assertTrue(c.cmd("CAPA").startswith("+OK"))
                self.assertIn(b"UTF8 USER", c.multiline().split(b"\r\n"))
                c.cmd("USER " + USER)
                c.cmd("PASS " + PASSWORD)

    def test_command_only_before_login_and_once(self):
        with server() as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("utf8").startswith("+OK"))
            self.assertTrue(c.cmd("UTF8").startswith("-ERR"))
            c.close()
            c = raw_login(s)
            self.assertTrue(c.cmd("UTF8").startswith("-ERR"))

    def test_default_sends_stored_octets_in_both_modes(self):
        with server() as s:
            for mode in (False, True):
                c = login(s, mode)
                for n, m in enumerate(MSGS, 1):
                    r, body = retr(c, n)
                    self.assertEqual(r, "+OK %d octets" % len(wire_form(m)))
                    self.assertEqual(body, wire_form(m))
                c.cmd("QUIT")

    def test_strict_refuses_internationalized_header_outside_utf8_mode(self):
        with server(extra_config="utf8_strict yes\n") as s:
            c = login(s, False)
            r, _ = retr(c, 1)
            self.assertTrue(r.startswith("-ERR [UTF8] "), r)
            self.assertTrue(c.cmd("TOP 1 0").startswith("-ERR [UTF8] "))
            # Only the header decides; an 8-bit body and ASCII pass.
            self.assertEqual(retr(c, 2)[1], wire_form(LATIN1_BODY))
            self.assertEqual(retr(c, 3)[1], wire_form(ASCII))
            # LIST still counts it (RFC 6856 §2.1: LIST = RETR octets).
            self.assertEqual(c.cmd("LIST 1"), "+OK 1 %d" % len(wire_form(INTL)))
            c.cmd("QUIT")
            c = login(s, True)
            self.assertEqual(retr(c, 1)[1], wire_form(INTL))


JU, JPW = "jürgen", "pässwörd"
FAILED = "-ERR [AUTH] Authentication failed"


def intl_server(**kw):
    kw.setdefault("users", {USER: PASSWORD, JU: JPW, "zoë": "geh\u00adeim"})
    kw.setdefault("mbox", {JU: mbox_from([ASCII]), "zoë": mbox_from([ASCII])})
    return Server(**kw)


def user_pass(s, user, password):
    """Raw USER and PASS (bytes allowed); the PASS reply."""
    c = s.connect()
    c.line()
    enc = lambda x: x if isinstance(x, bytes) else x.encode()
    c.send(b"USER " + enc(user) + b"\r\n")
    assert c.line().startswith("+OK")
    c.send(b"PASS " + enc(password) + b"\r\n")
    return c.line()


class Utf8User(unittest.TestCase):
    def test_poplib_utf8_then_user_pass(self):
        with intl_server() as s:
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
            self.assertEqual(p.capa()["UTF8"], ["USER"])
            self.assertTrue(p.utf8().startswith(b"+OK"))
            p.user(JU)
            self.assertTrue(p.pass_(JPW).startswith(b"+OK"))
            self.assertEqual(p.stat(), (1, len(wire_form(ASCII))))
            p.quit()
            self.assertIn("login jürgen".encode(), s.read_log())

    def test_without_the_utf8_command_too(self):
        # §2.2: a client MAY send UTF-8 credentials before UTF8.
        with intl_server() as s:
            self.assertTrue(user_pass(s, JU, JPW).startswith("+OK"))

    def test_auth_plain(self):
        with intl_server() as s:
            c = s.connect()
            c.line()
            for authz in ("", JU):
                blob = ("%s\0%s\0%s" % (authz, JU, JPW)).encode()
                r = c.cmd("AUTH PLAIN " + base64.b64encode(blob).decode())
                self.assertTrue(r.startswith("+OK"), r)
                c.cmd("QUIT")
                c = s.connect()
                c.line()
            blob = ("\0%s\0%s" % (JU, "p\u00e4sswort")).encode()
            self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(blob).decode()),
                             FAILED)
            blob = b"\0j\xfcrgen\0" + JPW.encode()
            self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(blob).decode()),
                             FAILED)

    def test_malformed_refused_like_a_wrong_password(self):
        with intl_server() as s:
            wrong = user_pass(s, JU, "wrong")
            self.assertEqual(wrong, FAILED)
            for user, password in ((b"j\xfcrgen", JPW),          # Latin-1
                                   (b"j\xc3rgen", JPW),          # cut
                                   (b"j\xc0\xbcrgen", JPW),      # overlong
                                   (b"j\xed\xa0\x80rgen", JPW),  # surrogate
                                   (b"j\xf4\x90\x80\x80", JPW),  # > U+10FFFF
                                   (JU, b"p\xe4ssw\xf6rd"),      # Latin-1
                                   (JU, JPW + "\u200e")):       # C.8, prohibited
                self.assertEqual(user_pass(s, user, password), wrong,
                                 (user, password))

    def test_legacy_8bit_credentials_still_match_as_stored(self):
        # A vintage client types its password in its own 8-bit character
        # set (here Latin-1); what is not UTF-8 is compared as stored, so
        # announcing UTF8 USER does not lock such users out.
        srv = intl_server(mbox={"mac": mbox_from([ASCII])})
        with open(srv.passwd, "ab") as f:
            f.write(b"mac:{PLAIN}caf\xe9 cr\xe8me\n")
        with srv as s:
            self.assertTrue(user_pass(s, b"mac", b"caf\xe9 cr\xe8me").startswith("+OK"))
            self.assertEqual(user_pass(s, b"mac", b"cafe creme"), FAILED)

    def test_saslprep_mappings(self):
        # RFC 4013 §2.1: SOFT HYPHEN (B.1) is removed, in the name and the
        # password; a NO-BREAK SPACE (C.1.2) becomes a SPACE.
        with intl_server(users={JU: JPW, "a b": "x y"},
                         mbox={JU: mbox_from([ASCII]), "a b": mbox_from([ASCII])}) as s:
            self.assertTrue(user_pass(s, "jür\u00adgen", "pä\u00adsswörd")
                            .startswith("+OK"))
            c = s.connect()
            c.line()
            blob = "\0a\u00a0b\0x\u00a0y".encode()
            r = c.cmd("AUTH PLAIN " + base64.b64encode(blob).decode())
            self.assertTrue(r.startswith("+OK"), r)

    def test_apop_digest_over_the_prepped_secret(self):
        # zoë's stored secret holds a SOFT HYPHEN: §2.2 says the digest is
        # over SASLprep(secret), "geheim"; over the raw octets it fails.
        with intl_server() as s:
            for secret, want in (("geheim", "+OK"), ("geh\u00adeim", FAILED)):
                c = s.connect()
                ts = re.search(r"<[^>]*>", c.line()).group(0)
                digest = hashlib.md5((ts + secret).encode()).hexdigest()
                r = c.cmd("APOP zoë " + digest)
                self.assertTrue(r.startswith(want), (secret, r))
            c = s.connect()
            ts = re.search(r"<[^>]*>", c.line()).group(0)
            digest = hashlib.md5((ts + JPW).encode()).hexdigest()
            self.assertTrue(c.cmd("APOP " + JU + " " + digest).startswith("+OK"))


if __name__ == "__main__":
    unittest.main()
