"""RFC 1939 commands, replies, states and errors, driven by Python's poplib
(a real client) and by a raw socket for what no client sends."""
import hashlib
import os
import poplib
import re
import socket
import time
import unittest

from fixtures import (PASSWORD, USER, Server, crypt_hash, login, mailbox_snapshot,
                      mbox_from, message, raw_login, received, wire_form)
from harness import unstuff

M1 = message(b"one", b"First message.\n.dot line\n")
M2 = message(b"two", b"Second message,\nwith\nfive\nbody\nlines\n")
M3 = message(b"three", b"Third.\n")
MSGS = [M1, M2, M3]
UID_RE = re.compile(r"^[\x21-\x7e]{1,70}$")


def server(**kw):
    kw.setdefault("users", {USER: PASSWORD, "carol": "two words  here"})
    kw.setdefault("mbox", {USER: mbox_from(MSGS)})
    return Server(**kw)


class PoplibEveryCommand(unittest.TestCase):
    """Every command poplib has, against a known maildrop."""

    def test_user_pass_stat_list_retr_top_uidl_noop_quit(self):
        with server() as s:
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=10)
            welcome = p.getwelcome()
            self.assertTrue(welcome.startswith(b"+OK POP3"), welcome)
            self.assertTrue(p.user(USER).startswith(b"+OK"))
            self.assertTrue(p.pass_(PASSWORD).startswith(b"+OK"))
            sizes = [len(wire_form(m)) for m in MSGS]
            self.assertEqual(p.stat(), (3, sum(sizes)))
            resp, listing, _ = p.list()
            self.assertTrue(resp.startswith(b"+OK"))
            self.assertEqual(listing, [b"%d %d" % (i + 1, n) for i, n in enumerate(sizes)])
            self.assertEqual(p.list(2), b"+OK 2 %d" % sizes[1])
            for i, m in enumerate(MSGS):
                resp, lines, octets = p.retr(i + 1)
                # RETR answers "+OK <size> octets" (issue 2).
                self.assertEqual(resp, b"+OK %d octets" % sizes[i])
                self.assertEqual(received(lines), wire_form(m))
                self.assertEqual(octets, sizes[i])
            resp, lines, _ = p.top(2, 2)
            head, body = M2.split(b"\n\n", 1)
            self.assertEqual(received(lines),
                             wire_form(head + b"\n\nSecond message,\nwith\n"))
            resp, uids, _ = p.uidl()
            self.assertEqual(len(uids), 3)
            ids = [u.split(b" ", 1) for u in uids]
            self.assertEqual([int(n) for n, _ in ids], [1, 2, 3])
            for _, uid in ids:
                self.assertRegex(uid.decode("latin-1"), UID_RE)
            self.assertEqual(len({u for _, u in ids}), 3)
            self.assertEqual(p.uidl(3), b"+OK 3 " + ids[2][1])
            self.assertTrue(p.noop().startswith(b"+OK"))
            self.assertTrue(p.quit().startswith(b"+OK"))
            self.assertEqual(mailbox_snapshot(s), mbox_from(MSGS))

    def test_dele_rset_quit_deletes_nothing(self):
        with server() as s:
            before = mailbox_snapshot(s)
            p = login(s)
            p.dele(1)
            p.dele(3)
            self.assertEqual(p.stat()[0], 1)
            self.assertTrue(p.rset().startswith(b"+OK"))
            self.assertEqual(p.stat(), (3, sum(len(wire_form(m)) for m in MSGS)))
            p.quit()
            self.assertEqual(mailbox_snapshot(s), before)
            p = login(s)
            self.assertEqual(p.stat()[0], 3)
            p.quit()

    def test_dele_quit_deletes_exactly_the_marked(self):
        with server() as s:
            p = login(s)
            uids = dict(u.split(b" ") for u in p.uidl()[1])
            self.assertTrue(p.dele(2).startswith(b"+OK"))
            # The deleted message is gone from STAT, LIST and UIDL at once.
            self.assertEqual(p.stat(), (2, len(wire_form(M1)) + len(wire_form(M3))))
            self.assertEqual([l.split()[0] for l in p.list()[1]], [b"1", b"3"])
            self.assertEqual([l.split()[0] for l in p.uidl()[1]], [b"1", b"3"])
            self.assertTrue(p.quit().startswith(b"+OK"))
            p = login(s)
            self.assertEqual(p.stat()[0], 2)
            self.assertEqual(received(p.retr(1)[1]), wire_form(M1))
            self.assertEqual(received(p.retr(2)[1]), wire_form(M3))
            # The survivors keep their unique ids, renumbered 1 and 2.
            self.assertEqual([u.split(b" ")[1] for u in p.uidl()[1]],
                             [uids[b"1"], uids[b"3"]])
            p.quit()

    def test_apop(self):
        with server() as s:
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=10)
            self.assertTrue(p.apop(USER, PASSWORD).startswith(b"+OK"))
            self.assertEqual(p.stat()[0], 3)
            p.quit()
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=10)
            with self.assertRaises(poplib.error_proto):
                p.apop(USER, "wrong")
            p.quit()

    def test_password_with_spaces(self):
        # RFC 1939 §7: PASS takes the rest of the line, spaces included.
        with server() as s:
            p = login(s, "carol", "two words  here")
            self.assertEqual(p.stat(), (0, 0))
            p.quit()


