"""RFC 5034 AUTH over a raw socket: PLAIN, LOGIN and CRAM-MD5, initial
responses ("=" for an empty one), "*" to cancel, strict base64, the bare
AUTH listing, the longest PLAIN a client may send, and the plaintext_auth
switch that leaves only APOP and CRAM-MD5 (RFC 5034 §4, RFC 2595 §2.3).
"""
import base64
import hashlib
import hmac
import unittest

from fixtures import PASSWORD, USER, Server, crypt_hash, mbox_from, message

MSGS = [message(b"one", b"first\n"), message(b"two", b"second\n")]


def b64(data):
    return base64.b64encode(data).decode()


def server(**kw):
    kw.setdefault("users", {USER: PASSWORD})
    kw.setdefault("mbox", {USER: mbox_from(MSGS)})
    return Server(**kw)


def greet(s):
    c = s.connect()
    g = c.line()
    assert g.startswith("+OK"), g
    return c, g


def cram_answer(challenge_line, user=USER, secret=PASSWORD):
    assert challenge_line.startswith("+ "), challenge_line
    challenge = base64.b64decode(challenge_line[2:], validate=True)
    digest = hmac.new(secret.encode(), challenge, hashlib.md5).hexdigest()
    return b64(("%s %s" % (user, digest)).encode())


def logged_in(test, c):
    test.assertTrue(c.cmd("STAT").startswith("+OK 2 "))
    test.assertTrue(c.cmd("QUIT").startswith("+OK"))


class Plain(unittest.TestCase):
    def test_initial_response(self):
        with server() as s:
            c, _ = greet(s)
            r = c.cmd("AUTH PLAIN " + b64(b"\0alice\0wonderland"))
            self.assertTrue(r.startswith("+OK"), r)
            logged_in(self, c)

    def test_without_initial_response_gets_empty_challenge(self):
        with server() as s:
            c, _ = greet(s)
            # RFC 5034 §4: an empty challenge is exactly "+ ".
            self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
            self.assertTrue(c.cmd(b64(b"alice\0alice\0wonderland")).startswith("+OK"))
            logged_in(self, c)

    def test_lowercase_mechanism(self):
        with server() as s:
            c, _ = greet(s)
            self.assertTrue(c.cmd("auth plain " + b64(b"\0alice\0wonderland"))
                            .startswith("+OK"))
            logged_in(self, c)

    def test_wrong_password_and_unknown_user_look_the_same(self):
        with server() as s:
            c, _ = greet(s)
            r1 = c.cmd("AUTH PLAIN " + b64(b"\0alice\0wrong"))
            r2 = c.cmd("AUTH PLAIN " + b64(b"\0nosuch\0wonderland"))
            self.assertEqual(r1, "-ERR [AUTH] Authentication failed")
            self.assertEqual(r1, r2)
            # RFC 5034 §4: after a failure the client may try again.
            self.assertTrue(c.cmd("AUTH PLAIN " + b64(b"\0alice\0wonderland"))
                            .startswith("+OK"))

    def test_foreign_authzid_refused(self):
        with server(users={USER: PASSWORD, "bob": "builder"}) as s:
            c, _ = greet(s)
            r = c.cmd("AUTH PLAIN " + b64(b"alice\0bob\0builder"))
            self.assertEqual(r, "-ERR [AUTH] Authentication failed")

    def test_empty_initial_response_is_equals_sign(self):
        with server() as s:
            c, _ = greet(s)
            # "=" is a present but empty response: PLAIN cannot use it.
            r = c.cmd("AUTH PLAIN =")
            self.assertTrue(r.startswith("-ERR"), r)
            self.assertNotIn("+ ", r[:2])
            self.assertTrue(c.cmd("NOOP").startswith("-ERR"))  # still AUTHORIZATION

    def test_longest_fields_on_a_continuation_line(self):
        # Three 255-octet fields: 767 octets, 1024 in base64, which is more
        # than a command line may hold but a continuation line must take.
        user, pw = "u" * 60, "p" * 255
        with server(users={USER: PASSWORD, user: pw}, mbox={user: mbox_from(MSGS)}) as s:
            c, _ = greet(s)
            self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
            resp = b64(user.encode() + b"\0" + user.encode() + b"\0" + pw.encode())
            self.assertEqual(len(resp), 504)
            self.assertTrue(c.cmd(resp).startswith("+OK"))
            c.close()
            c, _ = greet(s)
            self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
            big = b64(b"a" * 255 + b"\0" + b"b" * 255 + b"\0" + b"c" * 255)
            self.assertEqual(len(big), 1024)
            self.assertEqual(c.cmd(big), "-ERR [AUTH] Authentication failed")
            self.assertTrue(c.cmd("NOOP").startswith("-ERR"))


