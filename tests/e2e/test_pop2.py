"""RFC 937 (POP2) end to end: every command, reply, state transition and
error, against the real server, over mbox and Maildir maildrops.  The
client is port109_client.py; what it receives is compared octet for
octet with the wire form of what is stored."""
import os
import unittest

from fixtures import (FIXTURES, big_message, join_two_lines, mailbox_snapshot,
                      message, message_file, stored_for)
from fixtures import fast_wire_form as wire_form
from harness import mbox_from
from port109_client import (Server109, number, pop2_fetch, pop2_helo,
                            wait_released)

KINDS = ("mbox", "maildir")
M1 = message(b"one", b"First.\n.dot line\n")
M2 = message(b"two", b"Second,\nFrom the body\nfive\n")
M3 = message(b"three", b"Third.\n")


def server(kind, msgs, **kw):
    stored = [stored_for(kind, m) for m in msgs]
    kw.setdefault("users", {"alice": "wonderland",
                            "carol": "two words\\here"})
    if kind == "mbox":
        return Server109(mbox={"alice": mbox_from(stored)}, **kw), stored
    return Server109(maildir={"alice": stored}, **kw), stored


def closed_with_error(test, c, line):
    """Sends LINE; the reply must be "- ..." and then the close."""
    r = c.cmd(line)
    test.assertTrue(r.startswith("- "), r)
    test.assertTrue(c.closed())


class Retrieval(unittest.TestCase):

    def test_every_fixture_byte_exact(self):
        """READ n / RETR / ACKS over the tricky fixtures: =ccc is exactly
        the octets RETR sends, which are the stored message's wire form."""
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [m for _, m in FIXTURES])
                with s:
                    c, n = pop2_helo(s)
                    self.assertEqual(n, len(stored))
                    for i, m in enumerate(stored):
                        self.assertEqual(pop2_fetch(c, i + 1), wire_form(m))
                        r = c.cmd("ACKS")
                        nxt = wire_form(stored[i + 1]) if i + 1 < len(stored) else b""
                        self.assertEqual(number(r, "="), len(nxt))
                    self.assertTrue(c.cmd("QUIT").startswith("+ OK"))
                    self.assertTrue(c.closed())

    def test_sequential_read_without_argument(self):
        """Example 1's client: READ, RETR, ACKS until =0."""
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, M2, M3])
                with s:
                    c, _ = pop2_helo(s)
                    got = [pop2_fetch(c)]
                    while True:
                        length = number(c.cmd("ACKS"), "=")
                        if length == 0:
                            break
                        c.send("RETR\r\n")
                        got.append(c.exact(length))
                    self.assertEqual(got, [wire_form(m) for m in stored])
                    c.cmd("QUIT")

    def test_ten_megabytes(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [big_message(), M1])
                with s:
                    c, _ = pop2_helo(s)
                    self.assertEqual(pop2_fetch(c, 1), wire_form(stored[0]))
                    self.assertEqual(number(c.cmd("ACKS"), "="), len(wire_form(stored[1])))
                    c.cmd("QUIT")

    def test_message_cut_short_while_it_is_sent_closes(self):
        # RFC 937 p.8: RETR sends exactly the octets READ announced.  A
        # message truncated by another program after its first pieces
        # went out cannot be finished: the connection closes short.
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [big_message(24 * 1024 * 1024), M1])
                with s:
                    c, _ = pop2_helo(s)
                    length = number(c.cmd("READ 1"), "=")
                    c.send("RETR\r\n")
                    first = c.exact(1000)
                    path = message_file(s, kind, "alice")
                    os.truncate(path, os.path.getsize(path) - len(stored[0]) // 2)
                    self.assertTrue(c.closed(30))
                    self.assertLess(len(first) + len(c.buf), length)
                    self.assertIsNotNone(s.wait_log(
                        rb"message 1: maildrop changed by another program"
                        rb" while it was sent"))

    def test_message_edited_in_place_while_it_is_sent_closes(self):
        # The same length with one line end fewer: its wire form is one
        # octet short of what READ announced.  Every piece reads, the
        # count made while converting them tells, and the connection
        # closes instead of waiting for an ACKD that would delete it.
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [big_message(24 * 1024 * 1024), M1])
                with s:
                    c, _ = pop2_helo(s)
                    number(c.cmd("READ 1"), "=")
                    c.send("RETR\r\n")
                    c.exact(1000)
                    # 5000 octets before the first message ends, in
                    # the Maildir file or the mbox, which starts with it.
                    join_two_lines(message_file(s, kind, "alice"), len(stored[0]) - 5000)
                    self.assertTrue(c.closed(30))
                    self.assertIsNotNone(s.wait_log(
                        rb"message 1: maildrop changed by another program"
                        rb" while it was sent"))
                    c, count = wait_released(s)
                    self.assertEqual(count, 2)
                    c.cmd("QUIT")

    def test_empty_message_is_one_crlf_never_zero(self):
        s, _ = server("maildir", [b"", M1])
        with s:
            c, _ = pop2_helo(s)
            self.assertEqual(pop2_fetch(c, 1), b"\r\n")
            c.cmd("QUIT")

    def test_nack_keeps_message_and_resends(self):
        s, stored = server("mbox", [M1, M2])
        with s:
            c, _ = pop2_helo(s)
            first = pop2_fetch(c, 2)
            self.assertEqual(number(c.cmd("NACK"), "="), len(first))
            c.send("RETR\r\n")
            self.assertEqual(c.exact(len(first)), first)
            self.assertEqual(number(c.cmd("ACKS"), "="), 0)
            c.cmd("QUIT")
            c2, n = wait_released(s)
            self.assertEqual(n, 2)

    def test_read_out_of_range_is_zero(self):
        s, _ = server("mbox", [M1])
        with s:
            c, _ = pop2_helo(s)
            for arg in ("READ 2", "READ 0", "READ 99999999999999999999999"):
                self.assertEqual(number(c.cmd(arg), "="), 0, arg)
            self.assertEqual(number(c.cmd("READ 1"), "="), len(wire_form(M1)))
            self.assertTrue(c.cmd("QUIT").startswith("+ OK"))

    def test_retr_of_zero_length_closes_without_reply(self):
        """937 p.8 RETR, p.23 action 7: nothing is sent, the line closes."""
        s, _ = server("mbox", [M1])
        with s:
            c, _ = pop2_helo(s)
            self.assertEqual(number(c.cmd("READ 5"), "="), 0)
            c.send("RETR\r\n")
            self.assertTrue(c.closed())
            self.assertEqual(c.buf, b"")

    def test_empty_mailbox(self):
        """Example 3 adapted (PROTOCOLS.md §7 item 9): READ gives =0."""
        with Server109() as s:
            c, n = pop2_helo(s)
            self.assertEqual(n, 0)
            self.assertEqual(c.cmd("READ"), "=0 no message")
            self.assertTrue(c.cmd("QUIT").startswith("+ OK"))