class Greeting(unittest.TestCase):
    def test_greeting_ends_with_a_fresh_timestamp(self):
        with server() as s:
            seen = set()
            for _ in range(3):
                c = s.connect()
                g = c.line()
                c.cmd("QUIT")
                # "+OK POP3", and the msg-id timestamp as the last token
                # (curl reads it there); RFC 1939 §7: different every time.
                self.assertTrue(g.startswith("+OK POP3 "), g)
                m = re.search(r" (<[^<>@ ]+@[^<> ]+>)$", g)
                self.assertIsNotNone(m, g)
                self.assertEqual(g.count("<"), 1)
                seen.add(m.group(1))
            self.assertEqual(len(seen), 3)

    def test_apop_digest_by_hand(self):
        with server() as s:
            c = s.connect()
            ts = re.search(r"(<.*>)", c.line()).group(1)
            digest = hashlib.md5((ts + PASSWORD).encode()).hexdigest()
            self.assertTrue(c.cmd("APOP %s %s" % (USER, digest)).startswith("+OK"))
            self.assertTrue(c.cmd("STAT").startswith("+OK 3 "))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))


class Replies(unittest.TestCase):
    """Exact reply shapes and every error on a raw socket."""

    def test_status_lines(self):
        with server() as s:
            c = raw_login(s)
            self.assertRegex(c.cmd("STAT"), r"^\+OK 3 \d+$")
            self.assertRegex(c.cmd("LIST 1"), r"^\+OK 1 \d+$")
            self.assertRegex(c.cmd("UIDL 1"), r"^\+OK 1 [\x21-\x7e]{1,70}$")
            # RFC 1957: "+OK" and "-ERR" are followed by a space and text,
            # NOOP and RSET included.
            for cmd in ("NOOP", "RSET", "FOO", "RETR 9"):
                r = c.cmd(cmd)
                self.assertRegex(r, r"^(\+OK|-ERR) \S")
                self.assertLessEqual(len(r) + 2, 512)
            c.cmd("QUIT")

    def test_case_insensitive_and_bare_lf(self):
        with server() as s:
            c = s.connect()
            c.line()
            c.send("user alice\n")
            self.assertTrue(c.line().startswith("+OK"))
            c.send("pAsS wonderland\n")
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.cmd("stat").startswith("+OK 3 "))
            self.assertTrue(c.cmd("Retr 3").startswith("+OK"))
            self.assertEqual(unstuff(c.multiline()), wire_form(M3))
            self.assertTrue(c.cmd("qUiT").startswith("+OK"))

    def test_list_and_uidl_of_an_empty_maildrop(self):
        # A user whose maildrop does not exist yet: an empty maildrop, and
        # LIST/UIDL are successes with no lines (RFC 1939 §5).
        with server(mbox={}) as s:
            c = raw_login(s)
            self.assertEqual(c.cmd("STAT"), "+OK 0 0")
            self.assertTrue(c.cmd("LIST").startswith("+OK"))
            self.assertEqual(c.multiline(), b"")
            self.assertTrue(c.cmd("UIDL").startswith("+OK"))
            self.assertEqual(c.multiline(), b"")
            self.assertTrue(c.cmd("LIST 1").startswith("-ERR"))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
            self.assertFalse(os.path.exists(s.mailbox_path(USER)))

    def test_deleted_message_errors(self):
        with server() as s:
            c = raw_login(s)
            self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
            for cmd in ("DELE 1", "RETR 1", "LIST 1", "TOP 1 0", "UIDL 1"):
                self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
            self.assertTrue(c.cmd("LIST").startswith("+OK"))
            self.assertEqual(c.multiline().split(b"\r\n")[0].split()[0], b"2")
            self.assertTrue(c.cmd("RSET").startswith("+OK"))
            self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
            self.assertEqual(unstuff(c.multiline()), wire_form(M1))
            c.cmd("QUIT")

    def test_bad_arguments(self):
        # PROTOCOLS.md 3.6: 0, negative, non-digits, trailing junk, missing
        # and extra arguments are all errors.
        with server() as s:
            c = raw_login(s)
            for cmd in ("RETR", "RETR 0", "RETR -1", "RETR +1", "RETR 1x", "RETR x",
                        "RETR 1 2", "RETR 4", "DELE", "DELE 0", "LIST 0", "LIST 1 1",
                        "LIST 99", "TOP 1", "TOP", "TOP 1 -1", "TOP 1 x", "TOP 0 1",
                        "TOP 9 1", "TOP 1 1 1", "UIDL 0", "UIDL 4", "UIDL a",
                        "STAT 1", "NOOP x", "RSET 1", "QUIT now"):
                self.assertTrue(c.cmd(cmd).startswith("-ERR "), cmd)
            self.assertTrue(c.cmd("STAT").startswith("+OK 3 "))
            c.cmd("QUIT")
            self.assertEqual(mailbox_snapshot(s), mbox_from(MSGS))

    def test_wrong_state_differs_from_unknown(self):
        with server() as s:
            c = s.connect()
            c.line()
            unknown = c.cmd("XYZZY")
            self.assertTrue(unknown.startswith("-ERR"))
            for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET",
                        "TOP 1 1", "UIDL", "PASS x"):
                r = c.cmd(cmd)
                self.assertTrue(r.startswith("-ERR"), cmd)
                self.assertNotEqual(r, unknown, cmd)
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
            for cmd in ("USER alice", "PASS wonderland", "APOP alice 0123"):
                r = c.cmd(cmd)
                self.assertTrue(r.startswith("-ERR"), cmd)
                self.assertNotEqual(r, unknown, cmd)
            self.assertTrue(c.cmd("STAT").startswith("+OK 3 "))
            c.cmd("QUIT")

    def test_top(self):
        with server() as s:
            c = raw_login(s)
            head = M2.split(b"\n\n", 1)[0] + b"\n\n"
            self.assertTrue(c.cmd("TOP 2 0").startswith("+OK"))
            self.assertEqual(unstuff(c.multiline()), wire_form(head))
            self.assertTrue(c.cmd("TOP 2 3").startswith("+OK"))
            self.assertEqual(unstuff(c.multiline()),
                             wire_form(head + b"Second message,\nwith\nfive\n"))
            # More lines than the body has: the whole message.
            self.assertTrue(c.cmd("TOP 2 6").startswith("+OK"))
            self.assertEqual(unstuff(c.multiline()), wire_form(M2))
            # TOP is dot-stuffed like RETR.
            self.assertTrue(c.cmd("TOP 1 2").startswith("+OK"))
            self.assertTrue(c.multiline().endswith(b"\r\n..dot line\r\n"))
            c.cmd("QUIT")


