"""RFC 918 (POP1) end to end: every command, reply, state transition and
error of the RFC's diagram (p.5), against the real server, over mbox and
Maildir maildrops.  The mailbox data is checked octet for octet against
the format RFC/rfc918.md documents, and split again the way a 1984 client
would."""
import os
import time
import unittest

from fixtures import (FIXTURES, big_message, join_two_lines, mailbox_snapshot,
                      message, message_file, stored_for)
from fixtures import fast_wire_form as wire_form
from harness import mbox_from
from port109_client import (Server109, number, pop1_data, pop1_login,
                            pop1_split, pop1_transfer, wait_released)

KINDS = ("mbox", "maildir")
SEP = "From sender@example.org Mon Nov 23 10:00:00 2026"
M1 = message(b"one", b"First.\n.dot line\n")
M2 = message(b"two", b"Second,\nFrom the body\n>From quoted\n")
M3 = message(b"three", b"Third.")


def server(kind, msgs, **kw):
    stored = [stored_for(kind, m) for m in msgs]
    kw.setdefault("users", {"alice": "wonderland", "carol": "two words  here"})
    if kind == "mbox":
        return Server109(mbox={"alice": mbox_from(stored, sep=SEP)}, **kw), stored
    return Server109(maildir={"alice": stored}, **kw), stored


def check_data(test, kind, data, stored):
    """DATA holds STORED's messages in order: byte-exact for mbox (whose
    From lines we know), split-and-compare for both."""
    parts = pop1_split(data)
    test.assertEqual([w for _, w in parts], [wire_form(m) for m in stored])
    for env, _ in parts:
        test.assertTrue(env.startswith(b"From "), env)
    if kind == "mbox":
        test.assertEqual(data, pop1_data([SEP.encode()] * len(stored),
                                         [wire_form(m) for m in stored]))