class Login(unittest.TestCase):
    def test_two_challenges(self):
        with server() as s:
            c, _ = greet(s)
            r = c.cmd("AUTH LOGIN")
            self.assertEqual(base64.b64decode(r[2:]), b"Username:")
            r = c.cmd(b64(b"alice"))
            self.assertEqual(base64.b64decode(r[2:]), b"Password:")
            self.assertTrue(c.cmd(b64(b"wonderland")).startswith("+OK"))
            logged_in(self, c)

    def test_initial_response_is_the_user_name(self):
        with server() as s:
            c, _ = greet(s)
            r = c.cmd("AUTH LOGIN " + b64(b"alice"))
            self.assertEqual(base64.b64decode(r[2:]), b"Password:")
            self.assertEqual(c.cmd(b64(b"bad")), "-ERR [AUTH] Authentication failed")


class CramMd5(unittest.TestCase):
    def test_login(self):
        with server() as s:
            c, g = greet(s)
            r = c.cmd("AUTH CRAM-MD5")
            challenge = base64.b64decode(r[2:])
            # A fresh msg-id, not the greeting's APOP timestamp.
            self.assertRegex(challenge, rb"^<[^<>]+@test\.example>$")
            self.assertNotIn(challenge.decode(), g)
            self.assertTrue(c.cmd(cram_answer(r)).startswith("+OK"))
            logged_in(self, c)

    def test_wrong_secret(self):
        with server() as s:
            c, _ = greet(s)
            r = c.cmd("AUTH CRAM-MD5")
            self.assertEqual(c.cmd(cram_answer(r, secret="nope")),
                             "-ERR [AUTH] Authentication failed")

    def test_crypt_user_fails_like_a_wrong_secret(self):
        # CONTRACT.md: CRAM-MD5 needs a {PLAIN} secret.
        with server(passwd_lines=["carol:{CRYPT}" + crypt_hash("sesame")]) as s:
            c, _ = greet(s)
            r = c.cmd("AUTH CRAM-MD5")
            self.assertEqual(c.cmd(cram_answer(r, "carol", "sesame")),
                             "-ERR [AUTH] Authentication failed")
            self.assertTrue(c.cmd("USER carol").startswith("+OK"))
            self.assertTrue(c.cmd("PASS sesame").startswith("+OK"))

    def test_initial_response_refused(self):
        # RFC 5034 §4: the server speaks first in CRAM-MD5.
        with server() as s:
            c, _ = greet(s)
            r = c.cmd("AUTH CRAM-MD5 " + b64(b"alice 0123"))
            self.assertTrue(r.startswith("-ERR"), r)
            self.assertTrue(c.cmd("NOOP").startswith("-ERR"))