class Deletion(unittest.TestCase):

    def test_ackd_applied_on_quit(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, M2, M3])
                with s:
                    c, _ = pop2_helo(s)
                    pop2_fetch(c, 2)
                    self.assertEqual(number(c.cmd("ACKD"), "="), len(wire_form(stored[2])))
                    self.assertTrue(c.cmd("QUIT").startswith("+ OK"))
                    self.assertTrue(c.closed())
                    c, n = wait_released(s)
                    self.assertEqual(n, 2)
                    self.assertEqual(pop2_fetch(c, 1), wire_form(stored[0]))
                    c.cmd("ACKS")
                    self.assertEqual(pop2_fetch(c, 2), wire_form(stored[2]))
                    self.assertIn(b"deleted=1 ", s.read_log())

    def test_ackd_not_applied_on_drop(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, M2])
                with s:
                    before = mailbox_snapshot(s)
                    c, _ = pop2_helo(s)
                    pop2_fetch(c, 1)
                    c.cmd("ACKD")
                    pop2_fetch(c, 2)
                    c.cmd("ACKD")
                    c.close()
                    c, n = wait_released(s)
                    self.assertEqual(n, 2)
                    self.assertEqual(mailbox_snapshot(s), before)

    def test_quit_in_next_is_garbage_and_deletes_nothing(self):
        """PROTOCOLS.md §2.7: after the data only an ack is valid."""
        s, _ = server("mbox", [M1, M2])
        with s:
            c, _ = pop2_helo(s)
            pop2_fetch(c, 1)
            c.cmd("ACKD")
            pop2_fetch(c, 2)
            closed_with_error(self, c, "QUIT")
            c, n = wait_released(s)
            self.assertEqual(n, 2)

    def test_ackd_applied_on_fold_and_renumbered_only_then(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, M2, M3])
                with s:
                    c, _ = pop2_helo(s)
                    pop2_fetch(c, 1)
                    self.assertEqual(number(c.cmd("ACKD"), "="), len(wire_form(stored[1])))
                    # Not renumbered before the release (937 p.9).
                    self.assertEqual(number(c.cmd("READ 1"), "="), 0)
                    self.assertEqual(number(c.cmd("READ 3"), "="), len(wire_form(stored[2])))
                    # FOLD releases: the mark is applied, numbering restarts.
                    self.assertEqual(number(c.cmd("FOLD INBOX"), "#"), 2)
                    self.assertEqual(pop2_fetch(c, 1), wire_form(stored[1]))
                    c.close()    # a drop now loses nothing FOLD applied
                    c, n = wait_released(s)
                    self.assertEqual(n, 2)

    def test_ack_onto_a_deleted_message_gives_zero(self):
        """937 p.8: deleted messages are not skipped."""
        s, stored = server("mbox", [M1, M2, M3])
        with s:
            c, _ = pop2_helo(s)
            pop2_fetch(c, 2)
            c.cmd("ACKD")
            pop2_fetch(c, 1)
            self.assertEqual(number(c.cmd("ACKS"), "="), 0)
            c.send("RETR\r\n")
            self.assertTrue(c.closed())