class Transactions(unittest.TestCase):

    def test_retr_every_fixture_exact(self):
        """RETR, RCEV (data only, exactly #xxx octets), RCVD keeps all."""
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [m for _, m in FIXTURES])
                with s:
                    before = mailbox_snapshot(s)
                    c = pop1_login(s)
                    data = pop1_transfer(c, "RETR", "alice")
                    check_data(self, kind, data, stored)
                    self.assertEqual(c.cmd("RCVD"), "+OK")
                    self.assertEqual(c.cmd("QUIT"), "+OK")
                    self.assertTrue(c.closed())
                    self.assertEqual(c.buf, b"")
                    self.assertEqual(mailbox_snapshot(s), before)

    def test_ten_megabytes(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, big_message(), M2])
                with s:
                    c = pop1_login(s)
                    check_data(self, kind, pop1_transfer(c, "RETR", "INBOX"), stored)
                    self.assertEqual(c.cmd("RCVD"), "+OK")

    def test_message_edited_after_the_count_aborts(self):
        # RFC 918 p.3: RCEV's only failure signal is to abort.  A large
        # message (read in pieces) edited in place by another program
        # between RDEL's count and RCEV, its length kept, is caught by
        # the count made while converting it: the connection closes and
        # nothing is deleted.
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, big_message(2 * 1024 * 1024)])
                with s:
                    c = pop1_login(s)
                    total = number(c.cmd("RDEL alice"), "#")
                    path = message_file(s, kind, "alice")
                    join_two_lines(path, os.path.getsize(path) - 5000)
                    before = mailbox_snapshot(s)
                    c.send("RCEV\r\n")
                    self.assertTrue(c.closed(30))
                    self.assertLess(len(c.buf), total)
                    self.assertIn(b"could not be sent as counted", s.read_log())
                    wait_released(s)[0].close()
                    self.assertEqual(mailbox_snapshot(s), before)

    def test_rdel_rcvd_deletes_everything_sent(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, M2, M3])
                with s:
                    c = pop1_login(s)
                    check_data(self, kind, pop1_transfer(c, "RDEL", "inbox"), stored)
                    self.assertEqual(c.cmd("RCVD"), "+OK")
                    # Back in IDLE: the mailbox is empty now.
                    self.assertEqual(c.cmd("RETR alice"), "#0")
                    c.send("RCEV\r\n")
                    self.assertEqual(c.cmd("RCVD"), "+OK")
                    self.assertEqual(c.cmd("QUIT"), "+OK")
                    self.assertIn(b"deleted=3 ", s.read_log())

    def test_rdel_then_drop_deletes_nothing(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, M2])
                with s:
                    before = mailbox_snapshot(s)
                    c = pop1_login(s)
                    pop1_transfer(c, "RDEL", "alice")
                    c.close()
                    wait_released(s)[0].close()
                    self.assertEqual(mailbox_snapshot(s), before)

    def test_rset_aborts_and_deletes_nothing(self):
        s, stored = server("mbox", [M1, M2])
        with s:
            before = mailbox_snapshot(s)
            c = pop1_login(s)
            self.assertEqual(number(c.cmd("RDEL alice"), "#"), len(pop1_data(
                [SEP.encode()] * 2, [wire_form(m) for m in stored])))
            self.assertEqual(c.cmd("RSET"), "+OK")          # from OPENED
            pop1_transfer(c, "RDEL", "alice")
            self.assertEqual(c.cmd("RSET"), "+OK")          # from SENT
            self.assertEqual(c.cmd("RSET"), "+OK")          # from IDLE
            self.assertEqual(c.cmd("NOOP"), "+OK")
            self.assertEqual(c.cmd("QUIT"), "+OK")
            self.assertEqual(mailbox_snapshot(s), before)

    def test_quit_inside_transaction_deletes_nothing(self):
        s, _ = server("maildir", [M1, M2])
        with s:
            before = mailbox_snapshot(s)
            c = pop1_login(s)
            pop1_transfer(c, "RDEL", "alice")
            self.assertEqual(c.cmd("QUIT"), "+OK")
            self.assertTrue(c.closed())
            wait_released(s)[0].close()
            self.assertEqual(mailbox_snapshot(s), before)

    def test_mail_arriving_after_rdel_survives_rcvd(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, M2])
                with s:
                    c = pop1_login(s)
                    check_data(self, kind, pop1_transfer(c, "RDEL", "alice"), stored)
                    late = message(b"late", b"Arrived during the transaction.\n")
                    self.assertEqual(s.deliver("alice", late), 0)
                    self.assertEqual(c.cmd("RCVD"), "+OK")
                    data = pop1_transfer(c, "RETR", "alice")
                    self.assertEqual([w for _, w in pop1_split(data)], [wire_form(late)])
                    self.assertEqual(c.cmd("RCVD"), "+OK")

    def test_empty_mailbox(self):
        """PROTOCOLS.md §1.5: #0, RCEV sends nothing, RCVD works."""
        with Server109() as s:
            c = pop1_login(s)
            self.assertEqual(c.cmd("RDEL alice"), "#0")
            c.send("RCEV\r\n")
            self.assertEqual(c.cmd("RCVD"), "+OK")
            self.assertEqual(c.cmd("QUIT"), "+OK")

    def test_folders(self):
        s = Server109(mbox={"alice": mbox_from([M1], sep=SEP)},
                      folders={"alice": {"archive": mbox_from(
                          [stored_for("mbox", M2), M3], sep=SEP)}})
        s.make_maildir(os.path.join(s.folders, "alice", "lists"), [M3])
        with s:
            c = pop1_login(s)
            check_data(self, "mbox", pop1_transfer(c, "RETR", "archive"),
                       [stored_for("mbox", M2), M3])
            self.assertEqual(c.cmd("RCVD"), "+OK")
            check_data(self, "maildir", pop1_transfer(c, "RDEL", "lists"), [M3])
            self.assertEqual(c.cmd("RCVD"), "+OK")
            self.assertEqual(c.cmd("RETR lists"), "#0")
            self.assertEqual(c.cmd("RSET"), "+OK")
            for name in ("nosuch", "../alice", "..", "a/b", "/etc/passwd"):
                self.assertEqual(c.cmd("RETR " + name), "-ERR No such mailbox", name)
            self.assertTrue(c.cmd("RETR arch\x01ive").startswith("-ERR"))
            self.assertEqual(c.cmd("NOOP"), "+OK")