class Exchange(unittest.TestCase):
    def test_star_cancels(self):
        with server() as s:
            c, _ = greet(s)
            for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):
                self.assertTrue(c.cmd("AUTH " + mech).startswith("+ "))
                r = c.cmd("*")
                self.assertTrue(r.startswith("-ERR"), r)
                self.assertNotIn("[AUTH]", r)
            # As if AUTH had never been sent: USER/PASS works.
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))

    def test_malformed_base64(self):
        with server() as s:
            c, _ = greet(s)
            for bad in ("=AAA", "AAA=BBBB", "Zm9v!", "Zm9", "Zm 9v"):
                self.assertTrue(c.cmd("AUTH PLAIN").startswith("+ "))
                r = c.cmd(bad)
                self.assertTrue(r.startswith("-ERR"), (bad, r))
                self.assertIn("base64", r)
            # On the command line too.
            r = c.cmd("AUTH PLAIN AAA=BBBB")
            self.assertTrue(r.startswith("-ERR") and "base64" in r, r)
            self.assertTrue(c.cmd("AUTH PLAIN " + b64(b"\0alice\0wonderland"))
                            .startswith("+OK"))

    def test_bare_auth_lists_mechanisms(self):
        # PROTOCOLS.md 5.3: we answer a bare AUTH with the list.
        with server() as s:
            c, _ = greet(s)
            self.assertTrue(c.cmd("AUTH").startswith("+OK"))
            self.assertEqual(c.multiline(), b"PLAIN\r\nLOGIN\r\nCRAM-MD5\r\n")

    def test_unknown_mechanism(self):
        with server() as s:
            c, _ = greet(s)
            r = c.cmd("AUTH GSSAPI")
            self.assertTrue(r.startswith("-ERR"), r)
            self.assertNotIn("[AUTH]", r)

    def test_auth_after_login_refused(self):
        with server() as s:
            c, _ = greet(s)
            self.assertTrue(c.cmd("AUTH PLAIN " + b64(b"\0alice\0wonderland"))
                            .startswith("+OK"))
            r = c.cmd("AUTH PLAIN " + b64(b"\0alice\0wonderland"))
            self.assertTrue(r.startswith("-ERR"), r)
            self.assertTrue(c.cmd("STAT").startswith("+OK 2 "))

    def test_capa_lists_sasl_in_both_states(self):
        with server() as s:
            c, _ = greet(s)
            for step in range(2):
                self.assertTrue(c.cmd("CAPA").startswith("+OK"))
                lines = c.multiline().split(b"\r\n")
                self.assertIn(b"SASL PLAIN LOGIN CRAM-MD5", lines)
                self.assertIn(b"USER", lines)
                if step == 0:
                    c.cmd("AUTH PLAIN " + b64(b"\0alice\0wonderland"))

    def test_pipelined_auth_exchange(self):
        with server() as s:
            c, _ = greet(s)
            c.send("AUTH PLAIN\r\n%s\r\nSTAT\r\nQUIT\r\n" % b64(b"\0alice\0wonderland"))
            self.assertEqual(c.line(), "+ ")
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.line().startswith("+OK 2 "))
            self.assertTrue(c.line().startswith("+OK"))


class PlaintextOff(unittest.TestCase):
    """plaintext_auth no: USER/PASS, PLAIN and LOGIN refused and not
    advertised; APOP and CRAM-MD5 still work."""

    def test_refused_and_not_advertised(self):
        with server(extra_config="plaintext_auth no\n") as s:
            c, _ = greet(s)
            self.assertTrue(c.cmd("CAPA").startswith("+OK"))
            lines = c.multiline().split(b"\r\n")
            self.assertNotIn(b"USER", lines)
            self.assertIn(b"SASL CRAM-MD5", lines)
            r = c.cmd("USER alice")
            self.assertTrue(r.startswith("-ERR"), r)
            self.assertTrue(c.cmd("PASS wonderland").startswith("-ERR"))
            for mech in ("PLAIN " + b64(b"\0alice\0wonderland"), "LOGIN"):
                r = c.cmd("AUTH " + mech)
                self.assertTrue(r.startswith("-ERR"), r)
            self.assertTrue(c.cmd("AUTH").startswith("+OK"))
            self.assertEqual(c.multiline(), b"CRAM-MD5\r\n")
            # Still in AUTHORIZATION, and CRAM-MD5 logs in.
            r = c.cmd("AUTH CRAM-MD5")
            self.assertTrue(c.cmd(cram_answer(r)).startswith("+OK"))
            logged_in(self, c)

    def test_apop_still_works(self):
        with server(extra_config="plaintext_auth no\n") as s:
            c, g = greet(s)
            ts = g[g.index("<"):g.index(">") + 1]
            digest = hashlib.md5((ts + PASSWORD).encode()).hexdigest()
            self.assertTrue(c.cmd("APOP alice " + digest).startswith("+OK"))
            logged_in(self, c)


if __name__ == "__main__":
    unittest.main()