class Folders(unittest.TestCase):

    def folders_server(self):
        s = Server109(users={"alice": "wonderland", "bob": "builder"},
                      mbox={"alice": mbox_from([M1]), "bob": mbox_from([M2, M3])},
                      folders={"alice": {"archive": mbox_from([M2, M3]),
                                         "my box": mbox_from([M3])}})
        s.make_maildir(os.path.join(s.folders, "alice", "lists"), [M1, M2, M3])
        return s

    def test_fold_selects_mbox_and_maildir_folders(self):
        with self.folders_server() as s:
            c, n = pop2_helo(s)
            self.assertEqual(n, 1)
            self.assertEqual(number(c.cmd("FOLD archive"), "#"), 2)
            self.assertEqual(pop2_fetch(c, 2), wire_form(M3))
            self.assertEqual(number(c.cmd("ACKS"), "="), 0)
            # FOLD is valid in ITEM too, and sets the current message to 1.
            self.assertEqual(number(c.cmd("FOLD lists"), "#"), 3)
            self.assertEqual(pop2_fetch(c), wire_form(M1))
            c.cmd("ACKS")
            self.assertEqual(number(c.cmd("FOLD inbox"), "#"), 1)
            self.assertEqual(number(c.cmd("FOLD alice"), "#"), 1)
            self.assertTrue(c.cmd("QUIT").startswith("+ OK"))

    def test_fold_name_with_space_quoted_or_not(self):
        with self.folders_server() as s:
            c, _ = pop2_helo(s)
            self.assertEqual(number(c.cmd("FOLD my\\ box"), "#"), 1)
            self.assertEqual(number(c.cmd("FOLD my box"), "#"), 1)
            self.assertEqual(pop2_fetch(c), wire_form(M3))

    def test_missing_and_path_like_names_count_zero(self):
        """937 p.7: a mailbox that does not exist counts 0; path-like names
        never reach the file system (bob's maildrop stays untouched)."""
        with self.folders_server() as s:
            bob = mailbox_snapshot(s, "bob")
            c, _ = pop2_helo(s)
            for name in ("nosuch", "../bob", "../../mail/bob", "..", "a/b",
                         "/etc/passwd", s.mailbox_path("bob")):
                self.assertEqual(c.cmd("FOLD " + name), "#0 messages", name)
                self.assertEqual(number(c.cmd("READ 1"), "="), 0)
            self.assertTrue(c.cmd("QUIT").startswith("+ OK"))
            self.assertEqual(mailbox_snapshot(s, "bob"), bob)

    def test_control_character_in_name_is_garbage(self):
        with self.folders_server() as s:
            c, _ = pop2_helo(s)
            closed_with_error(self, c, "FOLD ar\x01chive")


