"""RFC 2449 §8 and RFC 3206 response codes, each provoked for real:
[AUTH] for every kind of credential failure, [IN-USE] for a maildrop
held by another session, [SYS/TEMP] for a busy MTA lock and for an
unreadable user database, [SYS/PERM] for a maildrop that is not one.
No failed login says "lock" or "wait" (fetchmail reads those as retry
later), and CAPA announces RESP-CODES and AUTH-RESP-CODE.
"""
import base64
import hashlib
import os
import unittest

from fixtures import PASSWORD, USER, Server, mbox_from, message, raw_login

MSGS = [message(b"one", b"first\n")]


def server(**kw):
    kw.setdefault("users", {USER: PASSWORD})
    kw.setdefault("mbox", {USER: mbox_from(MSGS)})
    return Server(**kw)


def assert_no_retry_words(test, reply):
    for word in ("lock", "wait"):
        test.assertNotIn(word, reply.lower(), reply)


def three_logins(s, password):
    """USER/PASS, APOP and AUTH PLAIN with PASSWORD; their replies."""
    c = s.connect()
    g = c.line()
    out = []
    c.cmd("USER " + USER)
    out.append(c.cmd("PASS " + password))
    ts = g[g.index("<"):g.index(">") + 1]
    out.append(c.cmd("APOP %s %s" % (USER, hashlib.md5((ts + password).encode())
                                     .hexdigest())))
    out.append(c.cmd("AUTH PLAIN " + base64.b64encode(
        ("\0%s\0%s" % (USER, password)).encode()).decode()))
    c.close()
    return out


class Codes(unittest.TestCase):
    def test_capa_announces_codes(self):
        with server() as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("CAPA").startswith("+OK"))
            lines = c.multiline().split(b"\r\n")
            self.assertIn(b"RESP-CODES", lines)
            self.assertIn(b"AUTH-RESP-CODE", lines)

    def test_auth_on_every_credential_failure(self):
        with server() as s:
            for r in three_logins(s, "wrong"):
                self.assertEqual(r, "-ERR [AUTH] Authentication failed")

    def test_in_use(self):
        with server() as s:
            first = raw_login(s)
            for r in three_logins(s, PASSWORD):
                self.assertTrue(r.startswith("-ERR [IN-USE] "), r)
                self.assertNotIn("[AUTH]", r)
                assert_no_retry_words(self, r)
            first.cmd("QUIT")
            # Released: the next login works.
            raw_login(s).cmd("QUIT")

    def test_sys_temp_for_a_busy_mta_lock(self):
        with server() as s:
            # A dotlock held by a live process (this one): the maildrop
            # cannot be scanned now, but may be soon.
            lock = s.mailbox_path(USER) + ".lock"
            with open(lock, "w") as f:
                f.write("%d\n" % os.getpid())
            try:
                c = s.connect()
                c.line()
                c.cmd("USER " + USER)
                r = c.cmd("PASS " + PASSWORD)
                self.assertTrue(r.startswith("-ERR [SYS/TEMP] "), r)
                assert_no_retry_words(self, r)
            finally:
                os.unlink(lock)
            self.assertTrue(c.cmd("USER " + USER).startswith("+OK"))
            self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("+OK"))

    def test_sys_temp_for_an_unreadable_user_database(self):
        with server() as s:
            os.rename(s.passwd, s.passwd + ".away")
            for r in three_logins(s, PASSWORD):
                self.assertTrue(r.startswith("-ERR [SYS/TEMP] "), r)
                assert_no_retry_words(self, r)

    def test_sys_perm_for_a_maildrop_that_is_not_one(self):
        with server(mbox={}) as s:
            # A directory that is not a Maildir needs an administrator.
            os.mkdir(s.mailbox_path(USER))
            c = s.connect()
            c.line()
            c.cmd("USER " + USER)
            r = c.cmd("PASS " + PASSWORD)
            self.assertTrue(r.startswith("-ERR [SYS/PERM] "), r)
            assert_no_retry_words(self, r)

    def test_codes_are_bracketed_right_after_the_status(self):
        # RFC 2449 §8: "-ERR" SP "[" code "]"; plain errors have no "[".
        with server() as s:
            c = raw_login(s)
            r = c.cmd("RETR 9")
            self.assertTrue(r.startswith("-ERR ") and "[" not in r, r)


if __name__ == "__main__":
    unittest.main()