class Login(unittest.TestCase):

    def test_failed_pass_returns_to_start(self):
        """918 p.5: -ERR after PASS leads back to USER."""
        s, _ = server("mbox", [M1])
        with s:
            c = s.port109()
            self.assertEqual(c.cmd("USER alice"), "+OK")
            wrong = c.cmd("PASS nope")
            self.assertEqual(wrong, "-ERR Authentication failed")
            self.assertTrue(c.cmd("PASS wonderland").startswith("-ERR"))  # USER first
            self.assertEqual(c.cmd("USER nobody"), "+OK")
            self.assertEqual(c.cmd("PASS wonderland"), wrong)   # unknown user: same
            self.assertEqual(c.cmd("USER alice"), "+OK")
            self.assertEqual(c.cmd("PASS wonderland"), "+OK")
            self.assertEqual(c.cmd("QUIT"), "+OK")
            self.assertNotIn(b"nope", s.read_log())

    def test_password_is_rest_of_line(self):
        s, _ = server("mbox", [M1])
        with s:
            c = pop1_login(s, "carol", "two words  here")
            self.assertEqual(c.cmd("QUIT"), "+OK")
            self.assertNotIn(b"two words", s.read_log())

    def test_too_many_failures_close(self):
        s, _ = server("mbox", [M1])
        with s:
            c = s.port109()
            for _ in range(4):
                c.cmd("USER alice")
                self.assertEqual(c.cmd("PASS bad"), "-ERR Authentication failed")
            c.cmd("USER alice")
            c.cmd("PASS bad")
            self.assertTrue(c.line().startswith("-ERR"))
            self.assertTrue(c.closed())

    def test_login_timeout(self):
        with Server109(extra_config="timeout_login 1") as s:
            c = s.port109()
            self.assertEqual(c.cmd("USER alice"), "+OK")
            self.assertTrue(c.closed(timeout=5))
            self.assertTrue(c.buf.startswith(b"-ERR "), c.buf)


class Errors(unittest.TestCase):
    """RFC 918 has no "close on error" rule: -ERR and the session goes on."""

    def test_out_of_order_commands_keep_the_session(self):
        s, stored = server("mbox", [M1])
        with s:
            c = s.port109()
            self.assertEqual(c.cmd("user alice"), "+OK")   # any case
            for line in ("RETR alice", "RCEV", "RSET", "PASS"):
                self.assertTrue(c.cmd(line).startswith("-ERR "), line)
            c.cmd("USER alice")
            self.assertEqual(c.cmd("PASS wonderland"), "+OK")
            for line in ("RCEV", "RCVD", "USER alice", "PASS x", "RETR",
                         "HELO alice wonderland", "XYZZY", "", "NOOP now"):
                self.assertTrue(c.cmd(line).startswith("-ERR "), line)
            count = number(c.cmd("RETR alice"), "#")
            for line in ("RCVD", "RETR alice", "RDEL alice"):
                self.assertTrue(c.cmd(line).startswith("-ERR "), line)
            c.send("RCEV\r\n")
            self.assertEqual(len(c.exact(count)), count)
            for line in ("RCEV", "RETR alice"):
                self.assertTrue(c.cmd(line).startswith("-ERR "), line)
            self.assertEqual(c.cmd("RCVD"), "+OK")
            self.assertEqual(c.cmd("NOOP"), "+OK")
            self.assertEqual(c.cmd("QUIT"), "+OK")

    def test_too_many_bad_commands_close(self):
        with Server109() as s:
            c = pop1_login(s)
            for _ in range(19):
                self.assertTrue(c.cmd("BOGUS").startswith("-ERR"))
            self.assertTrue(c.cmd("BOGUS").startswith("-ERR"))
            self.assertTrue(c.line().startswith("-ERR"))
            self.assertTrue(c.closed())


class Concurrency(unittest.TestCase):

    def test_pop1_transaction_holds_maildrop(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, M2])
                with s:
                    before = mailbox_snapshot(s)
                    c = pop1_login(s)
                    pop1_transfer(c, "RDEL", "alice")
                    p3 = s.connect(s.pop3_port)
                    p3.line()
                    p3.cmd("USER alice")
                    self.assertTrue(p3.cmd("PASS wonderland").startswith("-ERR [IN-USE]"))
                    self.assertEqual(c.cmd("RSET"), "+OK")
                    # Unlocked now (918 p.4 RSET): POP3 gets in.
                    p3.cmd("USER alice")
                    self.assertTrue(p3.cmd("PASS wonderland").startswith("+OK"))
                    self.assertEqual(c.cmd("RETR alice"),
                                     "-ERR Mailbox is in use by another session")
                    self.assertTrue(p3.cmd("QUIT").startswith("+OK"))
                    p3.closed()
                    time.sleep(0.2)
                    check_data(self, kind, pop1_transfer(c, "RETR", "alice"), stored)
                    self.assertEqual(c.cmd("RCVD"), "+OK")
                    self.assertEqual(mailbox_snapshot(s), before)


if __name__ == "__main__":
    unittest.main()