class Authorization(unittest.TestCase):
    def test_unknown_user_and_wrong_password_look_the_same(self):
        bob = "bob:{CRYPT}" + crypt_hash("secret")
        with server(passwd_lines=[bob]) as s:
            replies = []
            for user, pw in (("nosuchuser", "Xyzzy-secret-42"), (USER, "Xyzzy-secret-42"),
                             ("bob", "Xyzzy-secret-42")):
                c = s.connect()
                c.line()
                r1 = c.cmd("USER " + user)
                r2 = c.cmd("PASS " + pw)
                replies.append((r1, r2))
                self.assertTrue(r2.startswith("-ERR"))
                # The session stays in AUTHORIZATION: a retry works.
                self.assertTrue(c.cmd("USER alice").startswith("+OK"))
                self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
                c.cmd("QUIT")
            self.assertEqual(len(set(replies)), 1, replies)
            # Passwords are never logged (issue 2).
            self.assertNotIn(b"Xyzzy-secret-42", s.read_log())

    def test_same_delay_for_unknown_user_and_wrong_password(self):
        with server(extra_config="auth_fail_delay 400") as s:
            for user in ("nosuchuser", USER):
                c = s.connect()
                c.line()
                c.cmd("USER " + user)
                t = time.monotonic()
                self.assertTrue(c.cmd("PASS wrong").startswith("-ERR"))
                self.assertGreaterEqual(time.monotonic() - t, 0.35, user)
                c.cmd("QUIT")

    def test_crypt_user_pass_and_apop_refused_like_wrong_password(self):
        bob = "bob:{CRYPT}" + crypt_hash("builder")
        with server(passwd_lines=[bob], mbox={"bob": mbox_from([M3])}) as s:
            p = login(s, "bob", "builder")
            self.assertEqual(p.stat(), (1, len(wire_form(M3))))
            p.quit()
            refusals = []
            for user, secret in (("bob", "builder"), (USER, "wrong"), ("nobody", "x")):
                c = s.connect()
                ts = re.search(r"(<.*>)", c.line()).group(1)
                digest = hashlib.md5((ts + secret).encode()).hexdigest()
                r = c.cmd("APOP %s %s" % (user, digest))
                self.assertTrue(r.startswith("-ERR"), r)
                refusals.append(r)
                c.cmd("QUIT")
            self.assertEqual(len(set(refusals)), 1, refusals)

    def test_in_use(self):
        with server() as s:
            first = raw_login(s)
            c = s.connect()
            c.line()
            c.cmd("USER alice")
            r = c.cmd("PASS wonderland")
            self.assertTrue(r.startswith("-ERR [IN-USE]"), r)
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
            self.assertTrue(first.cmd("QUIT").startswith("+OK"))
            # Once the first session has ended the maildrop is free again.
            p = login(s)
            self.assertEqual(p.stat()[0], 3)
            p.quit()

    def test_unusable_maildrop(self):
        # RFC 1939 §4: a maildrop that cannot be opened gets -ERR, and the
        # session stays in AUTHORIZATION (RFC 3206 [SYS/PERM]: not the
        # client's fault, nor a wrong password).
        with server(mbox={USER: b"Subject: not an mbox\n\nno From line\n"}) as s:
            c = s.connect()
            c.line()
            c.cmd("USER alice")
            r = c.cmd("PASS wonderland")
            self.assertTrue(r.startswith("-ERR [SYS/PERM]"), r)
            self.assertTrue(c.cmd("STAT").startswith("-ERR"))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_too_many_failed_logins_close(self):
        with server() as s:
            c = s.connect()
            c.line()
            replies = []
            try:
                for _ in range(10):
                    c.cmd("USER alice")
                    replies.append(c.cmd("PASS wrong"))
            except (EOFError, ConnectionResetError, BrokenPipeError):
                pass
            self.assertLess(len(replies), 10)
            self.assertTrue(c.closed())


class Capa(unittest.TestCase):
    def test_capa_in_both_states(self):
        with server() as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("CAPA").startswith("+OK"))
            before = c.multiline().split(b"\r\n")
            for tag in (b"TOP", b"UIDL", b"USER", b"RESP-CODES"):
                self.assertIn(tag, before)
            c.cmd("USER alice")
            c.cmd("PASS wonderland")
            self.assertTrue(c.cmd("CAPA").startswith("+OK"))
            self.assertIn(b"USER", c.multiline().split(b"\r\n"))
            c.cmd("QUIT")


class Pipelining(unittest.TestCase):
    def test_commands_sent_at_once_answered_in_order(self):
        with server() as s:
            c = s.connect()
            c.line()
            c.send("USER alice\r\nPASS wonderland\r\nSTAT\r\nLIST 2\r\nNOOP\r\nQUIT\r\n")
            lines = [c.line() for _ in range(6)]
            self.assertTrue(all(l.startswith("+OK") for l in lines), lines)
            self.assertTrue(lines[2].startswith("+OK 3 "))
            self.assertEqual(lines[3], "+OK 2 %d" % len(wire_form(M2)))
            self.assertTrue(c.closed())


if __name__ == "__main__":
    unittest.main()