class Errors(unittest.TestCase):
    """937 p.2: if anything goes wrong, "- ..." and close the connection."""

    def session_in(self, s, state):
        c, _ = pop2_helo(s)
        if state in ("ITEM", "NEXT"):
            number(c.cmd("READ 1"), "=")
        if state == "NEXT":
            c.send("RETR\r\n")
            c.exact(len(wire_form(M1)))
        return c

    def test_decision_table_garbage(self):
        """Every command outside its column of the table (p.22)."""
        cases = [("AUTH", "READ"), ("AUTH", "FOLD x"), ("AUTH", "RETR"),
                 ("AUTH", "ACKS"), ("MBOX", "HELO alice wonderland"),
                 ("MBOX", "RETR"), ("MBOX", "ACKD"), ("MBOX", "NACK"),
                 ("ITEM", "ACKS"), ("ITEM", "HELO a b"), ("NEXT", "RETR"),
                 ("NEXT", "READ"), ("NEXT", "FOLD INBOX"), ("NEXT", "QUIT"),
                 ("MBOX", "NOOP"), ("MBOX", "USER alice"), ("MBOX", ""),
                 ("MBOX", "READ x"), ("MBOX", "READ -1"), ("MBOX", "READ 1 2"),
                 ("ITEM", "RETR now"), ("MBOX", "ACKS\x00")]
        s, _ = server("mbox", [M1])
        with s:
            for state, line in cases:
                with self.subTest(state=state, line=line):
                    if state == "AUTH":
                        c = s.port109()
                    else:
                        c = self.session_in(s, state)
                    closed_with_error(self, c, line)
                    wait_released(s)[0].close()
            self.assertIn(b"how=protocol error", s.read_log())

    def test_line_limit_512(self):
        """937 p.12: 512 octets with the CRLF; one more is garbage."""
        s, _ = server("mbox", [M1])
        with s:
            c, _ = pop2_helo(s)
            self.assertEqual(c.cmd("FOLD " + "x" * 505), "#0 messages")
            closed_with_error(self, c, "FOLD " + "x" * 506)
            c, _ = wait_released(s)
            closed_with_error(self, c, "READ " + "1" * 3000)

    def test_failed_helo_same_for_unknown_user(self):
        s, _ = server("mbox", [M1])
        with s:
            replies = []
            for line in ("HELO alice wrong", "HELO nobody wonderland",
                         "HELO alice", "HELO " + "a" * 100 + " wonderland"):
                c = s.port109()
                r = c.cmd(line)
                self.assertTrue(c.closed())
                replies.append(r)
            self.assertEqual(replies[0], "- Authentication failed")
            self.assertEqual(replies[1], replies[0])
            self.assertEqual(replies[3], replies[0])
            self.assertTrue(replies[2].startswith("- "))
            self.assertNotIn(b"wrong", s.read_log())

    def test_backslash_quoting_in_password(self):
        """937 p.6 Quoting: carol's password is 'two words\\here'."""
        s, _ = server("mbox", [M1])
        with s:
            c = s.port109()
            self.assertTrue(c.cmd("HELO carol two\\ words\\\\here").startswith("#"))
            self.assertTrue(c.cmd("QUIT").startswith("+ OK"))
            self.assertNotIn(b"two words", s.read_log())

    def test_keywords_any_case_and_extra_blanks(self):
        """PROTOCOLS.md §2.3, Example 2's "READ  27"."""
        s, stored = server("mbox", [M1, M2])
        with s:
            c = s.port109()
            self.assertEqual(number(c.cmd("helo  alice   wonderland"), "#"), 2)
            self.assertEqual(number(c.cmd("Read  2"), "="), len(wire_form(stored[1])))
            self.assertTrue(c.cmd("quit").startswith("+ OK"))

    def test_login_timeout_is_answered_then_closed(self):
        with Server109(extra_config="timeout_login 1") as s:
            c = s.port109()
            self.assertTrue(c.closed(timeout=5))
            self.assertTrue(c.buf.startswith(b"- "), c.buf)
            self.assertIn(b"how=timeout", s.read_log())


class Concurrency(unittest.TestCase):

    def test_pop2_holds_maildrop_pop3_refused(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                s, stored = server(kind, [M1, M2])
                with s:
                    before = mailbox_snapshot(s)
                    c, _ = pop2_helo(s)
                    p3 = s.connect(s.pop3_port)
                    p3.line()
                    p3.cmd("USER alice")
                    self.assertTrue(p3.cmd("PASS wonderland").startswith("-ERR [IN-USE]"))
                    self.assertEqual(pop2_fetch(c, 1), wire_form(stored[0]))
                    c.cmd("ACKS")
                    self.assertTrue(c.cmd("QUIT").startswith("+ OK"))
                    self.assertEqual(mailbox_snapshot(s), before)

    def test_pop3_holds_maildrop_pop2_refused(self):
        s, stored = server("mbox", [M1, M2])
        with s:
            before = mailbox_snapshot(s)
            p3 = s.connect(s.pop3_port)
            p3.line()
            p3.cmd("USER alice")
            self.assertTrue(p3.cmd("PASS wonderland").startswith("+OK"))
            p3.cmd("DELE 1")
            c = s.port109()
            r = c.cmd("HELO alice wonderland")
            self.assertEqual(r, "- Maildrop is in use by another session")
            self.assertTrue(c.closed())
            p3.cmd("RSET")
            self.assertTrue(p3.cmd("QUIT").startswith("+OK"))
            c, n = wait_released(s)
            self.assertEqual(n, 2)
            self.assertEqual(mailbox_snapshot(s), before)


if __name__ == "__main__":
    unittest.main()
