"""Replays the RFCs' own example sessions (tests/e2e/transcripts/*.txt,
format in transcripts/README.md) against the real server, over mbox and
over Maildir maildrops."""
import glob
import os
import re
import unittest

from fixtures import fast_wire_form as wire_form
from harness import mbox_from
from port109_client import Server109, pop1_split, sized_message

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "transcripts")


def sizes(words):
    out = []
    for w in words:
        count, _, size = w.rpartition("x")
        out += [int(size)] * int(count or 1)
    return out


class Transcript:
    """One parsed transcript: its fixtures and its sessions."""

    def __init__(self, path):
        self.name = os.path.basename(path)
        self.users, self.boxes = {}, {}   # boxes: (user, folder or None) -> [bytes]
        self.sessions = [[]]
        with open(path) as f:
            for no, line in enumerate(f, 1):
                line = line.rstrip("\n")
                words = line.split()
                if not words or line.startswith("#"):
                    continue
                if line.startswith("---"):
                    self.sessions.append([])
                elif line[:3] in ("S: ", "C: ", "S:", "C:"):
                    self.sessions[-1].append((no, line[0], line[3:]))
                elif words[0] == "user":
                    self.users[words[1]] = words[2]
                elif words[0] == "mailbox":
                    self.add_box(words[1], None, words[2:])
                elif words[0] == "folder":
                    self.add_box(words[1], words[2], words[3:])
                else:
                    raise ValueError("%s:%d: cannot read %r" % (path, no, line))

    def add_box(self, user, folder, words):
        where = folder or "INBOX"
        self.boxes[(user, folder)] = [
            sized_message(n, b"message %d of %s" % (i + 1, where.encode()))
            for i, n in enumerate(sizes(words))]

    def server(self, kind):
        mbox, maildir, folders = {}, {}, {}
        for (user, folder), msgs in self.boxes.items():
            if folder is None and kind == "mbox":
                mbox[user] = mbox_from(msgs)
            elif folder is None:
                maildir[user] = msgs
            elif kind == "mbox":
                folders.setdefault(user, {})[folder] = mbox_from(msgs)
        s = Server109(users=self.users, mbox=mbox, maildir=maildir, folders=folders)
        if kind == "maildir":
            for (user, folder), msgs in self.boxes.items():
                if folder is not None:
                    s.make_maildir(os.path.join(s.folders, user, folder), msgs)
        return s


def glob_match(pattern, line):
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), line)


class Replay(unittest.TestCase):

    def replay(self, t, s, session):
        c = s.connect(s.pop2_port)
        number = None
        for no, who, text in session:
            where = "%s:%d" % (t.name, no)
            if who == "C":
                c.send(text + "\r\n")
                continue
            m = re.fullmatch(r"\[message (\d+)(?: of (\S+))?\]", text)
            if m:
                want = t.boxes[(self.user, m.group(2))][int(m.group(1)) - 1]
                self.assertEqual(c.exact(number), wire_form(want), where)
            elif text.startswith("[mailbox data of "):
                want = t.boxes[(text[17:-1], None)]
                got = [w for _, w in pop1_split(c.exact(number))]
                self.assertEqual(got, [wire_form(x) for x in want], where)
            elif text == "[close]":
                self.assertTrue(c.closed(), where)
                self.assertEqual(c.buf, b"", where)
            else:
                line = c.line()
                self.assertTrue(glob_match(text, line),
                                "%s: expected %r, got %r" % (where, text, line))
                m = re.match(r"[#=](\d+)", line)
                number = int(m.group(1)) if m else number
        c.close()

    def test_rfc_examples(self):
        paths = sorted(glob.glob(os.path.join(HERE, "*.txt")))
        self.assertGreaterEqual(len(paths), 5)
        for path in paths:
            t = Transcript(path)
            self.user = next(iter(t.users))
            for kind in ("mbox", "maildir"):
                with self.subTest(transcript=t.name, kind=kind), t.server(kind) as s:
                    for session in t.sessions:
                        self.replay(t, s, session)


if __name__ == "__main__":
    unittest.main()
