"""RFC 6856 over a raw socket: UTF8 in CAPA in both states, the UTF8
command (AUTHORIZATION only, once), 8-bit messages sent as stored by
default in either mode, and utf8_strict: -ERR [UTF8] for a message with
a non-ASCII header outside UTF-8 mode, the message itself inside it.
"""
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
                self.assertIn(b"UTF8", c.multiline().split(b"\r\n"))
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


if __name__ == "__main__":
    unittest.main()
